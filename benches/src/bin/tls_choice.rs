//! Which rustls binding `corio::tls` should use, measured: futures-rustls on
//! corio's streams directly (what `corio::tls` does), against tokio-rustls
//! over tokio-util's `futures_io` → `tokio::io` adapter (`.compat()`), both
//! on one corio loop over loopback.
//!
//! * handshakes: sequential connections, each a full TLS 1.3 handshake and a
//!   64-byte round trip;
//! * throughput: one connection, 64 MiB sent in 16 KiB writes and echoed
//!   back (read concurrently).
//!
//! ```text
//! cargo run --release -p corio-bench --bin tls_choice [HANDSHAKES] [MIB] [REPS]
//! ```
//!
//! Repetitions alternate the two; medians are printed with their ratio.

use corio::net::{TcpListener, TcpStream};
use corio::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use corio::tls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::compat::FuturesAsyncReadCompatExt;

struct Configs {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

#[allow(deprecated)] // ring: as corio::tls
fn configs() -> Configs {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der: CertificateDer<'static> = cert.cert.der().clone();
    let key: PrivateKeyDer<'static> = cert.key_pair.serialize_der().try_into().unwrap();
    let provider = Arc::new(corio::tls::rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(der).unwrap();
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Configs { server: Arc::new(server), client: Arc::new(client) }
}

const CHUNK: usize = 16 * 1024;

/// The echo server and the client of one measurement, with binding `B`.
trait Binding {
    const NAME: &'static str;
    fn serve(config: Arc<ServerConfig>, stream: TcpStream) -> impl std::future::Future<Output = ()> + 'static;
    /// Handshake, then `round_trip(bytes)` until done; returns bytes echoed.
    async fn client(config: Arc<ClientConfig>, stream: TcpStream, bytes: usize) -> usize;
}

struct Futures;
struct Tokio;

impl Binding for Futures {
    const NAME: &'static str = "futures-rustls (corio::tls)";

    async fn serve(config: Arc<ServerConfig>, stream: TcpStream) {
        let Ok(tls) = futures_rustls::TlsAcceptor::from(config).accept(stream).await else { return };
        let (mut reader, mut writer) = tls.split();
        let _ = futures_util::io::copy(&mut reader, &mut writer).await;
        let _ = writer.close().await;
    }

    async fn client(config: Arc<ClientConfig>, stream: TcpStream, bytes: usize) -> usize {
        let name = ServerName::try_from("localhost").unwrap();
        let tls = futures_rustls::TlsConnector::from(config).connect(name, stream).await.unwrap();
        let (mut reader, mut writer) = tls.split();
        let chunk = vec![7u8; CHUNK.min(bytes)];
        let write = async {
            let mut sent = 0;
            while sent < bytes {
                let n = chunk.len().min(bytes - sent);
                writer.write_all(&chunk[..n]).await.unwrap();
                sent += n;
            }
            writer.flush().await.unwrap();
        };
        let read = async {
            let mut buf = vec![0u8; CHUNK];
            let mut got = 0;
            while got < bytes {
                got += reader.read(&mut buf).await.unwrap();
            }
            got
        };
        futures_util::future::join(write, read).await.1
    }
}

impl Binding for Tokio {
    const NAME: &'static str = "tokio-rustls over .compat()";

    async fn serve(config: Arc<ServerConfig>, stream: TcpStream) {
        let Ok(tls) = tokio_rustls::TlsAcceptor::from(config).accept(stream.compat()).await else { return };
        let (mut reader, mut writer) = tokio::io::split(tls);
        let _ = tokio::io::copy(&mut reader, &mut writer).await;
        let _ = writer.shutdown().await;
    }

    async fn client(config: Arc<ClientConfig>, stream: TcpStream, bytes: usize) -> usize {
        let name = ServerName::try_from("localhost").unwrap();
        let tls = tokio_rustls::TlsConnector::from(config).connect(name, stream.compat()).await.unwrap();
        let (mut reader, mut writer) = tokio::io::split(tls);
        let chunk = vec![7u8; CHUNK.min(bytes)];
        let write = async {
            let mut sent = 0;
            while sent < bytes {
                let n = chunk.len().min(bytes - sent);
                writer.write_all(&chunk[..n]).await.unwrap();
                sent += n;
            }
            writer.flush().await.unwrap();
        };
        let read = async {
            let mut buf = vec![0u8; CHUNK];
            let mut got = 0;
            while got < bytes {
                got += reader.read(&mut buf).await.unwrap();
            }
            got
        };
        futures_util::future::join(write, read).await.1
    }
}

/// (handshakes per second, MiB/s) for binding `B`.
fn measure<B: Binding>(configs: &Configs, handshakes: usize, mib: usize) -> (f64, f64) {
    let (server, client) = (configs.server.clone(), configs.client.clone());
    corio::run(async move {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = corio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                stream.set_nodelay(true).unwrap();
                corio::spawn(B::serve(server.clone(), stream)).detach();
            }
        });
        let start = Instant::now();
        for _ in 0..handshakes {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            assert_eq!(B::client(client.clone(), stream, 64).await, 64);
        }
        let per_second = handshakes as f64 / start.elapsed().as_secs_f64();
        let stream = TcpStream::connect(addr).await.unwrap();
        let start = Instant::now();
        let echoed = B::client(client.clone(), stream, mib << 20).await;
        assert_eq!(echoed, mib << 20);
        let mib_per_second = mib as f64 / start.elapsed().as_secs_f64();
        acceptor.cancel();
        (per_second, mib_per_second)
    })
    .unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let handshakes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let reps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let configs = configs();
    let (mut futures, mut tokio) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        if rep % 2 == 0 {
            futures.push(measure::<Futures>(&configs, handshakes, mib));
            tokio.push(measure::<Tokio>(&configs, handshakes, mib));
        } else {
            tokio.push(measure::<Tokio>(&configs, handshakes, mib));
            futures.push(measure::<Futures>(&configs, handshakes, mib));
        }
    }
    let median = |v: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| {
        let mut xs: Vec<f64> = v.iter().map(pick).collect();
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    let (fh, ft) = (median(&futures, |r| r.0), median(&futures, |r| r.1));
    let (th, tt) = (median(&tokio, |r| r.0), median(&tokio, |r| r.1));
    println!("| binding | handshakes/s (+ 64-byte round trip) | MiB/s echoed (one connection) |");
    println!("|---|---|---|");
    println!("| {} | {fh:.0} (1.00) | {ft:.0} (1.00) |", Futures::NAME);
    println!("| {} | {th:.0} ({:.2}) | {tt:.0} ({:.2}) |", Tokio::NAME, th / fh, tt / ft);
}
