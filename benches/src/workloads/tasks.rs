//! Task workloads: W1 (wake + re-poll), W2 (spawn + join), W3 (yield_many), W4 (a lone yield), W5 (ping_pong),
//! W6 (chained_spawn), W13 (call_soon chained): ports of tokio's `rt_current_thread` / `rt_multi_threaded`
//! benches and asyncio's call_soon chain.

use super::rt;
use crate::harness::{Runtime, Workload};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub fn workloads() -> Vec<Box<dyn Workload>> {
    vec![
        Box::new(WakeRepoll),
        Box::new(SpawnJoin { tasks: 10_000 }),
        Box::new(YieldMany),
        Box::new(LoneYield),
        Box::new(PingPong),
        Box::new(ChainedSpawn),
        Box::new(CallSoonChain),
    ]
}

/// Wakes itself by reference `left` times, then completes: one op is one wake + re-poll.
struct SelfWaking {
    left: u64,
}

impl Future for SelfWaking {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// W1: one spawned task wakes itself by reference and is polled again.
struct WakeRepoll;

impl Workload for WakeRepoll {
    fn id(&self) -> &'static str {
        "W1"
    }

    fn description(&self) -> &'static str {
        "wake_by_ref + re-poll of one task"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            100_000
        } else {
            1_000_000
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let start = Instant::now();
                corio::spawn(SelfWaking { left: ops }).await.unwrap();
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let start = Instant::now();
                tokio::spawn(SelfWaking { left: ops }).await.unwrap();
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|ex| async move {
                let start = Instant::now();
                ex.spawn(SelfWaking { left: ops }).await;
                start.elapsed()
            }),
        }
    }
}

/// W2: spawn `tasks` trivial tasks from inside the runtime, then join them all; one op is one spawn + join.
/// The scaling table runs it at 1k–1M tasks.
pub struct SpawnJoin {
    pub tasks: u64,
}

impl Workload for SpawnJoin {
    fn id(&self) -> &'static str {
        "W2"
    }

    fn description(&self) -> &'static str {
        "spawn + join, 10k tasks spawned inside the runtime"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            self.tasks
        } else {
            self.tasks * 10
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let batch = self.tasks.min(ops);
        let rounds = ops.div_ceil(batch);
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let start = Instant::now();
                for _ in 0..rounds {
                    let handles: Vec<_> = (0..batch).map(|i| corio::spawn(async move { i })).collect();
                    for h in handles {
                        std::hint::black_box(h.await.unwrap());
                    }
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let start = Instant::now();
                for _ in 0..rounds {
                    let handles: Vec<_> = (0..batch).map(|i| tokio::spawn(async move { i })).collect();
                    for h in handles {
                        std::hint::black_box(h.await.unwrap());
                    }
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|ex| async move {
                let start = Instant::now();
                for _ in 0..rounds {
                    let handles: Vec<_> = (0..batch).map(|i| ex.spawn(async move { i })).collect();
                    for h in handles {
                        std::hint::black_box(h.await);
                    }
                }
                start.elapsed()
            }),
        }
        .mul_f64(ops as f64 / (rounds * batch) as f64)
    }
}

/// How many tasks yield in W3.
const YIELDERS: u64 = 200;

/// W3: 200 tasks yield in turn; one op is one yield.
struct YieldMany;

impl Workload for YieldMany {
    fn id(&self) -> &'static str {
        "W3"
    }

    fn description(&self) -> &'static str {
        "yield_many: 200 tasks yielding in turn, per yield"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            20_000
        } else {
            200_000
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let yields = ops.div_ceil(YIELDERS);
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let start = Instant::now();
                let tasks: Vec<_> = (0..YIELDERS)
                    .map(|_| {
                        corio::spawn(async move {
                            for _ in 0..yields {
                                corio::yield_now().await.unwrap();
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
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
                for t in tasks {
                    t.await.unwrap();
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|ex| async move {
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
                for t in tasks {
                    t.await;
                }
                start.elapsed()
            }),
        }
        .mul_f64(ops as f64 / (yields * YIELDERS) as f64)
    }
}

/// W4: one task alone yields; one op is one yield (tokio's lone yield enters epoll_wait each time).
struct LoneYield;

impl Workload for LoneYield {
    fn id(&self) -> &'static str {
        "W4"
    }

    fn description(&self) -> &'static str {
        "one task alone yielding, per yield"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            20_000
        } else {
            200_000
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let start = Instant::now();
                for _ in 0..ops {
                    corio::yield_now().await.unwrap();
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let start = Instant::now();
                for _ in 0..ops {
                    tokio::task::yield_now().await;
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|_| async move {
                let start = Instant::now();
                for _ in 0..ops {
                    futures_lite::future::yield_now().await;
                }
                start.elapsed()
            }),
        }
    }
}

/// W5: per ping, two spawned tasks and two oneshots: A waits for B's message, then answers the main task.
struct PingPong;

impl Workload for PingPong {
    fn id(&self) -> &'static str {
        "W5"
    }

    fn description(&self) -> &'static str {
        "ping_pong: 2 spawns + 2 oneshots, per ping"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            10_000
        } else {
            100_000
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                use corio::sync::oneshot;
                let start = Instant::now();
                for i in 0..ops {
                    let (ping_tx, ping_rx) = oneshot::channel::<u64>();
                    let (pong_tx, pong_rx) = oneshot::channel::<u64>();
                    corio::spawn(async move {
                        let v = ping_rx.await.unwrap();
                        let _ = pong_tx.send(v);
                    })
                    .detach();
                    corio::spawn(async move {
                        let _ = ping_tx.send(i);
                    })
                    .detach();
                    std::hint::black_box(pong_rx.await.unwrap());
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                use tokio::sync::oneshot;
                let start = Instant::now();
                for i in 0..ops {
                    let (ping_tx, ping_rx) = oneshot::channel::<u64>();
                    let (pong_tx, pong_rx) = oneshot::channel::<u64>();
                    tokio::spawn(async move {
                        let v = ping_rx.await.unwrap();
                        let _ = pong_tx.send(v);
                    });
                    tokio::spawn(async move {
                        let _ = ping_tx.send(i);
                    });
                    std::hint::black_box(pong_rx.await.unwrap());
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|ex| async move {
                // async-channel's bounded(1) stands in for a oneshot (smol has none).
                let start = Instant::now();
                for i in 0..ops {
                    let (ping_tx, ping_rx) = async_channel::bounded::<u64>(1);
                    let (pong_tx, pong_rx) = async_channel::bounded::<u64>(1);
                    ex.spawn(async move {
                        let v = ping_rx.recv().await.unwrap();
                        let _ = pong_tx.try_send(v);
                    })
                    .detach();
                    ex.spawn(async move {
                        let _ = ping_tx.try_send(i);
                    })
                    .detach();
                    std::hint::black_box(pong_rx.recv().await.unwrap());
                }
                start.elapsed()
            }),
        }
    }
}

/// How deep W6's chain goes.
const CHAIN: u64 = 1000;

/// W6: each task spawns the next, 1000 levels deep; the last one signals; one op is one spawn.
struct ChainedSpawn;

impl Workload for ChainedSpawn {
    fn id(&self) -> &'static str {
        "W6"
    }

    fn description(&self) -> &'static str {
        "chained_spawn: 1000 levels, per spawn"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            20_000
        } else {
            200_000
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let rounds = ops.div_ceil(CHAIN);
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                fn link(done: corio::sync::oneshot::Sender<()>, left: u64) {
                    if left == 0 {
                        let _ = done.send(());
                    } else {
                        corio::spawn(async move { link(done, left - 1) }).detach();
                    }
                }
                let start = Instant::now();
                for _ in 0..rounds {
                    let (done, finished) = corio::sync::oneshot::channel();
                    link(done, CHAIN);
                    finished.await.unwrap();
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                fn link(done: tokio::sync::oneshot::Sender<()>, left: u64) {
                    if left == 0 {
                        let _ = done.send(());
                    } else {
                        tokio::spawn(async move { link(done, left - 1) });
                    }
                }
                let start = Instant::now();
                for _ in 0..rounds {
                    let (done, finished) = tokio::sync::oneshot::channel();
                    link(done, CHAIN);
                    finished.await.unwrap();
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|ex| async move {
                fn link(ex: Rc<async_executor::LocalExecutor<'static>>, done: async_channel::Sender<()>, left: u64) {
                    if left == 0 {
                        let _ = done.try_send(());
                    } else {
                        ex.clone().spawn(async move { link(ex, done, left - 1) }).detach();
                    }
                }
                let start = Instant::now();
                for _ in 0..rounds {
                    let (done, finished) = async_channel::bounded(1);
                    link(ex.clone(), done, CHAIN);
                    finished.recv().await.unwrap();
                }
                start.elapsed()
            }),
        }
        .mul_f64(ops as f64 / (rounds * CHAIN) as f64)
    }
}

/// W13: a callback that schedules itself with `call_soon`, 1M times (asyncio's own microbenchmark; the peers have
/// no callbacks, so the comparison is with `benches/asyncio_bench.py`).
struct CallSoonChain;

impl Workload for CallSoonChain {
    fn id(&self) -> &'static str {
        "W13"
    }

    fn description(&self) -> &'static str {
        "call_soon chained (peers: asyncio/uvloop, see benchmarks.md)"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            100_000
        } else {
            1_000_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        Runtime::CORIO_ONLY
    }

    fn run(&self, _runtime: Runtime, ops: u64) -> Duration {
        fn step(left: Rc<Cell<u64>>) {
            let n = left.get();
            if n == 0 {
                corio::stop();
            } else {
                left.set(n - 1);
                corio::call_soon(move || step(left));
            }
        }
        let lp = corio::new_event_loop().expect("a corio loop");
        let left = Rc::new(Cell::new(ops));
        let start = Instant::now();
        lp.call_soon(move || step(left));
        lp.run_forever().expect("the loop ran");
        start.elapsed()
    }
}
