//! X1–X6: work shared across loops (issue 27). Each row runs the same work three ways, in the same run: corio on two
//! loops (`corio-2L`: a `MultiLoop` of two, every task spawned with `Loops::spawn`, so the runtime decides where it
//! runs), tokio's multi_thread runtime with two workers (`tokio-mt`), and corio on one loop (`corio`: the same tasks
//! with `corio::spawn`). The peers' rows use their own primitives (`tokio::sync`), with the same shared counter and the
//! same yields. Context switches per operation (`getrusage`, voluntary + involuntary, the whole process) are printed
//! beside the times.
//!
//! * X1 — shared lock: 10,000 tasks, each 20 × {acquire one shared lock, increment, release, yield}; one op is one
//!   acquire-release.
//! * X2 — shared semaphore(4): the same with a semaphore of four permits.
//! * X3 — condition ping-pong: two tasks take turns through one condition variable; one op is one turn.
//! * X4 — mpsc 1 → 1: one producer sends values through an unbounded channel to one consumer; one op is one value.
//! * X5 — mpsc 16 → 1: sixteen producers into one bounded(128) channel; one op is one value.
//! * X6 — imbalanced load: 2,000 tasks spawned from the first loop (an accept loop's pattern), every other one doing
//!   ~50 µs of CPU work (a fixed hash loop, the same for every runtime), the rest yielding once; one op is one task.
//!
//! X1p–X5p are X1–X5 with every task pinned to a loop (`Loops::spawn_on`, round robin: the two condition players and
//! the mpsc producer and consumer on different loops), as a thread-per-core program shares state: the cross-thread
//! wake and hand-off path, which the pool's tasks mostly avoid. Only corio-2L differs from the X rows; tokio-mt runs
//! the same code as there.

use crate::harness::{Runtime, Workload};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every cross-loop row: corio on two loops, tokio on two workers, corio on one loop.
const RUNTIMES: &[Runtime] = &[Runtime::CorioTwoLoops, Runtime::TokioMt, Runtime::Corio];

/// The pinned rows: only corio on two loops differs from the X rows.
const PINNED: &[Runtime] = &[Runtime::CorioTwoLoops, Runtime::TokioMt];

pub fn workloads() -> Vec<Box<dyn Workload>> {
    let mut all: Vec<Box<dyn Workload>> = Vec::new();
    for pinned in [false, true] {
        all.push(Box::new(SharedLock { pinned }));
        all.push(Box::new(SharedSemaphore { pinned }));
        all.push(Box::new(ConditionPingPong { pinned }));
        all.push(Box::new(MpscOneToOne { pinned }));
        all.push(Box::new(MpscManyToOne { pinned }));
    }
    all.push(Box::new(Imbalanced));
    all
}

/// Runs `body` on corio with `loops` loops; `spawn` spawns a `Send` future where that runtime puts such work: on
/// any loop (`Loops::spawn`) with two, or pinned round robin (`Loops::spawn_on`) if `pinned`, on the loop with one.
fn corio<T, F>(loops: usize, pinned: bool, body: impl FnOnce(Spawner) -> F) -> T
where
    F: Future<Output = T>,
{
    if loops == 1 {
        super::rt::corio(body(Spawner { loops: None, pinned, next: Arc::default() }))
    } else {
        let rt = corio::multi_loop().loops(loops).build().expect("a corio runtime");
        let spawner = Spawner { loops: Some(rt.loops()), pinned, next: Arc::default() };
        let out = rt.block_on(body(spawner)).expect("the corio runtime ran the body");
        rt.shutdown().expect("a clean shutdown");
        out
    }
}

/// How a corio row spawns a `Send` task (see [`corio()`]).
#[derive(Clone)]
struct Spawner {
    loops: Option<corio::multi_loop::Loops>,
    pinned: bool,
    next: Arc<AtomicU64>,
}

impl Spawner {
    fn spawn<F>(&self, future: F) -> corio::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.loops {
            Some(loops) if self.pinned => {
                let index = self.next.fetch_add(1, Ordering::Relaxed) as usize % loops.len();
                loops.spawn_on(index, future).expect("the runtime is open")
            }
            Some(loops) => loops.spawn(future).expect("the runtime is open"),
            None => corio::spawn(future),
        }
    }
}

fn loops_of(runtime: Runtime) -> usize {
    if runtime == Runtime::CorioTwoLoops {
        2
    } else {
        1
    }
}

/// The row's id: `X1`, or `X1p` pinned.
fn id(base: &'static str, pinned: bool) -> &'static str {
    match (base, pinned) {
        (base, false) => base,
        ("X1", true) => "X1p",
        ("X2", true) => "X2p",
        ("X3", true) => "X3p",
        ("X4", true) => "X4p",
        ("X5", true) => "X5p",
        _ => unreachable!("no pinned row of {base}"),
    }
}

/// X1 and X2: `tasks` tasks each taking a shared lock (`permits` = 1) or semaphore 20 times.
const ROUNDS: u64 = 20;

fn contended(runtime: Runtime, pinned: bool, permits: usize, ops: u64) -> Duration {
    let tasks = ops.div_ceil(ROUNDS);
    match runtime {
        Runtime::TokioMt => super::rt::tokio_mt(async move {
            let sem = Arc::new(tokio::sync::Semaphore::new(permits));
            let count = Arc::new(AtomicU64::new(0));
            let start = Instant::now();
            let handles: Vec<_> = (0..tasks)
                .map(|_| {
                    let (sem, count) = (sem.clone(), count.clone());
                    tokio::spawn(async move {
                        for _ in 0..ROUNDS {
                            let permit = sem.acquire().await.unwrap();
                            count.fetch_add(1, Ordering::Relaxed);
                            drop(permit);
                            tokio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
            assert_eq!(count.load(Ordering::Relaxed), tasks * ROUNDS);
            start.elapsed()
        }),
        _ => corio(loops_of(runtime), pinned, move |spawner| async move {
            let sem = Arc::new(corio::sync::Semaphore::new(permits));
            let lock = Arc::new(corio::sync::Lock::new());
            let count = Arc::new(AtomicU64::new(0));
            let start = Instant::now();
            let handles: Vec<_> = (0..tasks)
                .map(|_| {
                    let (sem, lock, count) = (sem.clone(), lock.clone(), count.clone());
                    spawner.spawn(async move {
                        for _ in 0..ROUNDS {
                            if permits == 1 {
                                let guard = lock.acquire().await.unwrap();
                                count.fetch_add(1, Ordering::Relaxed);
                                drop(guard);
                            } else {
                                let permit = sem.acquire().await.unwrap();
                                count.fetch_add(1, Ordering::Relaxed);
                                drop(permit);
                            }
                            corio::yield_now().await.unwrap();
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
            assert_eq!(count.load(Ordering::Relaxed), tasks * ROUNDS);
            start.elapsed()
        }),
    }
}

struct SharedLock {
    pinned: bool,
}

impl Workload for SharedLock {
    fn id(&self) -> &'static str {
        id("X1", self.pinned)
    }

    fn description(&self) -> &'static str {
        "shared Lock: 10k tasks x 20 {acquire, +1, release, yield}, per acquire"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            20_000
        } else {
            200_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        if self.pinned {
            PINNED
        } else {
            RUNTIMES
        }
    }

    fn reports_switches(&self) -> bool {
        true
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        contended(runtime, self.pinned, 1, ops)
    }
}

struct SharedSemaphore {
    pinned: bool,
}

impl Workload for SharedSemaphore {
    fn id(&self) -> &'static str {
        id("X2", self.pinned)
    }

    fn description(&self) -> &'static str {
        "shared Semaphore(4): 10k tasks x 20 {acquire, +1, release, yield}, per acquire"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            20_000
        } else {
            200_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        if self.pinned {
            PINNED
        } else {
            RUNTIMES
        }
    }

    fn reports_switches(&self) -> bool {
        true
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        contended(runtime, self.pinned, 4, ops)
    }
}

struct ConditionPingPong {
    pinned: bool,
}

impl Workload for ConditionPingPong {
    fn id(&self) -> &'static str {
        id("X3", self.pinned)
    }

    fn description(&self) -> &'static str {
        "Condition ping-pong: two tasks take turns, per turn"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            5_000
        } else {
            50_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        if self.pinned {
            PINNED
        } else {
            RUNTIMES
        }
    }

    fn reports_switches(&self) -> bool {
        true
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let turns = ops;
        match runtime {
            Runtime::TokioMt => super::rt::tokio_mt(async move {
                // tokio has no condition variable: a Mutex and a Notify per side are the idiom.
                let turn = Arc::new(tokio::sync::Mutex::new(0u64));
                let notify = Arc::new([tokio::sync::Notify::new(), tokio::sync::Notify::new()]);
                let start = Instant::now();
                let players: Vec<_> = (0..2u64)
                    .map(|me| {
                        let (turn, notify) = (turn.clone(), notify.clone());
                        tokio::spawn(async move {
                            loop {
                                let mut t = turn.lock().await;
                                while *t < turns && *t % 2 != me {
                                    let notified = notify[me as usize].notified();
                                    drop(t);
                                    notified.await;
                                    t = turn.lock().await;
                                }
                                if *t >= turns {
                                    notify[(1 - me) as usize].notify_one();
                                    return;
                                }
                                *t += 1;
                                drop(t);
                                notify[(1 - me) as usize].notify_one();
                            }
                        })
                    })
                    .collect();
                for player in players {
                    player.await.unwrap();
                }
                start.elapsed()
            }),
            _ => corio(loops_of(runtime), self.pinned, move |spawner| async move {
                let cond = Arc::new(corio::sync::Condition::new());
                let turn = Arc::new(AtomicU64::new(0));
                let start = Instant::now();
                let players: Vec<_> = (0..2u64)
                    .map(|me| {
                        let (cond, turn) = (cond.clone(), turn.clone());
                        spawner.spawn(async move {
                            loop {
                                let mut guard = cond.acquire().await.unwrap();
                                let mine = || {
                                    let t = turn.load(Ordering::Relaxed);
                                    t >= turns || t % 2 == me
                                };
                                guard.wait_for(mine).await.unwrap();
                                let t = turn.load(Ordering::Relaxed);
                                if t >= turns {
                                    guard.notify_all();
                                    return;
                                }
                                turn.store(t + 1, Ordering::Relaxed);
                                guard.notify_all();
                            }
                        })
                    })
                    .collect();
                for player in players {
                    player.await.unwrap();
                }
                start.elapsed()
            }),
        }
    }
}

struct MpscOneToOne {
    pinned: bool,
}

impl Workload for MpscOneToOne {
    fn id(&self) -> &'static str {
        id("X4", self.pinned)
    }

    fn description(&self) -> &'static str {
        "mpsc 1 -> 1, unbounded, per value"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            100_000
        } else {
            1_000_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        if self.pinned {
            PINNED
        } else {
            RUNTIMES
        }
    }

    fn reports_switches(&self) -> bool {
        true
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        match runtime {
            Runtime::TokioMt => super::rt::tokio_mt(async move {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
                let start = Instant::now();
                let producer = tokio::spawn(async move {
                    for i in 0..ops {
                        tx.send(i).unwrap();
                    }
                });
                let consumer = tokio::spawn(async move {
                    let mut sum = 0u64;
                    while let Some(v) = rx.recv().await {
                        sum = sum.wrapping_add(v);
                    }
                    sum
                });
                producer.await.unwrap();
                std::hint::black_box(consumer.await.unwrap());
                start.elapsed()
            }),
            _ => corio(loops_of(runtime), self.pinned, move |spawner| async move {
                let (tx, mut rx) = corio::sync::mpsc::unbounded_channel::<u64>();
                let start = Instant::now();
                let producer = spawner.spawn(async move {
                    for i in 0..ops {
                        tx.send(i).unwrap();
                    }
                });
                let consumer = spawner.spawn(async move {
                    let mut sum = 0u64;
                    while let Ok(Some(v)) = rx.recv().await {
                        sum = sum.wrapping_add(v);
                    }
                    sum
                });
                producer.await.unwrap();
                std::hint::black_box(consumer.await.unwrap());
                start.elapsed()
            }),
        }
    }
}

struct MpscManyToOne {
    pinned: bool,
}

const PRODUCERS: u64 = 16;

impl Workload for MpscManyToOne {
    fn id(&self) -> &'static str {
        id("X5", self.pinned)
    }

    fn description(&self) -> &'static str {
        "mpsc 16 -> 1, bounded(128), per value"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            100_000
        } else {
            1_000_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        if self.pinned {
            PINNED
        } else {
            RUNTIMES
        }
    }

    fn reports_switches(&self) -> bool {
        true
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let each = ops.div_ceil(PRODUCERS);
        match runtime {
            Runtime::TokioMt => super::rt::tokio_mt(async move {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(128);
                let start = Instant::now();
                for _ in 0..PRODUCERS {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        for i in 0..each {
                            tx.send(i).await.unwrap();
                        }
                    });
                }
                drop(tx);
                let consumer = tokio::spawn(async move {
                    let mut n = 0u64;
                    while rx.recv().await.is_some() {
                        n += 1;
                    }
                    n
                });
                assert_eq!(consumer.await.unwrap(), each * PRODUCERS);
                start.elapsed()
            }),
            _ => corio(loops_of(runtime), self.pinned, move |spawner| async move {
                let (tx, mut rx) = corio::sync::mpsc::channel::<u64>(128).unwrap();
                let start = Instant::now();
                for _ in 0..PRODUCERS {
                    let tx = tx.clone();
                    spawner
                        .spawn(async move {
                            for i in 0..each {
                                tx.send(i).await.unwrap();
                            }
                        })
                        .detach();
                }
                drop(tx);
                let consumer = spawner.spawn(async move {
                    let mut n = 0u64;
                    while let Ok(Some(_)) = rx.recv().await {
                        n += 1;
                    }
                    n
                });
                assert_eq!(consumer.await.unwrap(), each * PRODUCERS);
                start.elapsed()
            }),
        }
    }
}

struct Imbalanced;

/// Iterations of [`cpu_work`] for about 50 µs on the machine docs/benchmarks.md describes.
const CPU_WORK: u64 = 40_000;

/// A fixed amount of CPU work that the optimiser cannot remove.
fn cpu_work(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..CPU_WORK {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

impl Workload for Imbalanced {
    fn id(&self) -> &'static str {
        "X6"
    }

    fn description(&self) -> &'static str {
        "imbalanced: tasks spawned from one loop, half with ~50 us CPU work, per task"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            400
        } else {
            2_000
        }
    }

    fn runtimes(&self) -> &'static [Runtime] {
        RUNTIMES
    }

    fn reports_switches(&self) -> bool {
        true
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        match runtime {
            Runtime::TokioMt => super::rt::tokio_mt(async move {
                let start = Instant::now();
                let tasks: Vec<_> = (0..ops)
                    .map(|i| {
                        tokio::spawn(async move {
                            if i % 2 == 0 {
                                cpu_work(i)
                            } else {
                                tokio::task::yield_now().await;
                                i
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    std::hint::black_box(task.await.unwrap());
                }
                start.elapsed()
            }),
            _ => corio(loops_of(runtime), false, move |spawner| async move {
                let start = Instant::now();
                let tasks: Vec<_> = (0..ops)
                    .map(|i| {
                        spawner.spawn(async move {
                            if i % 2 == 0 {
                                cpu_work(i)
                            } else {
                                corio::yield_now().await.unwrap();
                                i
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    std::hint::black_box(task.await.unwrap());
                }
                start.elapsed()
            }),
        }
    }
}
