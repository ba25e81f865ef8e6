//! The measuring harness: workloads, runtimes, interleaved repetitions, one table.
//!
//! A [`Workload`] runs a fixed number of operations on one [`Runtime`] and returns the time its body took (runtime
//! construction excluded). [`measure`] runs every selected workload on every runtime, repetition after repetition,
//! alternating runtimes within each repetition so that drift on a shared machine hits all of them alike, and
//! [`table`] reports the median ns/op, the min–max, and corio's ratio to the best peer (below 1.0: corio is
//! faster). Timing lives here and only here: no test asserts a duration.

use crate::stack_depth;
use std::fmt::Write as _;
use std::time::Duration;

/// The runtimes compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// corio's default loop (epoll reactor, system clock, FIFO).
    Corio,
    /// corio on the io_uring reactor (I/O workloads only: elsewhere it is the same loop).
    CorioUring,
    /// corio on two cores: a `MultiLoop` of two loops, each serving its own half of the work (thread-per-core). Only
    /// on rows whose work splits into independent halves and whose best peer can be tokio-mt's two workers (W11b),
    /// so that two threads are compared with two threads.
    CorioTwoLoops,
    /// tokio's current_thread runtime.
    TokioCt,
    /// tokio's multi_thread runtime with 2 workers (where the workload's tasks are `Send`).
    TokioMt,
    /// smol's stack: `async_executor::LocalExecutor` driven by `async_io::block_on`.
    Smol,
}

impl Runtime {
    pub const ALL: [Runtime; 6] = [
        Runtime::Corio,
        Runtime::CorioUring,
        Runtime::CorioTwoLoops,
        Runtime::TokioCt,
        Runtime::TokioMt,
        Runtime::Smol,
    ];

    /// What most workloads run on: every runtime but corio-uring, which differs from corio only in its I/O.
    pub const LOOP: &'static [Runtime] = &[Runtime::Corio, Runtime::TokioCt, Runtime::TokioMt, Runtime::Smol];

    /// I/O workloads: every backend of corio beside every peer.
    pub const IO: &'static [Runtime] =
        &[Runtime::Corio, Runtime::CorioUring, Runtime::TokioCt, Runtime::TokioMt, Runtime::Smol];

    /// I/O workloads that split into independent halves: [`IO`](Runtime::IO) and corio on two loops.
    pub const IO_AND_TWO_LOOPS: &'static [Runtime] = &Runtime::ALL;

    /// Workloads with no counterpart in the peers (W13 call_soon, W14 contextvars).
    pub const CORIO_ONLY: &'static [Runtime] = &[Runtime::Corio];

    /// corio's own rows, as opposed to the peers'.
    pub fn is_corio(self) -> bool {
        matches!(self, Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops)
    }

    pub fn from_name(name: &str) -> Option<Runtime> {
        Runtime::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Corio => "corio",
            Runtime::CorioUring => "corio-uring",
            Runtime::CorioTwoLoops => "corio-2L",
            Runtime::TokioCt => "tokio-ct",
            Runtime::TokioMt => "tokio-mt",
            Runtime::Smol => "smol",
        }
    }
}

/// One benchmark: the same operation on each runtime, written with that runtime's own primitives.
pub trait Workload {
    /// The id in `docs/benchmarks.md` and `performance.md` (e.g. `W7`).
    fn id(&self) -> &'static str;
    /// What one operation is.
    fn description(&self) -> &'static str;
    /// Operations per run (fewer with `--quick`).
    fn ops(&self, quick: bool) -> u64;
    /// The runtimes it has a version for (default: [`Runtime::LOOP`]).
    fn runtimes(&self) -> &'static [Runtime] {
        Runtime::LOOP
    }
    /// Runs `ops` operations on `runtime` (one of [`runtimes`](Workload::runtimes)); returns the time the
    /// operations took.
    fn run(&self, runtime: Runtime, ops: u64) -> Duration;
    /// Whether the table shows the row's context switches per operation (the cross-loop rows, X1–X6).
    fn reports_switches(&self) -> bool {
        false
    }
}

/// The samples of one workload on one runtime, in ns/op.
#[derive(Debug, Clone, Default)]
pub struct Samples(Vec<f64>);

impl Samples {
    pub fn push(&mut self, sample: f64) {
        self.0.push(sample);
    }

    pub fn median(&self) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    pub fn min(&self) -> f64 {
        self.0.iter().copied().fold(f64::INFINITY, f64::min)
    }

    pub fn max(&self) -> f64 {
        self.0.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }
}

/// One workload's results: samples per runtime, in the order measured.
pub struct Row {
    pub id: &'static str,
    pub description: &'static str,
    pub samples: Vec<(Runtime, Samples)>,
    /// Context switches per operation (voluntary + involuntary, the whole process), per runtime, when the workload
    /// [reports them](Workload::reports_switches).
    pub switches: Option<Vec<(Runtime, Samples)>>,
}

impl Row {
    /// `runtime`'s median (a corio backend) over the best peer's median; `None` without both.
    pub fn ratio(&self, runtime: Runtime) -> Option<f64> {
        let corio = self.median(runtime)?;
        let best_peer =
            self.samples.iter().filter(|(r, _)| !r.is_corio()).map(|(_, s)| s.median()).min_by(f64::total_cmp)?;
        Some(corio / best_peer)
    }

    /// The best peer's name.
    pub fn best_peer(&self) -> Option<&'static str> {
        self.samples
            .iter()
            .filter(|(r, _)| !r.is_corio())
            .min_by(|a, b| a.1.median().total_cmp(&b.1.median()))
            .map(|(r, _)| r.name())
    }

    pub fn median(&self, runtime: Runtime) -> Option<f64> {
        self.samples.iter().find(|(r, _)| *r == runtime).map(|(_, s)| s.median())
    }
}

/// Runs each workload `repetitions` times on every runtime, interleaved; one warm-up run each first. Repetition `k`
/// runs at stack depth [`stack_depth::slot`]`(stack_base, k)` on every runtime (see [`stack_depth`]: one process's
/// stack address is one draw, so a table of one depth could show a runtime at its rare slow layout).
pub fn measure(
    workloads: &[Box<dyn Workload>],
    runtimes: &[Runtime],
    repetitions: usize,
    quick: bool,
    stack_base: usize,
) -> Vec<Row> {
    workloads
        .iter()
        .map(|w| {
            let ops = w.ops(quick);
            let mut samples: Vec<(Runtime, Samples)> =
                warmed_up(&**w, runtimes, ops).into_iter().map(|r| (r, Samples::default())).collect();
            let mut switches: Vec<(Runtime, Samples)> = samples.iter().map(|(r, _)| (*r, Samples::default())).collect();
            for k in 0..repetitions {
                let slot = stack_depth::slot(stack_base, k);
                for ((runtime, s), (_, c)) in samples.iter_mut().zip(&mut switches) {
                    let before = context_switches();
                    s.0.push(run_at_depth(&**w, *runtime, ops, slot));
                    c.0.push((context_switches() - before) as f64 / ops as f64);
                }
            }
            let switches = w.reports_switches().then_some(switches);
            Row { id: w.id(), description: w.description(), samples, switches }
        })
        .collect()
}

/// The runtimes among `runtimes` that `w` has a version for, each after one short warm-up run (code, allocator,
/// page faults).
fn warmed_up(w: &dyn Workload, runtimes: &[Runtime], ops: u64) -> Vec<Runtime> {
    let chosen: Vec<Runtime> = runtimes.iter().copied().filter(|r| w.runtimes().contains(r)).collect();
    for &runtime in &chosen {
        w.run(runtime, ops / 10 + 1);
    }
    chosen
}

/// The process's context switches so far, voluntary and involuntary (`getrusage`, every thread).
fn context_switches() -> i64 {
    // SAFETY: `getrusage` writes the struct we pass; RUSAGE_SELF cannot fail.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    usage.ru_nvcsw + usage.ru_nivcsw
}

/// One measured run of `ops` operations at stack depth `slot`, in ns/op.
fn run_at_depth(w: &dyn Workload, runtime: Runtime, ops: u64, slot: usize) -> f64 {
    let elapsed = stack_depth::run_at(slot, || w.run(runtime, ops));
    elapsed.as_nanos() as f64 / ops as f64
}

/// `--stack-scan`: each workload on each runtime once at every stack depth ([`stack_depth::SLOTS`] of them,
/// interleaved), reported as the median, the mean (the expected cost over layouts) and the depths more than 10 %
/// slower than the median.
pub fn stack_scan(workloads: &[Box<dyn Workload>], runtimes: &[Runtime], quick: bool) -> String {
    let mut out = String::new();
    for w in workloads {
        let ops = w.ops(quick);
        let mut samples: Vec<(Runtime, Vec<f64>)> =
            warmed_up(&**w, runtimes, ops).into_iter().map(|r| (r, Vec::new())).collect();
        for slot in 0..stack_depth::SLOTS {
            for (runtime, s) in &mut samples {
                s.push(run_at_depth(&**w, *runtime, ops, slot));
            }
        }
        for (runtime, s) in samples {
            let median = Samples(s.clone()).median();
            let mean = s.iter().sum::<f64>() / s.len() as f64;
            let slow: Vec<String> = (0..s.len())
                .filter(|&slot| s[slot] > 1.1 * median)
                .map(|slot| format!("{}: {}", 16 * slot, figure(s[slot])))
                .collect();
            let _ = writeln!(
                out,
                "{} {}: median {} ns/op, mean {:.3}, over {} depths; {} slower by > 10 % (bytes deeper: ns/op) [{}]",
                w.id(),
                runtime.name(),
                figure(median),
                mean,
                s.len(),
                slow.len(),
                slow.join(", ")
            );
        }
    }
    out
}

/// The table: median ns/op (min–max) per runtime ("–" where a workload has no version), and each corio backend's
/// ratio to the best peer.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let columns: Vec<Runtime> =
        Runtime::ALL.into_iter().filter(|rt| rows.iter().any(|row| row.median(*rt).is_some())).collect();
    if columns.is_empty() {
        return out;
    }
    let ratios: Vec<Runtime> = columns.iter().copied().filter(|r| r.is_corio()).collect();
    let _ = write!(out, "| id | workload |");
    for runtime in &columns {
        let _ = write!(out, " {} ns/op (min–max) |", runtime.name());
    }
    for runtime in &ratios {
        let _ = write!(out, " {} / best peer |", runtime.name());
    }
    let _ = writeln!(out, " best peer |");
    let _ = writeln!(out, "|---|---|{}---|", "---|".repeat(columns.len() + ratios.len()));
    for row in rows {
        let _ = write!(out, "| {} | {} |", row.id, row.description);
        for runtime in &columns {
            match row.samples.iter().find(|(r, _)| r == runtime) {
                Some((_, s)) => {
                    let _ = write!(out, " {} ({}–{}) |", figure(s.median()), figure(s.min()), figure(s.max()));
                }
                None => out.push_str(" – |"),
            }
        }
        for runtime in &ratios {
            match row.ratio(*runtime) {
                Some(ratio) => {
                    let _ = write!(out, " {ratio:.2} |");
                }
                None => out.push_str(" – |"),
            }
        }
        let _ = writeln!(out, " {} |", row.best_peer().unwrap_or("–"));
    }
    let switching: Vec<&Row> = rows.iter().filter(|row| row.switches.is_some()).collect();
    if !switching.is_empty() {
        let _ = writeln!(
            out,
            "\nContext switches per operation (voluntary + involuntary, the whole process), median (min–max):\n"
        );
        let _ = write!(out, "| id |");
        for runtime in &columns {
            let _ = write!(out, " {} |", runtime.name());
        }
        let _ = writeln!(out, "\n|---|{}", "---|".repeat(columns.len()));
        for row in switching {
            let _ = write!(out, "| {} |", row.id);
            for runtime in &columns {
                match row.switches.iter().flatten().find(|(r, _)| r == runtime) {
                    Some((_, s)) => {
                        let _ = write!(out, " {:.3} ({:.3}–{:.3}) |", s.median(), s.min(), s.max());
                    }
                    None => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
    }
    out
}

/// ns/op with as many digits as mean something: 3.2, 41, 26800.
fn figure(ns: f64) -> String {
    if ns < 10.0 {
        format!("{ns:.1}")
    } else {
        format!("{ns:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(ns: f64) -> Samples {
        Samples(vec![ns])
    }

    /// Every corio column is measured against the peers only: a corio configuration faster than every peer is
    /// never the "best peer" (that would make corio's ratios look worse, and the faster corio column's exactly 1.0).
    #[test]
    fn corio_columns_are_never_the_best_peer() {
        let row = Row {
            id: "W11b",
            description: "",
            switches: None,
            samples: vec![
                (Runtime::Corio, samples(200.0)),
                (Runtime::CorioUring, samples(150.0)),
                (Runtime::CorioTwoLoops, samples(90.0)),
                (Runtime::TokioCt, samples(210.0)),
                (Runtime::TokioMt, samples(100.0)),
                (Runtime::Smol, samples(220.0)),
            ],
        };
        assert_eq!(row.best_peer(), Some("tokio-mt"));
        assert_eq!(row.ratio(Runtime::Corio), Some(2.0));
        assert_eq!(row.ratio(Runtime::CorioUring), Some(1.5));
        assert_eq!(row.ratio(Runtime::CorioTwoLoops), Some(0.9));
        assert!(table(&[row]).contains("| 2.00 | 1.50 | 0.90 | tokio-mt |"));
    }

    #[test]
    fn every_runtime_is_found_by_its_name() {
        for runtime in Runtime::ALL {
            assert_eq!(Runtime::from_name(runtime.name()), Some(runtime));
        }
        assert_eq!(Runtime::from_name("corio-2L"), Some(Runtime::CorioTwoLoops));
    }
}
