//! `examples/https_server` (hyper on corio over TLS) as a real process,
//! with a certificate for `localhost` generated here (rcgen).
//!
//! Always run, with clients in Rust (corio's `TlsConnector` and hyper's
//! client): HTTP/2 chosen by ALPN, HTTP/1.1 when the client offers only
//! that; a client that trusts another certificate fails its handshake with
//! a clear error, as does a client speaking plain HTTP, and both are
//! counted by the server, which keeps serving.
//!
//! Opt-in (`CORIO_EXTERNAL_CLIENTS=1`, set by `.ci/run`): `curl --cacert`
//! over HTTP/2 and HTTP/1.1.

mod support;

use corio::hyper::{CorioExecutor, CorioIo};
use corio::net::TcpStream;
use corio::tls::rustls::pki_types::CertificateDer;
use corio::tls::rustls::{ClientConfig, RootCertStore};
use corio::tls::TlsConnector;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::Request;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use support::{announced_addr, Server};

/// A self-signed certificate for `localhost` and its key, written as PEM
/// files in a directory of this test run's own.
struct Cert {
    der: CertificateDer<'static>,
    cert_pem: PathBuf,
    key_pem: PathBuf,
}

fn generate(dir_name: &str) -> Cert {
    let dir = std::env::temp_dir().join(format!("corio-https-{}-{dir_name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = dir.join("cert.pem");
    let key_pem = dir.join("key.pem");
    std::fs::write(&cert_pem, generated.cert.pem()).unwrap();
    std::fs::write(&key_pem, generated.key_pair.serialize_pem()).unwrap();
    Cert { der: generated.cert.der().clone(), cert_pem, key_pem }
}

fn start(cert: &Cert) -> (Server, SocketAddr) {
    let args = [cert.cert_pem.to_str().unwrap(), cert.key_pem.to_str().unwrap(), "127.0.0.1:0"];
    let (server, announced) = Server::start_with("https_server", support::BRIDGES, &args);
    (server, announced_addr(&announced.replace("https://", "")))
}

/// The server's totals: connections, requests, failed handshakes.
fn totals(line: &str) -> (u64, u64, u64) {
    let numbers: Vec<u64> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
    match numbers[..] {
        [c, r, h] if line.starts_with("stopped:") => (c, r, h),
        _ => panic!("not a totals line: {line:?}"),
    }
}

/// GET / over TLS with `connector`: the ALPN protocol and the body.
async fn fetch(addr: SocketAddr, connector: &TlsConnector) -> std::io::Result<(Option<Vec<u8>>, String)> {
    let tls = connector.connect("localhost", TcpStream::connect(addr).await?).await?;
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let io = CorioIo::new(tls);
    let request = Request::get("https://localhost/").body(Empty::<Bytes>::new()).unwrap();
    let response = if alpn.as_deref() == Some(b"h2") {
        let (mut sender, connection) = hyper::client::conn::http2::handshake(CorioExecutor, io).await.unwrap();
        corio::spawn(connection).detach();
        sender.send_request(request).await.unwrap()
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.unwrap();
        corio::spawn(connection).detach();
        let mut request = request;
        request.headers_mut().insert("host", "localhost".parse().unwrap());
        sender.send_request(request).await.unwrap()
    };
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Ok((alpn, String::from_utf8(body.to_vec()).unwrap()))
}

/// A connector trusting `root` that offers only HTTP/1.1 by ALPN.
fn http1_only(root: &CertificateDer<'static>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    #[allow(deprecated)] // ring: see corio::tls
    let provider = Arc::new(corio::tls::rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::new(Arc::new(config))
}

#[test]
fn rust_clients_fetch_over_tls_and_bad_handshakes_are_counted() {
    let cert = generate("rust");
    let stranger = generate("stranger");
    let (server, addr) = start(&cert);

    corio::run(async {
        let trusting = TlsConnector::with_root_certificates([cert.der.clone()]).unwrap();
        let (alpn, body) = fetch(addr, &trusting).await.unwrap();
        assert_eq!((alpn.as_deref(), body.as_str()), (Some(&b"h2"[..]), "Hello over TLS! (HTTP/2.0)\n"));
        let (alpn, body) = fetch(addr, &http1_only(&cert.der)).await.unwrap();
        assert_eq!((alpn.as_deref(), body.as_str()), (Some(&b"http/1.1"[..]), "Hello over TLS! (HTTP/1.1)\n"));

        // A client that trusts another certificate: a clear error.
        let wrong = TlsConnector::with_root_certificates([stranger.der.clone()]).unwrap();
        let err = fetch(addr, &wrong).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
        assert!(err.to_string().contains("invalid peer certificate"), "{err}");
        // A name the certificate is not for.
        let stream = TcpStream::connect(addr).await.unwrap();
        let err = trusting.connect("example.com", stream).await.unwrap_err();
        assert!(err.to_string().contains("not valid for name"), "{err}");
        // Not a name at all.
        let stream = TcpStream::connect(addr).await.unwrap();
        let err = trusting.connect("not a name!", stream).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        // Plain HTTP on the TLS port.
        let plain = TcpStream::connect(addr).await.unwrap();
        plain.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 256];
        while plain.read(&mut buf).await.is_ok_and(|n| n > 0) {}

        // Still serving.
        assert_eq!(fetch(addr, &trusting).await.unwrap().1, "Hello over TLS! (HTTP/2.0)\n");
        Ok::<_, std::io::Error>(())
    })
    .unwrap()
    .unwrap();

    server.signal(libc::SIGTERM);
    let (status, output) = server.wait();
    assert!(status.success(), "{output:#?}");
    let (connections, requests, failed) = totals(output.last().unwrap());
    // The bad name ("not a name!") never reached the server as TLS: its
    // connection closed without a ClientHello, which is a failed handshake too.
    assert_eq!((connections, requests), (7, 3), "{output:#?}");
    assert_eq!(failed, 4, "wrong certificate, wrong name, no handshake, plain HTTP: {output:#?}");
}

#[test]
fn curl_fetches_over_tls_with_the_generated_certificate() {
    if std::env::var_os("CORIO_EXTERNAL_CLIENTS").is_none_or(|v| v != "1") {
        eprintln!("curl_fetches_over_tls_with_the_generated_certificate: skipped (set CORIO_EXTERNAL_CLIENTS=1 with curl installed)");
        return;
    }
    let cert = generate("curl");
    let (server, addr) = start(&cert);
    let url = format!("https://localhost:{}/", addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", addr.port());
    let curl = |extra: &[&str]| {
        let mut args = vec!["--silent", "--show-error", "--max-time", "60", "--resolve", &resolve, "--cacert"];
        args.push(cert.cert_pem.to_str().unwrap());
        args.extend_from_slice(extra);
        args.push(&url);
        let output = Command::new("curl").args(&args).output().expect("curl installed (apt-get install -y curl)");
        assert!(output.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(curl(&["--write-out", "%{http_version}"]), "Hello over TLS! (HTTP/2.0)\n2", "HTTP/2 by ALPN");
    assert_eq!(curl(&["--http1.1"]), "Hello over TLS! (HTTP/1.1)\n");
    // Without the certificate, curl refuses the server.
    let refused = Command::new("curl")
        .args(["--silent", "--max-time", "60", "--resolve", &resolve, &url])
        .status()
        .expect("curl");
    assert!(!refused.success());

    server.signal(libc::SIGINT);
    let (status, output) = server.wait();
    assert!(status.success(), "{output:#?}");
    assert_eq!(totals(output.last().unwrap()), (3, 2, 1), "{output:#?}");
}
