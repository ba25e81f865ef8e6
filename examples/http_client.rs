//! An HTTP client: hyper 1.x on corio sockets through `corio::hyper`
//! (feature `hyper`). Fetches each URL given, over HTTP/1.1 or, with
//! `--http2`, HTTP/2 (prior knowledge), on one connection per host, and
//! prints each response's status line and body.
//!
//! ```sh
//! cargo run --release --features hyper --example hyper_server &
//! cargo run --release --features hyper --example http_client -- http://127.0.0.1:3000/ 'http://127.0.0.1:3000/sum?n=100'
//! cargo run --release --features hyper --example http_client -- --http2 http://127.0.0.1:3000/
//! ```
//!
//! Exits with status 1 if a request fails (connection refused, a bad URL).
//! For a pooled client with keep-alive across hosts, see
//! `corio::hyper::Connector` (feature `hyper-util`).

use corio::hyper::{CorioExecutor, CorioIo};
use corio::net::TcpStream;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::{http1, http2};
use hyper::{Request, Uri};
use std::error::Error;

/// A sender for either protocol.
enum Sender {
    Http1(http1::SendRequest<Empty<Bytes>>),
    Http2(http2::SendRequest<Empty<Bytes>>),
}

impl Sender {
    async fn connect(uri: &Uri, use_http2: bool) -> Result<Sender, Box<dyn Error>> {
        let host = uri.host().ok_or_else(|| format!("no host in {uri}"))?;
        let addr = format!("{}:{}", host, uri.port_u16().unwrap_or(80));
        // Resolving a name blocks: do it on the blocking pool.
        let addrs: Vec<_> = corio::to_thread(move || std::net::ToSocketAddrs::to_socket_addrs(&addr)).await??.collect();
        let io = CorioIo::new(TcpStream::connect(&addrs[..]).await?);
        if use_http2 {
            let (sender, connection) = http2::handshake(CorioExecutor, io).await?;
            corio::spawn(connection).detach();
            Ok(Sender::Http2(sender))
        } else {
            let (sender, connection) = http1::handshake(io).await?;
            corio::spawn(connection).detach();
            Ok(Sender::Http1(sender))
        }
    }

    async fn get(&mut self, uri: &Uri) -> Result<(String, Bytes), Box<dyn Error>> {
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let host = uri.authority().map_or("", |a| a.as_str());
        let response = match self {
            Sender::Http1(sender) => {
                let request = Request::get(path).header(hyper::header::HOST, host).body(Empty::new())?;
                sender.send_request(request).await?
            }
            Sender::Http2(sender) => sender.send_request(Request::get(uri.clone()).body(Empty::new())?).await?,
        };
        let status = format!("{:?} {}", response.version(), response.status());
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }
}

async fn fetch_all(urls: Vec<Uri>, use_http2: bool) -> Result<(), Box<dyn Error>> {
    let mut connections: Vec<(String, Sender)> = Vec::new();
    for uri in &urls {
        let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let index = match connections.iter().position(|(a, _)| *a == authority) {
            Some(index) => index,
            None => {
                connections.push((authority, Sender::connect(uri, use_http2).await?));
                connections.len() - 1
            }
        };
        let (status, body) = connections[index].1.get(uri).await?;
        println!("{uri}: {status}");
        print!("{}", String::from_utf8_lossy(&body));
    }
    Ok(())
}

fn main() {
    let mut use_http2 = false;
    let mut urls = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "--http2" {
            use_http2 = true;
            continue;
        }
        match arg.parse::<Uri>() {
            Ok(uri) if uri.scheme_str() == Some("http") => urls.push(uri),
            Ok(_) => return fail(&format!("{arg}: only http:// URLs (https: see the tls feature)")),
            Err(err) => return fail(&format!("{arg}: {err}")),
        }
    }
    if urls.is_empty() {
        urls.push(Uri::from_static("http://127.0.0.1:3000/"));
    }
    match corio::run(fetch_all(urls, use_http2)) {
        Ok(Ok(())) => {}
        Ok(Err(err)) => fail(&err.to_string()),
        Err(err) => fail(&err.to_string()),
    }
}

fn fail(message: &str) {
    eprintln!("http_client: {message}");
    std::process::exit(1);
}
