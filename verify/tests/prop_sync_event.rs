//! State-machine test of `Event` against a sequential reference model (rules S3, S7), with cancellation injected at
//! every await: `set` wakes exactly the tasks waiting at that moment (also if `clear` follows), a waiter that arrives
//! while the flag is set passes at once, a cancelled waiter leaves no trace.
//!
//! The waiter list's length (`Event`'s `Debug`) is checked against the model's after every step, so a waiter that
//! does not leave on cancellation is caught, not only one that is woken wrongly.
//!
//! Caught mutant: `waiters_lifo` (the wake order).

mod sync_model;

use corio_core::sync::Event;
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::collections::VecDeque;
use std::rc::Rc;
use sync_model::{log, Harness, Sched};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Task {
    NotRun,
    Waiting,
    Woken,
    Done,
}

#[derive(Clone, Debug)]
enum Op {
    SpawnWait,
    Set,
    Clear,
    Cancel(usize),
    Settle,
}

#[derive(Clone, Debug, Default)]
struct Model {
    set: bool,
    waiters: VecDeque<usize>,
    tasks: Vec<Task>,
    sched: Sched,
    log: Vec<String>,
}

impl Model {
    fn settle(&mut self) {
        self.sched.start();
        while let Some((t, cancelled)) = self.sched.next() {
            let outcome = match (self.tasks[t], cancelled) {
                (Task::NotRun, true) => None, // C4: never runs
                (Task::Waiting, true) => {
                    self.waiters.retain(|&w| w != t);
                    Some("cancelled")
                }
                (Task::Woken, true) => Some("cancelled"), // nothing to pass on: set woke everyone
                (Task::NotRun, false) if self.set => Some("passed"),
                (Task::NotRun, false) => {
                    self.waiters.push_back(t);
                    self.tasks[t] = Task::Waiting;
                    continue;
                }
                (Task::Woken, false) => Some("passed"),
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
const MAX_TASKS: usize = 10;

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model::default()).boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let tasks = state.tasks.len().max(1);
        // Only operations whose preconditions hold, so that long runs do not stall on rejects.
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
            (2, Just(Op::Set).boxed()),
            (2, Just(Op::Clear).boxed()),
            (2, (0..tasks).prop_map(Op::Cancel).boxed()),
            (3, Just(Op::Settle).boxed()),
        ];
        if state.tasks.len() < MAX_TASKS {
            ops.push((3, Just(Op::SpawnWait).boxed()));
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
            Op::Set => {
                if !state.set {
                    state.set = true;
                    while let Some(w) = state.waiters.pop_front() {
                        state.tasks[w] = Task::Woken;
                        state.sched.wake(w);
                    }
                }
            }
            Op::Clear => state.set = false,
            Op::Cancel(t) => state.sched.cancel(t),
            Op::Settle => state.settle(),
        }
        state
    }
}

struct Sut {
    harness: Harness,
    event: Rc<Event>,
}

impl StateMachineTest for Sut {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(_: &Model) -> Sut {
        Sut { harness: Harness::new(), event: Rc::new(Event::new()) }
    }

    fn apply(mut sut: Sut, model: &Model, op: Op) -> Sut {
        match op {
            Op::SpawnWait => {
                let (event, out, id) = (sut.event.clone(), sut.harness.log.clone(), sut.harness.tasks.len());
                sut.harness.spawn(async move {
                    let outcome = if event.wait().await.is_ok() { "passed" } else { "cancelled" };
                    log(&out, format!("{id} {outcome}"));
                });
            }
            Op::Set => sut.event.set(),
            Op::Clear => sut.event.clear(),
            Op::Cancel(t) => sut.harness.cancel(t),
            Op::Settle => sut.harness.settle(),
        }
        assert_eq!(sut.harness.take_log(), model.log, "who passed or was cancelled, in order");
        assert_eq!(sut.event.is_set(), model.set, "the flag");
        // The bookkeeping: a cancelled waiter has left the list, a woken one is no longer counted.
        assert_eq!(
            format!("{:?}", sut.event),
            format!("Event {{ set: {}, waiters: {} }}", model.set, model.waiters.len()),
            "the waiter list"
        );
        sut
    }
}

prop_state_machine! {
    #![proptest_config(sync_model::config("prop_sync_event", 1024))]

    #[test]
    fn event_matches_reference(sequential 1..48 => Sut);
}
