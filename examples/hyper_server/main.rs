//! An HTTP server: hyper 1.x running on corio through `hyper::rt` adapters
//! (`rt.rs`), serving HTTP/1.1 and HTTP/2 (prior knowledge) on one port.
//!
//! ```sh
//! cargo run --release --example hyper_server               # 127.0.0.1:3000
//! curl http://127.0.0.1:3000/                              # Hello from corio!
//! curl --http2-prior-knowledge http://127.0.0.1:3000/
//! curl 'http://127.0.0.1:3000/sum?n=1000000'               # computed on the blocking pool
//! wrk -t2 -c64 -d5s http://127.0.0.1:3000/
//! ```
//!
//! One task per connection; HTTP/2 streams are tasks too (hyper spawns
//! them through `CorioExecutor`). `/sum` shows blocking work leaving the
//! loop with `corio::to_thread`. SIGINT or SIGTERM stops the server: the
//! accept loop is cancelled, then `corio::run`'s teardown cancels every
//! connection, and the process prints its totals and exits with status 0.
//! `tests/hyper_example.rs` drives it with `curl` and `wrk`.

mod rt;
mod sniff;

use bytes::Bytes;
use corio::net::{TcpListener, TcpStream};
use corio::signal::{Signal, Signals};
use corio::FutureExt;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use rt::{CorioExecutor, CorioIo, CorioTimer};
use sniff::{sniff, Protocol};
use std::cell::Cell;
use std::convert::Infallible;
use std::error::Error;
use std::io;
use std::rc::Rc;

/// What the server did, for the goodbye line.
#[derive(Default)]
struct Totals {
    connections: Cell<u64>,
    requests: Cell<u64>,
    /// Clients that hung up in the middle of a request (wrk does, when its
    /// run ends).
    abandoned: Cell<u64>,
    failed: Cell<u64>,
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, "text/plain; charset=utf-8".parse().unwrap());
    response
}

/// The routes.
async fn respond(request: Request<Incoming>, totals: Rc<Totals>) -> Result<Response<Full<Bytes>>, Infallible> {
    totals.requests.set(totals.requests.get() + 1);
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

/// Serves one connection until the client is done (or the task is
/// cancelled: `cancellable()` drops the connection at once).
async fn serve(stream: TcpStream, totals: Rc<Totals>) -> Result<(), Box<dyn Error>> {
    stream.set_nodelay(true)?;
    let (protocol, io) = sniff(stream).await?;
    let service = service_fn(move |request| respond(request, totals.clone()));
    match protocol {
        Protocol::Http1 => {
            http1::Builder::new().timer(CorioTimer).serve_connection(CorioIo(io), service).cancellable().await??
        }
        Protocol::Http2 => {
            http2::Builder::new(CorioExecutor)
                .timer(CorioTimer)
                .serve_connection(CorioIo(io), service)
                .cancellable()
                .await??
        }
    }
    Ok(())
}

async fn accept_loop(listener: TcpListener, totals: Rc<Totals>) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        totals.connections.set(totals.connections.get() + 1);
        let totals = totals.clone();
        corio::spawn(async move {
            let Err(err) = serve(stream, totals.clone()).await else { return };
            let hung_up = err.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_incomplete_message);
            if hung_up {
                totals.abandoned.set(totals.abandoned.get() + 1);
            } else if !is_cancellation(&*err) {
                eprintln!("connection from {peer} failed: {err}");
                totals.failed.set(totals.failed.get() + 1);
            }
        })
        .detach();
    }
}

/// Whether `err` is (or wraps) a cancellation: the server shutting down.
fn is_cancellation(err: &(dyn Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if err.is::<corio::Cancelled>() {
            return true;
        }
        next = err.source();
    }
    false
}

fn main() -> Result<(), Box<dyn Error>> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3000".to_string());
    let totals = Rc::new(Totals::default());
    let stats = totals.clone();
    corio::run(async move {
        // Handle the stop signals before announcing the address.
        let mut stop = Signals::new([Signal::INT, Signal::TERM])?;
        let listener = TcpListener::bind(addr.as_str())?;
        println!("listening on http://{}", listener.local_addr()?);
        let server = corio::spawn(accept_loop(listener, totals));
        let signal = stop.recv().await?;
        println!("{signal}: shutting down");
        server.cancel();
        let _ = server.await; // ends cancelled; the listener is closed
        Ok::<_, io::Error>(())
    })??;
    println!(
        "stopped: {} connection(s), {} request(s), {} abandoned mid-request, {} failed",
        stats.connections.get(),
        stats.requests.get(),
        stats.abandoned.get(),
        stats.failed.get()
    );
    Ok(())
}
