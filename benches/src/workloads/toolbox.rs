//! The everyday toolbox (issue 22): W21a contended `Mutex<T>`, W21b `RwLock` with 90% reads, W21c broadcast to 16
//! receivers, W21d watch to 100 receivers, W21e 10k intervals ticking. Each is written once per runtime with that
//! runtime's own primitive: tokio's `sync` and `time`, and on smol's stack async-lock's `Mutex`/`RwLock`,
//! async-broadcast and async-io's `Timer::interval` (smol has no watch channel: W21d has no smol row).

use super::rt;
use crate::harness::{Runtime, Workload};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn workloads() -> Vec<Box<dyn Workload>> {
    vec![
        Box::new(MutexHandoff),
        Box::new(RwLockMix),
        Box::new(BroadcastFanOut),
        Box::new(WatchFanOut),
        Box::new(IntervalTicks),
    ]
}

/// Tasks contending in W21a and W21b.
const CONTENDERS: u64 = 1000;

/// W21a: 1000 tasks each lock a `Mutex<u64>`, yield while holding it (so everyone else queues), add one and unlock;
/// one op is one lock, i.e. one hand-over to a queued task.
struct MutexHandoff;

impl Workload for MutexHandoff {
    fn id(&self) -> &'static str {
        "W21a"
    }

    fn description(&self) -> &'static str {
        "Mutex<u64> hand-over, 1000 contending tasks (yield while holding)"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            20_000
        } else {
            200_000
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let rounds = ops.div_ceil(CONTENDERS);
        let elapsed = match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let m = Arc::new(corio::sync::Mutex::new(0u64));
                let start = Instant::now();
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let m = m.clone();
                        corio::spawn(async move {
                            for _ in 0..rounds {
                                let mut n = m.lock().await.unwrap();
                                corio::yield_now().await.unwrap();
                                *n += 1;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                let elapsed = start.elapsed();
                assert_eq!(*m.lock().await.unwrap(), rounds * CONTENDERS);
                elapsed
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let m = Arc::new(tokio::sync::Mutex::new(0u64));
                let start = Instant::now();
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let m = m.clone();
                        tokio::spawn(async move {
                            for _ in 0..rounds {
                                let mut n = m.lock().await;
                                tokio::task::yield_now().await;
                                *n += 1;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                let elapsed = start.elapsed();
                assert_eq!(*m.lock().await, rounds * CONTENDERS);
                elapsed
            }),
            Runtime::Smol => rt::smol(|ex| async move {
                let m = Rc::new(async_lock::Mutex::new(0u64));
                let start = Instant::now();
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let m = m.clone();
                        ex.spawn(async move {
                            for _ in 0..rounds {
                                let mut n = m.lock().await;
                                futures_lite::future::yield_now().await;
                                *n += 1;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await;
                }
                let elapsed = start.elapsed();
                assert_eq!(*m.lock().await, rounds * CONTENDERS);
                elapsed
            }),
        };
        elapsed.mul_f64(ops as f64 / (rounds * CONTENDERS) as f64)
    }
}

/// W21b: 1000 tasks each take an `RwLock<u64>` — a write on every tenth turn, a read otherwise — and yield while
/// holding it; one op is one acquisition.
struct RwLockMix;

impl Workload for RwLockMix {
    fn id(&self) -> &'static str {
        "W21b"
    }

    fn description(&self) -> &'static str {
        "RwLock<u64> 90% reads / 10% writes, 1000 tasks (yield while holding)"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            20_000
        } else {
            200_000
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let rounds = ops.div_ceil(CONTENDERS);
        // Task `t`'s turn `r` writes when (t + r) % 10 == 0: every tenth acquisition, spread over the tasks.
        let writes = |t: u64, r: u64| (t + r) % 10 == 0;
        let expected: u64 = (0..CONTENDERS).map(|t| (0..rounds).filter(|&r| writes(t, r)).count() as u64).sum();
        let elapsed = match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let lock = Arc::new(corio::sync::RwLock::new(0u64));
                let start = Instant::now();
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|t| {
                        let lock = lock.clone();
                        corio::spawn(async move {
                            for r in 0..rounds {
                                if writes(t, r) {
                                    let mut n = lock.write().await.unwrap();
                                    corio::yield_now().await.unwrap();
                                    *n += 1;
                                } else {
                                    let _n = lock.read().await.unwrap();
                                    corio::yield_now().await.unwrap();
                                }
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                let elapsed = start.elapsed();
                assert_eq!(*lock.read().await.unwrap(), expected);
                elapsed
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let lock = Arc::new(tokio::sync::RwLock::new(0u64));
                let start = Instant::now();
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|t| {
                        let lock = lock.clone();
                        tokio::spawn(async move {
                            for r in 0..rounds {
                                if writes(t, r) {
                                    let mut n = lock.write().await;
                                    tokio::task::yield_now().await;
                                    *n += 1;
                                } else {
                                    let _n = lock.read().await;
                                    tokio::task::yield_now().await;
                                }
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                let elapsed = start.elapsed();
                assert_eq!(*lock.read().await, expected);
                elapsed
            }),
            Runtime::Smol => rt::smol(|ex| async move {
                let lock = Rc::new(async_lock::RwLock::new(0u64));
                let start = Instant::now();
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|t| {
                        let lock = lock.clone();
                        ex.spawn(async move {
                            for r in 0..rounds {
                                if writes(t, r) {
                                    let mut n = lock.write().await;
                                    futures_lite::future::yield_now().await;
                                    *n += 1;
                                } else {
                                    let _n = lock.read().await;
                                    futures_lite::future::yield_now().await;
                                }
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await;
                }
                let elapsed = start.elapsed();
                assert_eq!(*lock.read().await, expected);
                elapsed
            }),
        };
        elapsed.mul_f64(ops as f64 / (rounds * CONTENDERS) as f64)
    }
}

/// Receivers in W21c.
const BROADCAST_RECEIVERS: usize = 16;

/// W21c: one sender broadcasts to 16 receiver tasks, yielding after each send (each send wakes every receiver, which
/// reads it and waits again); one op is one value delivered to all 16. The ring holds every value, so nobody lags.
struct BroadcastFanOut;

impl Workload for BroadcastFanOut {
    fn id(&self) -> &'static str {
        "W21c"
    }

    fn description(&self) -> &'static str {
        "broadcast 1 -> 16 receivers, per value sent"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            5_000
        } else {
            50_000
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let capacity = ops as usize;
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let (tx, rx) = corio::sync::broadcast::channel::<u64>(capacity).unwrap();
                let receivers: Vec<_> = (0..BROADCAST_RECEIVERS)
                    .map(|_| {
                        let mut rx = rx.resubscribe();
                        corio::spawn(async move {
                            let mut n = 0u64;
                            while rx.recv().await.is_ok() {
                                n += 1;
                            }
                            n
                        })
                    })
                    .collect();
                drop(rx);
                corio::yield_now().await.unwrap();
                let start = Instant::now();
                for i in 0..ops {
                    tx.send(i).unwrap();
                    corio::yield_now().await.unwrap();
                }
                drop(tx);
                for r in receivers {
                    assert_eq!(r.await.unwrap(), ops);
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let (tx, rx) = tokio::sync::broadcast::channel::<u64>(capacity);
                let receivers: Vec<_> = (0..BROADCAST_RECEIVERS)
                    .map(|_| {
                        let mut rx = rx.resubscribe();
                        tokio::spawn(async move {
                            let mut n = 0u64;
                            while rx.recv().await.is_ok() {
                                n += 1;
                            }
                            n
                        })
                    })
                    .collect();
                drop(rx);
                tokio::task::yield_now().await;
                let start = Instant::now();
                for i in 0..ops {
                    tx.send(i).unwrap();
                    tokio::task::yield_now().await;
                }
                drop(tx);
                for r in receivers {
                    assert_eq!(r.await.unwrap(), ops);
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|ex| async move {
                let (tx, rx) = async_broadcast::broadcast::<u64>(capacity);
                let receivers: Vec<_> = (0..BROADCAST_RECEIVERS)
                    .map(|_| {
                        let mut rx = rx.clone();
                        ex.spawn(async move {
                            let mut n = 0u64;
                            while rx.recv().await.is_ok() {
                                n += 1;
                            }
                            n
                        })
                    })
                    .collect();
                drop(rx);
                futures_lite::future::yield_now().await;
                let start = Instant::now();
                for i in 0..ops {
                    tx.broadcast(i).await.unwrap();
                    futures_lite::future::yield_now().await;
                }
                drop(tx);
                for r in receivers {
                    assert_eq!(r.await, ops);
                }
                start.elapsed()
            }),
        }
    }
}

/// Receivers in W21d.
const WATCH_RECEIVERS: usize = 100;

/// W21d: one sender updates a watch channel watched by 100 receiver tasks, yielding after each send (each send wakes
/// every receiver, which reads the value and waits again); one op is one send seen by all 100.
struct WatchFanOut;

impl Workload for WatchFanOut {
    fn id(&self) -> &'static str {
        "W21d"
    }

    fn description(&self) -> &'static str {
        "watch 1 -> 100 receivers, per value sent"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            2_000
        } else {
            20_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        &[Runtime::Corio, Runtime::TokioCt, Runtime::TokioMt]
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let (tx, rx) = corio::sync::watch::channel(0u64);
                let receivers: Vec<_> = (0..WATCH_RECEIVERS)
                    .map(|_| {
                        let mut rx = rx.clone();
                        corio::spawn(async move {
                            let mut last = 0;
                            while rx.changed().await.is_ok() {
                                last = *rx.borrow_and_update();
                            }
                            last
                        })
                    })
                    .collect();
                drop(rx);
                corio::yield_now().await.unwrap();
                let start = Instant::now();
                for i in 1..=ops {
                    tx.send(i).unwrap();
                    corio::yield_now().await.unwrap();
                }
                drop(tx);
                for r in receivers {
                    assert_eq!(r.await.unwrap(), ops);
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let (tx, rx) = tokio::sync::watch::channel(0u64);
                let receivers: Vec<_> = (0..WATCH_RECEIVERS)
                    .map(|_| {
                        let mut rx = rx.clone();
                        tokio::spawn(async move {
                            let mut last = 0;
                            while rx.changed().await.is_ok() {
                                last = *rx.borrow_and_update();
                            }
                            last
                        })
                    })
                    .collect();
                drop(rx);
                tokio::task::yield_now().await;
                let start = Instant::now();
                for i in 1..=ops {
                    tx.send(i).unwrap();
                    tokio::task::yield_now().await;
                }
                drop(tx);
                for r in receivers {
                    assert_eq!(r.await.unwrap(), ops);
                }
                start.elapsed()
            }),
            Runtime::Smol => unreachable!("no watch channel on smol's stack"),
        }
    }
}

/// Tasks ticking in W21e.
const TICKERS: u64 = 10_000;
/// Their period.
const TICK: Duration = Duration::from_millis(1);

/// W21e: 10k tasks each tick an interval of 1 ms; one op is one tick (a timer registered, fired and its task woken).
/// The 1 ms period bounds a round from below: at 10k ticks per ms the runtimes are CPU-bound, not clock-bound.
struct IntervalTicks;

impl Workload for IntervalTicks {
    fn id(&self) -> &'static str {
        "W21e"
    }

    fn description(&self) -> &'static str {
        "interval ticks, 10k tasks ticking every 1 ms, per tick"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            50_000
        } else {
            200_000
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let rounds = ops.div_ceil(TICKERS);
        let elapsed = match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let start = Instant::now();
                let tasks: Vec<_> = (0..TICKERS)
                    .map(|_| {
                        corio::spawn(async move {
                            let mut iv = corio::time::interval(TICK).unwrap();
                            for _ in 0..rounds {
                                iv.tick().await.unwrap();
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
                let tasks: Vec<_> = (0..TICKERS)
                    .map(|_| {
                        tokio::spawn(async move {
                            let mut iv = tokio::time::interval(TICK);
                            for _ in 0..rounds {
                                iv.tick().await;
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
                use futures_lite::StreamExt;
                let start = Instant::now();
                let tasks: Vec<_> = (0..TICKERS)
                    .map(|_| {
                        ex.spawn(async move {
                            // async-io's first tick is one period out (tokio's and corio's are at once), so its
                            // floor is one period longer: 1 ms of the 20 a full run spans.
                            let mut iv = async_io::Timer::interval(TICK);
                            for _ in 0..rounds {
                                iv.next().await;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await;
                }
                start.elapsed()
            }),
        };
        elapsed.mul_f64(ops as f64 / (rounds * TICKERS) as f64)
    }
}
