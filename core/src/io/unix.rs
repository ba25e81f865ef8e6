//! Unix domain sockets over the loop's reactor: [`UnixListener`],
//! [`UnixStream`] and [`UnixDatagram`].
//!
//! They mirror the TCP and UDP types, with paths for addresses. A
//! non-blocking Unix `connect` on Linux either completes at once or fails
//! with `EAGAIN` when the listener's backlog is full; there is no readiness
//! edge to wait for then, so [`UnixStream::connect`] retries after a short
//! sleep (1 ms, doubling up to 100 ms) until the listener makes room.

use super::connect;
use super::incoming::Incoming;
use super::registry::Direction;
use super::source::Async;
use super::split::{OwnedReadHalf, OwnedWriteHalf};
use futures_io::{AsyncRead, AsyncWrite};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{self as std_unix, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A Unix stream socket server.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use corio_core::io::UnixListener;
/// let listener = UnixListener::bind("/tmp/corio-demo.sock")?;
/// let (stream, _peer) = listener.accept().await?;
/// # drop(stream); Ok(()) }
/// ```
#[derive(Debug)]
pub struct UnixListener {
    inner: Async<std_unix::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` (which must not exist) and registers with the
    /// running loop.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_std(std_unix::UnixListener::bind(path)?)
    }

    /// Registers an existing listener with the running loop.
    pub fn from_std(listener: std_unix::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener { inner: Async::new(listener)? })
    }

    /// Deregisters and returns the `std` listener (left non-blocking).
    pub fn into_std(self) -> io::Result<std_unix::UnixListener> {
        self.inner.into_inner()
    }

    /// Accepts a connection (a checkpoint), reporting every error;
    /// [`incoming`](UnixListener::incoming) backs off on `EMFILE` instead.
    ///
    /// **Cancel safety:** cancel-safe: no connection is taken unless it is
    /// returned.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; see [`accept`](UnixListener::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        self.inner
            .poll_io(Direction::Read, cx, |l| l.accept())
            .map(|accepted| accepted.and_then(|(stream, addr)| Ok((UnixStream::from_std(stream)?, addr))))
    }

    /// An accept loop that survives running out of descriptors.
    pub fn incoming(&self) -> Incoming<'_, UnixListener> {
        Incoming::new(self)
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

/// A Unix stream connection; `futures_io::AsyncRead`/`AsyncWrite` like
/// [`TcpStream`](crate::io::TcpStream).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use corio_core::io::UnixStream;
/// let (a, b) = UnixStream::pair()?;
/// a.write_all(b"hi").await?;
/// let mut buf = [0; 2];
/// b.read(&mut buf).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct UnixStream {
    inner: Async<std_unix::UnixStream>,
}

impl UnixStream {
    /// Connects to the listener at `path` (a checkpoint while the
    /// listener's backlog is full).
    ///
    /// **Cancel safety:** not resumable: a dropped connect closes its socket;
    /// call it again to start over.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = socket2::SockAddr::unix(path)?;
        let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        let mut delay = Duration::from_millis(1);
        loop {
            match connect::start(&socket, &addr) {
                Ok(()) => break,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    crate::time::sleep(delay).await?;
                    delay = (delay * 2).min(Duration::from_millis(100));
                }
                Err(err) => return Err(err),
            }
        }
        let stream = UnixStream { inner: Async::new(std_unix::UnixStream::from(socket))? };
        connect::finish(&stream.inner).await?;
        Ok(stream)
    }

    /// A connected pair, both registered with the running loop.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std_unix::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Registers an existing connection with the running loop.
    pub fn from_std(stream: std_unix::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream { inner: Async::new(stream)? })
    }

    /// Deregisters and returns the `std` stream (left non-blocking).
    pub fn into_std(self) -> io::Result<std_unix::UnixStream> {
        self.inner.into_inner()
    }

    /// Reads some bytes; `Ok(0)` at end of stream.
    ///
    /// **Cancel safety:** cancel-safe: a dropped read has read nothing.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| (&*s).read(buf)).await
    }

    /// Writes some bytes (waits while the peer does not read).
    ///
    /// **Cancel safety:** cancel-safe: a dropped write has written nothing.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|s| (&*s).write(buf)).await
    }

    /// Writes from several buffers with one system call.
    ///
    /// **Cancel safety:** cancel-safe: a dropped write has written nothing.
    pub async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_with(|s| (&*s).write_vectored(bufs)).await
    }

    /// Writes all of `buf`.
    ///
    /// **Cancel safety:** **not** cancel-safe: a dropped `write_all` may have
    /// written part of `buf`.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Shuts down the read, write, or both halves.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Splits into owned halves (see [`OwnedReadHalf`]).
    pub fn into_split(self) -> (OwnedReadHalf<UnixStream>, OwnedWriteHalf<UnixStream>) {
        super::split::split(self)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get_ref().take_error()
    }

    /// The registered source, for readiness waits of your own.
    pub fn as_async(&self) -> &Async<std_unix::UnixStream> {
        &self.inner
    }
}

impl AsyncRead for UnixStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read(cx, buf)
    }
}

impl AsyncWrite for UnixStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_close(cx)
    }
}

impl AsyncRead for &UnixStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_io(Direction::Read, cx, |s| (&*s).read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_io(Direction::Read, cx, |s| (&*s).read_vectored(bufs))
    }
}

impl AsyncWrite for &UnixStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_io(Direction::Write, cx, |s| (&*s).write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_io(Direction::Write, cx, |s| (&*s).write_vectored(bufs))
    }

    /// Nothing is buffered in user space: a no-op.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down the write half.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}

impl super::split::Split for UnixStream {
    fn poll_read_shared(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read(cx, buf)
    }

    fn poll_write_shared(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write(cx, buf)
    }

    fn poll_write_vectored_shared(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write_vectored(cx, bufs)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// A Unix datagram socket.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use corio_core::io::UnixDatagram;
/// let (a, b) = UnixDatagram::pair()?;
/// a.send(b"one message").await?;
/// let mut buf = [0; 64];
/// let n = b.recv(&mut buf).await?;
/// assert_eq!(&buf[..n], b"one message");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct UnixDatagram {
    inner: Async<std_unix::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds to `path` and registers with the running loop.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std_unix::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no address (it can send, and receive replies only
    /// once connected).
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std_unix::UnixDatagram::unbound()?)
    }

    /// A connected pair.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std_unix::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Registers an existing socket with the running loop.
    pub fn from_std(socket: std_unix::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { inner: Async::new(socket)? })
    }

    /// Deregisters and returns the `std` socket (left non-blocking).
    pub fn into_std(self) -> io::Result<std_unix::UnixDatagram> {
        self.inner.into_inner()
    }

    /// Sets the default peer for `send`/`recv`.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.inner.get_ref().connect(path)
    }

    /// Sends one datagram to `path` (a checkpoint; waits while the
    /// receiver's queue is full).
    ///
    /// **Cancel safety:** cancel-safe: a dropped send has sent nothing.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.inner.write_with(|s| s.send_to(buf, path)).await
    }

    /// Receives one datagram and its sender.
    ///
    /// **Cancel safety:** cancel-safe: a dropped receive has taken no datagram.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.recv_from(buf)).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// **Cancel safety:** cancel-safe: a dropped send has sent nothing.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// **Cancel safety:** cancel-safe: a dropped receive has taken no datagram.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.recv(buf)).await
    }

    /// Shuts down the read, write, or both halves.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The registered source, for readiness waits of your own.
    pub fn as_async(&self) -> &Async<std_unix::UnixDatagram> {
        &self.inner
    }
}
