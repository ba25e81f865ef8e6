//! State-machine test of the `broadcast` channel against a sequential reference model (issue 22), with cancellation
//! injected at every await: every receiver sees every value sent after it subscribed, in order; a receiver more than
//! `capacity` values behind is told how many it missed and goes on from the oldest value left; every receiver sees
//! `Closed` once the sender is gone and it has read everything; a cancelled `recv` takes nothing.
//!
//! The test owns the sender and up to four receivers (subscribed, resubscribed, dropped as the strategy says); a task
//! borrows one receiver for one `recv` (the test leaves a borrowed receiver alone until that task is done). The reference keeps the ring's positions and values, each receiver's next
//! position, the waiting tasks in queue order and each task's state; after every operation the test compares each
//! task's outcome, in order, and the results of `send` and `try_recv`.
//!
//! Caught mutant: `broadcast_lag_unreported`.

mod sync_model;

use corio_core::sync::broadcast::{self, error::RecvError, error::TryRecvError, Receiver, Sender};
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
    Subscribe,
    Resubscribe(usize),
    DropReceiver(usize),
    DropSender,
    TryRecv(usize),
    SpawnRecv(usize),
    Cancel(usize),
    Settle,
}

/// A receiver the test holds: its next position, and the task using it, if any.
#[derive(Clone, Debug)]
struct Rx {
    next: u64,
    busy: Option<usize>,
}

#[derive(Clone, Debug)]
struct Model {
    capacity: usize,
    ring: VecDeque<u32>,
    head: u64,
    tail: u64,
    sender: bool,
    rxs: Vec<Option<Rx>>,
    /// For each task: the receiver it uses.
    task_rx: Vec<usize>,
    tasks: Vec<Task>,
    waiting: VecDeque<usize>,
    sched: Sched,
    next_value: u32,
    log: Vec<String>,
    result: Option<String>,
}

/// What a receive gives, as the log and results spell it.
fn recv_text(result: Result<u32, &'static str>) -> String {
    match result {
        Ok(v) => format!("got {v}"),
        Err(e) => e.to_string(),
    }
}

impl Model {
    fn live_rx(&self) -> usize {
        self.rxs.iter().flatten().count()
    }

    /// The next receive of receiver `i`: `Err("empty")` if it would wait.
    fn recv(&mut self, i: usize) -> Result<u32, String> {
        let (head, tail, sender) = (self.head, self.tail, self.sender);
        let rx = self.rxs[i].as_mut().expect("a live receiver");
        if rx.next < head {
            let missed = head - rx.next;
            rx.next = head;
            return Err(format!("lagged {missed}"));
        }
        if rx.next < tail {
            let value = self.ring[(rx.next - head) as usize];
            rx.next += 1;
            return Ok(value);
        }
        Err(if sender { "empty" } else { "closed" }.to_string())
    }

    fn wake_all(&mut self) {
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
                (Task::NotRun | Task::Woken, false) => match self.recv(i) {
                    Err(e) if e == "empty" => {
                        self.waiting.push_back(t);
                        self.tasks[t] = Task::Waiting;
                        continue;
                    }
                    Ok(v) => Some(format!("got {v}")),
                    Err(e) => Some(e),
                },
                (state, cancelled) => unreachable!("task {t} ran in state {state:?} (cancel: {cancelled})"),
            };
            if let Some(outcome) = outcome {
                self.log.push(format!("{t} {outcome}"));
            }
            self.tasks[t] = Task::Done;
            self.sched.finish(t);
            if let Some(rx) = self.rxs[i].as_mut() {
                rx.busy = None;
            }
        }
        self.sched.stop();
    }

    fn free_rxs(&self) -> Vec<usize> {
        (0..self.rxs.len()).filter(|&i| matches!(self.rxs[i], Some(Rx { busy: None, .. }))).collect()
    }
}

const MAX_TASKS: usize = 10;
const MAX_RECEIVERS: usize = 4;

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        (1..4usize)
            .prop_map(|capacity| Model {
                capacity,
                ring: VecDeque::new(),
                head: 0,
                tail: 0,
                sender: true,
                rxs: vec![Some(Rx { next: 0, busy: None })],
                task_rx: Vec::new(),
                tasks: Vec::new(),
                waiting: VecDeque::new(),
                sched: Sched::default(),
                next_value: 0,
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
            ops.push((5, Just(Op::Send(state.next_value)).boxed()));
            ops.push((1, Just(Op::DropSender).boxed()));
            if state.rxs.len() < MAX_RECEIVERS {
                ops.push((1, Just(Op::Subscribe).boxed()));
            }
        }
        let free = state.free_rxs();
        if !free.is_empty() && state.rxs.len() < MAX_RECEIVERS {
            ops.push((1, proptest::sample::select(free.clone()).prop_map(Op::Resubscribe).boxed()));
        }
        if !free.is_empty() {
            ops.push((2, proptest::sample::select(free.clone()).prop_map(Op::TryRecv).boxed()));
            ops.push((1, proptest::sample::select(free.clone()).prop_map(Op::DropReceiver).boxed()));
            if state.tasks.len() < MAX_TASKS {
                ops.push((4, proptest::sample::select(free).prop_map(Op::SpawnRecv).boxed()));
            }
        }
        proptest::strategy::Union::new_weighted(ops).boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        let free = |i: usize| matches!(state.rxs.get(i), Some(Some(Rx { busy: None, .. })));
        match *op {
            Op::Send(_) | Op::DropSender => state.sender,
            Op::Subscribe => state.sender && state.rxs.len() < MAX_RECEIVERS,
            Op::Resubscribe(i) => free(i) && state.rxs.len() < MAX_RECEIVERS,
            Op::TryRecv(i) | Op::DropReceiver(i) => free(i),
            Op::SpawnRecv(i) => free(i) && state.tasks.len() < MAX_TASKS,
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
                let receivers = state.live_rx();
                state.result = Some(if receivers == 0 {
                    "no receivers".to_string()
                } else {
                    if state.ring.len() == state.capacity {
                        state.ring.pop_front();
                        state.head += 1;
                    }
                    state.ring.push_back(v);
                    state.tail += 1;
                    state.wake_all();
                    format!("sent to {receivers}")
                });
            }
            Op::Subscribe | Op::Resubscribe(_) => {
                let next = state.tail;
                state.rxs.push(Some(Rx { next, busy: None }));
            }
            Op::DropReceiver(i) => state.rxs[i] = None,
            Op::DropSender => {
                state.sender = false;
                state.wake_all();
            }
            Op::TryRecv(i) => state.result = Some(recv_text_owned(state.recv(i))),
            Op::SpawnRecv(i) => {
                let t = state.sched.spawn();
                state.task_rx.push(i);
                state.tasks.push(Task::NotRun);
                state.rxs[i].as_mut().unwrap().busy = Some(t);
            }
            Op::Cancel(t) => state.sched.cancel(t),
            Op::Settle => state.settle(),
        }
        state
    }
}

fn recv_text_owned(result: Result<u32, String>) -> String {
    match result {
        Ok(v) => recv_text(Ok(v)),
        Err(e) => e,
    }
}

struct Sut {
    harness: Harness,
    tx: Option<Sender<u32>>,
    rxs: Vec<Option<Rc<RefCell<Receiver<u32>>>>>,
}

fn try_text(result: Result<u32, TryRecvError>) -> String {
    match result {
        Ok(v) => format!("got {v}"),
        Err(TryRecvError::Empty) => "empty".to_string(),
        Err(TryRecvError::Closed) => "closed".to_string(),
        Err(TryRecvError::Lagged(n)) => format!("lagged {n}"),
    }
}

impl StateMachineTest for Sut {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(model: &Model) -> Sut {
        let (tx, rx) = broadcast::channel(model.capacity).unwrap();
        Sut { harness: Harness::new(), tx: Some(tx), rxs: vec![Some(Rc::new(RefCell::new(rx)))] }
    }

    // A task holds its receiver's `RefCell` across its one `recv`; the model's preconditions keep every other use of
    // that receiver away meanwhile.
    #[allow(clippy::await_holding_refcell_ref)]
    fn apply(mut sut: Sut, model: &Model, op: Op) -> Sut {
        let mut result = None;
        match op {
            Op::Send(v) => {
                let sent = sut.tx.as_ref().expect("the sender is alive").send(v);
                result = Some(match sent {
                    Ok(n) => format!("sent to {n}"),
                    Err(e) => {
                        assert_eq!(e.0, v, "the value comes back");
                        "no receivers".to_string()
                    }
                });
            }
            Op::Subscribe => {
                let rx = sut.tx.as_ref().expect("the sender is alive").subscribe();
                sut.rxs.push(Some(Rc::new(RefCell::new(rx))));
            }
            Op::Resubscribe(i) => {
                let rx = sut.rxs[i].as_ref().expect("a live receiver").borrow().resubscribe();
                sut.rxs.push(Some(Rc::new(RefCell::new(rx))));
            }
            Op::DropReceiver(i) => sut.rxs[i] = None,
            Op::DropSender => sut.tx = None,
            Op::TryRecv(i) => result = Some(try_text(sut.rxs[i].as_ref().unwrap().borrow_mut().try_recv())),
            Op::SpawnRecv(i) => {
                let (rx, out, id) = (sut.rxs[i].clone().unwrap(), sut.harness.log.clone(), sut.harness.tasks.len());
                sut.harness.spawn(async move {
                    let outcome = match rx.borrow_mut().recv().await {
                        Ok(v) => format!("got {v}"),
                        Err(RecvError::Lagged(n)) => format!("lagged {n}"),
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
        assert_eq!(result, model.result, "send / try_recv");
        sut
    }
}

prop_state_machine! {
    #![proptest_config(sync_model::config("prop_sync_broadcast", 512))]

    #[test]
    fn broadcast_matches_reference(sequential 1..60 => Sut);
}
