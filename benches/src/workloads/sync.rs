//! Synchronisation workloads: W7 (a bounded(1) channel round trip between two tasks) and W15 (lock and semaphore
//! hand-over under 1000 contending tasks).

use super::rt;
use crate::harness::{Runtime, Workload};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn workloads() -> Vec<Box<dyn Workload>> {
    vec![Box::new(ChannelRoundTrip), Box::new(LockHandoff), Box::new(SemaphoreHandoff)]
}

/// W7: task A sends on a bounded(1) channel, task B receives and answers on another; one op is one round trip.
struct ChannelRoundTrip;

impl Workload for ChannelRoundTrip {
    fn id(&self) -> &'static str {
        "W7"
    }

    fn description(&self) -> &'static str {
        "bounded(1) channel round trip between two tasks"
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
                use corio::sync::mpsc;
                let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1).unwrap();
                let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1).unwrap();
                let echo = corio::spawn(async move {
                    while let Ok(Some(v)) = ping_rx.recv().await {
                        if pong_tx.send(v).await.is_err() {
                            break;
                        }
                    }
                });
                let start = Instant::now();
                for i in 0..ops {
                    ping_tx.send(i).await.unwrap();
                    pong_rx.recv().await.unwrap().unwrap();
                }
                let elapsed = start.elapsed();
                drop(ping_tx);
                echo.await.unwrap();
                elapsed
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                use tokio::sync::mpsc;
                let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
                let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
                let echo = tokio::spawn(async move {
                    while let Some(v) = ping_rx.recv().await {
                        if pong_tx.send(v).await.is_err() {
                            break;
                        }
                    }
                });
                let start = Instant::now();
                for i in 0..ops {
                    ping_tx.send(i).await.unwrap();
                    pong_rx.recv().await.unwrap();
                }
                let elapsed = start.elapsed();
                drop(ping_tx);
                echo.await.unwrap();
                elapsed
            }),
            Runtime::Smol => rt::smol(|ex| async move {
                let (ping_tx, ping_rx) = async_channel::bounded::<u64>(1);
                let (pong_tx, pong_rx) = async_channel::bounded::<u64>(1);
                let echo = ex.spawn(async move {
                    while let Ok(v) = ping_rx.recv().await {
                        if pong_tx.send(v).await.is_err() {
                            break;
                        }
                    }
                });
                let start = Instant::now();
                for i in 0..ops {
                    ping_tx.send(i).await.unwrap();
                    pong_rx.recv().await.unwrap();
                }
                let elapsed = start.elapsed();
                drop(ping_tx);
                echo.await;
                elapsed
            }),
        }
    }
}

/// How many tasks contend in W15.
const CONTENDERS: u64 = 1000;

/// W15a: 1000 tasks each take a lock, yield while holding it (so everyone else queues), and release; one op is one
/// acquire, i.e. one hand-over to a queued task.
struct LockHandoff;

impl Workload for LockHandoff {
    fn id(&self) -> &'static str {
        "W15a"
    }

    fn description(&self) -> &'static str {
        "lock hand-over, 1000 contending tasks (yield while holding)"
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
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let lock = Arc::new(corio::sync::Lock::new());
                let start = Instant::now();
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let lock = lock.clone();
                        corio::spawn(async move {
                            for _ in 0..rounds {
                                let _guard = lock.acquire().await.unwrap();
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
                let lock = Arc::new(tokio::sync::Mutex::new(()));
                let start = Instant::now();
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let lock = lock.clone();
                        tokio::spawn(async move {
                            for _ in 0..rounds {
                                let _guard = lock.lock().await;
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
                let lock = Rc::new(async_lock::Mutex::new(()));
                let start = Instant::now();
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let lock = lock.clone();
                        ex.spawn(async move {
                            for _ in 0..rounds {
                                let _guard = lock.lock().await;
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
        .mul_f64(ops as f64 / (rounds * CONTENDERS) as f64)
    }
}

/// W15b: as W15a with a semaphore of 10 permits.
struct SemaphoreHandoff;

impl Workload for SemaphoreHandoff {
    fn id(&self) -> &'static str {
        "W15b"
    }

    fn description(&self) -> &'static str {
        "semaphore(10) hand-over, 1000 contending tasks (yield while holding)"
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
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let sem = Arc::new(corio::sync::Semaphore::new(10));
                let start = Instant::now();
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let sem = sem.clone();
                        corio::spawn(async move {
                            for _ in 0..rounds {
                                let _permit = sem.acquire().await.unwrap();
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
                let sem = Arc::new(tokio::sync::Semaphore::new(10));
                let start = Instant::now();
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let sem = sem.clone();
                        tokio::spawn(async move {
                            for _ in 0..rounds {
                                let _permit = sem.acquire().await.unwrap();
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
                let sem = Rc::new(async_lock::Semaphore::new(10));
                let start = Instant::now();
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let sem = sem.clone();
                        ex.spawn(async move {
                            for _ in 0..rounds {
                                let _permit = sem.acquire().await;
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
        .mul_f64(ops as f64 / (rounds * CONTENDERS) as f64)
    }
}
