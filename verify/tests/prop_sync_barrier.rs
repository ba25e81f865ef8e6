//! State-machine test of `Barrier` against a sequential reference model (rules S5, S7), with cancellation injected
//! at every await: the arrival that completes a round releases it with indices in arrival order, a cancelled waiter
//! lowers the count without breaking the barrier, `abort` breaks it for everyone until `reset`.
//!
//! Caught mutant: `barrier_cancel_keeps_count`.

mod sync_model;

use corio_core::sync::{Barrier, BarrierError};
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::collections::VecDeque;
use std::rc::Rc;
use sync_model::{log, Harness, Sched};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Task {
    NotRun,
    Waiting,
    /// Released with its index, or broken (`None`).
    Released(Option<usize>),
    Done,
}

#[derive(Clone, Debug)]
enum Op {
    SpawnWait,
    Abort,
    Reset,
    Cancel(usize),
    Settle,
}

#[derive(Clone, Debug)]
struct Model {
    parties: usize,
    count: usize,
    broken: bool,
    waiters: VecDeque<usize>,
    tasks: Vec<Task>,
    sched: Sched,
    log: Vec<String>,
}

impl Model {
    /// Releases every waiter: with its arrival index, or broken.
    fn release_all(&mut self, broken: bool) {
        self.count = 0;
        for (index, waiter) in std::mem::take(&mut self.waiters).into_iter().enumerate() {
            self.tasks[waiter] = Task::Released((!broken).then_some(index));
            self.sched.wake(waiter);
        }
    }

    fn settle(&mut self) {
        self.sched.start();
        while let Some((t, cancelled)) = self.sched.next() {
            let outcome = match (self.tasks[t], cancelled) {
                (Task::NotRun, true) => None, // C4: never runs
                (Task::Waiting, true) => {
                    self.waiters.retain(|&w| w != t);
                    self.count -= 1; // S5: the count drops, the barrier holds
                    Some("cancelled".to_string())
                }
                (Task::Released(_), true) => Some("cancelled".to_string()),
                (Task::NotRun, false) if self.broken => Some("broken".to_string()),
                (Task::NotRun, false) if self.count + 1 >= self.parties => {
                    self.release_all(false);
                    Some(format!("passed {}", self.parties - 1))
                }
                (Task::NotRun, false) => {
                    self.count += 1;
                    self.waiters.push_back(t);
                    self.tasks[t] = Task::Waiting;
                    continue;
                }
                (Task::Released(Some(index)), false) => Some(format!("passed {index}")),
                (Task::Released(None), false) => Some("broken".to_string()),
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
                count: 0,
                broken: false,
                waiters: VecDeque::new(),
                tasks: Vec::new(),
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
        }
        proptest::strategy::Union::new_weighted(ops).boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        match op {
            Op::SpawnWait => state.tasks.len() < MAX_TASKS,
            Op::Cancel(t) => *t < state.tasks.len(),
            _ => true,
        }
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        state.log.clear();
        match *op {
            Op::SpawnWait => {
                state.sched.spawn();
                state.tasks.push(Task::NotRun);
            }
            Op::Abort => {
                state.broken = true;
                state.release_all(true);
            }
            Op::Reset => {
                state.broken = false;
                state.release_all(true);
            }
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
            Op::Abort => sut.barrier.abort(),
            Op::Reset => sut.barrier.reset(),
            Op::Cancel(t) => sut.harness.cancel(t),
            Op::Settle => sut.harness.settle(),
        }
        assert_eq!(sut.harness.take_log(), model.log, "each task's outcome, in order");
        assert_eq!(sut.barrier.n_waiting(), model.count, "n_waiting");
        assert_eq!(sut.barrier.broken(), model.broken, "broken");
        sut
    }
}

prop_state_machine! {
    #![proptest_config(sync_model::config("prop_sync_barrier", 1024))]

    #[test]
    fn barrier_matches_reference(sequential 1..48 => Sut);
}
