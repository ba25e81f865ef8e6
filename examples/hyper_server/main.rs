//! An HTTP server: hyper 1.x on corio through `corio::hyper` (feature
//! `hyper`), serving HTTP/1.1 and HTTP/2 (prior knowledge) on one port.
//!
//! ```sh
//! cargo run --release --features hyper --example hyper_server   # 127.0.0.1:3000
//! curl http://127.0.0.1:3000/                              # Hello from corio!
//! curl --http2-prior-knowledge http://127.0.0.1:3000/
//! curl 'http://127.0.0.1:3000/sum?n=1000000'               # computed on the blocking pool
//! wrk -t2 -c64 -d5s http://127.0.0.1:3000/
//! ```
//!
//! `corio::hyper::Server` runs a task per connection (HTTP/2 streams are
//! tasks too); `/sum` shows blocking work leaving the loop with
//! `corio::to_thread`. SIGINT or SIGTERM shuts down gracefully: the
//! listener closes, open connections finish the request they are serving
//! (up to a 5 s grace), and the process prints the server's totals and
//! exits with status 0. `tests/hyper_example.rs` drives it.

use corio::hyper::Server;
use corio::net::TcpListener;
use corio::signal::{Signal, Signals};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::error::Error;
use std::time::Duration;

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, "text/plain; charset=utf-8".parse().unwrap());
    response
}

/// The routes.
async fn respond(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/") => text(StatusCode::OK, "Hello from corio!\n"),
        (&Method::GET, "/sum") => sum(request.uri().query()).await,
        (_, "/" | "/sum") => text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n"),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    Ok(response)
}

/// `/sum?n=N`: 1 + 2 + ... + N, counted the slow way on a pool thread.
async fn sum(query: Option<&str>) -> Response<Full<Bytes>> {
    const MAX: u64 = 1_000_000_000;
    let n = query.and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("n="))).map(str::parse::<u64>);
    match n {
        Some(Ok(n)) if n <= MAX => match corio::to_thread(move || (1..=n).sum::<u64>()).await {
            Ok(total) => text(StatusCode::OK, format!("{total}\n")),
            Err(err) => text(StatusCode::SERVICE_UNAVAILABLE, format!("{err}\n")),
        },
        Some(Ok(_)) => text(StatusCode::BAD_REQUEST, format!("n must be at most {MAX}\n")),
        Some(Err(err)) => text(StatusCode::BAD_REQUEST, format!("n is not a number: {err}\n")),
        None => text(StatusCode::BAD_REQUEST, "usage: /sum?n=<number>\n"),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3000".to_string());
    let stats = corio::run(async move {
        // Handle the stop signals before announcing the address.
        let mut stop = Signals::new([Signal::INT, Signal::TERM])?;
        let listener = TcpListener::bind(addr.as_str())?;
        println!("listening on http://{}", listener.local_addr()?);
        let shutdown = async move {
            if let Ok(signal) = stop.recv().await {
                println!("{signal}: shutting down");
            }
        };
        let server = Server::new().grace(Duration::from_secs(5));
        server.serve(listener, |_peer| service_fn(respond), shutdown).await
    })??;
    let failed = stats.bad_requests + stats.io_errors + stats.other_errors + stats.timed_out + stats.too_large;
    println!(
        "stopped: {} connection(s), {} request(s), {} abandoned mid-request, {} failed",
        stats.connections,
        stats.requests,
        stats.hung_up + stats.unfinished,
        failed
    );
    Ok(())
}
