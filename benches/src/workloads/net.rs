//! W11: TCP echo over loopback, 1 KiB messages; W11a over 1 connection, W11b over 64 at once. Server and clients
//! run on the same runtime; one op is one request echoed back (the table's ns/op is the inverse of req/s).

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
        Runtime::IO
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let connections = self.connections;
        let requests = ops.div_ceil(connections);
        match runtime {
            Runtime::Corio | Runtime::CorioUring => rt::corio_on(runtime, corio_echo(connections, requests)),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, tokio_echo(connections, requests)),
            Runtime::Smol => rt::smol(|ex| smol_echo(ex, connections, requests)),
        }
        .mul_f64(ops as f64 / (requests * connections) as f64)
    }
}

async fn corio_echo(connections: u64, requests: u64) -> Duration {
    use corio::net::{TcpListener, TcpStream};
    async fn read_exact(stream: &TcpStream, mut buf: &mut [u8]) -> std::io::Result<bool> {
        while !buf.is_empty() {
            match stream.read(buf).await? {
                0 => return Ok(false),
                n => buf = &mut buf[n..],
            }
        }
        Ok(true)
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = corio::spawn(async move {
        for _ in 0..connections {
            let (stream, _) = listener.accept().await.unwrap();
            corio::spawn(async move {
                let mut buf = [0u8; MESSAGE];
                while read_exact(&stream, &mut buf).await.unwrap() {
                    stream.write_all(&buf).await.unwrap();
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
    let start = Instant::now();
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
    start.elapsed()
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
