//! Shared pieces of the sync-primitive state-machine tests (`prop_sync_*.rs`), included with `mod sync_model;`.
//!
//! * [`Sched`] is the reference model of the loop's scheduling, exactly as far as these tests need it: one FIFO
//!   ready queue (a FIFO executor runs batch after batch in the order things became ready), a task queued at most
//!   once, and a pending cancel that schedules a waiting task. A task cancelled before it first ran never runs (C4).
//!   A wake while the loop is not running (an operation of the test) goes through the loop's remote queue, which the
//!   next iteration appends after the local ready queue; a spawn or a cancel from the test pushes locally.
//! * [`Harness`] is the system under test: a real `EventLoop` (park reactor, virtual clock, FIFO) whose tasks are
//!   spawned, cancelled and run from outside — `settle` runs loop iterations until every consequence has played out.
//!
//! Operations on the primitive itself (a release, a set, a `put_nowait`) happen synchronously from the test, between
//! loop iterations, so a cancel can land while a waiter is queued, after it was handed something but before it
//! resumed, or before it ever ran: cancellation is injected at every await.
#![allow(dead_code)]

use corio_core::clock::VirtualClock;
use corio_core::reactor::ParkReactor;
use corio_core::runtime::EventLoop;
use corio_core::task::Task;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;

/// The model's ready queue and pending cancels.
#[derive(Clone, Debug, Default)]
pub struct Sched {
    ready: VecDeque<usize>,
    /// Wakes from outside the running loop, taken at the next iteration.
    remote: Vec<usize>,
    running: bool,
    cancel: Vec<bool>,
    done: Vec<bool>,
}

impl Sched {
    /// A new task: it is ready at once (it first runs in a later iteration). Returns its id.
    pub fn spawn(&mut self) -> usize {
        let id = self.cancel.len();
        self.cancel.push(false);
        self.done.push(false);
        self.ready.push_back(id);
        id
    }

    /// A wake: queues the task unless it already is (locally while running, else through the remote queue).
    pub fn wake(&mut self, task: usize) {
        if self.ready.contains(&task) || self.remote.contains(&task) {
            return;
        }
        if self.running {
            self.ready.push_back(task);
        } else {
            self.remote.push(task);
        }
    }

    /// Starts running the loop: the remote wakes join the ready queue.
    pub fn start(&mut self) {
        self.running = true;
        let remote = std::mem::take(&mut self.remote);
        self.ready.extend(remote);
    }

    /// The loop stops (everything has settled).
    pub fn stop(&mut self) {
        self.running = false;
    }

    /// `task.cancel()`: no effect on a finished task; otherwise a pending cancel, which schedules the task.
    pub fn cancel(&mut self, task: usize) {
        if self.done[task] {
            return;
        }
        self.cancel[task] = true;
        if !self.ready.contains(&task) && !self.remote.contains(&task) {
            self.ready.push_back(task); // the cancel is posted locally
        }
    }

    /// The next task to run and whether a cancel is delivered to it (taking the cancel).
    pub fn next(&mut self) -> Option<(usize, bool)> {
        let task = self.ready.pop_front()?;
        Some((task, std::mem::take(&mut self.cancel[task])))
    }

    /// A cancel that the task's run did not deliver (it was not at a checkpoint) stays pending.
    pub fn keep_cancel(&mut self, task: usize) {
        self.cancel[task] = true;
    }

    pub fn finish(&mut self, task: usize) {
        self.done[task] = true;
    }

    pub fn tasks(&self) -> usize {
        self.cancel.len()
    }

    pub fn is_done(&self, task: usize) -> bool {
        self.done[task]
    }
}

pub type Log = Rc<RefCell<Vec<String>>>;

/// The system under test: a loop on the virtual clock and the tasks spawned on it.
pub struct Harness {
    pub lp: EventLoop<ParkReactor, VirtualClock>,
    pub tasks: Vec<Task<()>>,
    pub log: Log,
}

impl Harness {
    pub fn new() -> Harness {
        Harness {
            lp: EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build(),
            tasks: Vec::new(),
            log: Rc::default(),
        }
    }

    pub fn spawn(&mut self, future: impl Future<Output = ()> + 'static) {
        self.tasks.push(self.lp.spawn(future));
    }

    pub fn cancel(&self, task: usize) {
        self.tasks[task].cancel();
    }

    /// Runs loop iterations until everything that was set off has happened (each hand-over takes at most one
    /// iteration per task).
    pub fn settle(&self) {
        for _ in 0..self.tasks.len() * 2 + 4 {
            self.lp.stop();
            self.lp.run_forever().unwrap();
        }
    }

    /// The log lines written since the last call.
    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.borrow_mut())
    }
}

/// Appends a line to a log.
pub fn log(log: &Log, line: impl Into<String>) {
    log.borrow_mut().push(line.into());
}

/// The default config (`PROPTEST_CASES` etc. from the environment), but `cases` cases unless `PROPTEST_CASES` says
/// otherwise, and failures persisted under `verify/proptest-regressions/NAME.txt` unless
/// `PROPTEST_DISABLE_FAILURE_PERSISTENCE` is set (as for mutant runs).
pub fn config(name: &str, cases: u32) -> proptest::test_runner::Config {
    let mut config = proptest::test_runner::Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if config.failure_persistence.is_some() {
        let path: &'static str = Box::leak(format!("proptest-regressions/{name}.txt").into_boxed_str());
        config.failure_persistence = Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(path)));
    }
    config
}
