//! W11: TCP echo over loopback, 1 KiB messages; W11a over 1 connection, W11b over 64 at once. Server and clients
//! run on the same runtime; one op is one request echoed back (the table's ns/op is the inverse of req/s).
//!
//! W11b also runs on two cores: tokio-mt on its two workers, and corio-2L, two corio loops that each run a whole echo
//! system over half the connections (thread-per-core: a connection's client and server share a loop, so its kernel
//! work stays on one core, as a server's does when its clients are remote).

use super::multi_loop::{corio_spawn_at, rt as multi_rt};
use super::rt;
use crate::harness::{Runtime, Workload};
use std::time::{Duration, Instant};

pub fn workloads() -> Vec<Box<dyn Workload>> {
    vec![Box::new(TcpEcho { connections: 1, id: "W11a" }), Box::new(TcpEcho { connections: 64, id: "W11b" })]
}

const MESSAGE: usize = 1024;

struct TcpEcho {
    connections: u64,
    id: &'static str,
}

impl Workload for TcpEcho {
    fn id(&self) -> &'static str {
        self.id
    }

    fn description(&self) -> &'static str {
        if self.connections == 1 {
            "TCP echo, 1 connection, 1 KiB, per request"
        } else {
            "TCP echo, 64 connections, 1 KiB, per request"
        }
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            6_400
        } else {
            64_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        if self.connections == 1 {
            Runtime::IO
        } else {
            Runtime::IO_AND_TWO_LOOPS
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let connections = self.connections;
        let requests = ops.div_ceil(connections);
        match runtime {
            Runtime::Corio | Runtime::CorioUring => rt::corio_on(runtime, corio_echo(connections, requests)),
            Runtime::CorioTwoLoops => multi_rt::corio(2, |loops| corio_sharded_echo(loops, connections, requests)),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, tokio_echo(connections, requests)),
            Runtime::Smol => rt::smol(|ex| smol_echo(ex, connections, requests)),
        }
        .mul_f64(ops as f64 / (requests * connections) as f64)
    }
}

async fn corio_echo(connections: u64, requests: u64) -> Duration {
    let clients = corio_connect(connections).await;
    let start = Instant::now();
    corio_exchange(clients, requests).await;
    start.elapsed()
}

/// W11b on corio-2L: each loop sets up its half of the connections, then all start at once; the clock runs from the
/// start to the last exchange's end.
async fn corio_sharded_echo(loops: corio::multi_loop::Loops, connections: u64, requests: u64) -> Duration {
    use corio::sync::oneshot;
    let shards = loops.len() as u64;
    let (mut ready, mut go, mut exchanges) = (Vec::new(), Vec::new(), Vec::new());
    for index in 0..loops.len() {
        let share = connections / shards + u64::from((index as u64) < connections % shards);
        let (set_up, ready_rx) = oneshot::channel();
        let (go_tx, started) = oneshot::channel();
        exchanges.push(corio_spawn_at(&loops, index, move || async move {
            let clients = corio_connect(share).await;
            set_up.send(()).unwrap();
            started.await.unwrap();
            corio_exchange(clients, requests).await;
        }));
        ready.push(ready_rx);
        go.push(go_tx);
    }
    for shard in ready {
        shard.await.unwrap();
    }
    let start = Instant::now();
    for shard in go {
        shard.send(()).unwrap();
    }
    for exchange in exchanges {
        exchange.await.unwrap();
    }
    start.elapsed()
}

/// An echo system on the running loop: a listener, one server task per connection, and the `connections` client
/// streams, connected (outside the measured time).
async fn corio_connect(connections: u64) -> Vec<corio::net::TcpStream> {
    use corio::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = corio::spawn(async move {
        for _ in 0..connections {
            let (stream, _) = listener.accept().await.unwrap();
            corio::spawn(async move {
                let mut buf = [0u8; MESSAGE];
                // Until the client closes, or (on corio-2L) the loop shuts down and cancels the read.
                while let Ok(true) = read_exact(&stream, &mut buf).await {
                    if stream.write_all(&buf).await.is_err() {
                        return;
                    }
                }
            })
            .detach();
        }
    });
    let mut clients = Vec::new();
    for _ in 0..connections {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        clients.push(stream);
    }
    server.await.unwrap();
    clients
}

/// `requests` round trips on every client stream at once.
async fn corio_exchange(clients: Vec<corio::net::TcpStream>, requests: u64) {
    let clients: Vec<_> = clients
        .into_iter()
        .map(|stream| {
            corio::spawn(async move {
                let mut buf = [7u8; MESSAGE];
                for _ in 0..requests {
                    stream.write_all(&buf).await.unwrap();
                    assert!(read_exact(&stream, &mut buf).await.unwrap());
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
}

/// Fills `buf`; false if the peer closed first.
async fn read_exact(stream: &corio::net::TcpStream, mut buf: &mut [u8]) -> std::io::Result<bool> {
    while !buf.is_empty() {
        match stream.read(buf).await? {
            0 => return Ok(false),
            n => buf = &mut buf[n..],
        }
    }
    Ok(true)
}

async fn tokio_echo(connections: u64, requests: u64) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..connections {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; MESSAGE];
                while stream.read_exact(&mut buf).await.is_ok() {
                    stream.write_all(&buf).await.unwrap();
                }
            });
        }
    });
    let mut clients = Vec::new();
    for _ in 0..connections {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        clients.push(stream);
    }
    server.await.unwrap();
    let start = Instant::now();
    let clients: Vec<_> = clients
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut buf = [7u8; MESSAGE];
                for _ in 0..requests {
                    stream.write_all(&buf).await.unwrap();
                    stream.read_exact(&mut buf).await.unwrap();
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    start.elapsed()
}

async fn smol_echo(
    ex: std::rc::Rc<async_executor::LocalExecutor<'static>>,
    connections: u64,
    requests: u64,
) -> Duration {
    use async_io::Async;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use std::net::{TcpListener, TcpStream};
    let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    let server_ex = ex.clone();
    let server = ex.spawn(async move {
        for _ in 0..connections {
            let (mut stream, _) = listener.accept().await.unwrap();
            server_ex
                .spawn(async move {
                    let mut buf = [0u8; MESSAGE];
                    while stream.read_exact(&mut buf).await.is_ok() {
                        stream.write_all(&buf).await.unwrap();
                    }
                })
                .detach();
        }
    });
    let mut clients = Vec::new();
    for _ in 0..connections {
        let stream = Async::<TcpStream>::connect(addr).await.unwrap();
        stream.get_ref().set_nodelay(true).unwrap();
        clients.push(stream);
    }
    server.await;
    let start = Instant::now();
    let clients: Vec<_> = clients
        .into_iter()
        .map(|mut stream| {
            ex.spawn(async move {
                let mut buf = [7u8; MESSAGE];
                for _ in 0..requests {
                    stream.write_all(&buf).await.unwrap();
                    stream.read_exact(&mut buf).await.unwrap();
                }
            })
        })
        .collect();
    for c in clients {
        c.await;
    }
    start.elapsed()
}
