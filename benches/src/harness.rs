//! The measuring harness: workloads, runtimes, interleaved repetitions, one table.
//!
//! A [`Workload`] runs a fixed number of operations on one [`Runtime`] and returns the time its body took (runtime
//! construction excluded). [`measure`] runs every selected workload on every runtime, repetition after repetition,
//! alternating runtimes within each repetition so that drift on a shared machine hits all of them alike, and
//! [`table`] reports the median ns/op, the min–max, and corio's ratio to the best peer (below 1.0: corio is
//! faster). Timing lives here and only here: no test asserts a duration.

use std::fmt::Write as _;
use std::time::Duration;

/// The runtimes compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// corio's default loop (epoll reactor, system clock, FIFO).
    Corio,
    /// tokio's current_thread runtime.
    TokioCt,
    /// smol's stack: `async_executor::LocalExecutor` driven by `async_io::block_on`.
    Smol,
}

impl Runtime {
    pub const ALL: [Runtime; 3] = [Runtime::Corio, Runtime::TokioCt, Runtime::Smol];

    pub fn from_name(name: &str) -> Option<Runtime> {
        Runtime::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Corio => "corio",
            Runtime::TokioCt => "tokio-ct",
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
    /// Runs `ops` operations on `runtime`; returns the time the operations took.
    fn run(&self, runtime: Runtime, ops: u64) -> Duration;
}

/// The samples of one workload on one runtime, in ns/op.
#[derive(Debug, Clone, Default)]
pub struct Samples(Vec<f64>);

impl Samples {
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
}

impl Row {
    /// corio's median over the best peer's median.
    pub fn ratio(&self) -> f64 {
        let median = |rt| self.samples.iter().find(|(r, _)| *r == rt).map(|(_, s)| s.median());
        let corio = median(Runtime::Corio).unwrap_or(f64::NAN);
        let best_peer = self
            .samples
            .iter()
            .filter(|(r, _)| *r != Runtime::Corio)
            .map(|(_, s)| s.median())
            .fold(f64::INFINITY, f64::min);
        corio / best_peer
    }
}

/// Runs each workload `repetitions` times on every runtime, interleaved; one warm-up run each first.
pub fn measure(workloads: &[Box<dyn Workload>], runtimes: &[Runtime], repetitions: usize, quick: bool) -> Vec<Row> {
    workloads
        .iter()
        .map(|w| {
            let ops = w.ops(quick);
            let mut samples: Vec<(Runtime, Samples)> = runtimes.iter().map(|&r| (r, Samples::default())).collect();
            for &runtime in runtimes {
                w.run(runtime, ops / 10 + 1); // warm-up: code, allocator, page faults
            }
            for _ in 0..repetitions {
                for (runtime, s) in &mut samples {
                    let elapsed = w.run(*runtime, ops);
                    s.0.push(elapsed.as_nanos() as f64 / ops as f64);
                }
            }
            Row { id: w.id(), description: w.description(), samples }
        })
        .collect()
}

/// The table: median ns/op (min–max) per runtime, and corio's ratio to the best peer.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let Some(first) = rows.first() else { return out };
    let _ = write!(out, "| id | workload |");
    for (runtime, _) in &first.samples {
        let _ = write!(out, " {} ns/op (min–max) |", runtime.name());
    }
    let _ = writeln!(out, " corio / best peer |");
    let _ = writeln!(out, "|---|---|{}---|", "---|".repeat(first.samples.len()));
    for row in rows {
        let _ = write!(out, "| {} | {} |", row.id, row.description);
        for (_, s) in &row.samples {
            let _ = write!(out, " {:.0} ({:.0}–{:.0}) |", s.median(), s.min(), s.max());
        }
        let _ = writeln!(out, " {:.2} |", row.ratio());
    }
    out
}
