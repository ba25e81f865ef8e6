//! State-machine test of `Lock`, `Semaphore` and `BoundedSemaphore` against a sequential reference model (rules S1,
//! S2, S7), with cancellation injected at every await.
//!
//! The reference keeps the free permits, the FIFO of waiting tasks and each task's state (not yet run, waiting,
//! handed a permit but not resumed, holding, finished), and runs tasks in the loop's order (`sync_model::Sched`). It
//! is asyncio 3.13's `Semaphore`: a release hands its permit to the first waiter; a task handed a permit stands in
//! line until it resumes, so a newcomer queues behind it even when permits were released meanwhile, and whoever
//! leaves the line (resuming, or cancelled) hands such permits to the waiters ("wake up as many as are allowed"); a
//! task that runs with a cancel pending leaves the queue, or — if it had been handed a permit — passes it on. After
//! every operation the test compares what the real primitive, on a real loop, did: the tasks that acquired or were
//! cancelled, in order, the free permits, the results of `try_acquire` and of a bare `release` (an error for an
//! unlocked lock or a full bounded semaphore), `locked()`, and the waiter list's length (`Debug`), so a waiter that
//! leaves without leaving the list is caught.
//!
//! Caught mutants: `waiters_lifo`, `release_unchecked`, `lock_handoff_to_cancelled`, `permits_barge_past_pending`.

mod sync_model;

use corio_core::sync::{BoundedSemaphore, Lock, Semaphore};
use corio_core::task::Cancelled;
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::collections::VecDeque;
use std::rc::Rc;
use sync_model::{log, Harness, Sched};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Lock,
    Semaphore(usize),
    Bounded(usize),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Task {
    NotRun,
    Waiting,
    Granted,
    Holding,
    Done,
}

#[derive(Clone, Debug)]
enum Op {
    /// Spawn a task that acquires.
    Spawn,
    Cancel(usize),
    /// The holder releases.
    Release(usize),
    /// `release()` without a guard: an error for an unlocked lock or a full bounded semaphore.
    BareRelease,
    TryAcquire,
    /// Run the loop until everything set off has happened.
    Settle,
}

#[derive(Clone, Debug)]
struct Model {
    kind: Kind,
    bound: usize,
    available: usize,
    queue: VecDeque<usize>,
    /// Tasks handed a permit that have not resumed: they still stand in line.
    pending: usize,
    tasks: Vec<Task>,
    sched: Sched,
    /// Holders that are not tasks (`try_acquire`, bare acquires), by a count.
    anonymous_holders: usize,
    /// What the last operation should have produced.
    log: Vec<String>,
    result: Option<bool>,
}

impl Model {
    fn grant_first(&mut self) -> bool {
        let Some(waiter) = self.queue.pop_front() else { return false };
        self.tasks[waiter] = Task::Granted;
        self.pending += 1;
        self.sched.wake(waiter);
        true
    }

    fn release_one(&mut self) {
        if !self.grant_first() {
            self.available += 1;
        }
    }

    /// Someone left the line: permits that waited behind it go to the waiters.
    fn distribute(&mut self) {
        while self.available > 0 && !self.queue.is_empty() {
            self.available -= 1;
            self.grant_first();
        }
    }

    /// `release()`: refused when `bound` permits are free.
    fn release_checked(&mut self) -> bool {
        if self.available >= self.bound {
            return false;
        }
        self.release_one();
        true
    }

    /// Whether an acquire may take a free permit now: nobody stands in line.
    fn may_take(&self) -> bool {
        self.available > 0 && self.queue.is_empty() && self.pending == 0
    }

    fn settle(&mut self) {
        self.sched.start();
        while let Some((t, cancelled)) = self.sched.next() {
            match (self.tasks[t], cancelled) {
                (Task::NotRun, true) => self.finish(t), // C4: never runs
                (Task::Waiting, true) => {
                    self.queue.retain(|&w| w != t);
                    self.distribute();
                    self.log.push(format!("{t} cancelled"));
                    self.finish(t);
                }
                (Task::Granted, true) => {
                    self.pending -= 1;
                    self.release_one(); // S7: pass the permit on
                    self.distribute();
                    self.log.push(format!("{t} cancelled"));
                    self.finish(t);
                }
                (Task::NotRun, false) if self.may_take() => {
                    self.available -= 1;
                    self.acquired(t);
                }
                (Task::NotRun, false) => {
                    self.queue.push_back(t);
                    self.tasks[t] = Task::Waiting;
                }
                (Task::Granted, false) => {
                    self.pending -= 1;
                    self.distribute();
                    self.acquired(t);
                }
                (state, cancelled) => unreachable!("task {t} ran in state {state:?} (cancel: {cancelled})"),
            }
        }
        self.sched.stop();
    }

    fn acquired(&mut self, t: usize) {
        self.log.push(format!("{t} acquired"));
        self.tasks[t] = Task::Holding;
        self.sched.finish(t);
    }

    fn finish(&mut self, t: usize) {
        self.tasks[t] = Task::Done;
        self.sched.finish(t);
    }

    fn holders(&self) -> Vec<usize> {
        (0..self.tasks.len()).filter(|&t| self.tasks[t] == Task::Holding).collect()
    }
}

/// Tasks per case.
const MAX_TASKS: usize = 8;

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        prop_oneof![Just(Kind::Lock), (0..3usize).prop_map(Kind::Semaphore), (1..3usize).prop_map(Kind::Bounded)]
            .prop_map(|kind| {
                let (available, bound) = match kind {
                    Kind::Lock => (1, 1),
                    Kind::Semaphore(n) => (n, usize::MAX),
                    Kind::Bounded(n) => (n, n),
                };
                Model {
                    kind,
                    bound,
                    available,
                    queue: VecDeque::new(),
                    pending: 0,
                    tasks: Vec::new(),
                    sched: Sched::default(),
                    anonymous_holders: 0,
                    log: Vec::new(),
                    result: None,
                }
            })
            .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let tasks = state.tasks.len().max(1);
        let holders = state.holders();
        let release = if holders.is_empty() {
            Just(Op::BareRelease).boxed()
        } else {
            proptest::sample::select(holders).prop_map(Op::Release).boxed()
        };
        // Only operations whose preconditions hold, so that long runs do not stall on rejects.
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
            (3, Just(Op::Settle).boxed()),
            (2, (0..tasks).prop_map(Op::Cancel).boxed()),
            (2, release),
            (1, Just(Op::BareRelease).boxed()),
            (1, Just(Op::TryAcquire).boxed()),
        ];
        if state.tasks.len() < MAX_TASKS {
            ops.push((3, Just(Op::Spawn).boxed()));
        }
        proptest::strategy::Union::new_weighted(ops).boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        match op {
            Op::Spawn => state.tasks.len() < MAX_TASKS,
            Op::Cancel(t) => *t < state.tasks.len(),
            Op::Release(t) => state.tasks.get(*t) == Some(&Task::Holding),
            _ => true,
        }
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        state.log.clear();
        state.result = None;
        match *op {
            Op::Spawn => {
                state.sched.spawn();
                state.tasks.push(Task::NotRun);
            }
            Op::Cancel(t) => state.sched.cancel(t),
            Op::Release(t) => {
                // After a bare release (a user error), even a holder's release can be refused.
                state.tasks[t] = Task::Done;
                state.result = Some(state.release_checked());
            }
            Op::BareRelease => {
                if state.release_checked() {
                    state.anonymous_holders = state.anonymous_holders.saturating_sub(1);
                    state.result = Some(true);
                } else {
                    state.result = Some(false);
                }
            }
            Op::TryAcquire => {
                let took = state.may_take();
                if took {
                    state.available -= 1;
                    state.anonymous_holders += 1;
                }
                state.result = Some(took);
            }
            Op::Settle => state.settle(),
        }
        state
    }
}

/// The primitive under test, behind one interface.
enum Prim {
    Lock(Lock),
    Semaphore(Semaphore),
    Bounded(BoundedSemaphore),
}

impl Prim {
    async fn acquire(&self) -> Result<(), Cancelled> {
        match self {
            Prim::Lock(l) => l.acquire().await.map(|g| g.forget()),
            Prim::Semaphore(s) => s.acquire().await.map(|p| p.forget()),
            Prim::Bounded(s) => s.acquire().await.map(|p| p.forget()),
        }
    }

    fn try_acquire(&self) -> bool {
        match self {
            Prim::Lock(l) => l.try_acquire().map(|g| g.forget()).is_some(),
            Prim::Semaphore(s) => s.try_acquire().map(|p| p.forget()).is_some(),
            Prim::Bounded(s) => s.try_acquire().map(|p| p.forget()).is_some(),
        }
    }

    fn release(&self) -> bool {
        match self {
            Prim::Lock(l) => l.release().is_ok(),
            Prim::Semaphore(s) => {
                s.release();
                true
            }
            Prim::Bounded(s) => s.release().is_ok(),
        }
    }

    /// Whether an acquire would wait (asyncio's `locked()`).
    fn locked(&self) -> bool {
        match self {
            Prim::Lock(l) => l.locked(),
            Prim::Semaphore(s) => s.locked(),
            Prim::Bounded(s) => s.locked(),
        }
    }

    /// The waiter list's length, as `Debug` shows it.
    fn waiters(&self) -> usize {
        let debug = match self {
            Prim::Lock(l) => format!("{l:?}"),
            Prim::Semaphore(s) => format!("{s:?}"),
            Prim::Bounded(s) => format!("{s:?}"),
        };
        let count = debug.split("waiters: ").nth(1).and_then(|rest| rest.split(' ').next());
        count.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no waiter count in {debug}"))
    }

    fn available(&self) -> usize {
        match self {
            Prim::Lock(l) => usize::from(!l.locked()),
            Prim::Semaphore(s) => s.available_permits(),
            Prim::Bounded(s) => s.available_permits(),
        }
    }
}

struct Sut {
    harness: Harness,
    prim: Rc<Prim>,
}

impl StateMachineTest for Sut {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(model: &Model) -> Sut {
        let prim = match model.kind {
            Kind::Lock => Prim::Lock(Lock::new()),
            Kind::Semaphore(n) => Prim::Semaphore(Semaphore::new(n)),
            Kind::Bounded(n) => Prim::Bounded(BoundedSemaphore::new(n)),
        };
        Sut { harness: Harness::new(), prim: Rc::new(prim) }
    }

    fn apply(mut sut: Sut, model: &Model, op: Op) -> Sut {
        let mut result = None;
        match op {
            Op::Spawn => {
                let (prim, out, id) = (sut.prim.clone(), sut.harness.log.clone(), sut.harness.tasks.len());
                sut.harness.spawn(async move {
                    match prim.acquire().await {
                        Ok(()) => log(&out, format!("{id} acquired")),
                        Err(_) => log(&out, format!("{id} cancelled")), // swallowed: the task ends normally
                    }
                });
            }
            Op::Cancel(t) => sut.harness.cancel(t),
            Op::Release(_) | Op::BareRelease => result = Some(sut.prim.release()),
            Op::TryAcquire => result = Some(sut.prim.try_acquire()),
            Op::Settle => sut.harness.settle(),
        }
        assert_eq!(sut.harness.take_log(), model.log, "who acquired or was cancelled, in order");
        assert_eq!(result, model.result, "try_acquire / release");
        // A lock shows only whether it is free (a bare release while a waiter is handed the lock, a user error,
        // can leave more than one permit behind).
        let available = if matches!(model.kind, Kind::Lock) { model.available.min(1) } else { model.available };
        assert_eq!(sut.prim.available(), available, "free permits");
        // The bookkeeping: the waiter list holds exactly the queued tasks (a cancelled or granted one has left it).
        assert_eq!(sut.prim.waiters(), model.queue.len(), "waiters in the list");
        // A lock's `locked()` says whether it is held (a waiter handed it counts); a semaphore's, asyncio's, whether
        // an acquire would wait.
        let locked = if matches!(model.kind, Kind::Lock) { model.available == 0 } else { !model.may_take() };
        assert_eq!(sut.prim.locked(), locked, "locked()");
        sut
    }
}

prop_state_machine! {
    #![proptest_config(sync_model::config("prop_sync_permits", 1024))]

    #[test]
    fn permits_match_reference(sequential 1..48 => Sut);
}
