//! TLS on corio streams (feature `tls`): rustls through `futures-rustls`,
//! which speaks the `futures_io` traits corio's streams implement — no
//! adapter layer in between.
//!
//! ```toml
//! [dependencies]
//! corio = { version = "0.1", features = ["tls"] }
//! ```
//!
//! ```
//! use corio::net::{TcpListener, TcpStream};
//! use corio::tls::{TlsAcceptor, TlsConnector};
//! use futures_util::io::{AsyncReadExt, AsyncWriteExt};
//!
//! // A certificate for "localhost" (use your own; rcgen makes test ones).
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
//! let acceptor = TlsAcceptor::with_single_cert(vec![cert.cert.der().clone()], cert.key_pair.serialize_der().try_into().unwrap())?;
//! let connector = TlsConnector::with_root_certificates([cert.cert.der().clone()])?;
//!
//! corio::run(async move {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     let server = corio::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let mut tls = acceptor.accept(stream).await?;
//!         tls.write_all(b"hello over TLS").await?;
//!         tls.close().await
//!     });
//!     let mut tls = connector.connect("localhost", TcpStream::connect(addr).await?).await?;
//!     let mut text = String::new();
//!     tls.read_to_string(&mut text).await?;
//!     assert_eq!(text, "hello over TLS");
//!     server.await.unwrap()
//! })
//! .unwrap()?;
//! # Ok::<_, std::io::Error>(())
//! ```
//!
//! * [`TlsAcceptor`] (server side) and [`TlsConnector`] (client side) wrap
//!   any `AsyncRead + AsyncWrite` stream: TCP, Unix, `corio::hyper::Rewind`.
//!   Their shortcuts (`with_single_cert`, `with_root_certificates`) use
//!   rustls' `ring` provider explicitly, offer ALPN `h2` and `http/1.1`,
//!   and never depend on a process-wide default provider.
//! * With the `hyper` feature, `corio::hyper::Server::serve_tls`
//!   serves HTTPS, HTTP/2 chosen by ALPN; a failed handshake is counted
//!   (`ServeStats::handshakes_failed`).
//! * `rustls` is re-exported ([`rustls`]) so that configurations are built
//!   with the version corio links.
//!
//! Every wait inside a handshake or a read is a corio checkpoint (the TLS
//! stream polls the corio socket), so cancelling the task ends it.

use futures_io::{AsyncRead, AsyncWrite};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::io;
use std::sync::Arc;

pub use futures_rustls::{client, server};
pub use rustls;

/// The protocols the shortcuts offer by ALPN, HTTP/2 first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// rustls' `ring` provider, named explicitly so that no process-wide
/// default is needed (nor can be ambiguous when another crate enables
/// aws-lc-rs). rustls marks it deprecated because ring has no post-quantum
/// key exchange; it is kept for its small, C-compiler-only build. For
/// post-quantum key exchange, build a configuration on aws-lc-rs and pass
/// it to [`TlsAcceptor::new`] / [`TlsConnector::new`].
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(err: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, err)
}

/// The server side of TLS: wraps accepted streams.
///
/// Cheap to clone (the configuration is shared).
#[derive(Clone)]
pub struct TlsAcceptor {
    inner: futures_rustls::TlsAcceptor,
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsAcceptor").field("alpn", &self.config.alpn_protocols).finish_non_exhaustive()
    }
}

impl TlsAcceptor {
    /// An acceptor with your rustls configuration.
    pub fn new(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor { inner: futures_rustls::TlsAcceptor::from(config.clone()), config }
    }

    /// An acceptor presenting one certificate chain (leaf first) and its
    /// key, without client authentication, offering ALPN `h2` and
    /// `http/1.1`.
    ///
    /// Errors: the key does not match the certificate or is not usable
    /// (`InvalidInput`).
    pub fn with_single_cert(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> io::Result<TlsAcceptor> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(invalid)?;
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(TlsAcceptor::new(Arc::new(config)))
    }

    /// The configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// Performs the server handshake on `stream` (checkpoints throughout).
    ///
    /// Errors: the handshake failed (the client rejected the certificate,
    /// spoke no TLS, went away) — `InvalidData` or the socket's error.
    pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(&self, stream: S) -> io::Result<server::TlsStream<S>> {
        self.inner.accept(stream).await
    }
}

impl From<Arc<ServerConfig>> for TlsAcceptor {
    fn from(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor::new(config)
    }
}

/// The client side of TLS: wraps connected streams.
///
/// Cheap to clone (the configuration is shared).
#[derive(Clone)]
pub struct TlsConnector {
    inner: futures_rustls::TlsConnector,
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector").field("alpn", &self.config.alpn_protocols).finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// A connector with your rustls configuration (your root store, client
    /// certificates, ALPN).
    pub fn new(config: Arc<ClientConfig>) -> TlsConnector {
        TlsConnector { inner: futures_rustls::TlsConnector::from(config.clone()), config }
    }

    /// A connector that trusts exactly `roots` (DER certificates: a private
    /// CA, or a self-signed server certificate), offering ALPN `h2` and
    /// `http/1.1`. For the public web's roots, build a `ClientConfig` with
    /// `webpki-roots` or `rustls-native-certs` and use [`new`](TlsConnector::new).
    ///
    /// Errors: a certificate could not be parsed as a trust anchor
    /// (`InvalidInput`).
    pub fn with_root_certificates(
        roots: impl IntoIterator<Item = CertificateDer<'static>>,
    ) -> io::Result<TlsConnector> {
        let mut store = RootCertStore::empty();
        for root in roots {
            store.add(root).map_err(invalid)?;
        }
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_root_certificates(store)
            .with_no_client_auth();
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(TlsConnector::new(Arc::new(config)))
    }

    /// The configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Performs the client handshake on `stream` for `server_name` (a DNS
    /// name or an IP address, checked against the certificate).
    ///
    /// Errors: `server_name` is not a valid name (`InvalidInput`); the
    /// handshake failed — a certificate the roots do not vouch for, or not
    /// for this name, is `InvalidData` naming the reason.
    pub async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        server_name: &str,
        stream: S,
    ) -> io::Result<client::TlsStream<S>> {
        let name = ServerName::try_from(server_name.to_string()).map_err(invalid)?;
        self.inner.connect(name, stream).await
    }
}

impl From<Arc<ClientConfig>> for TlsConnector {
    fn from(config: Arc<ClientConfig>) -> TlsConnector {
        TlsConnector::new(config)
    }
}
