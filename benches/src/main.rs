//! corio-bench: performance.md's workloads on corio, tokio (current_thread) and smol, side by side.
//!
//! ```text
//! cargo run --release -p corio-bench -- [--quick] [--reps N] [--runtime NAME]... [WORKLOAD...]
//! ```
//!
//! `--runtime` (corio, corio-uring, tokio-ct, tokio-mt, smol; repeatable) limits the runtimes, e.g. to profile one.
//!
//! `WORKLOAD` filters by id (`W7`, `W15`; a prefix selects a family: `W15` runs W15a and W15b). The table it prints
//! is the one `docs/benchmarks.md` keeps, with the date, the machine and this command.

mod harness;
mod workloads;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut quick = false;
    let mut repetitions = None;
    let mut filters = Vec::new();
    let mut runtimes = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--reps" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => repetitions = Some(n),
                _ => return usage("--reps needs a positive number"),
            },
            "--runtime" => match args.next().as_deref().and_then(harness::Runtime::from_name) {
                Some(runtime) => runtimes.push(runtime),
                None => return usage("--runtime needs one of corio, corio-uring, tokio-ct, tokio-mt, smol"),
            },
            "-h" | "--help" => return usage(""),
            flag if flag.starts_with('-') => return usage(&format!("unknown option {flag}")),
            id => filters.push(id.to_string()),
        }
    }
    let selected: Vec<_> = workloads::all()
        .into_iter()
        .filter(|w| filters.is_empty() || filters.iter().any(|f| w.id().starts_with(f.as_str())))
        .collect();
    if selected.is_empty() {
        let known: Vec<_> = workloads::all().iter().map(|w| w.id()).collect();
        return usage(&format!("no workload matches {filters:?} (known: {})", known.join(", ")));
    }
    let repetitions = repetitions.unwrap_or(if quick { 3 } else { 11 });
    if runtimes.is_empty() {
        runtimes = harness::Runtime::ALL.to_vec();
    }
    let rows = harness::measure(&selected, &runtimes, repetitions, quick);
    print!("{}", harness::table(&rows));
    println!("\n{repetitions} repetitions per runtime, interleaved; ratio < 1.0 means corio is faster.");
    ExitCode::SUCCESS
}

fn usage(error: &str) -> ExitCode {
    if !error.is_empty() {
        eprintln!("corio-bench: {error}");
    }
    eprintln!("usage: cargo run --release -p corio-bench -- [--quick] [--reps N] [--runtime NAME]... [WORKLOAD...]");
    if error.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
