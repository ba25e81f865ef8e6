//! Timer workloads: W8 (register + cancel), W9 (`timeout` around a ready future), W12 (sleeping tasks spawned and
//! cancelled), W16 (a million timeouts armed, then cancelled). W8 and W12 take a size so the scaling table can run
//! them at 1k–1M timers/tasks. The timer storm (many timers firing together) has its own table: `crate::storm`.

use super::rt;
use crate::harness::{Runtime, Workload};
use futures_lite::future::poll_once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn workloads() -> Vec<Box<dyn Workload>> {
    vec![
        Box::new(TimerRegisterCancel { pending: 1 }),
        Box::new(TimeoutReady),
        Box::new(WaitForReady),
        Box::new(SleepingTasks { tasks: 100_000 }),
        Box::new(TimeoutsArmedCancelled),
        Box::new(StormQueueAlone),
    ]
}

/// Far enough never to fire during a run.
const LONG: Duration = Duration::from_secs(3600);

/// W8: a sleep polled once (its timer registered) and dropped (cancelled); one op is one timer. `pending` timers are
/// registered before any is dropped, so the heap holds that many (1 for the table, 1k–1M for scaling); the task
/// yields after each batch, so lazily purged entries (corio) are paid for inside the measured time.
pub struct TimerRegisterCancel {
    pub pending: u64,
}

impl Workload for TimerRegisterCancel {
    fn id(&self) -> &'static str {
        "W8"
    }

    fn description(&self) -> &'static str {
        "timer register + cancel (sleep polled once, dropped)"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            self.pending.max(20_000)
        } else {
            self.pending.max(200_000)
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        // Timers alive at once; a batch of 1 still yields every 1024 timers (as a real task would).
        let batch = self.pending.min(ops);
        let yield_every = batch.max(1024);
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let start = Instant::now();
                let mut sleeps = Vec::with_capacity(batch as usize);
                for i in 1..=ops {
                    let mut sleep = Box::pin(corio::sleep(LONG));
                    assert!(poll_once(&mut sleep).await.is_none());
                    sleeps.push(sleep);
                    if sleeps.len() as u64 == batch {
                        sleeps.clear();
                    }
                    if i % yield_every == 0 {
                        corio::yield_now().await.unwrap();
                    }
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let start = Instant::now();
                let mut sleeps = Vec::with_capacity(batch as usize);
                for i in 1..=ops {
                    let mut sleep = Box::pin(tokio::time::sleep(LONG));
                    assert!(poll_once(&mut sleep).await.is_none());
                    sleeps.push(sleep);
                    if sleeps.len() as u64 == batch {
                        sleeps.clear();
                    }
                    if i % yield_every == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|_| async move {
                let start = Instant::now();
                let mut sleeps = Vec::with_capacity(batch as usize);
                for i in 1..=ops {
                    let mut sleep = async_io::Timer::after(LONG);
                    assert!(poll_once(&mut sleep).await.is_none());
                    sleeps.push(sleep);
                    if sleeps.len() as u64 == batch {
                        sleeps.clear();
                    }
                    if i % yield_every == 0 {
                        futures_lite::future::yield_now().await;
                    }
                }
                start.elapsed()
            }),
        }
    }
}

/// W9a: a timeout around an already-ready future (the deadline is armed and disarmed, the future never waits),
/// with each runtime's drop-on-deadline timeout: corio's `fut.timeout(d)`, tokio's `time::timeout`, smol's race
/// against a `Timer`. The future is the same for every runtime: an async block that returns at once (smol's race
/// wraps its value in `Some` to tell it from the timer's `None`). With `std::future::ready(i)` instead, smol's
/// `or` costs more than the block (docs/benchmarks.md, eleventh round), so the block is the fairer floor.
struct TimeoutReady;

impl Workload for TimeoutReady {
    fn id(&self) -> &'static str {
        "W9a"
    }

    fn description(&self) -> &'static str {
        "timeout around an already-ready future (drop-on-deadline: fut.timeout(d))"
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
                for i in 0..ops {
                    let v = corio::FutureExt::timeout(async { i }, LONG).await.unwrap();
                    std::hint::black_box(v);
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let start = Instant::now();
                for i in 0..ops {
                    let v = tokio::time::timeout(LONG, async { i }).await.unwrap();
                    std::hint::black_box(v);
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|_| async move {
                // smol has no timeout: the idiom is racing the future against a Timer.
                let start = Instant::now();
                for i in 0..ops {
                    let v = futures_lite::future::or(async { Some(i) }, async {
                        async_io::Timer::after(LONG).await;
                        None
                    })
                    .await
                    .unwrap();
                    std::hint::black_box(v);
                }
                start.elapsed()
            }),
        }
    }
}

/// W9b: W9a with asyncio's `wait_for` (a timeout scope with the cancel accounting of rules TO1-TO5: the scope
/// records the task's cancel count on entry and compares it on exit). No peer has these semantics; tokio's row
/// is its plain `timeout`, for scale.
struct WaitForReady;

impl Workload for WaitForReady {
    fn id(&self) -> &'static str {
        "W9b"
    }

    fn description(&self) -> &'static str {
        "asyncio's wait_for around an already-ready future (tokio: its plain timeout, for scale)"
    }

    fn ops(&self, quick: bool) -> u64 {
        TimeoutReady.ops(quick)
    }

    fn runtimes(&self) -> &'static [Runtime] {
        &[Runtime::Corio, Runtime::TokioCt]
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        match runtime {
            Runtime::Corio => rt::corio_on(runtime, async move {
                let start = Instant::now();
                for i in 0..ops {
                    let v = corio::wait_for(LONG, async { i }).await.unwrap();
                    std::hint::black_box(v);
                }
                start.elapsed()
            }),
            _ => TimeoutReady.run(runtime, ops),
        }
    }
}

/// W12: `tasks` tasks each sleeping an hour are spawned, run until every timer is registered, then cancelled and
/// joined (every task counts itself in before sleeping, so all timers are registered before the cancels); one op
/// is one task's spawn + sleep + cancel. Memory per task and peak RSS come from `--memory`.
pub struct SleepingTasks {
    pub tasks: u64,
}

impl Workload for SleepingTasks {
    fn id(&self) -> &'static str {
        "W12"
    }

    fn description(&self) -> &'static str {
        "sleeping tasks (100k at once): spawn, sleep, cancel, join, per task"
    }

    fn ops(&self, _quick: bool) -> u64 {
        self.tasks
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        let tasks = self.tasks.min(ops);
        let rounds = ops.div_ceil(tasks);
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let start = Instant::now();
                for _ in 0..rounds {
                    let asleep = Arc::new(AtomicU64::new(0));
                    let handles: Vec<_> = (0..tasks)
                        .map(|_| {
                            let asleep = asleep.clone();
                            corio::spawn(async move {
                                asleep.fetch_add(1, Ordering::Relaxed);
                                corio::sleep(LONG).await
                            })
                        })
                        .collect();
                    while asleep.load(Ordering::Relaxed) < tasks {
                        corio::yield_now().await.unwrap();
                    }
                    handles.iter().for_each(|h| {
                        h.cancel();
                    });
                    for h in handles {
                        assert!(h.await.is_err());
                    }
                }
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let start = Instant::now();
                for _ in 0..rounds {
                    let asleep = Arc::new(AtomicU64::new(0));
                    let handles: Vec<_> = (0..tasks)
                        .map(|_| {
                            let asleep = asleep.clone();
                            tokio::spawn(async move {
                                asleep.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(LONG).await
                            })
                        })
                        .collect();
                    while asleep.load(Ordering::Relaxed) < tasks {
                        tokio::task::yield_now().await;
                    }
                    handles.iter().for_each(|h| h.abort());
                    for h in handles {
                        assert!(h.await.is_err());
                    }
                }
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|ex| async move {
                let start = Instant::now();
                for _ in 0..rounds {
                    let asleep = Arc::new(AtomicU64::new(0));
                    let handles: Vec<_> = (0..tasks)
                        .map(|_| {
                            let asleep = asleep.clone();
                            ex.spawn(async move {
                                asleep.fetch_add(1, Ordering::Relaxed);
                                async_io::Timer::after(LONG).await
                            })
                        })
                        .collect();
                    while asleep.load(Ordering::Relaxed) < tasks {
                        futures_lite::future::yield_now().await;
                    }
                    for h in handles {
                        assert!(h.cancel().await.is_none());
                    }
                }
                start.elapsed()
            }),
        }
        .mul_f64(ops as f64 / (rounds * tasks) as f64)
    }
}

/// W16: a million timeouts around futures that never finish, each polled once (its timer armed) and kept, then all
/// dropped (every timer cancelled); one op is one timeout. Each runtime's own timeout: corio's `fut.timeout(d)`,
/// tokio's `time::timeout`, smol's race against a `Timer`. W8's shape with a timeout instead of a bare sleep, all
/// pending at once (churn: timeouts that never fire).
struct TimeoutsArmedCancelled;

impl Workload for TimeoutsArmedCancelled {
    fn id(&self) -> &'static str {
        "W16"
    }

    fn description(&self) -> &'static str {
        "timeouts armed then cancelled, 1M pending at once, per timeout"
    }

    fn ops(&self, quick: bool) -> u64 {
        if quick {
            100_000
        } else {
            1_000_000
        }
    }

    fn run(&self, runtime: Runtime, ops: u64) -> Duration {
        use std::future::pending;
        match runtime {
            Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio_on(runtime, async move {
                let start = Instant::now();
                let mut armed = Vec::with_capacity(ops as usize);
                for _ in 0..ops {
                    let mut timeout = Box::pin(corio::FutureExt::timeout(pending::<()>(), LONG));
                    assert!(poll_once(&mut timeout).await.is_none());
                    armed.push(timeout);
                }
                drop(armed);
                start.elapsed()
            }),
            Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(runtime, async move {
                let start = Instant::now();
                let mut armed = Vec::with_capacity(ops as usize);
                for _ in 0..ops {
                    let mut timeout = Box::pin(tokio::time::timeout(LONG, pending::<()>()));
                    assert!(poll_once(&mut timeout).await.is_none());
                    armed.push(timeout);
                }
                drop(armed);
                start.elapsed()
            }),
            Runtime::Smol => rt::smol(|_| async move {
                let start = Instant::now();
                let mut armed = Vec::with_capacity(ops as usize);
                for _ in 0..ops {
                    let mut timeout = Box::pin(futures_lite::future::or(async { pending::<()>().await }, async {
                        async_io::Timer::after(LONG).await;
                    }));
                    assert!(poll_once(&mut timeout).await.is_none());
                    armed.push(timeout);
                }
                drop(armed);
                start.elapsed()
            }),
        }
    }
}

/// W17 (corio only): the timer storm's timers on the timer queue alone, on a simulated clock: 100k timers at the
/// storm's delays (`crate::storm::delays`), inserted 200 ns of simulated time apart (as a loop's first polls would
/// be) from 40 ms after the queue was made (so the storm does not start on a boundary of the wheel's slots), then
/// fired in passes 250 µs apart until none is left; one op is one timer inserted and fired. No task, no waker: what
/// the queue's structure costs, repeatable under callgrind (the wheel's tick was chosen with it, docs/design.md).
struct StormQueueAlone;

impl Workload for StormQueueAlone {
    fn id(&self) -> &'static str {
        "W17"
    }

    fn description(&self) -> &'static str {
        "the storm's 100k timers on the queue alone (corio only; simulated clock), insert + fire, per timer"
    }

    fn ops(&self, _quick: bool) -> u64 {
        crate::storm::TASKS as u64
    }

    fn runtimes(&self) -> &'static [Runtime] {
        Runtime::CORIO_ONLY
    }

    fn run(&self, _runtime: Runtime, ops: u64) -> Duration {
        let delays = crate::storm::delays();
        let mut queue = corio::runtime::timers::TimerQueue::new();
        let start = Instant::now();
        let mut now = start + Duration::from_millis(40);
        for (i, &delay) in delays.iter().cycle().take(ops as usize).enumerate() {
            queue.insert(now + delay, i);
            now += Duration::from_nanos(200);
        }
        let mut fired = 0usize;
        while fired < ops as usize {
            now += Duration::from_micros(250);
            queue.fire_due(now, |i| {
                std::hint::black_box(i);
                fired += 1;
            });
        }
        start.elapsed()
    }
}
