//! The HTTP/1.1 plaintext benchmark's server: the same hyper service
//! ("Hello, World!", `Content-Type: text/plain`) on each runtime, driven by
//! `benches/http.sh` with `wrk -t1 -c64` over loopback.
//!
//! ```text
//! http_server RUNTIME [ADDR]     RUNTIME: corio | corio-uring | corio-2L | tokio-ct | tokio-mt | smol
//! ```
//!
//! * corio: `corio::hyper::Server` — the shipped adapter (connection
//!   sniffing, counting, graceful shutdown) — on one loop (epoll or
//!   io_uring) or on every loop of a 2-loop `MultiLoop` (`EveryLoop`).
//! * tokio: hyper's `http1::Builder` over `hyper_util`'s `TokioIo`,
//!   `TokioTimer`, on a current_thread or a multi_thread runtime (2 workers).
//! * smol: the same builder over `async-io`'s `Async<TcpStream>` (through
//!   `CorioIo`, which adapts any `futures_io` stream) on a `LocalExecutor`,
//!   with a timer on `async-io`'s `Timer`.
//!
//! Every server sets `TCP_NODELAY` and a timer (hyper's 30 s header-read
//! timeout is armed on every runtime). The first line printed is
//! `listening on ADDR`; it serves until killed.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"Hello, World!")));
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain"));
    Ok(response)
}

fn announce(addr: SocketAddr) {
    use std::io::Write;
    println!("listening on {addr}");
    std::io::stdout().flush().unwrap();
}

fn corio_one_loop(addr: SocketAddr) {
    corio::run(serve_corio(addr)).unwrap();
}

async fn serve_corio(addr: SocketAddr) {
    let listener = corio::net::TcpListener::bind(addr).unwrap();
    announce(listener.local_addr().unwrap());
    corio::hyper::Server::new().serve(listener, |_| service_fn(hello), std::future::pending::<()>()).await.unwrap();
}

fn corio_uring(addr: SocketAddr) {
    let reactor = corio_backends::uring::UringReactor::new().expect("an io_uring (kernel 5.13 or later)");
    let lp = corio::runtime::EventLoop::builder(reactor).build();
    lp.block_on(serve_corio(addr)).unwrap();
}

fn corio_two_loops(addr: SocketAddr) {
    let rt = corio::multi_loop().loops(2).build().unwrap();
    let loops = rt.loops();
    rt.run(async move {
        let every = corio::hyper::Server::new().bind_every_loop(&loops, addr).unwrap();
        announce(every.local_addr());
        every.serve(|_| |_| service_fn(hello), std::future::pending::<()>()).await.unwrap();
    })
    .unwrap();
}

async fn serve_tokio(addr: SocketAddr) {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    announce(listener.local_addr().unwrap());
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        stream.set_nodelay(true).unwrap();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service_fn(hello))
                .await;
        });
    }
}

fn tokio_current_thread(addr: SocketAddr) {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(serve_tokio(addr));
}

fn tokio_multi_thread(addr: SocketAddr) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(serve_tokio(addr));
}

/// hyper's timer on async-io's `Timer`.
#[derive(Clone)]
struct SmolTimer;

struct SmolSleep(async_io::Timer);

impl Future for SmolSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl hyper::rt::Sleep for SmolSleep {}

impl hyper::rt::Timer for SmolTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SmolSleep(async_io::Timer::after(duration)))
    }
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SmolSleep(async_io::Timer::at(deadline)))
    }
}

fn smol(addr: SocketAddr) {
    let executor = std::rc::Rc::new(async_executor::LocalExecutor::new());
    let ex = executor.clone();
    futures_lite::future::block_on(executor.run(async move {
        let listener = async_io::Async::<std::net::TcpListener>::bind(addr).unwrap();
        announce(listener.get_ref().local_addr().unwrap());
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.get_ref().set_nodelay(true).unwrap();
            ex.spawn(async move {
                let _ = http1::Builder::new()
                    .timer(SmolTimer)
                    .serve_connection(corio::hyper::CorioIo::new(stream), service_fn(hello))
                    .await;
            })
            .detach();
        }
    }));
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runtime = args.next().unwrap_or_default();
    let addr: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:0").parse().expect("an address");
    match runtime.as_str() {
        "corio" => corio_one_loop(addr),
        "corio-uring" => corio_uring(addr),
        "corio-2L" => corio_two_loops(addr),
        "tokio-ct" => tokio_current_thread(addr),
        "tokio-mt" => tokio_multi_thread(addr),
        "smol" => smol(addr),
        _ => {
            eprintln!("usage: http_server corio|corio-uring|corio-2L|tokio-ct|tokio-mt|smol [ADDR]");
            std::process::exit(2);
        }
    }
}
