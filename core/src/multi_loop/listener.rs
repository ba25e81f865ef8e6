//! One listening socket per loop on a shared port (`SO_REUSEPORT`), so that
//! the kernel spreads a server's connections over every loop.

use crate::io::TcpListener;
use socket2::{Domain, Socket, Type};
use std::io;
use std::net::SocketAddr;

impl TcpListener {
    /// Binds to `addr` with `SO_REUSEPORT` (and `SO_REUSEADDR`) set and
    /// registers with the running loop. Every loop of a
    /// [`MultiLoop`](super::MultiLoop) binds its own listener to the same
    /// address; Linux then hashes each incoming connection to one of them,
    /// and the BSDs and macOS hand it to the most recent (load balancing is
    /// Linux's and FreeBSD's `SO_REUSEPORT_LB` behaviour). Bind port 0 once
    /// and pass the port it got to the other loops.
    ///
    /// Errors: the bind failed (the address is in use by a socket without
    /// the option, or by another user; permission).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use corio_core::io::TcpListener;
    /// let first = TcpListener::bind_reuse_port("127.0.0.1:0".parse().unwrap())?;
    /// let second = TcpListener::bind_reuse_port(first.local_addr()?)?; // same port
    /// # drop(second); Ok(()) }
    /// ```
    pub fn bind_reuse_port(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.bind(&addr.into())?;
        // The backlog std uses for `TcpListener::bind`.
        socket.listen(128)?;
        TcpListener::from_std(socket.into())
    }
}
