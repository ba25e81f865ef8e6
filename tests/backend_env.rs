//! `CORIO_BACKEND` through every entry point: `corio::new_event_loop`,
//! `corio::run`, `corio::multi_loop` (main loop and worker), `corio::builder`
//! — and a program's own choice (`Builder::backend`) winning over it.
//!
//! The variable is process-wide, so each value runs in a child process (this
//! same binary, told which case to run); the parent checks what the child
//! reports. It has no test harness of its own (`harness = false`): one
//! process, one verdict, and arguments such as `--test-threads` are ignored.
//!
//! Values tried: every backend name (compiled in: the loop runs it; not
//! compiled in: a clear error naming what the build has), an unknown name,
//! the empty string (the default order), a name in other case with spaces;
//! and on Linux, with io_uring compiled in, `CORIO_BACKEND=uring` on a
//! process whose io_uring is refused by seccomp: an error naming the cause,
//! not another backend.

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
#[path = "support/seccomp.rs"]
mod seccomp;

use corio::backend::BACKEND_ENV;
use corio::Backend;
use std::collections::BTreeMap;
use std::io;
use std::process::{Command, ExitCode};

/// Set in a child: the case to run.
const CASE: &str = "CORIO_BACKEND_TEST_CASE";

fn main() -> ExitCode {
    if std::env::var_os(CASE).is_some() {
        child();
        return ExitCode::SUCCESS;
    }
    let mut failures = Vec::new();
    for case in cases() {
        let report = run_child(&case);
        match check(&case, &report) {
            Ok(()) => println!("ok     CORIO_BACKEND={:?}{}", case.value, case.note()),
            Err(why) => {
                println!("FAILED CORIO_BACKEND={:?}{}: {why}\n  child reported: {report:#?}", case.value, case.note());
                failures.push(case.value.clone());
            }
        }
    }
    if failures.is_empty() {
        println!("backend_env: every case passed");
        ExitCode::SUCCESS
    } else {
        println!("backend_env: {} case(s) failed: {failures:?}", failures.len());
        ExitCode::FAILURE
    }
}

/// One value of `CORIO_BACKEND`, and what every entry point must report.
#[derive(Debug)]
struct Case {
    value: String,
    /// Refuse io_uring in the child (seccomp) before anything runs.
    refuse_uring: bool,
    expect: Expect,
}

#[derive(Debug)]
enum Expect {
    /// Every entry point runs this backend, chosen by this (`Debug` of
    /// `ChosenBy`).
    Runs(Backend, &'static str),
    /// Every entry point fails with this kind and a message starting so,
    /// and containing the rest.
    Fails(io::ErrorKind, String, Vec<String>),
}

impl Case {
    fn note(&self) -> &'static str {
        if self.refuse_uring {
            " (io_uring refused by seccomp)"
        } else {
            ""
        }
    }
}

fn has() -> String {
    let names: Vec<&str> = Backend::compiled().map(Backend::name).collect();
    match names.split_last() {
        None => "none".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let has = format!("this build has {}", has());
    for backend in Backend::ALL {
        let expect = if backend.is_compiled() {
            Expect::Runs(backend, "Env")
        } else {
            Expect::Fails(
                io::ErrorKind::Unsupported,
                format!("backend {backend} (chosen by CORIO_BACKEND) "),
                vec![has.clone()],
            )
        };
        cases.push(Case { value: backend.name().to_owned(), refuse_uring: false, expect });
    }
    cases.push(Case {
        value: "iocp".to_owned(),
        refuse_uring: false,
        expect: Expect::Fails(
            io::ErrorKind::InvalidInput,
            "\"iocp\" (chosen by CORIO_BACKEND) is not a corio backend".to_owned(),
            vec!["the backends are epoll, uring, kqueue, portable and mock".to_owned(), has.clone()],
        ),
    });
    let default = match Backend::default_choice() {
        Some(backend) => Expect::Runs(backend, "Default"),
        None => Expect::Fails(
            io::ErrorKind::Unsupported,
            "no reactor backend is compiled into corio".to_owned(),
            vec!["enable one of its features".to_owned()],
        ),
    };
    cases.push(Case { value: String::new(), refuse_uring: false, expect: default });
    if let Some(backend) = Backend::compiled().next() {
        let shouted = format!("  {}  ", backend.name().to_uppercase());
        cases.push(Case { value: shouted, refuse_uring: false, expect: Expect::Runs(backend, "Env") });
    }
    if cfg!(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))
        && Backend::Uring.is_compiled()
    {
        cases.push(Case {
            value: "uring".to_owned(),
            refuse_uring: true,
            expect: Expect::Fails(
                io::ErrorKind::PermissionDenied,
                "backend uring (chosen by CORIO_BACKEND) could not start: io_uring_setup failed: ".to_owned(),
                vec!["Operation not permitted".to_owned(), "seccomp".to_owned()],
            ),
        });
    }
    cases
}

/// Runs the child for `case`: its report, one `entry point -> outcome` per
/// line.
fn run_child(case: &Case) -> BTreeMap<String, String> {
    let mut command = Command::new(std::env::current_exe().expect("this test's path"));
    command.env(CASE, "1").env(BACKEND_ENV, &case.value).env_remove("CORIO_DEBUG");
    if case.refuse_uring {
        command.env("CORIO_BACKEND_TEST_REFUSE_URING", "1");
    }
    let output = command.output().expect("running the child");
    let mut report = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some((entry, outcome)) = line.split_once(" -> ") {
            report.insert(entry.to_owned(), outcome.to_owned());
        }
    }
    if !output.status.success() {
        report.insert("exit".to_owned(), format!("{} {}", output.status, String::from_utf8_lossy(&output.stderr)));
    }
    report
}

/// The entry points whose outcome follows `CORIO_BACKEND`.
const ENTRY_POINTS: [&str; 5] = ["new_event_loop", "run", "builder", "multi_loop main", "multi_loop worker"];

fn check(case: &Case, report: &BTreeMap<String, String>) -> Result<(), String> {
    if let Some(exit) = report.get("exit") {
        return Err(format!("the child failed: {exit}"));
    }
    for entry in ENTRY_POINTS {
        let outcome = report.get(entry).ok_or_else(|| format!("no report from {entry}"))?;
        let good = match &case.expect {
            Expect::Runs(backend, chosen_by) => {
                // `run` and a worker loop report their backend from inside
                // the running loop (its metrics), without the choice.
                match entry {
                    "run" | "multi_loop worker" => *outcome == format!("runs {backend}"),
                    _ => *outcome == format!("runs {backend} {chosen_by}"),
                }
            }
            Expect::Fails(kind, start, contains) => {
                let prefix = format!("fails {kind:?}: {start}");
                outcome.starts_with(&prefix) && contains.iter().all(|part| outcome.contains(part.as_str()))
            }
        };
        if !good {
            return Err(format!("{entry}: {outcome:?} is not {:?}", case.expect));
        }
    }
    // The program's own choice wins over the variable, whatever it says.
    if let Some(backend) = Backend::compiled().find(|b| *b != Backend::Uring || !case.refuse_uring) {
        let expected = format!("runs {backend} Program");
        let outcome = report.get("explicit").map(String::as_str).unwrap_or("nothing");
        if outcome != expected {
            return Err(format!("Builder::backend({backend}) gave {outcome:?}, not {expected:?}"));
        }
    }
    Ok(())
}

// ----- the child -------------------------------------------------------------

fn child() {
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    if std::env::var_os("CORIO_BACKEND_TEST_REFUSE_URING").is_some() {
        seccomp::refuse(&[seccomp::IO_URING_SETUP]).expect("installing a seccomp filter");
    }
    let outcome = |result: io::Result<(Backend, String)>| match result {
        Ok((backend, chosen_by)) => format!("runs {backend} {chosen_by}").trim_end().to_owned(),
        Err(err) => format!("fails {:?}: {err}", err.kind()),
    };
    let described = |lp: &corio::EventLoop| (lp.reactor().backend(), format!("{:?}", lp.reactor().chosen_by()));

    println!("new_event_loop -> {}", outcome(corio::new_event_loop().map(|lp| described(&lp))));
    println!("builder -> {}", outcome(corio::builder().build().map(|lp| described(&lp))));
    // Inside `run` the running loop's metrics name its backend.
    let run = match corio::run(async { corio::runtime::metrics().backend }) {
        Ok(name) => Ok((name.parse().expect("a backend's name"), String::new())),
        Err(corio::LoopError::Reactor(err)) => Err(err),
        Err(other) => panic!("corio::run: {other}"),
    };
    println!("run -> {}", outcome(run));
    match corio::multi_loop().loops(2).build() {
        Ok(rt) => {
            println!("multi_loop main -> {}", outcome(Ok(described(rt.main_loop()))));
            let loops = rt.loops();
            let worker = rt
                .run(async move { loops.spawn_on(1, async { corio::runtime::metrics().backend }).unwrap().await })
                .expect("the runtime runs")
                .expect("the worker task");
            println!("multi_loop worker -> {}", outcome(Ok((worker.parse().unwrap(), String::new()))));
        }
        Err(err) => {
            println!("multi_loop main -> {}", outcome(Err(io::Error::new(err.kind(), err.to_string()))));
            println!("multi_loop worker -> {}", outcome(Err(err)));
        }
    }
    let refused = std::env::var_os("CORIO_BACKEND_TEST_REFUSE_URING").is_some();
    if let Some(backend) = Backend::compiled().find(|b| *b != Backend::Uring || !refused) {
        let lp = corio::builder().backend(backend).build();
        println!("explicit -> {}", outcome(lp.map(|lp| described(&lp))));
    }
}
