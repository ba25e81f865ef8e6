//! TCP over the loop's reactor: [`TcpListener`] and [`TcpStream`].
//!
//! Both wrap the `std::net` type in an [`Async`]: an operation tries the
//! system call first and waits for readiness only on `WouldBlock`, and every
//! wait is a checkpoint. `&TcpStream` reads and writes too (a socket's two
//! directions are independent), so one task can read while another writes;
//! [`TcpStream::into_split`] gives owned halves for tasks that must own them.

use super::connect;
use super::incoming::Incoming;
use super::inq;
use super::registry::Direction;
use super::source::Async;
use super::split::{OwnedReadHalf, OwnedWriteHalf};
use futures_io::{AsyncRead, AsyncWrite};
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A TCP socket server, listening for connections.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use corio_core::io::TcpListener;
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let (stream, peer) = listener.accept().await?;
/// # drop((stream, peer)); Ok(()) }
/// ```
#[derive(Debug)]
pub struct TcpListener {
    inner: Async<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` and registers with the running loop. Resolving a
    /// host name blocks the loop; pass addresses.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::from_std(std::net::TcpListener::bind(addr)?)
    }

    /// Registers an existing listener with the running loop.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener { inner: Async::new(listener)? })
    }

    /// Deregisters and returns the `std` listener (left non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.inner.into_inner()
    }

    /// Accepts a connection (a checkpoint). Reports every error, including
    /// `EMFILE`; [`incoming`](TcpListener::incoming) is the accept loop that
    /// backs off instead.
    ///
    /// **Cancel safety:** cancel-safe: no connection is taken unless it is
    /// returned.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; see [`accept`](TcpListener::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.inner
            .poll_io(Direction::Read, cx, |l| l.accept())
            .map(|accepted| accepted.and_then(|(stream, addr)| Ok((TcpStream::from_std(stream)?, addr))))
    }

    /// An accept loop that survives running out of descriptors (see
    /// [`Incoming`]).
    pub fn incoming(&self) -> Incoming<'_, TcpListener> {
        Incoming::new(self)
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Sets `IP_TTL` for accepted connections.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// The registered source, for readiness waits of your own.
    pub fn as_async(&self) -> &Async<std::net::TcpListener> {
        &self.inner
    }
}

/// A TCP connection.
///
/// Implements `futures_io::AsyncRead`/`AsyncWrite` (also on `&TcpStream`), so
/// the futures ecosystem's extension traits (`AsyncReadExt::read_exact`,
/// `AsyncBufReadExt::read_line` over `futures_util::io::BufReader`, ...) work
/// on it. It is not buffered: each read or write is one system call.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use corio_core::io::TcpStream;
/// use std::time::Duration;
/// let stream = TcpStream::connect_timeout("127.0.0.1:7878", Duration::from_secs(3)).await?;
/// stream.set_nodelay(true)?;
/// stream.write_all(b"ping\n").await?;
/// let mut buf = [0; 64];
/// let n = stream.read(&mut buf).await?;
/// # let _ = n; Ok(()) }
/// ```
#[derive(Debug)]
pub struct TcpStream {
    inner: Async<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr` (a checkpoint while the handshake is in flight).
    ///
    /// A host name (`"localhost:8080"`, `("example.com", 443)`) is resolved
    /// on the blocking pool ([`lookup_host`](super::lookup_host)), never on
    /// the loop's thread. Several addresses are raced with Happy Eyeballs
    /// (RFC 8305: a 250 ms stagger, families interleaved; see
    /// [`HappyEyeballs`](super::HappyEyeballs) to change it): the first to
    /// connect wins and the others are closed. If none connects, the error
    /// names each address's failure.
    ///
    /// **Cancel safety:** not resumable: a dropped connect closes its half-open
    /// sockets; call it again to start over.
    pub async fn connect(addr: impl super::ToSocketAddrs) -> io::Result<TcpStream> {
        super::HappyEyeballs::new().connect(addr).await
    }

    /// [`connect`](TcpStream::connect), failing with `TimedOut` when the
    /// handshake has not finished within `timeout` of loop time.
    ///
    /// **Cancel safety:** not resumable, as [`connect`](TcpStream::connect).
    pub async fn connect_timeout(addr: impl super::ToSocketAddrs, timeout: Duration) -> io::Result<TcpStream> {
        connect::with_timeout(timeout, "connect", TcpStream::connect(addr)).await
    }

    /// Connects to one address.
    pub(crate) async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        connect::start(&socket, &addr.into())?;
        let stream = TcpStream::from_std(std::net::TcpStream::from(socket))?;
        connect::finish(&stream.inner).await?;
        Ok(stream)
    }

    /// Registers an existing connection with the running loop.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        // One system call per connection, so that reads learn when they
        // emptied the socket (see `io::inq`); where the kernel cannot, reads
        // follow the plain `WouldBlock` rule.
        inq::enable(&stream);
        Ok(TcpStream { inner: Async::new(stream)? })
    }

    /// Deregisters and returns the `std` stream (left non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.inner.into_inner()
    }

    /// Reads some bytes; `Ok(0)` at end of stream (or for an empty `buf`).
    ///
    /// **Cancel safety:** cancel-safe: a dropped read has read nothing (it
    /// waits for readiness, then reads in one poll).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, &mut [IoSliceMut::new(buf)])).await
    }

    /// Reads into several buffers with one system call.
    ///
    /// **Cancel safety:** cancel-safe, as [`read`](TcpStream::read).
    pub async fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, bufs)).await
    }

    /// Every read: one `recvmsg`, which also tells whether it emptied the
    /// socket, so the next read can wait without an `EAGAIN` call first.
    fn poll_recv(&self, cx: &mut Context<'_>, bufs: &mut [IoSliceMut<'_>]) -> Poll<io::Result<usize>> {
        self.inner.poll_io_emptying(Direction::Read, cx, |s| {
            inq::recv_vectored(s, bufs).map(|received| (received.bytes, received.drained))
        })
    }

    /// Reads without consuming: the bytes stay for the next read.
    ///
    /// **Cancel safety:** cancel-safe.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.peek(buf)).await
    }

    /// Writes some bytes. When the peer does not read, the socket buffer
    /// fills and this waits (back-pressure).
    ///
    /// **Cancel safety:** cancel-safe: a dropped write has written nothing.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|s| (&*s).write(buf)).await
    }

    /// Writes from several buffers with one system call (`writev`); may
    /// write only part of them.
    ///
    /// **Cancel safety:** cancel-safe, as [`write`](TcpStream::write).
    pub async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_with(|s| (&*s).write_vectored(bufs)).await
    }

    /// Writes all of `buf`.
    ///
    /// **Cancel safety:** **not** cancel-safe: a dropped `write_all` may have
    /// written part of `buf`, and does not say how much. In a `select!`, loop
    /// over [`write`](TcpStream::write) instead.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Shuts down the read, write, or both halves. Shutting down the write
    /// half sends end-of-stream to the peer (a half-close): the peer's reads
    /// return 0 while it can still write back.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Splits into halves that can move into different tasks; see
    /// [`OwnedReadHalf`] and [`OwnedWriteHalf`].
    pub fn into_split(self) -> (OwnedReadHalf<TcpStream>, OwnedWriteHalf<TcpStream>) {
        super::split::split(self)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(nodelay)
    }

    /// `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes dropping the stream
    /// reset the connection (the peer sees `ConnectionReset`) instead of
    /// closing it gracefully.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        socket2::SockRef::from(self.inner.get_ref()).set_linger(linger)
    }

    /// `SO_LINGER`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        socket2::SockRef::from(self.inner.get_ref()).linger()
    }

    /// Sets `SO_KEEPALIVE`.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        socket2::SockRef::from(self.inner.get_ref()).set_keepalive(keepalive)
    }

    /// `SO_KEEPALIVE`.
    pub fn keepalive(&self) -> io::Result<bool> {
        socket2::SockRef::from(self.inner.get_ref()).keepalive()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get_ref().take_error()
    }

    /// The registered source, for readiness waits of your own.
    pub fn as_async(&self) -> &Async<std::net::TcpStream> {
        &self.inner
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read_vectored(cx, bufs)
    }
}

impl AsyncWrite for TcpStream {
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

impl AsyncRead for &TcpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_recv(cx, &mut [IoSliceMut::new(buf)])
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_recv(cx, bufs)
    }
}

impl AsyncWrite for &TcpStream {
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

    /// Shuts down the write half (the peer reads end-of-stream).
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}

impl super::split::Split for TcpStream {
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
