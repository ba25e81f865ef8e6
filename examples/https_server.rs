//! An HTTPS server: hyper on corio over TLS (features `hyper` and `tls`),
//! HTTP/2 or HTTP/1.1 chosen by ALPN.
//!
//! ```sh
//! # a certificate for localhost (any PEM chain and key will do):
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
//!     -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout key.pem -out cert.pem
//! cargo run --release --features hyper,tls --example https_server -- cert.pem key.pem   # 127.0.0.1:3443
//! curl --cacert cert.pem https://localhost:3443/            # Hello over TLS! (HTTP/2)
//! curl --cacert cert.pem --http1.1 https://localhost:3443/
//! ```
//!
//! SIGINT or SIGTERM shuts it down gracefully; it prints its totals,
//! including handshakes that failed (a client that did not trust the
//! certificate, or spoke no TLS). `tests/https_example.rs` generates a
//! certificate with rcgen and drives it.

use corio::hyper::Server;
use corio::net::TcpListener;
use corio::signal::{Signal, Signals};
use corio::tls::rustls::pki_types::pem::PemObject;
use corio::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use corio::tls::TlsAcceptor;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::error::Error;

async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("Hello over TLS! ({:?})\n", request.version());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cert, key, addr) = match &args[..] {
        [cert, key] => (cert, key, "127.0.0.1:3443"),
        [cert, key, addr] => (cert, key, addr.as_str()),
        _ => return Err("usage: https_server CERT.pem KEY.pem [ADDR]".into()),
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|err| format!("{cert}: {err}"))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|err| format!("{key}: {err}"))?;
    let acceptor = TlsAcceptor::with_single_cert(chain, key)?;

    let stats = corio::run(async move {
        let mut stop = Signals::new([Signal::INT, Signal::TERM])?;
        let listener = TcpListener::bind(addr)?;
        println!("listening on https://{}", listener.local_addr()?);
        let shutdown = async move {
            if let Ok(signal) = stop.recv().await {
                println!("{signal}: shutting down");
            }
        };
        Server::new().serve_tls(listener, acceptor, |_peer| service_fn(hello), shutdown).await
    })??;
    println!(
        "stopped: {} connection(s), {} request(s), {} failed handshake(s)",
        stats.connections, stats.requests, stats.handshakes_failed
    );
    Ok(())
}
