//! `corio::hyper` (feature `hyper`): the server and the client side in one
//! process, over loopback.
//!
//! * hyper's own clients (`client::conn::http1`/`http2` over `CorioIo`, and
//!   with `hyper-util` the pooled `Client` over `Connector`) get answers;
//! * graceful shutdown under load from 16 HTTP/1.1 keep-alive clients and
//!   4 HTTP/2 clients (8 streams each): every request the server started is
//!   answered and every answer reaches a client (the server's counts equal
//!   the clients'), nothing is cut;
//! * the grace runs out: the slow request is cut and counted; cancelling
//!   the server's task cuts every connection at once;
//! * bad input: garbage, a client leaving mid-body, a head over hyper's
//!   limit, a body over `max_request_body` — each answered or closed,
//!   counted, while a keep-alive client from before keeps being served;
//! * `EveryLoop` on a 2-loop `MultiLoop`: both loops serve.
//!
//! Every run is bounded: a watchdog stops the loop after `HANG`, which fails
//! the test. Nothing asserts timing.

use corio::hyper::{CorioExecutor, CorioIo, ServeStats, Server};
use corio::net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const HANG: Duration = Duration::from_secs(120);

/// Runs `body` on a fresh default loop with the watchdog.
fn run<F: std::future::Future>(body: F) -> F::Output {
    corio::run(async move {
        corio::call_later(HANG, corio::stop);
        body.await
    })
    .unwrap_or_else(|err| panic!("the test did not finish within {HANG:?}: {err}"))
}

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, hyper::Error>;

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

/// A body of three chunks that ends by returning `None` (it does not know
/// its end in advance, as `Full` does).
fn chunks() -> Body {
    let frames = ["one ", "two ", "three"].map(|c| Ok(hyper::body::Frame::data(Bytes::from(c))));
    http_body_util::StreamBody::new(futures_util::stream::iter(frames)).boxed_unsync()
}

/// The routes: `/` answers at once, `/slow` after 20 ms, `/chunks` with a
/// streamed body, `/hang` after an hour, `/echo` returns the request's body (a body that cannot be read is
/// the service's error, which the server counts).
async fn routes(request: Request<Incoming>) -> Result<Response<Body>, hyper::Error> {
    let path = request.uri().path().to_string();
    let body = match path.as_str() {
        "/" => Bytes::from_static(b"hello"),
        "/chunks" => return Ok(Response::new(chunks())),
        "/slow" => {
            let _ = corio::sleep(Duration::from_millis(20)).await;
            Bytes::from_static(b"slow")
        }
        "/hang" => {
            let _ = corio::sleep(Duration::from_secs(3600)).await;
            Bytes::from_static(b"late")
        }
        "/echo" => request.into_body().collect().await?.to_bytes(),
        _ => {
            let mut response = Response::new(full(Bytes::new()));
            *response.status_mut() = StatusCode::NOT_FOUND;
            return Ok(response);
        }
    };
    Ok(Response::new(full(body)))
}

/// A server on a free port, stopped by the returned sender.
struct Running {
    addr: SocketAddr,
    stop: Option<corio::sync::oneshot::Sender<()>>,
    task: corio::Task<std::io::Result<ServeStats>>,
}

impl Running {
    fn start(server: Server) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = corio::sync::oneshot::channel::<()>();
        let task = corio::spawn(async move { server.serve(listener, |_peer| service_fn(routes), stopped).await });
        Running { addr, stop: Some(stop), task }
    }

    async fn stop(mut self) -> ServeStats {
        self.stop.take().unwrap().send(()).unwrap();
        self.task.await.expect("the server task").expect("the server")
    }
}

/// An HTTP/1.1 client connection (hyper's) on a corio socket.
async fn http1(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(CorioIo::new(stream)).await.unwrap();
    corio::spawn(connection).detach();
    sender
}

/// An HTTP/2 client connection (prior knowledge), its streams as corio tasks.
async fn http2(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http2::handshake(CorioExecutor, CorioIo::new(stream)).await.unwrap();
    corio::spawn(connection).detach();
    sender
}

fn get(path: &str) -> Request<Empty<Bytes>> {
    Request::get(path).header("host", "localhost").body(Empty::new()).unwrap()
}

async fn body_of(response: Response<Incoming>) -> (StatusCode, Bytes) {
    let status = response.status();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

#[test]
fn hypers_clients_get_answers_over_http1_and_http2() {
    run(async {
        let server = Running::start(Server::new());
        let mut h1 = http1(server.addr).await;
        assert_eq!(body_of(h1.send_request(get("/")).await.unwrap()).await, (StatusCode::OK, "hello".into()));
        assert_eq!(body_of(h1.send_request(get("/slow")).await.unwrap()).await, (StatusCode::OK, "slow".into()));
        assert_eq!(body_of(h1.send_request(get("/chunks")).await.unwrap()).await.1, "one two three");
        let mut h2 = http2(server.addr).await;
        let response = h2.send_request(get("/")).await.unwrap();
        assert_eq!(response.version(), hyper::Version::HTTP_2);
        assert_eq!(body_of(response).await, (StatusCode::OK, "hello".into()));
        let missing = h2.send_request(get("/missing")).await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        drop(missing);

        let stats = server.stop().await;
        assert_eq!((stats.connections, stats.requests, stats.responses, stats.unfinished), (2, 5, 5, 0), "{stats:?}");
        assert_eq!(stats.cut_at_grace, 0);
    });
}

#[cfg(feature = "hyper-util")]
#[test]
fn hyper_utils_pooled_client_runs_on_corio_sockets() {
    use corio::hyper::{Connector, CorioTimer};
    use hyper_util::client::legacy::Client;
    run(async {
        let server = Running::start(Server::new());
        let client: Client<Connector, Empty<Bytes>> =
            Client::builder(CorioExecutor).timer(CorioTimer).pool_timer(CorioTimer).build(Connector::new());
        for _ in 0..5 {
            let uri = format!("http://{}/", server.addr).parse().unwrap();
            let (status, body) = body_of(client.get(uri).await.unwrap()).await;
            assert_eq!((status, &body[..]), (StatusCode::OK, &b"hello"[..]));
        }
        // A name resolved on the blocking pool, the pooled connection reused.
        let uri = format!("http://localhost:{}/slow", server.addr.port()).parse().unwrap();
        assert_eq!(body_of(client.get(uri).await.unwrap()).await.1, "slow");
        drop(client);
        // The connector's own errors.
        let no_host = Connector::new().connect(&"/no-host".parse().unwrap()).await.unwrap_err();
        assert_eq!(no_host.kind(), std::io::ErrorKind::InvalidInput, "{no_host}");
        let free_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let refused = Connector::new().connect(&format!("http://127.0.0.1:{free_port}/").parse().unwrap()).await;
        assert_eq!(refused.unwrap_err().kind(), std::io::ErrorKind::ConnectionRefused);

        let stats = server.stop().await;
        assert_eq!((stats.requests, stats.responses), (6, 6), "{stats:?}");
        assert!(stats.connections <= 2, "the pool reused its connection: {stats:?}");
    });
}

/// One HTTP/1.1 keep-alive client of the load: requests until the server
/// closes the connection; the number of complete answers.
async fn keep_alive_load(addr: SocketAddr, slow_every: u32) -> u64 {
    let mut sender = http1(addr).await;
    let mut answered = 0;
    for i in 0u32.. {
        let path = match i % slow_every {
            0 => "/slow",
            1 => "/chunks",
            _ => "/",
        };
        if sender.ready().await.is_err() {
            break;
        }
        let Ok(response) = sender.send_request(get(path)).await else { break };
        match response.into_body().collect().await {
            Ok(_) => answered += 1,
            Err(err) => panic!("a response the server began was cut: {err}"),
        }
    }
    answered
}

/// One HTTP/2 client of the load: 8 concurrent streams per round until the
/// server's GOAWAY refuses new ones.
async fn h2_load(addr: SocketAddr) -> u64 {
    let sender = http2(addr).await;
    let answered = Rc::new(Cell::new(0u64));
    'rounds: loop {
        let streams: Vec<_> = (0..8)
            .map(|i| {
                let mut sender = sender.clone();
                let answered = answered.clone();
                corio::spawn(async move {
                    let path = if i == 0 { "/slow" } else { "/" };
                    let Ok(response) = sender.send_request(get(path)).await else { return false };
                    match response.into_body().collect().await {
                        Ok(_) => answered.set(answered.get() + 1),
                        Err(err) => panic!("an HTTP/2 response the server began was cut: {err}"),
                    }
                    true
                })
            })
            .collect();
        for stream in streams {
            if !stream.await.unwrap() {
                break 'rounds;
            }
        }
    }
    // Streams of the last round still running when the round broke.
    corio::sleep(Duration::from_millis(50)).await.unwrap();
    answered.get()
}

#[test]
fn graceful_shutdown_under_load_loses_no_response() {
    run(async {
        let server = Running::start(Server::new().grace(Duration::from_secs(2)));
        let addr = server.addr;
        let h1: Vec<_> = (0..16).map(|i| corio::spawn(keep_alive_load(addr, 3 + i % 4))).collect();
        let h2: Vec<_> = (0..4).map(|_| corio::spawn(h2_load(addr))).collect();
        corio::sleep(Duration::from_millis(300)).await.unwrap();
        let stats = server.stop().await;

        let mut answered = 0;
        for client in h1.into_iter().chain(h2) {
            answered += client.await.expect("a client");
        }
        assert!(answered > 100, "the load ran: {answered} answers");
        assert_eq!(stats.unfinished, 0, "no response the server began was lost: {stats:?}");
        assert_eq!(stats.cut_at_grace, 0, "every connection closed within the grace: {stats:?}");
        assert_eq!(stats.requests, stats.responses, "{stats:?}");
        assert_eq!(stats.responses, answered, "every response reached its client: {stats:?}");
        assert_eq!(stats.connections, 20, "{stats:?}");

        // The listener is closed: new connections are refused.
        let refused = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused, "{refused}");
    });
}

#[test]
fn a_request_still_running_when_the_grace_ends_is_cut_and_counted() {
    run(async {
        let server = Running::start(Server::new().grace(Duration::from_millis(50)));
        let mut sender = http1(server.addr).await;
        let hanging = corio::spawn(async move { sender.send_request(get("/hang")).await.map(drop) });
        while corio::sleep(Duration::from_millis(5)).await.is_ok() {
            if TcpStream::connect(server.addr).await.is_ok() {
                break; // the request has surely been read by now: see below
            }
        }
        corio::sleep(Duration::from_millis(20)).await.unwrap();
        let stats = server.stop().await;
        assert_eq!((stats.requests, stats.responses, stats.unfinished), (1, 0, 1), "{stats:?}");
        assert_eq!(stats.cut_at_grace, 1, "{stats:?}");
        let err = hanging.await.unwrap().unwrap_err();
        assert!(err.is_incomplete_message() || err.is_closed(), "the client saw the cut: {err}");
    });
}

#[test]
fn cancelling_the_server_task_cuts_every_connection_at_once() {
    run(async {
        let server = Running::start(Server::new().grace(Duration::from_secs(3600)));
        let mut sender = http1(server.addr).await;
        let hanging = corio::spawn(async move { sender.send_request(get("/hang")).await.map(drop) });
        corio::sleep(Duration::from_millis(50)).await.unwrap();
        let started = std::time::Instant::now();
        server.task.cancel();
        let outcome = server.task.await;
        assert!(outcome.is_err_and(|e| e.is_cancelled()), "the server task ended cancelled");
        assert!(started.elapsed() < Duration::from_secs(60), "the hour-long grace was not waited for");
        let err = hanging.await.unwrap().unwrap_err();
        assert!(err.is_incomplete_message() || err.is_closed(), "{err}");
    });
}

/// Sends `bytes` on a fresh connection, then reads until the server closes
/// it (or `close_after_send`: closes first); what came back.
async fn raw(addr: SocketAddr, bytes: &[u8], close_after_send: bool) -> String {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    if close_after_send {
        drop(stream);
        return String::new();
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn bad_input_is_answered_or_closed_and_counted_while_others_are_served() {
    run(async {
        let mut config = Server::new().max_request_body(1024);
        config.http1().max_buf_size(8192);
        let server = Running::start(config);
        let addr = server.addr;
        // A keep-alive client from before the trouble.
        let mut before = http1(addr).await;
        assert_eq!(body_of(before.send_request(get("/")).await.unwrap()).await.1, "hello");

        let garbage = raw(addr, b"\x16\x03\x01\x02\x00 not http at all\r\n\r\n", false).await;
        assert!(garbage.is_empty() || garbage.starts_with("HTTP/1.1 400"), "{garbage:?}");

        let huge_head = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(16 * 1024));
        let answer = raw(addr, huge_head.as_bytes(), false).await;
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");

        let big_body = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n";
        let answer = raw(addr, big_body, false).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");

        // Leaves in the middle of its body.
        raw(addr, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b", true).await;

        // A body within the limit is echoed.
        let small = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
        let answer = raw(addr, small, false).await;
        assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"), "{answer:?}");

        // The client from before is still served on its connection.
        assert_eq!(body_of(before.send_request(get("/slow")).await.unwrap()).await.1, "slow");
        drop(before);
        corio::sleep(Duration::from_millis(50)).await.unwrap(); // let the mid-body hang-up be seen

        let stats = server.stop().await;
        assert_eq!(stats.bad_requests, 1, "the garbage: {stats:?}");
        assert_eq!(stats.too_large, 2, "the head over 8 KiB and the body over 1 KiB: {stats:?}");
        assert_eq!(stats.hung_up, 1, "the client that left mid-body: {stats:?}");
        assert_eq!(stats.unfinished, 1, "its request, which got no response: {stats:?}");
        assert_eq!(stats.connections, 6, "{stats:?}");
        assert_eq!(stats.requests, stats.responses + stats.unfinished, "{stats:?}");
        assert_eq!((stats.io_errors, stats.other_errors, stats.cut_at_grace), (0, 0, 0), "{stats:?}");
    });
}

#[test]
fn every_loop_of_a_multi_loop_runtime_serves() {
    let rt = corio::multi_loop().loops(2).build().unwrap();
    let loops = rt.loops();
    let per_loop: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let counts = per_loop.clone();
    let stats = rt
        .run(async move {
            corio::call_later(HANG, corio::stop);
            let every = Server::new().bind_every_loop(&loops, "127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = every.local_addr();
            let (stop, stopped) = corio::sync::oneshot::channel::<()>();
            let make = move |index: usize| {
                let counts = counts.clone();
                move |_peer| {
                    let counts = counts.clone();
                    service_fn(move |request| {
                        counts[index].fetch_add(1, Ordering::Relaxed);
                        routes(request)
                    })
                }
            };
            let server = corio::spawn(every.serve(make, stopped));
            let clients: Vec<_> = (0..32)
                .map(|_| {
                    corio::spawn(async move {
                        let mut sender = http1(addr).await;
                        body_of(sender.send_request(get("/")).await.unwrap()).await.1
                    })
                })
                .collect();
            for client in clients {
                assert_eq!(client.await.unwrap(), "hello");
            }
            stop.send(()).unwrap();
            server.await.unwrap().unwrap()
        })
        .unwrap();
    assert_eq!((stats.connections, stats.requests, stats.responses), (32, 32, 32), "{stats:?}");
    let (first, second) = (per_loop[0].load(Ordering::Relaxed), per_loop[1].load(Ordering::Relaxed));
    assert_eq!(first + second, 32);
    assert!(first > 0 && second > 0, "both loops served: {first} and {second}");
}
