//! `corio::compat` (feature `tokio-compat`): tokio's own `sleep`,
//! `TcpStream` and `mpsc` inside corio tasks, and reqwest (rustls) fetching
//! from a corio-hosted hyper server, over HTTP and HTTPS.
//!
//! Every run is bounded by a watchdog that stops the loop (and fails).

use corio::hyper::Server;
use corio::net::TcpListener;
use corio::FutureExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HANG: Duration = Duration::from_secs(120);

fn run<F: std::future::Future>(body: F) -> F::Output {
    corio::run(async move {
        corio::call_later(HANG, corio::stop);
        body.await
    })
    .unwrap_or_else(|err| panic!("the test did not finish within {HANG:?}: {err}"))
}

#[test]
fn tokio_sleep_runs_in_a_corio_task_created_inside_or_outside_the_wrapper() {
    // The problem being solved: outside a tokio runtime, creating a sleep panics.
    let outside = std::panic::catch_unwind(|| tokio::time::sleep(Duration::from_millis(1)));
    let message = outside.err().and_then(|p| p.downcast::<String>().ok()).map(|s| *s).unwrap_or_default();
    assert!(message.contains("no reactor running"), "{message}");

    run(async {
        let start = Instant::now();
        // Created inside the wrapper.
        corio::compat::tokio(async { tokio::time::sleep(Duration::from_millis(20)).await }).await;
        // Created outside any async block, by the closure form.
        corio::compat::tokio_with(|| tokio::time::sleep(Duration::from_millis(20))).await;
        // Created under the guard, awaited in a wrapper.
        let sleep = {
            let _tokio = corio::compat::enter();
            tokio::time::sleep(Duration::from_millis(20))
        };
        corio::compat::tokio(sleep).await;
        assert!(start.elapsed() >= Duration::from_millis(60), "each sleep slept");
        // tokio's timeout, around corio's own sleep: both runtimes' timers.
        let timed_out = corio::compat::tokio(async {
            tokio::time::timeout(Duration::from_millis(10), corio::sleep(Duration::from_secs(3600))).await
        })
        .await;
        assert!(timed_out.is_err(), "tokio's timer fired for a corio task");
    });
}

#[test]
fn a_tokio_tcp_stream_talks_to_a_corio_listener() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = corio::spawn(async move {
            let (stream, _) = listener.accept().await?;
            let mut buf = vec![0u8; 64 * 1024];
            let mut echoed = 0;
            loop {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<_, std::io::Error>(echoed);
                }
                stream.write_all(&buf[..n]).await?;
                echoed += n;
            }
        });
        let sent: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let expected = sent.clone();
        let received = corio::compat::tokio(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            let (mut reader, mut writer) = stream.into_split();
            let write = tokio::spawn(async move {
                writer.write_all(&sent).await?;
                writer.shutdown().await
            });
            let mut received = Vec::new();
            reader.read_to_end(&mut received).await?;
            write.await.expect("the writer")?;
            Ok::<_, std::io::Error>(received)
        })
        .await
        .unwrap();
        assert!(received == expected, "every byte came back through tokio's socket");
        assert_eq!(server.await.unwrap().unwrap(), expected.len());
    });
}

#[test]
fn tokio_mpsc_between_a_corio_task_and_a_tokio_task() {
    run(async {
        let (to_tokio, mut from_corio) = tokio::sync::mpsc::channel::<u64>(8);
        let (to_corio, mut from_tokio) = tokio::sync::mpsc::channel::<u64>(8);
        // A task on tokio's thread doubles what it is sent.
        corio::compat::handle().spawn(async move {
            while let Some(n) = from_corio.recv().await {
                if to_corio.send(n * 2).await.is_err() {
                    break;
                }
            }
        });
        let total = corio::compat::tokio(async move {
            let mut total = 0;
            for n in 0..1000 {
                to_tokio.send(n).await.unwrap();
                total += from_tokio.recv().await.unwrap();
            }
            total
        })
        .await;
        assert_eq!(total, 2 * (0..1000).sum::<u64>());
    });
}

#[test]
fn a_cancelled_task_drops_the_tokio_future_it_waits_on() {
    run(async {
        let task =
            corio::spawn(corio::compat::tokio_with(|| tokio::time::sleep(Duration::from_secs(3600))).cancellable());
        corio::sleep(Duration::from_millis(10)).await.unwrap();
        task.cancel();
        assert!(task.await.is_err_and(|e| e.is_cancelled()));
    });
}

async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from(format!("hello {:?}", request.version())))))
}

#[test]
fn reqwest_fetches_from_a_corio_hosted_server_over_http_and_https() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let acceptor = corio::tls::TlsAcceptor::with_single_cert(
        vec![cert.cert.der().clone()],
        cert.key_pair.serialize_der().try_into().unwrap(),
    )
    .unwrap();
    let root = reqwest::Certificate::from_der(cert.cert.der()).unwrap();

    run(async move {
        let plain = TcpListener::bind("127.0.0.1:0").unwrap();
        let secure = TcpListener::bind("127.0.0.1:0").unwrap();
        let (plain_addr, secure_port) = (plain.local_addr().unwrap(), secure.local_addr().unwrap().port());
        let (stop, stopped) = corio::sync::oneshot::channel::<()>();
        let (stop_tls, stopped_tls) = corio::sync::oneshot::channel::<()>();
        let http = corio::spawn(async move { Server::new().serve(plain, |_| service_fn(hello), stopped).await });
        let https =
            corio::spawn(
                async move { Server::new().serve_tls(secure, acceptor, |_| service_fn(hello), stopped_tls).await },
            );

        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(root)
            .resolve("localhost", ([127, 0, 0, 1], secure_port).into())
            .build()
            .unwrap();
        let bodies = corio::compat::tokio(async move {
            let mut bodies = Vec::new();
            for _ in 0..3 {
                let response = client.get(format!("http://{plain_addr}/")).send().await?;
                bodies.push(response.error_for_status()?.text().await?);
            }
            let response = client.get(format!("https://localhost:{secure_port}/")).send().await?;
            assert_eq!(response.version(), reqwest::Version::HTTP_2, "HTTP/2 by ALPN");
            bodies.push(response.text().await?);
            Ok::<_, reqwest::Error>(bodies)
        })
        .await
        .unwrap();
        assert_eq!(bodies, ["hello HTTP/1.1", "hello HTTP/1.1", "hello HTTP/1.1", "hello HTTP/2.0"]);

        stop.send(()).unwrap();
        stop_tls.send(()).unwrap();
        let (http, https) = (http.await.unwrap().unwrap(), https.await.unwrap().unwrap());
        assert_eq!((http.requests, http.responses, http.connections), (3, 3, 1), "reqwest's pool reused: {http:?}");
        assert_eq!((https.requests, https.responses, https.handshakes_failed), (1, 1, 0), "{https:?}");
    });
}
