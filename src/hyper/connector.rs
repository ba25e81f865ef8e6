//! [`Connector`]: corio TCP connections for `hyper_util`'s pooled client
//! (feature `hyper-util`).

use super::CorioIo;
use crate::net::TcpStream;
use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Opens corio TCP connections for `hyper_util::client::legacy::Client`
/// (hyper_util's `HttpConnector`, for corio). Host names are resolved on
/// corio's blocking pool, never on the loop; each address is tried in turn;
/// `TCP_NODELAY` is set.
///
/// ```no_run
/// use corio::hyper::{Connector, CorioExecutor, CorioTimer};
/// use http_body_util::{BodyExt, Empty};
/// use hyper::body::Bytes;
/// use hyper_util::client::legacy::Client;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client: Client<Connector, Empty<Bytes>> =
///     Client::builder(CorioExecutor).timer(CorioTimer).pool_timer(CorioTimer).build(Connector::new());
/// let response = client.get("http://127.0.0.1:3000/".parse()?).await?;
/// let body = response.into_body().collect().await?.to_bytes();
/// # drop(body); Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Connector {
    connect_timeout: Option<Duration>,
}

impl Connector {
    /// A connector with no connect timeout of its own.
    pub fn new() -> Connector {
        Connector::default()
    }

    /// Fails a connection attempt with `TimedOut` when the handshake has
    /// not finished within `timeout` of loop time.
    pub fn connect_timeout(mut self, timeout: Duration) -> Connector {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Connects to the host and port of `uri` (port 80 for `http`, 443 for
    /// `https`, when it names none).
    ///
    /// Errors: the URI has no host (`InvalidInput`), resolving or
    /// connecting failed, or the task was cancelled.
    pub async fn connect(&self, uri: &Uri) -> io::Result<TcpStream> {
        let host =
            uri.host().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("no host in {uri}")))?;
        let default_port = if uri.scheme_str() == Some("https") { 443 } else { 80 };
        let port = uri.port_u16().unwrap_or(default_port);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => {
                let host = host.to_string();
                crate::to_thread(move || (host.as_str(), port).to_socket_addrs().map(Iterator::collect))
                    .await
                    .map_err(io::Error::other)??
            }
        };
        let stream = match self.connect_timeout {
            Some(timeout) => TcpStream::connect_timeout(&addrs[..], timeout).await?,
            None => TcpStream::connect(&addrs[..]).await?,
        };
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = CorioIo<TcpStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<CorioIo<TcpStream>>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connector = self.clone();
        Box::pin(async move { connector.connect(&uri).await.map(CorioIo::new) })
    }
}

impl Connection for CorioIo<TcpStream> {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}
