//! State-machine test of `Barrier` against a sequential reference model (rules S5, S7), with cancellation injected
//! at every await. The model is asyncio 3.13's barrier: the arrival that completes a round releases it with indices
//! in arrival order and the barrier *drains* — arrivals are blocked until every released task has resumed and left,
//! then they arrive in order; a released task that resumes after an `abort` or a `reset` gets `Broken`; `reset` with
//! tasks inside *resets* (waiters get `Broken`, arrivals blocked until all left); `abort` breaks it for everyone
//! until `reset`; a cancelled waiter lowers the count without breaking the barrier. After every operation the test
//! compares each task's outcome, `n_waiting` (0 unless filling) and `broken`.
//!
//! Caught mutants: `barrier_cancel_keeps_count`, `barrier_no_draining`, `barrier_abort_spares_released`.

mod sync_model;

use corio_core::sync::{Barrier, BarrierError};
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::collections::VecDeque;
use std::rc::Rc;
use sync_model::{log, Harness, Sched};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Filling,
    Draining,
    Resetting,
    Broken,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Task {
    NotRun,
    Waiting,
    /// Released with its index, or broken (`None`); inside the barrier until it resumes.
    Released(Option<usize>),
    /// Arrived while the barrier drained or reset.
    Blocked,
    /// Let in (`false`: arrive again) or aborted (`true`) while blocked.
    Unblocked(bool),
    Done,
}

#[derive(Clone, Debug)]
enum Op {
    SpawnWait,
    Abort,
    Reset,
    /// A task that aborts (or resets) the barrier when it runs: in the loop's order, so between a round's release
    /// and its tasks' resumption.
    SpawnAbort,
    SpawnReset,
    Cancel(usize),
    Settle,
}

/// What a task does when it first runs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Wait,
    Abort,
    Reset,
}

#[derive(Clone, Debug)]
struct Model {
    parties: usize,
    phase: Phase,
    /// asyncio's `_count`: waiting, or released and not yet resumed.
    count: usize,
    waiters: VecDeque<usize>,
    blocked: VecDeque<usize>,
    tasks: Vec<Task>,
    kinds: Vec<Kind>,
    sched: Sched,
    log: Vec<String>,
}

impl Model {
    fn grant_waiters(&mut self, index: bool) {
        for (i, waiter) in std::mem::take(&mut self.waiters).into_iter().enumerate() {
            self.tasks[waiter] = Task::Released(index.then_some(i));
            self.sched.wake(waiter);
        }
    }

    fn unblock_all(&mut self, broken: bool) {
        for waiter in std::mem::take(&mut self.blocked) {
            self.tasks[waiter] = Task::Unblocked(broken);
            self.sched.wake(waiter);
        }
    }

    fn abort(&mut self) {
        self.phase = Phase::Broken;
        self.grant_waiters(false);
        self.unblock_all(true);
    }

    fn reset(&mut self) {
        if self.count > 0 {
            self.phase = Phase::Resetting;
            self.grant_waiters(false);
        } else {
            self.phase = Phase::Filling;
            self.unblock_all(false);
        }
    }

    /// A task leaves the barrier; the last one out ends a drain or a reset.
    fn exit(&mut self) {
        self.count -= 1;
        if self.count == 0 && matches!(self.phase, Phase::Draining | Phase::Resetting) {
            self.phase = Phase::Filling;
            self.unblock_all(false);
        }
    }

    /// An arrival: its outcome, or `None` if it waits.
    fn arrive(&mut self, t: usize) -> Option<String> {
        match self.phase {
            Phase::Broken => return Some("broken".to_string()),
            Phase::Draining | Phase::Resetting => {
                self.blocked.push_back(t);
                self.tasks[t] = Task::Blocked;
                return None;
            }
            Phase::Filling => {}
        }
        if self.count + 1 >= self.parties {
            self.phase = Phase::Draining;
            self.grant_waiters(true);
            if self.count == 0 {
                self.phase = Phase::Filling;
                self.unblock_all(false);
            }
            return Some(format!("passed {}", self.parties - 1));
        }
        self.count += 1;
        self.waiters.push_back(t);
        self.tasks[t] = Task::Waiting;
        None
    }

    fn settle(&mut self) {
        self.sched.start();
        while let Some((t, cancelled)) = self.sched.next() {
            let outcome = match (self.tasks[t], cancelled) {
                (Task::NotRun, true) => None, // C4: never runs
                (Task::NotRun, false) if self.kinds[t] == Kind::Abort => {
                    self.abort();
                    Some("aborted".to_string())
                }
                (Task::NotRun, false) if self.kinds[t] == Kind::Reset => {
                    self.reset();
                    Some("reset".to_string())
                }
                (Task::NotRun | Task::Unblocked(false), false) => match self.arrive(t) {
                    Some(outcome) => Some(outcome),
                    None => continue,
                },
                (Task::Unblocked(_) | Task::Blocked, true) => {
                    self.blocked.retain(|&w| w != t);
                    Some("cancelled".to_string())
                }
                (Task::Unblocked(true), false) => Some("broken".to_string()),
                (Task::Waiting, true) => {
                    self.waiters.retain(|&w| w != t);
                    self.exit(); // S5: the count drops, the barrier holds
                    Some("cancelled".to_string())
                }
                (Task::Released(_), true) => {
                    self.exit();
                    Some("cancelled".to_string())
                }
                (Task::Released(index), false) => {
                    let broken = matches!(self.phase, Phase::Broken | Phase::Resetting);
                    self.exit();
                    Some(match index {
                        Some(index) if !broken => format!("passed {index}"),
                        _ => "broken".to_string(),
                    })
                }
                (state, cancelled) => unreachable!("task {t} ran in state {state:?} (cancel: {cancelled})"),
            };
            if let Some(outcome) = outcome {
                self.log.push(format!("{t} {outcome}"));
            }
            self.tasks[t] = Task::Done;
            self.sched.finish(t);
        }
        self.sched.stop();
    }
}

/// Tasks per case.
const MAX_TASKS: usize = 12;

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        (1..4usize)
            .prop_map(|parties| Model {
                parties,
                phase: Phase::Filling,
                count: 0,
                waiters: VecDeque::new(),
                blocked: VecDeque::new(),
                tasks: Vec::new(),
                kinds: Vec::new(),
                sched: Sched::default(),
                log: Vec::new(),
            })
            .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let tasks = state.tasks.len().max(1);
        // Only operations whose preconditions hold, so that long runs do not stall on rejects.
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
            (1, Just(Op::Abort).boxed()),
            (1, Just(Op::Reset).boxed()),
            (3, (0..tasks).prop_map(Op::Cancel).boxed()),
            (3, Just(Op::Settle).boxed()),
        ];
        if state.tasks.len() < MAX_TASKS {
            ops.push((4, Just(Op::SpawnWait).boxed()));
            ops.push((1, Just(Op::SpawnAbort).boxed()));
            ops.push((1, Just(Op::SpawnReset).boxed()));
        }
        proptest::strategy::Union::new_weighted(ops).boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        match op {
            Op::SpawnWait | Op::SpawnAbort | Op::SpawnReset => state.tasks.len() < MAX_TASKS,
            Op::Cancel(t) => *t < state.tasks.len(),
            _ => true,
        }
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        state.log.clear();
        match *op {
            Op::SpawnWait | Op::SpawnAbort | Op::SpawnReset => {
                state.sched.spawn();
                state.tasks.push(Task::NotRun);
                state.kinds.push(match op {
                    Op::SpawnAbort => Kind::Abort,
                    Op::SpawnReset => Kind::Reset,
                    _ => Kind::Wait,
                });
            }
            Op::Abort => state.abort(),
            Op::Reset => state.reset(),
            Op::Cancel(t) => state.sched.cancel(t),
            Op::Settle => state.settle(),
        }
        state
    }
}

struct Sut {
    harness: Harness,
    barrier: Rc<Barrier>,
}

impl StateMachineTest for Sut {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(model: &Model) -> Sut {
        Sut { harness: Harness::new(), barrier: Rc::new(Barrier::new(model.parties)) }
    }

    fn apply(mut sut: Sut, model: &Model, op: Op) -> Sut {
        match op {
            Op::SpawnWait => {
                let (barrier, out, id) = (sut.barrier.clone(), sut.harness.log.clone(), sut.harness.tasks.len());
                sut.harness.spawn(async move {
                    let outcome = match barrier.wait().await {
                        Ok(index) => format!("passed {index}"),
                        Err(BarrierError::Broken) => "broken".to_string(),
                        Err(BarrierError::Cancelled(_)) => "cancelled".to_string(),
                    };
                    log(&out, format!("{id} {outcome}"));
                });
            }
            Op::SpawnAbort | Op::SpawnReset => {
                let (barrier, out, id) = (sut.barrier.clone(), sut.harness.log.clone(), sut.harness.tasks.len());
                let abort = matches!(op, Op::SpawnAbort);
                sut.harness.spawn(async move {
                    if abort {
                        barrier.abort();
                        log(&out, format!("{id} aborted"));
                    } else {
                        barrier.reset();
                        log(&out, format!("{id} reset"));
                    }
                });
            }
            Op::Abort => sut.barrier.abort(),
            Op::Reset => sut.barrier.reset(),
            Op::Cancel(t) => sut.harness.cancel(t),
            Op::Settle => sut.harness.settle(),
        }
        assert_eq!(sut.harness.take_log(), model.log, "each task's outcome, in order");
        let n_waiting = if model.phase == Phase::Filling { model.count } else { 0 };
        assert_eq!(sut.barrier.n_waiting(), n_waiting, "n_waiting");
        assert_eq!(sut.barrier.broken(), model.phase == Phase::Broken, "broken");
        assert_eq!(sut.barrier.draining(), model.phase == Phase::Draining, "draining");
        sut
    }
}

prop_state_machine! {
    #![proptest_config(sync_model::config("prop_sync_barrier", 1024))]

    #[test]
    fn barrier_matches_reference(sequential 1..48 => Sut);
}
