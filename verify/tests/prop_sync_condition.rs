//! State-machine test of `Condition` against a sequential reference model (rules S4, S7), with cancellation injected
//! at every await: waiting for the lock, waiting for a notification, after being notified but before resuming, and
//! while re-acquiring the lock (which is not a checkpoint: a notified waiter's wait then ends cancelled once it holds
//! the lock again, as asyncio re-raises the cancel it caught while re-acquiring, and its notification goes on; an
//! already cancelled one keeps the new cancel pending).
//!
//! Each task acquires the condition's lock, waits, logs how the wait ended (while holding the lock again) and
//! releases. The test notifies from outside, holding the lock through `try_acquire` ("busy" when it cannot). The
//! reference models the lock (free flag and FIFO of waiters, hand-over on release) and the condition's FIFO; a
//! notified waiter that is cancelled passes the notification to the next waiter (3.13).
//!
//! Caught mutant: `condition_lose_notify` (also by loom). (A waiter cancelled while it re-acquires behind another,
//! with a second waiter to pass its notification to, is seldom built by the generated runs;
//! `tests/cpython_locks.rs`, `test_condition_cancelled_wakeup_relock`, checks it.)

mod sync_model;

use corio_core::sync::Condition;
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::collections::VecDeque;
use std::rc::Rc;
use sync_model::{log, Harness, Sched};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Task {
    NotRun,
    /// Queued for the lock before waiting.
    LockWait,
    LockGranted,
    CondWait,
    CondGranted,
    /// Queued to re-acquire the lock after the wait; `true` if it was notified (not cancelled).
    Relock(bool),
    RelockGranted(bool),
    Done,
}

#[derive(Clone, Debug)]
enum Op {
    SpawnWaiter,
    Notify(usize),
    Cancel(usize),
    Settle,
}

#[derive(Clone, Debug)]
struct Model {
    lock_free: bool,
    lock_queue: VecDeque<usize>,
    cond: VecDeque<usize>,
    tasks: Vec<Task>,
    sched: Sched,
    log: Vec<String>,
    result: Option<&'static str>,
}

impl Model {
    fn acquire_fast(&mut self) -> bool {
        let free = self.lock_free && self.lock_queue.is_empty();
        if free {
            self.lock_free = false;
        }
        free
    }

    /// The lock goes to the first waiter for it (hand-over), or becomes free.
    fn release_lock(&mut self) {
        match self.lock_queue.pop_front() {
            Some(w) => {
                self.tasks[w] = match self.tasks[w] {
                    Task::LockWait => Task::LockGranted,
                    Task::Relock(notified) => Task::RelockGranted(notified),
                    state => unreachable!("task {w} queued for the lock in state {state:?}"),
                };
                self.sched.wake(w);
            }
            None => self.lock_free = true,
        }
    }

    fn notify(&mut self, n: usize) {
        for _ in 0..n {
            let Some(w) = self.cond.pop_front() else { break };
            self.tasks[w] = Task::CondGranted;
            self.sched.wake(w);
        }
    }

    /// Holding the lock: queue on the condition, then release the lock.
    fn wait(&mut self, t: usize) {
        self.cond.push_back(t);
        self.tasks[t] = Task::CondWait;
        self.release_lock();
    }

    /// After the wait: take the lock again (not a checkpoint), then log and release.
    fn relock(&mut self, t: usize, notified: bool) {
        if self.acquire_fast() {
            self.end(t, notified);
        } else {
            self.lock_queue.push_back(t);
            self.tasks[t] = Task::Relock(notified);
        }
    }

    fn end(&mut self, t: usize, notified: bool) {
        self.log.push(format!("{t} {}", if notified { "woke" } else { "cancelled" }));
        self.release_lock();
        self.finish(t);
    }

    fn finish(&mut self, t: usize) {
        self.tasks[t] = Task::Done;
        self.sched.finish(t);
    }

    fn settle(&mut self) {
        self.sched.start();
        while let Some((t, cancelled)) = self.sched.next() {
            match (self.tasks[t], cancelled) {
                (Task::NotRun, true) => self.finish(t), // C4: never runs
                (Task::NotRun, false) => {
                    if self.acquire_fast() {
                        self.wait(t);
                    } else {
                        self.lock_queue.push_back(t);
                        self.tasks[t] = Task::LockWait;
                    }
                }
                (Task::LockWait, true) => {
                    self.lock_queue.retain(|&w| w != t);
                    self.log.push(format!("{t} cancelled"));
                    self.finish(t);
                }
                (Task::LockGranted, true) => {
                    self.log.push(format!("{t} cancelled"));
                    self.finish(t);
                    self.release_lock(); // S7: the lock is passed on
                }
                (Task::LockGranted, false) => self.wait(t),
                (Task::CondWait, true) => {
                    self.cond.retain(|&w| w != t);
                    self.relock(t, false);
                }
                (Task::CondGranted, true) => {
                    self.notify(1); // S4 (3.13): the notification goes to another waiter
                    self.relock(t, false);
                }
                (Task::CondGranted, false) => self.relock(t, true),
                (Task::Relock(_), true) => self.sched.keep_cancel(t), // not a checkpoint: still waiting
                (Task::RelockGranted(true), true) => {
                    // Cancelled while re-acquiring after a notification: delivered once the lock is held again,
                    // and the notification goes to another waiter (asyncio re-raises the caught cancel).
                    self.notify(1);
                    self.end(t, false);
                }
                (Task::RelockGranted(notified), cancelled) => {
                    if cancelled {
                        self.sched.keep_cancel(t); // a second cancel: pending for the next checkpoint
                    }
                    self.end(t, notified);
                }
                (state, cancelled) => unreachable!("task {t} ran in state {state:?} (cancel: {cancelled})"),
            }
        }
        self.sched.stop();
    }
}

/// Tasks per case.
const MAX_TASKS: usize = 10;

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model {
            lock_free: true,
            lock_queue: VecDeque::new(),
            cond: VecDeque::new(),
            tasks: Vec::new(),
            sched: Sched::default(),
            log: Vec::new(),
            result: None,
        })
        .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let tasks = state.tasks.len().max(1);
        // Only operations whose preconditions hold, so that long runs do not stall on rejects.
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
            (3, prop_oneof![1..3usize, Just(usize::MAX)].prop_map(Op::Notify).boxed()),
            (3, (0..tasks).prop_map(Op::Cancel).boxed()),
            (4, Just(Op::Settle).boxed()),
        ];
        if state.tasks.len() < MAX_TASKS {
            ops.push((3, Just(Op::SpawnWaiter).boxed()));
        }
        proptest::strategy::Union::new_weighted(ops).boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        match op {
            Op::SpawnWaiter => state.tasks.len() < MAX_TASKS,
            Op::Cancel(t) => *t < state.tasks.len(),
            _ => true,
        }
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        state.log.clear();
        state.result = None;
        match *op {
            Op::SpawnWaiter => {
                state.sched.spawn();
                state.tasks.push(Task::NotRun);
            }
            Op::Notify(n) => {
                state.result = Some(if state.acquire_fast() {
                    state.notify(n);
                    state.release_lock();
                    "ok"
                } else {
                    "busy"
                });
            }
            Op::Cancel(t) => state.sched.cancel(t),
            Op::Settle => state.settle(),
        }
        state
    }
}

struct Sut {
    harness: Harness,
    cond: Rc<Condition>,
}

impl StateMachineTest for Sut {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(_: &Model) -> Sut {
        Sut { harness: Harness::new(), cond: Rc::new(Condition::new()) }
    }

    fn apply(mut sut: Sut, model: &Model, op: Op) -> Sut {
        let mut result = None;
        match op {
            Op::SpawnWaiter => {
                let (cond, out, id) = (sut.cond.clone(), sut.harness.log.clone(), sut.harness.tasks.len());
                sut.harness.spawn(async move {
                    let Ok(mut guard) = cond.acquire().await else {
                        return log(&out, format!("{id} cancelled"));
                    };
                    let outcome = if guard.wait().await.is_ok() { "woke" } else { "cancelled" };
                    assert!(cond.locked(), "wait returns holding the lock");
                    log(&out, format!("{id} {outcome}"));
                });
            }
            Op::Notify(n) => {
                result = Some(match sut.cond.try_acquire() {
                    Some(guard) => {
                        guard.notify(n);
                        "ok"
                    }
                    None => "busy",
                });
            }
            Op::Cancel(t) => sut.harness.cancel(t),
            Op::Settle => sut.harness.settle(),
        }
        assert_eq!(sut.harness.take_log(), model.log, "each task's outcome, in order");
        assert_eq!(result, model.result, "notify (holding the lock)");
        assert_eq!(sut.cond.locked(), !model.lock_free, "the lock");
        sut
    }
}

prop_state_machine! {
    #![proptest_config(sync_model::config("prop_sync_condition", 1024))]

    #[test]
    fn condition_matches_reference(sequential 1..48 => Sut);
}
