//! The simulated sockets: [`SimListener`] and [`SimStream`], registered with
//! the loop through `Async` like real ones.

use super::state::Id;
use super::SimNet;
use corio_core::io::{Async, Direction, Incoming, Listener};
use futures_io::{AsyncRead, AsyncWrite};
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// An idle descriptor: the socket's identity with the reactor. It is never
/// signalled; readiness for it is injected. An eventfd on Linux (one
/// descriptor, no buffers); elsewhere an unbound Unix datagram socket.
fn identity() -> io::Result<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::fd::FromRawFd;
        // SAFETY: eventfd takes no pointers; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: just created, owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        Ok(std::os::unix::net::UnixDatagram::unbound()?.into())
    }
}

#[derive(Debug)]
struct ListenerSocket {
    fd: OwnedFd,
    net: SimNet,
    addr: SocketAddr,
}

impl AsFd for ListenerSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for ListenerSocket {
    fn drop(&mut self) {
        self.net.with(|state| state.unbind(self.addr));
    }
}

#[derive(Debug)]
struct StreamSocket {
    fd: OwnedFd,
    net: SimNet,
    id: Id,
}

impl AsFd for StreamSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for StreamSocket {
    fn drop(&mut self) {
        self.net.with(|state| state.close(self.id));
    }
}

/// Closes the client end of a connect dropped before it finished.
struct Abandon {
    net: SimNet,
    id: Id,
    /// Cleared once the connect finished: the guard then closes nothing.
    armed: bool,
}

impl Drop for Abandon {
    fn drop(&mut self) {
        if self.armed {
            self.net.with(|state| state.close(self.id));
        }
    }
}

/// A listener on the simulated network.
#[derive(Debug)]
pub struct SimListener {
    io: Async<ListenerSocket>,
}

impl SimListener {
    /// Listens on `addr` (port 0 picks one). `AddrInUse` if taken.
    pub fn bind(net: &SimNet, addr: SocketAddr) -> io::Result<SimListener> {
        let addr = net.with(|state| state.bind(addr))?;
        let socket = ListenerSocket { fd: identity()?, net: net.clone(), addr };
        let fd = socket.fd.as_raw_fd();
        net.mark_simulated(fd);
        let io = Async::new(socket)?;
        net.with(|state| state.set_listener_fd(addr, fd));
        Ok(SimListener { io })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.io.get_ref().addr
    }

    /// Accepts a connection (a checkpoint).
    pub async fn accept(&self) -> io::Result<(SimStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept_inner(cx)).await
    }

    /// An accept loop that backs off on `EMFILE` (see
    /// `corio_core::io::Incoming`).
    pub fn incoming(&self) -> Incoming<'_, SimListener> {
        Incoming::new(self)
    }

    fn poll_accept_inner(&self, cx: &mut Context<'_>) -> Poll<io::Result<(SimStream, SocketAddr)>> {
        let accepted = self.io.poll_io(Direction::Read, cx, |l| l.net.with(|state| state.accept(l.addr)));
        accepted.map(|result| {
            let (id, remote) = result?;
            let net = &self.io.get_ref().net;
            Ok((SimStream::adopt(net, id)?, remote))
        })
    }

    /// The registered source.
    pub fn as_async(&self) -> &Async<impl AsFd> {
        &self.io
    }
}

impl Listener for SimListener {
    type Connection = (SimStream, SocketAddr);

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Self::Connection>> {
        self.poll_accept_inner(cx)
    }
}

/// A connection on the simulated network; `futures_io::AsyncRead` and
/// `AsyncWrite` like a `TcpStream`.
#[derive(Debug)]
pub struct SimStream {
    io: Async<StreamSocket>,
}

impl SimStream {
    /// Connects to `addr` (a checkpoint: the request travels one latency;
    /// `ConnectionRefused` if nothing listens there). A black-holed address
    /// ([`Route::BlackHole`](super::Route::BlackHole)) never answers: the
    /// connect waits until cancelled. Dropped before it finished, the
    /// connect closes its end (the server reads end-of-stream).
    pub async fn connect(net: &SimNet, addr: SocketAddr) -> io::Result<SimStream> {
        if net.state.borrow().route(addr) == super::Route::BlackHole {
            // Nothing will ever answer; waiting is still a checkpoint.
            corio_core::sync::Event::new().wait().await?;
            unreachable!("nobody sets the event");
        }
        let latency = net.state.borrow().connect_latency(addr);
        let connected = net.with(|state| state.connect(addr));
        let abandon = connected.as_ref().ok().map(|&id| Abandon { net: net.clone(), id, armed: true });
        // The SYN's trip (and a checkpoint even with zero latency).
        corio_core::sleep(latency).await?;
        let id = connected?;
        if let Some(mut abandon) = abandon {
            // Connected: the guard goes without closing (and without
            // keeping the network alive).
            abandon.armed = false;
        }
        SimStream::adopt(net, id)
    }

    fn adopt(net: &SimNet, id: Id) -> io::Result<SimStream> {
        let socket = StreamSocket { fd: identity()?, net: net.clone(), id };
        let fd = socket.fd.as_raw_fd();
        net.mark_simulated(fd);
        let io = Async::new(socket)?;
        net.with(|state| state.set_stream_fd(id, fd));
        Ok(SimStream { io })
    }

    fn op<R>(&self, f: impl FnOnce(&mut super::state::NetState, Id) -> R) -> R {
        let socket = self.io.get_ref();
        socket.net.with(|state| f(state, socket.id))
    }

    /// Reads some bytes; `Ok(0)` at end of stream.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read_with(|s| s.net.with(|state| state.read(s.id, buf))).await
    }

    /// Writes some bytes (waits while the peer's buffer is full).
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.write_with(|s| s.net.with(|state| state.write(s.id, buf))).await
    }

    /// Writes all of `buf`.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Shuts down a direction: `Write` sends end-of-stream (a half-close),
    /// `Read` discards what arrives.
    pub fn shutdown(&self, how: Shutdown) {
        let (read, write) = match how {
            Shutdown::Read => (true, false),
            Shutdown::Write => (false, true),
            Shutdown::Both => (true, true),
        };
        self.op(|state, id| state.shutdown(id, read, write));
    }

    /// Resets the connection, as closing with `SO_LINGER` 0 does: the peer
    /// gets `ConnectionReset`.
    pub fn abort(self) {
        self.op(|state, id| state.abort(id));
    }

    /// The local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.op(|state, id| state.local_addr(id))
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.op(|state, id| state.peer_addr(id))
    }

    /// The registered source (e.g. to deregister it).
    pub fn as_async(&self) -> &Async<impl AsFd> {
        &self.io
    }
}

impl AsyncRead for SimStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(Direction::Read, cx, |s| s.net.with(|state| state.read(s.id, buf)))
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(Direction::Write, cx, |s| s.net.with(|state| state.write(s.id, buf)))
    }

    /// Nothing is buffered on the sending side: a no-op.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down the write half.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shutdown(Shutdown::Write);
        Poll::Ready(Ok(()))
    }
}

/// The simulated stream under asyncio's streams API
/// (`corio_core::streams::pair`, `start_server_on`).
impl corio_core::streams::Transport for SimStream {
    fn peer_addr(&self) -> Option<corio_core::streams::Address> {
        Some(SimStream::peer_addr(self).into())
    }

    fn local_addr(&self) -> Option<corio_core::streams::Address> {
        Some(SimStream::local_addr(self).into())
    }
}
