//! W2, W3 and W11 on one loop and on two (issue 7): does a second loop (a second core) pay off, and how does corio's
//! thread-per-core `MultiLoop` compare with the peers' multi-threaded schedulers?
//!
//! Each workload has a one-loop row (`W2-1L`) and a two-loop row (`W2-2L`). On one loop: corio's `MultiLoop` of one
//! loop (a plain loop on this thread), tokio's current_thread runtime, smol's `Executor` run by one thread. On two:
//! corio's `MultiLoop` of two loops (this thread and one worker; work is placed on a loop explicitly, half on each,
//! and never migrates), tokio's multi_thread runtime with two workers (work stealing), smol's `Executor` run by two
//! threads (a shared queue). The W2-1L and W3-1L rows are the same operations as the single-runtime W2 and W3 rows, but
//! the smol column uses the thread-safe `Executor` so that its one- and two-thread rows differ only in threads.

use crate::harness::{Runtime, Workload};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One loop: tokio's current_thread runtime; two: its multi_thread runtime with 2 workers.
fn runtimes(loops: usize) -> &'static [Runtime] {
    if loops == 1 {
        &[Runtime::Corio, Runtime::TokioCt, Runtime::Smol]
    } else {
        &[Runtime::Corio, Runtime::TokioMt, Runtime::Smol]
    }
}

pub fn workloads() -> Vec<Box<dyn Workload>> {
    let mut all: Vec<Box<dyn Workload>> = Vec::new();
    for loops in [1, 2] {
        all.push(Box::new(SpawnJoin { loops }));
        all.push(Box::new(YieldMany { loops }));
        all.push(Box::new(TcpEcho { loops }));
    }
    all
}

/// The three runtimes with `loops` threads each. The bodies time themselves, so building and tearing down a runtime
/// is not measured.
pub(super) mod rt {
    use std::future::Future;
    use std::sync::Arc;

    /// corio's `MultiLoop` of `loops` loops; `body` runs on loop 0 (this thread).
    pub fn corio<T, F: Future<Output = T>>(loops: usize, body: impl FnOnce(corio::multi_loop::Loops) -> F) -> T {
        let rt = corio::multi_loop().loops(loops).build().expect("a corio runtime");
        let out = rt.block_on(body(rt.loops())).expect("the corio runtime ran the body");
        rt.shutdown().expect("a clean shutdown");
        out
    }

    /// tokio: current_thread for one thread, multi_thread with `threads` workers otherwise; I/O enabled.
    pub fn tokio<T>(threads: usize, body: impl Future<Output = T>) -> T {
        let rt = if threads == 1 {
            tokio::runtime::Builder::new_current_thread().enable_io().build()
        } else {
            tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_io().build()
        };
        rt.expect("a tokio runtime").block_on(body)
    }

    /// smol: an `async_executor::Executor` run by this thread and `threads - 1` helpers (`async_io::block_on`).
    pub fn smol<T, F: Future<Output = T>>(
        threads: usize,
        body: impl FnOnce(Arc<async_executor::Executor<'static>>) -> F,
    ) -> T {
        let ex = Arc::new(async_executor::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let helpers: Vec<_> = (1..threads)
            .map(|_| {
                let (ex, stopped) = (ex.clone(), stopped.clone());
                std::thread::spawn(move || async_io::block_on(ex.run(stopped.recv())))
            })
            .collect();
        let out = async_io::block_on(ex.run(body(ex.clone())));
        drop(stop);
        for helper in helpers {
            let _ = helper.join().expect("a smol helper thread");
        }
        out
    }
}

/// Spawns `build(i)` on corio loop `i % loops`: locally on loop 0, with `spawn_with` on the others (so the future
/// need not be `Send`).
pub(super) fn corio_spawn_at<F>(
    loops: &corio::multi_loop::Loops,
    i: usize,
    build: impl FnOnce() -> F + Send + 'static,
) -> corio::Task<F::Output>
where
    F: Future + 'static,
    F::Output: Send + 'static,
{
    match i % loops.len() {
        0 => corio::spawn(build()),
        n => loops.get(n).expect("in range").spawn_with(build).expect("the loop is open"),
    }
}

/// W2: spawn 10k trivial tasks inside the runtime and join them all; one op is one task.
struct SpawnJoin {
    loops: usize,
}

impl Workload for SpawnJoin {
    fn id(&self) -> &'static str {
        ["W2-1L", "W2-2L"][self.loops - 1]
    }

    fn description(&self) -> &'static str {
        ["spawn + join 10k tasks, one loop", "spawn + join 10k tasks, two loops"][self.loops - 1]
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            20_000
        } else {
            200_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        runtimes(self.loops)
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        const BATCH: u64 = 10_000;
        let (loops, batches) = (self.loops, ops.div_ceil(BATCH));
        match runtime {
            Runtime::CorioUring | Runtime::CorioTwoLoops => unreachable!("not in runtimes()"),
            Runtime::Corio => rt::corio(loops, |l| async move {
                let start = Instant::now();
                for _ in 0..batches {
                    let tasks: Vec<_> =
                        (0..BATCH as usize).map(|i| corio_spawn_at(&l, i, move || async move { i })).collect();
                    for task in tasks {
                        std::hint::black_box(task.await.unwrap());
                    }
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio(loops, async move {
                let start = Instant::now();
                for _ in 0..batches {
                    let tasks: Vec<_> = (0..BATCH as usize).map(|i| tokio::spawn(async move { i })).collect();
                    for task in tasks {
                        std::hint::black_box(task.await.unwrap());
                    }
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(loops, |ex| async move {
                let start = Instant::now();
                for _ in 0..batches {
                    let tasks: Vec<_> = (0..BATCH as usize).map(|i| ex.spawn(async move { i })).collect();
                    for task in tasks {
                        std::hint::black_box(task.await);
                    }
                }
                start.elapsed()
            }),
        }
    }
}

/// W3: 200 tasks each yield 1000 times (spread over the loops); one op is one yield.
struct YieldMany {
    loops: usize,
}

const YIELDERS: u64 = 200;

impl Workload for YieldMany {
    fn id(&self) -> &'static str {
        ["W3-1L", "W3-2L"][self.loops - 1]
    }

    fn description(&self) -> &'static str {
        ["yield_many: 200 tasks x N yields, one loop", "yield_many: 200 tasks x N yields, two loops"][self.loops - 1]
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            20_000
        } else {
            200_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        runtimes(self.loops)
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let (loops, yields) = (self.loops, ops.div_ceil(YIELDERS));
        match runtime {
            Runtime::CorioUring | Runtime::CorioTwoLoops => unreachable!("not in runtimes()"),
            Runtime::Corio => rt::corio(loops, |l| async move {
                let start = Instant::now();
                let tasks: Vec<_> = (0..YIELDERS as usize)
                    .map(|i| {
                        corio_spawn_at(&l, i, move || async move {
                            for _ in 0..yields {
                                corio::yield_now().await.unwrap();
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio(loops, async move {
                let start = Instant::now();
                let tasks: Vec<_> = (0..YIELDERS)
                    .map(|_| {
                        tokio::spawn(async move {
                            for _ in 0..yields {
                                tokio::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(loops, |ex| async move {
                let start = Instant::now();
                let tasks: Vec<_> = (0..YIELDERS)
                    .map(|_| {
                        ex.spawn(async move {
                            for _ in 0..yields {
                                futures_lite::future::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await;
                }
                start.elapsed()
            }),
        }
    }
}

/// W11: TCP echo over loopback, 64 connections each sending 1 KiB messages one at a time and reading each back; one
/// op is one message round trip. On two corio loops each loop has its own `SO_REUSEPORT` listener and half the
/// clients.
struct TcpEcho {
    loops: usize,
}

const CONNECTIONS: u64 = 64;
const MESSAGE: usize = 1024;

impl Workload for TcpEcho {
    fn id(&self) -> &'static str {
        ["W11-1L", "W11-2L"][self.loops - 1]
    }

    fn description(&self) -> &'static str {
        ["TCP echo, 64 connections, 1 KiB messages, one loop", "TCP echo, 64 connections, 1 KiB messages, two loops"]
            [self.loops - 1]
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            6_400
        } else {
            64_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        runtimes(self.loops)
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let (loops, messages) = (self.loops, ops.div_ceil(CONNECTIONS));
        match runtime {
            Runtime::CorioUring | Runtime::CorioTwoLoops => unreachable!("not in runtimes()"),
            Runtime::Corio => rt::corio(loops, |l| corio_echo(l, messages)),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio(loops, tokio_echo(messages)),
            Runtime::Smol => rt::smol(loops, |ex| smol_echo(ex, messages)),
        }
    }
}

async fn corio_echo(loops: corio::multi_loop::Loops, messages: u64) -> Duration {
    use corio::net::{TcpListener, TcpStream};
    async fn serve(listener: TcpListener) {
        while let Ok((stream, _)) = listener.accept().await {
            corio::spawn(async move {
                let mut buf = [0u8; MESSAGE];
                while let Ok(n @ 1..) = stream.read(&mut buf).await {
                    if stream.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            })
            .detach();
        }
    }
    let first = TcpListener::bind_reuse_port("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr: SocketAddr = first.local_addr().unwrap();
    corio::spawn(serve(first)).detach();
    for index in 1..loops.len() {
        let (bound, listening) = corio::sync::oneshot::channel();
        let handle = loops.get(index).unwrap();
        handle
            .spawn_with(move || async move {
                let listener = TcpListener::bind_reuse_port(addr).unwrap();
                bound.send(()).unwrap();
                serve(listener).await
            })
            .unwrap()
            .detach();
        listening.await.unwrap();
    }
    let start = Instant::now();
    let clients: Vec<_> = (0..CONNECTIONS as usize)
        .map(|i| {
            corio_spawn_at(&loops, i, move || async move {
                let stream = TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (out, mut back) = ([7u8; MESSAGE], [0u8; MESSAGE]);
                for _ in 0..messages {
                    stream.write_all(&out).await.unwrap();
                    let mut got = 0;
                    while got < MESSAGE {
                        let n = stream.read(&mut back[got..]).await.unwrap();
                        assert!(n > 0, "the echo server closed the connection");
                        got += n;
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    start.elapsed()
}

async fn tokio_echo(messages: u64) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; MESSAGE];
                while let Ok(n @ 1..) = stream.read(&mut buf).await {
                    if stream.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let start = Instant::now();
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (out, mut back) = ([7u8; MESSAGE], [0u8; MESSAGE]);
                for _ in 0..messages {
                    stream.write_all(&out).await.unwrap();
                    stream.read_exact(&mut back).await.unwrap();
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    start.elapsed()
}

async fn smol_echo(ex: Arc<async_executor::Executor<'static>>, messages: u64) -> Duration {
    use async_io::Async;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use std::net::{TcpListener, TcpStream};
    let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    let server_ex = ex.clone();
    ex.spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            server_ex
                .spawn(async move {
                    let mut buf = [0u8; MESSAGE];
                    while let Ok(n @ 1..) = stream.read(&mut buf).await {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                })
                .detach();
        }
    })
    .detach();
    let start = Instant::now();
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            ex.spawn(async move {
                let mut stream = Async::<TcpStream>::connect(addr).await.unwrap();
                stream.get_ref().set_nodelay(true).unwrap();
                let (out, mut back) = ([7u8; MESSAGE], [0u8; MESSAGE]);
                for _ in 0..messages {
                    stream.write_all(&out).await.unwrap();
                    stream.read_exact(&mut back).await.unwrap();
                }
            })
        })
        .collect();
    for client in clients {
        client.await;
    }
    start.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row runs to completion on every runtime, with a small op count (no timing is checked).
    #[test]
    fn every_multi_loop_workload_runs_on_every_runtime() {
        for w in workloads() {
            for &runtime in w.runtimes() {
                let elapsed = w.run(runtime, 256);
                assert!(elapsed > Duration::ZERO, "{} on {}", w.id(), runtime.name());
            }
        }
    }
}
