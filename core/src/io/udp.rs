//! UDP over the loop's reactor: [`UdpSocket`].
//!
//! A datagram socket keeps message boundaries: each `send_to` is one
//! datagram, each `recv_from` receives one (truncated if `buf` is too
//! small). Sending waits only when the socket's send buffer is full.

use super::registry::Direction;
use super::source::Async;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll};

/// A UDP socket.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use corio_core::io::UdpSocket;
/// let socket = UdpSocket::bind("127.0.0.1:0")?;
/// let mut buf = [0; 1500];
/// let (n, peer) = socket.recv_from(&mut buf).await?;
/// socket.send_to(&buf[..n], peer).await?; // echo it back
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    inner: Async<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` and registers with the running loop. Resolving a
    /// host name blocks the loop; pass addresses.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        UdpSocket::from_std(std::net::UdpSocket::bind(addr)?)
    }

    /// Registers an existing socket with the running loop.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket { inner: Async::new(socket)? })
    }

    /// Deregisters and returns the `std` socket (left non-blocking).
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.inner.into_inner()
    }

    /// Sets the default peer: `send`/`recv` then talk to it only, and
    /// datagrams from other addresses are dropped by the kernel. (No
    /// handshake: this does not wait.)
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.inner.get_ref().connect(addr)
    }

    /// Sends one datagram to `addr` (a checkpoint).
    ///
    /// **Cancel safety:** cancel-safe: a dropped send has sent nothing.
    pub async fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let addr = one_addr(addr)?;
        self.inner.write_with(|s| s.send_to(buf, addr)).await
    }

    /// Receives one datagram and its sender (a checkpoint).
    ///
    /// **Cancel safety:** cancel-safe: a dropped receive has taken no datagram.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.recv_from(buf)).await
    }

    /// Polls for one datagram; see [`recv_from`](UdpSocket::recv_from).
    pub fn poll_recv_from(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.inner.poll_io(Direction::Read, cx, |s| s.recv_from(buf))
    }

    /// Receives one datagram without removing it from the queue.
    ///
    /// **Cancel safety:** cancel-safe.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.peek_from(buf)).await
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

    /// Receives one datagram from the connected peer without removing it.
    ///
    /// **Cancel safety:** cancel-safe.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.peek(buf)).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The connected peer's address (`NotConnected` if none).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_broadcast(on)
    }

    /// `SO_BROADCAST`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.inner.get_ref().broadcast()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), e.g. an ICMP "port
    /// unreachable" reported for an earlier send on a connected socket.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get_ref().take_error()
    }

    /// The registered source, for readiness waits of your own.
    pub fn as_async(&self) -> &Async<std::net::UdpSocket> {
        &self.inner
    }
}

/// The first address `addr` resolves to (a datagram goes to one place).
fn one_addr(addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()?.next().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to send to"))
}
