//! Deterministic simulation: the mock reactor, the virtual clock and the
//! seeded-random executor. A seed fixes the interleaving, different seeds
//! explore different ones, every one of them is a valid interleaving, and a
//! failing run tells how to replay it.

use corio_backends::mock::{SimLoop, Simulation};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

const TASKS: usize = 4;
const STEPS: usize = 6;

/// One trace entry: which task, which of its steps, at what virtual time.
type Entry = (usize, usize, Duration);

/// Several tasks interleaving on `yield_now` and (virtual) `sleep`, each
/// recording its steps.
fn program(lp: &SimLoop) -> Vec<Entry> {
    let trace: Rc<RefCell<Vec<Entry>>> = Rc::new(RefCell::new(Vec::new()));
    let clock = lp.clock().clone();
    let out = lp.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let trace = trace.clone();
                let clock = clock.clone();
                corio::spawn(async move {
                    for step in 0..STEPS {
                        trace.borrow_mut().push((task, step, clock.elapsed()));
                        if (task + step) % 3 == 0 {
                            // Equal deadlines for several tasks: the ties
                            // are part of the batch the seed orders.
                            corio::sleep(Duration::from_millis(10)).await?;
                        } else {
                            corio::yield_now().await?;
                        }
                    }
                    Ok::<_, corio::Cancelled>(())
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("not cancelled");
        }
    });
    out.expect("the program runs to completion");
    let trace = trace.borrow().clone();
    trace
}

fn trace(seed: u64) -> Vec<Entry> {
    Simulation::new(seed).run(program)
}

/// A valid interleaving: every step of every task exactly once, each task's
/// steps in program order, and virtual time never going backwards.
fn assert_valid(trace: &[Entry]) {
    assert_eq!(trace.len(), TASKS * STEPS, "{trace:?}");
    for task in 0..TASKS {
        let steps: Vec<usize> = trace.iter().filter(|e| e.0 == task).map(|e| e.1).collect();
        assert_eq!(steps, (0..STEPS).collect::<Vec<_>>(), "task {task} out of program order in {trace:?}");
    }
    assert!(trace.windows(2).all(|w| w[0].2 <= w[1].2), "time went backwards: {trace:?}");
}

fn seed_overridden() -> bool {
    std::env::var_os("CORIO_SEED").is_some()
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    for seed in [0, 1, 7, 12345, u64::MAX] {
        let first = trace(seed);
        assert_valid(&first);
        assert_eq!(first, trace(seed), "seed {seed} did not replay");
    }
}

#[test]
fn different_seeds_explore_different_valid_interleavings() {
    if seed_overridden() {
        return; // CORIO_SEED pins every simulation to one seed
    }
    let mut distinct = BTreeSet::new();
    for seed in 0..64 {
        let trace = trace(seed);
        assert_valid(&trace);
        distinct.insert(trace.iter().map(|e| (e.0, e.1)).collect::<Vec<_>>());
    }
    assert!(distinct.len() >= 2, "64 seeds gave one interleaving: the executor does not vary the order");
}

#[test]
fn virtual_time_is_exact_under_every_seed() {
    // Whatever the order, each task's sleeps add up exactly.
    for seed in 0..16 {
        let trace = Simulation::new(seed).run(program);
        for task in 0..TASKS {
            let sleeps_before_last = (0..STEPS - 1).filter(|step| (task + step) % 3 == 0).count() as u32;
            let last = trace.iter().rfind(|e| e.0 == task).unwrap();
            assert_eq!(last.2, Duration::from_millis(10) * sleeps_before_last, "seed {seed}, task {task}");
        }
    }
}

#[test]
fn simulation_reports_its_seed() {
    if seed_overridden() {
        return;
    }
    assert_eq!(Simulation::new(99).seed(), 99);
    let lp = Simulation::new(5).build();
    // A built loop is deterministic too.
    assert_eq!(program(&lp), trace(5));
}

// ----- failure reporting ------------------------------------------------------

/// The environment variable that makes `child_failing_simulation` fail.
const CHILD: &str = "CORIO_SIMULATION_TEST_CHILD";

/// Not a test on its own: run by `a_failing_run_prints_its_seed` in a child
/// process, where it fails on purpose. Without the variable it passes.
#[test]
fn child_failing_simulation() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    Simulation::new(42).run(|lp| {
        let trace = program(lp);
        panic!("deliberate failure; trace={trace:?}");
    });
}

/// Runs `child_failing_simulation` in a child process; returns its exit
/// status and everything it printed.
fn run_child(corio_seed: Option<u64>) -> (bool, String) {
    let exe = std::env::current_exe().expect("the test binary");
    let mut command = Command::new(exe);
    command.args(["child_failing_simulation", "--exact", "--nocapture", "--test-threads=1"]);
    command.env(CHILD, "1").env_remove("CORIO_SEED");
    if let Some(seed) = corio_seed {
        command.env("CORIO_SEED", seed.to_string());
    }
    let output = command.output().expect("run the child");
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    (output.status.success(), text)
}

#[test]
fn a_failing_run_prints_its_seed() {
    let (ok, output) = run_child(None);
    assert!(!ok, "the child must fail:\n{output}");
    assert!(
        output.contains("corio simulation failed with seed 42; replay it with CORIO_SEED=42"),
        "no replay hint in:\n{output}"
    );
    // The original panic is re-raised, not swallowed.
    assert!(output.contains("deliberate failure"), "{output}");
}

#[test]
fn corio_seed_replays_a_failure() {
    if seed_overridden() {
        return;
    }
    let (ok, output) = run_child(Some(13));
    assert!(!ok, "{output}");
    assert!(
        output.contains("corio simulation failed with seed 13; replay it with CORIO_SEED=13"),
        "CORIO_SEED did not override the seed:\n{output}"
    );
    // The child ran exactly the interleaving seed 13 gives here.
    let expected = format!("trace={:?}", trace(13));
    assert!(output.contains(&expected), "the replay differs:\n{output}\nexpected {expected}");
}

/// Readers and writers on mock sockets: readiness is injected by the writer
/// tasks, so the whole run (I/O included) is a function of the seed.
fn io_program(lp: &SimLoop) -> Vec<(char, usize, u8)> {
    use corio::io_source::Async;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    let trace = Rc::new(RefCell::new(Vec::new()));
    let out = lp.block_on(async {
        let mut tasks = Vec::new();
        for id in 0..3usize {
            let (a, b) = UnixStream::pair().unwrap();
            let fd = a.as_raw_fd();
            let a = Async::new(a).unwrap();
            let injector = lp.reactor().injector();
            let (t1, t2) = (trace.clone(), trace.clone());
            tasks.push(corio::spawn(async move {
                for round in 0..3u8 {
                    let mut byte = [0u8; 1];
                    a.read_with(|s| (&*s).read(&mut byte)).await.unwrap();
                    t1.borrow_mut().push(('r', id, byte[0]));
                    assert_eq!(byte[0], round);
                }
            }));
            tasks.push(corio::spawn(async move {
                for round in 0..3u8 {
                    (&b).write_all(&[round]).unwrap();
                    t2.borrow_mut().push(('w', id, round));
                    injector.inject(fd, true, false);
                    corio::yield_now().await.unwrap();
                }
                drop(injector);
                drop(b); // the bytes written stay readable
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    out.expect("the I/O program completes");
    let trace = trace.borrow().clone();
    trace
}

#[test]
fn io_under_simulation_is_deterministic() {
    for seed in [0, 5, 77] {
        let first = Simulation::new(seed).run(io_program);
        assert_eq!(first.len(), 18, "{first:?}");
        assert_eq!(first, Simulation::new(seed).run(io_program), "seed {seed}");
        // Each byte is read after it was written.
        for (pos, entry) in first.iter().enumerate() {
            if entry.0 == 'r' {
                let written = first.iter().position(|e| *e == ('w', entry.1, entry.2)).unwrap();
                assert!(written < pos, "read before write in {first:?}");
            }
        }
    }
}
