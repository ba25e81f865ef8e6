//! State-machine test of the `watch` channel against a sequential reference model (issue 22), with cancellation
//! injected at every await: `changed()` is ready exactly when the receiver has not seen the latest version (also
//! after the close), a send wakes every waiting receiver, `send_if_modified` without a change wakes nobody, a send
//! without receivers gives the value back and stores nothing, the last sender's drop ends every wait with `Closed`,
//! and a cancelled `changed()` marks nothing seen.
//!
//! The test owns the sender and up to four receivers (subscribed, cloned, dropped as the strategy says); a task
//! borrows one receiver for one `changed()` and then reads the value. The reference keeps the value, its version,
//! each receiver's seen version, the waiting tasks and each task's state; after every operation the test compares
//! each task's outcome, in order, and the results of `send`, `has_changed` and `borrow_and_update`.
//!
//! Caught mutant: `watch_unmodified_counts`.

mod sync_model;

use corio_core::sync::watch::{self, error::RecvError, Receiver, Sender};
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::cell::RefCell;
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
    Send(u32),
    SendIfModified(bool),
    Subscribe,
    CloneRx(usize),
    DropReceiver(usize),
    DropSender,
    HasChanged(usize),
    BorrowAndUpdate(usize),
    SpawnChanged(usize),
    Cancel(usize),
    Settle,
}

#[derive(Clone, Debug)]
struct Rx {
    seen: u64,
    busy: bool,
}

#[derive(Clone, Debug)]
struct Model {
    value: u32,
    version: u64,
    sender: bool,
    rxs: Vec<Option<Rx>>,
    task_rx: Vec<usize>,
    tasks: Vec<Task>,
    waiting: VecDeque<usize>,
    sched: Sched,
    next_value: u32,
    log: Vec<String>,
    result: Option<String>,
}

impl Model {
    fn live_rx(&self) -> usize {
        self.rxs.iter().flatten().count()
    }

    fn changed(&mut self) {
        self.version += 1;
        while let Some(t) = self.waiting.pop_front() {
            self.tasks[t] = Task::Woken;
            self.sched.wake(t);
        }
    }

    fn settle(&mut self) {
        self.sched.start();
        while let Some((t, cancelled)) = self.sched.next() {
            let i = self.task_rx[t];
            let outcome = match (self.tasks[t], cancelled) {
                (Task::NotRun, true) => None, // C4: never runs
                (Task::Waiting, true) => {
                    self.waiting.retain(|&w| w != t);
                    Some("cancelled".to_string())
                }
                (Task::Woken, true) => Some("cancelled".to_string()),
                (Task::NotRun | Task::Woken, false) => {
                    let rx = self.rxs[i].as_mut().expect("a live receiver");
                    if rx.seen != self.version {
                        rx.seen = self.version;
                        Some(format!("changed {}", self.value))
                    } else if !self.sender {
                        Some("closed".to_string())
                    } else {
                        self.waiting.push_back(t);
                        self.tasks[t] = Task::Waiting;
                        continue;
                    }
                }
                (state, cancelled) => unreachable!("task {t} ran in state {state:?} (cancel: {cancelled})"),
            };
            if let Some(outcome) = outcome {
                self.log.push(format!("{t} {outcome}"));
            }
            self.tasks[t] = Task::Done;
            self.sched.finish(t);
            if let Some(rx) = self.rxs[i].as_mut() {
                rx.busy = false;
            }
        }
        self.sched.stop();
    }

    fn free_rxs(&self) -> Vec<usize> {
        (0..self.rxs.len()).filter(|&i| matches!(self.rxs[i], Some(Rx { busy: false, .. }))).collect()
    }
}

const MAX_TASKS: usize = 10;
const MAX_RECEIVERS: usize = 4;

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model {
            value: 0,
            version: 0,
            sender: true,
            rxs: vec![Some(Rx { seen: 0, busy: false })],
            task_rx: Vec::new(),
            tasks: Vec::new(),
            waiting: VecDeque::new(),
            sched: Sched::default(),
            next_value: 1,
            log: Vec::new(),
            result: None,
        })
        .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let tasks = state.tasks.len().max(1);
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> =
            vec![(2, (0..tasks).prop_map(Op::Cancel).boxed()), (4, Just(Op::Settle).boxed())];
        if state.sender {
            ops.push((4, Just(Op::Send(state.next_value)).boxed()));
            ops.push((2, any::<bool>().prop_map(Op::SendIfModified).boxed()));
            ops.push((1, Just(Op::DropSender).boxed()));
            if state.rxs.len() < MAX_RECEIVERS {
                ops.push((1, Just(Op::Subscribe).boxed()));
            }
        }
        let free = state.free_rxs();
        if !free.is_empty() {
            let pick = proptest::sample::select(free);
            ops.push((2, pick.clone().prop_map(Op::HasChanged).boxed()));
            ops.push((2, pick.clone().prop_map(Op::BorrowAndUpdate).boxed()));
            ops.push((1, pick.clone().prop_map(Op::DropReceiver).boxed()));
            if state.rxs.len() < MAX_RECEIVERS {
                ops.push((1, pick.clone().prop_map(Op::CloneRx).boxed()));
            }
            if state.tasks.len() < MAX_TASKS {
                ops.push((4, pick.prop_map(Op::SpawnChanged).boxed()));
            }
        }
        proptest::strategy::Union::new_weighted(ops).boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        let free = |i: usize| matches!(state.rxs.get(i), Some(Some(Rx { busy: false, .. })));
        match *op {
            Op::Send(_) | Op::SendIfModified(_) | Op::DropSender => state.sender,
            Op::Subscribe => state.sender && state.rxs.len() < MAX_RECEIVERS,
            Op::CloneRx(i) => free(i) && state.rxs.len() < MAX_RECEIVERS,
            Op::HasChanged(i) | Op::BorrowAndUpdate(i) | Op::DropReceiver(i) => free(i),
            Op::SpawnChanged(i) => free(i) && state.tasks.len() < MAX_TASKS,
            Op::Cancel(t) => t < state.tasks.len(),
            Op::Settle => true,
        }
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        state.log.clear();
        state.result = None;
        match *op {
            Op::Send(v) => {
                state.next_value += 1;
                state.result = Some(if state.live_rx() == 0 {
                    "no receivers".to_string()
                } else {
                    state.value = v;
                    state.changed();
                    "sent".to_string()
                });
            }
            Op::SendIfModified(modified) => {
                if modified {
                    state.value += 100;
                    state.changed();
                }
            }
            Op::Subscribe => {
                let seen = state.version;
                state.rxs.push(Some(Rx { seen, busy: false }));
            }
            Op::CloneRx(i) => {
                let seen = state.rxs[i].as_ref().unwrap().seen;
                state.rxs.push(Some(Rx { seen, busy: false }));
            }
            Op::DropReceiver(i) => state.rxs[i] = None,
            Op::DropSender => {
                state.sender = false;
                while let Some(t) = state.waiting.pop_front() {
                    state.tasks[t] = Task::Woken;
                    state.sched.wake(t);
                }
            }
            Op::HasChanged(i) => {
                let seen = state.rxs[i].as_ref().unwrap().seen;
                state.result =
                    Some(if !state.sender { "closed".to_string() } else { (seen != state.version).to_string() });
            }
            Op::BorrowAndUpdate(i) => {
                state.rxs[i].as_mut().unwrap().seen = state.version;
                state.result = Some(state.value.to_string());
            }
            Op::SpawnChanged(i) => {
                state.sched.spawn();
                state.task_rx.push(i);
                state.tasks.push(Task::NotRun);
                state.rxs[i].as_mut().unwrap().busy = true;
            }
            Op::Cancel(t) => state.sched.cancel(t),
            Op::Settle => state.settle(),
        }
        state
    }
}

struct Sut {
    harness: Harness,
    tx: Option<Sender<u32>>,
    rxs: Vec<Option<Rc<RefCell<Receiver<u32>>>>>,
}

impl StateMachineTest for Sut {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(_: &Model) -> Sut {
        let (tx, rx) = watch::channel(0);
        Sut { harness: Harness::new(), tx: Some(tx), rxs: vec![Some(Rc::new(RefCell::new(rx)))] }
    }

    // A task holds its receiver's `RefCell` across its one `changed()`; the model's preconditions keep every other
    // use of that receiver away meanwhile.
    #[allow(clippy::await_holding_refcell_ref)]
    fn apply(mut sut: Sut, model: &Model, op: Op) -> Sut {
        let mut result = None;
        let rx = |sut: &Sut, i: usize| sut.rxs[i].clone().expect("a live receiver");
        match op {
            Op::Send(v) => {
                result = Some(match sut.tx.as_ref().unwrap().send(v) {
                    Ok(()) => "sent".to_string(),
                    Err(e) => {
                        assert_eq!(e.0, v, "the value comes back");
                        "no receivers".to_string()
                    }
                });
            }
            Op::SendIfModified(modified) => {
                let did = sut.tx.as_ref().unwrap().send_if_modified(|v| {
                    if modified {
                        *v += 100;
                    }
                    modified
                });
                assert_eq!(did, modified);
            }
            Op::Subscribe => {
                let new = sut.tx.as_ref().unwrap().subscribe();
                sut.rxs.push(Some(Rc::new(RefCell::new(new))));
            }
            Op::CloneRx(i) => {
                let new = rx(&sut, i).borrow().clone();
                sut.rxs.push(Some(Rc::new(RefCell::new(new))));
            }
            Op::DropReceiver(i) => sut.rxs[i] = None,
            Op::DropSender => sut.tx = None,
            Op::HasChanged(i) => {
                result = Some(match rx(&sut, i).borrow().has_changed() {
                    Ok(changed) => changed.to_string(),
                    Err(RecvError::Closed) => "closed".to_string(),
                    Err(RecvError::Cancelled(_)) => unreachable!("not a wait"),
                });
            }
            Op::BorrowAndUpdate(i) => result = Some(rx(&sut, i).borrow_mut().borrow_and_update().to_string()),
            Op::SpawnChanged(i) => {
                let (rx, out, id) = (rx(&sut, i), sut.harness.log.clone(), sut.harness.tasks.len());
                sut.harness.spawn(async move {
                    let mut rx = rx.borrow_mut();
                    let outcome = match rx.changed().await {
                        Ok(()) => format!("changed {}", *rx.borrow()),
                        Err(RecvError::Closed) => "closed".to_string(),
                        Err(RecvError::Cancelled(_)) => "cancelled".to_string(),
                    };
                    log(&out, format!("{id} {outcome}"));
                });
            }
            Op::Cancel(t) => sut.harness.cancel(t),
            Op::Settle => sut.harness.settle(),
        }
        assert_eq!(sut.harness.take_log(), model.log, "each task's outcome, in order");
        assert_eq!(result, model.result, "send / has_changed / borrow_and_update");
        sut
    }
}

prop_state_machine! {
    #![proptest_config(sync_model::config("prop_sync_watch", 512))]

    #[test]
    fn watch_matches_reference(sequential 1..60 => Sut);
}
