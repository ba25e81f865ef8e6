//! corio-bench: performance.md's workloads on corio, tokio (current_thread) and smol, side by side.
//!
//! ```text
//! cargo run --release -p corio-bench -- [--quick | --scale | --memory | --storm | --stack-scan] [--reps N]
//!                                        [--stack-base B]
//!                                        [--runtime NAME]... [WORKLOAD...]
//! ```
//!
//! `--scale` runs W2, W8 and W12 at 1k, 10k, 100k and 1M tasks/timers (cost per operation should stay flat);
//! `--memory` prints bytes per idle task and per pending timer, and the peak RSS of 1M sleeping tasks (W12);
//! `--storm` runs the timer storm (100k tasks sleeping 0–50 ms: overhead beyond 50 ms and CPU time; see `storm`).
//!
//! Repetition `k` runs `16 * ((B + 97k) mod 256)` bytes deeper in the stack, `B` drawn per run unless
//! `--stack-base B` fixes it: one process's stack address is one draw of its layout (see `stack_depth`).
//! `--stack-scan` runs each selected workload once at every one of the 256 depths and lists the slow ones.
//!
//! `--runtime` (corio, corio-uring, corio-2L, tokio-ct, tokio-mt, smol; repeatable) limits the runtimes, e.g. to profile one.
//!
//! `WORKLOAD` filters by id (`W7`, `W15`; a family too: `W15` runs W15a and W15b, `W1` only W1). The table it prints
//! is the one `docs/benchmarks.md` keeps, with the date, the machine and this command.

mod harness;
mod memory;
mod stack_depth;
mod storm;
mod workloads;

use harness::Runtime;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: memory::Counting = memory::Counting;

fn main() -> ExitCode {
    let mut quick = false;
    let mut repetitions = None;
    let mut filters = Vec::new();
    let mut runtimes = Vec::new();
    let mut mode = Mode::Table;
    let mut stack_base = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--memory" => {
                print!("{}", memory::table());
                return ExitCode::SUCCESS;
            }
            "--scale" => mode = Mode::Scale,
            "--storm" => mode = Mode::Storm,
            "--stack-scan" => mode = Mode::StackScan,
            "--stack-base" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n < stack_depth::SLOTS => stack_base = Some(n),
                _ => return usage("--stack-base needs a number below 256"),
            },
            "--rss-child" => match args.next().as_deref().and_then(Runtime::from_name) {
                Some(runtime) => {
                    memory::rss_child(runtime);
                    return ExitCode::SUCCESS;
                }
                None => return usage("--rss-child needs a runtime"),
            },
            "--reps" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => repetitions = Some(n),
                _ => return usage("--reps needs a positive number"),
            },
            "--runtime" => match args.next().as_deref().and_then(Runtime::from_name) {
                Some(runtime) => runtimes.push(runtime),
                None => return usage("--runtime needs one of corio, corio-uring, corio-2L, tokio-ct, tokio-mt, smol"),
            },
            "-h" | "--help" => return usage(""),
            flag if flag.starts_with('-') => return usage(&format!("unknown option {flag}")),
            id => filters.push(id.to_string()),
        }
    }
    if runtimes.is_empty() {
        runtimes = Runtime::ALL.to_vec();
    }
    if let Mode::Storm = mode {
        let repetitions = repetitions.unwrap_or(5);
        print!("{}", storm::table(&runtimes, repetitions));
        println!("\n{repetitions} storms per runtime, interleaved, after one warm-up each; ratio < 1.0 means faster.");
        return ExitCode::SUCCESS;
    }
    let candidates = match mode {
        Mode::Table | Mode::StackScan => workloads::all(),
        Mode::Storm => unreachable!("handled above"),
        Mode::Scale => workloads::scaling(),
    };
    let selected: Vec<_> =
        candidates.into_iter().filter(|w| filters.is_empty() || filters.iter().any(|f| selects(f, w.id()))).collect();
    if selected.is_empty() {
        let known: Vec<_> = workloads::all().iter().map(|w| w.id()).collect();
        return usage(&format!("no workload matches {filters:?} (known: {})", known.join(", ")));
    }
    if let Mode::StackScan = mode {
        print!("{}", harness::stack_scan(&selected, &runtimes, quick));
        return ExitCode::SUCCESS;
    }
    let repetitions = repetitions.unwrap_or(match (mode, quick) {
        (Mode::Table, false) => 11,
        _ => 3,
    });
    let stack_base = stack_base.unwrap_or_else(stack_depth::random_base);
    let rows = harness::measure(&selected, &runtimes, repetitions, quick, stack_base);
    print!("{}", harness::table(&rows));
    println!("\n{repetitions} repetitions per runtime, interleaved; ratio < 1.0 means corio is faster.");
    println!("Repetition k ran 16 x ((B + 97k) mod 256) bytes deeper in the stack, B = {stack_base} (--stack-base).");
    ExitCode::SUCCESS
}

/// `W1` selects W1 only, `W15` the family W15a and W15b, `W2@` every size of W2 in `--scale`.
fn selects(filter: &str, id: &str) -> bool {
    id.strip_prefix(filter).is_some_and(|rest| rest.is_empty() || !rest.starts_with(|c: char| c.is_ascii_digit()))
}

#[derive(Clone, Copy)]
enum Mode {
    /// Every workload at its table size.
    Table,
    /// W2, W8 and W12 at 1k, 10k, 100k and 1M tasks/timers.
    Scale,
    /// The timer storm (`--storm`): its own table of overhead and CPU time.
    Storm,
    /// Each workload at every stack depth (`--stack-scan`): which layouts are slow, per runtime.
    StackScan,
}

fn usage(error: &str) -> ExitCode {
    if !error.is_empty() {
        eprintln!("corio-bench: {error}");
    }
    eprintln!(
        "usage: cargo run --release -p corio-bench -- [--quick | --scale | --memory | --storm | --stack-scan] [--reps N] \
         [--stack-base B] [--runtime NAME]... [WORKLOAD...]"
    );
    if error.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
