//! What a stream pair runs over: any connected byte stream with addresses
//! ([`Transport`]), shared by its reader and its writer until it is closed.

use futures_io::{AsyncRead, AsyncWrite};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A socket's address, as asyncio's `get_extra_info("peername")` and
/// `("sockname")` give it: an IP address and port, or a Unix socket path.
#[derive(Debug, Clone)]
pub enum Address {
    /// A TCP (or simulated) socket's address.
    Inet(SocketAddr),
    /// A Unix domain socket's address (possibly unnamed).
    Unix(std::os::unix::net::SocketAddr),
}

impl Address {
    /// The IP socket address, if it is one.
    pub fn as_inet(&self) -> Option<SocketAddr> {
        match self {
            Address::Inet(addr) => Some(*addr),
            Address::Unix(_) => None,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Inet(addr) => write!(f, "{addr}"),
            Address::Unix(addr) => match addr.as_pathname() {
                Some(path) => write!(f, "{}", path.display()),
                None => f.write_str("(unnamed)"),
            },
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Address {
        Address::Inet(addr)
    }
}

impl From<std::os::unix::net::SocketAddr> for Address {
    fn from(addr: std::os::unix::net::SocketAddr) -> Address {
        Address::Unix(addr)
    }
}

/// A connected byte stream a [`StreamReader`](super::StreamReader) and
/// [`StreamWriter`](super::StreamWriter) pair can run over: TCP and Unix
/// streams, the mock backend's simulated streams, or a stream of your own.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + 'static {
    /// The remote address, if known.
    fn peer_addr(&self) -> Option<Address>;
    /// The local address, if known.
    fn local_addr(&self) -> Option<Address>;
}

impl Transport for crate::io::TcpStream {
    fn peer_addr(&self) -> Option<Address> {
        crate::io::TcpStream::peer_addr(self).ok().map(Address::Inet)
    }

    fn local_addr(&self) -> Option<Address> {
        crate::io::TcpStream::local_addr(self).ok().map(Address::Inet)
    }
}

impl Transport for crate::io::UnixStream {
    fn peer_addr(&self) -> Option<Address> {
        crate::io::UnixStream::peer_addr(self).ok().map(Address::Unix)
    }

    fn local_addr(&self) -> Option<Address> {
        crate::io::UnixStream::local_addr(self).ok().map(Address::Unix)
    }
}

/// The transport, shared by the reader and the writer of one connection
/// on the loop's thread. Each poll borrows it for that poll only (polls do
/// not nest), and closing drops it: the descriptor closes at once and the
/// reader sees the end of the stream.
pub(super) struct Shared {
    transport: RefCell<Option<Box<dyn Transport>>>,
    peer: Option<Address>,
    local: Option<Address>,
    /// The write side was shut down (`write_eof`).
    write_shut: Cell<bool>,
}

impl Shared {
    pub(super) fn new(transport: Box<dyn Transport>) -> Shared {
        let (peer, local) = (transport.peer_addr(), transport.local_addr());
        Shared { transport: RefCell::new(Some(transport)), peer, local, write_shut: Cell::new(false) }
    }

    pub(super) fn peer(&self) -> Option<&Address> {
        self.peer.as_ref()
    }

    pub(super) fn local(&self) -> Option<&Address> {
        self.local.as_ref()
    }

    /// Reads into `buf`; `Ok(0)` at the end of the stream or once closed.
    pub(super) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self.transport.borrow_mut().as_mut() {
            Some(transport) => Pin::new(&mut **transport).poll_read(cx, buf),
            None => Poll::Ready(Ok(0)),
        }
    }

    pub(super) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.transport.borrow_mut().as_mut() {
            Some(transport) => Pin::new(&mut **transport).poll_write(cx, buf),
            None => Poll::Ready(Err(closed())),
        }
    }

    /// Shuts down the write side (the peer reads end-of-stream).
    pub(super) fn poll_shutdown_write(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.write_shut.get() {
            return Poll::Ready(Ok(()));
        }
        let polled = match self.transport.borrow_mut().as_mut() {
            Some(transport) => Pin::new(&mut **transport).poll_close(cx),
            None => Poll::Ready(Ok(())),
        };
        if polled.is_ready() {
            self.write_shut.set(true);
        }
        polled
    }

    /// Drops the transport: the descriptor closes.
    pub(super) fn close(&self) {
        let transport = self.transport.borrow_mut().take();
        drop(transport);
    }
}

pub(super) fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the stream is closed")
}
