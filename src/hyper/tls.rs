//! HTTPS: [`Server::serve_tls`], a TLS handshake before HTTP on every
//! connection, the protocol chosen by ALPN.

use super::server::Handshake;
use super::sniff::Protocol;
use super::{ServeStats, Server};
use crate::net::{TcpListener, TcpStream};
use crate::tls::{server::TlsStream, TlsAcceptor};
use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::SocketAddr;

impl Handshake for TlsAcceptor {
    type Io = TlsStream<TcpStream>;

    async fn handshake(self, stream: TcpStream) -> io::Result<(Self::Io, Option<Protocol>)> {
        let tls = self.accept(stream).await?;
        let protocol = match tls.get_ref().1.alpn_protocol() {
            Some(b"h2") => Some(Protocol::Http2),
            Some(b"http/1.1" | b"http/1.0") => Some(Protocol::Http1),
            _ => None, // no ALPN: tell by the first bytes
        };
        Ok((tls, protocol))
    }
}

impl Server {
    /// [`serve`](Server::serve) over TLS: each connection's handshake runs
    /// in its own task (bounded by [`handshake_timeout`](Server::handshake_timeout)),
    /// then HTTP/2 if ALPN chose `h2`, HTTP/1.1 if it chose `http/1.1`, and
    /// by the first bytes if the client offered no ALPN. A failed handshake
    /// (the client rejects the certificate, speaks no TLS) closes that
    /// connection and is counted in [`ServeStats::handshakes_failed`].
    ///
    /// ```no_run
    /// use corio::hyper::Server;
    /// use corio::net::TcpListener;
    /// use corio::tls::TlsAcceptor;
    /// use http_body_util::Full;
    /// use hyper::body::Bytes;
    /// use hyper::service::service_fn;
    /// use hyper::Response;
    /// use std::convert::Infallible;
    ///
    /// # async fn demo(acceptor: TlsAcceptor) -> std::io::Result<()> {
    /// let listener = TcpListener::bind("127.0.0.1:8443")?;
    /// let hello = |_peer| service_fn(|_req| async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hi")))) });
    /// Server::new().serve_tls(listener, acceptor, hello, corio::signal::ctrl_c()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn serve_tls<M, S, B>(
        &self,
        listener: TcpListener,
        acceptor: TlsAcceptor,
        make_service: M,
        shutdown: impl Future,
    ) -> io::Result<ServeStats>
    where
        M: FnMut(SocketAddr) -> S,
        S: Service<Request<Incoming>, Response = Response<B>> + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        S::Future: 'static,
        B: Body + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        self.serve_with(listener, acceptor, make_service, shutdown).await
    }
}
