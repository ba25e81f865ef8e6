//! The timer storm (`--storm`, issue 28): 100,000 tasks each sleep a pseudo-random 0–50 ms and finish, as a new
//! user would write it, on every runtime in the same run.
//!
//! One run spawns the tasks from inside the runtime (each sleeps its delay from its first poll), then joins them
//! all. The delays are the same for every runtime: microseconds drawn from one seeded generator ([`SEED`]), uniform
//! in 0–50,000 µs, the last task's exactly 50 ms, so no run can end before 50 ms have passed. Two figures per run:
//!
//! * **overhead**: the wall time of the run minus the 50 ms every run must wait — the spawns, the first polls
//!   that register the timers, the firing, the second polls and the joins, and how late the last timer fires;
//! * **CPU**: the process's CPU time over the same span (`CLOCK_PROCESS_CPUTIME_ID`, every thread: tokio-mt's
//!   second worker counts).
//!
//! Runtime construction is outside both. Repetitions are interleaved after one warm-up run each, as in the main
//! table; the table gives the median and min–max of each figure and each runtime's ratio to tokio-ct's median.

use crate::harness::{Runtime, Samples};
use crate::workloads::rt;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Tasks in one storm.
pub const TASKS: usize = 100_000;

/// The longest delay; every run lasts at least this long.
pub const SPAN: Duration = Duration::from_millis(50);

/// The generator's seed: every runtime sleeps the same delays.
pub const SEED: u64 = 0x5eed_0028;

/// The runtimes of the storm table (corio-uring's timers are corio's; corio-2L has no single-loop counterpart).
pub const RUNTIMES: [Runtime; 4] = [Runtime::Corio, Runtime::TokioCt, Runtime::TokioMt, Runtime::Smol];

/// The delays of one storm, in spawn order (xorshift64*, microseconds in 0..=50,000; the last one 50 ms).
pub fn delays() -> Vec<Duration> {
    let span = SPAN.as_micros() as u64;
    let mut state = SEED;
    let mut delays: Vec<Duration> = (0..TASKS)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            Duration::from_micros(state.wrapping_mul(0x2545_f491_4f6c_dd1d) % (span + 1))
        })
        .collect();
    if let Some(last) = delays.last_mut() {
        *last = SPAN;
    }
    delays
}

/// The process's CPU time so far, every thread included.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// One storm's figures.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    /// Wall time beyond [`SPAN`].
    pub overhead: Duration,
    /// CPU time of the whole run.
    pub cpu: Duration,
}

/// Measures the span of `body` (already inside the runtime).
async fn timed(body: impl std::future::Future<Output = ()>) -> Figures {
    let (wall, cpu) = (Instant::now(), cpu_time());
    body.await;
    let (wall, cpu) = (wall.elapsed(), cpu_time() - cpu);
    Figures { overhead: wall.saturating_sub(SPAN), cpu }
}

/// One storm on `runtime`.
pub fn run(runtime: Runtime, delays: &[Duration]) -> Figures {
    let delays = delays.to_vec();
    match runtime {
        Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio(timed(async move {
            let handles: Vec<_> =
                delays.into_iter().map(|d| corio::spawn(async move { corio::sleep(d).await.unwrap() })).collect();
            for h in handles {
                h.await.unwrap();
            }
        })),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio_on(
            runtime,
            timed(async move {
                let handles: Vec<_> = delays.into_iter().map(|d| tokio::spawn(tokio::time::sleep(d))).collect();
                for h in handles {
                    h.await.unwrap();
                }
            }),
        ),
        Runtime::Smol => rt::smol(|ex| {
            timed(async move {
                let handles: Vec<_> = delays
                    .into_iter()
                    .map(|d| {
                        ex.spawn(async move {
                            async_io::Timer::after(d).await;
                        })
                    })
                    .collect();
                for h in handles {
                    h.await;
                }
            })
        }),
    }
}

/// `repetitions` interleaved storms per runtime after one warm-up each; the table.
pub fn table(runtimes: &[Runtime], repetitions: usize) -> String {
    let delays = delays();
    let chosen: Vec<Runtime> = RUNTIMES.into_iter().filter(|r| runtimes.contains(r)).collect();
    for &runtime in &chosen {
        run(runtime, &delays);
    }
    let mut samples: Vec<(Runtime, Samples, Samples)> =
        chosen.iter().map(|&r| (r, Samples::default(), Samples::default())).collect();
    for _ in 0..repetitions {
        for (runtime, overhead, cpu) in &mut samples {
            let figures = run(*runtime, &delays);
            overhead.push(figures.overhead.as_secs_f64() * 1e3);
            cpu.push(figures.cpu.as_secs_f64() * 1e3);
        }
    }
    let tokio = samples.iter().find(|(r, _, _)| *r == Runtime::TokioCt).map(|(_, o, c)| (o.median(), c.median()));
    let mut out = String::from(
        "| runtime | overhead beyond 50 ms, ms (min–max) | CPU ms (min–max) | overhead / tokio-ct | CPU / tokio-ct |\n\
         |---|---|---|---|---|\n",
    );
    for (runtime, overhead, cpu) in &samples {
        let ratio = |mine: f64, theirs: Option<f64>| theirs.map_or_else(|| "–".into(), |t| format!("{:.2}", mine / t));
        let _ = writeln!(
            out,
            "| {} | {:.1} ({:.1}–{:.1}) | {:.1} ({:.1}–{:.1}) | {} | {} |",
            runtime.name(),
            overhead.median(),
            overhead.min(),
            overhead.max(),
            cpu.median(),
            cpu.min(),
            cpu.max(),
            ratio(overhead.median(), tokio.map(|t| t.0)),
            ratio(cpu.median(), tokio.map(|t| t.1)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_seeded_spread_and_end_at_the_span() {
        let d = delays();
        assert_eq!(d, delays(), "one seed, the same delays every time");
        assert_eq!(d.len(), TASKS);
        assert_eq!(*d.last().unwrap(), SPAN);
        assert!(d.iter().all(|&d| d <= SPAN));
        let early = d.iter().filter(|&&d| d < SPAN / 2).count();
        assert!((TASKS * 45 / 100..TASKS * 55 / 100).contains(&early), "{early} of {TASKS} below 25 ms");
    }
}
