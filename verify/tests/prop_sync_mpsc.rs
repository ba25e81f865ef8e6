//! State-machine test of the bounded `mpsc` channel against a sequential reference model (S7 for channels), with
//! cancellation injected at every await.
//!
//! Sending tasks each own a clone of the sender; one receiving task at a time awaits `recv`; the test also sends
//! and receives without waiting, closes the receiver and drops its own sender. The reference keeps the buffer, the
//! slots promised to woken senders, the FIFO of waiting senders, the number of live senders, whether the receiver is
//! closed, and whose waker the channel holds for the receiver. After every operation the test compares each task's
//! outcome, in order, and the results of `try_send` and `try_recv`.
//!
//! Caught mutant: `mpsc_sender_keeps_slot`.

mod sync_model;

use corio_core::sync::mpsc::{self, Receiver, SendError, Sender, TryRecvError, TrySendError};
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use sync_model::{log, Harness, Sched};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Send(u32),
    Recv,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Task {
    NotRun,
    Waiting,
    /// A sender woken with a promised slot (`true`) or by the close (`false`).
    Granted(bool),
    Done,
}

#[derive(Clone, Debug)]
enum Op {
    SpawnSend(u32),
    SpawnRecv,
    TrySend(u32),
    TryRecv,
    Close,
    DropSender,
    Cancel(usize),
    Settle,
}

#[derive(Clone, Debug)]
struct Model {
    capacity: usize,
    items: VecDeque<u32>,
    promised_slots: usize,
    senders: VecDeque<usize>,
    base_sender: bool,
    rx_closed: bool,
    /// The receiving task whose waker the channel holds.
    rx_waker: Option<usize>,
    roles: Vec<Role>,
    tasks: Vec<Task>,
    sched: Sched,
    next_value: u32,
    log: Vec<String>,
    result: Option<String>,
}

impl Model {
    fn live_senders(&self) -> usize {
        let tasks = (0..self.tasks.len())
            .filter(|&t| matches!(self.roles[t], Role::Send(_)) && self.tasks[t] != Task::Done)
            .count();
        tasks + usize::from(self.base_sender)
    }

    fn recv_alive(&self) -> bool {
        (0..self.tasks.len()).any(|t| self.roles[t] == Role::Recv && self.tasks[t] != Task::Done)
    }

    fn free_slot(&self) -> bool {
        self.items.len() + self.promised_slots < self.capacity
    }

    fn wake_receiver(&mut self) {
        if let Some(rx) = self.rx_waker.take() {
            if !self.sched.is_done(rx) {
                self.sched.wake(rx);
            }
        }
    }

    fn push(&mut self, value: u32) {
        self.items.push_back(value);
        self.wake_receiver();
    }

    fn pop(&mut self) -> Option<u32> {
        let value = self.items.pop_front()?;
        self.grant_slot();
        Some(value)
    }

    fn grant_slot(&mut self) {
        if !self.rx_closed && self.free_slot() {
            if let Some(sender) = self.senders.pop_front() {
                self.promised_slots += 1;
                self.tasks[sender] = Task::Granted(true);
                self.sched.wake(sender);
            }
        }
    }

    /// A sender goes away; the last one ends the channel for the receiver.
    fn sender_dropped(&mut self) {
        if self.live_senders() == 0 {
            self.wake_receiver();
        }
    }

    fn settle(&mut self) {
        self.sched.start();
        while let Some((t, cancelled)) = self.sched.next() {
            self.run(t, cancelled);
        }
        self.sched.stop();
    }

    fn run(&mut self, t: usize, cancelled: bool) {
        let outcome = match (self.roles[t], self.tasks[t], cancelled) {
            (_, Task::NotRun, true) => None, // C4: never runs
            (Role::Send(_), Task::Waiting, true) => {
                self.senders.retain(|&s| s != t);
                Some("send cancelled".to_string())
            }
            (Role::Send(_), Task::Granted(promise), true) => {
                if promise {
                    self.promised_slots = self.promised_slots.saturating_sub(1); // 0 after a close, as in the channel
                    self.grant_slot(); // S7: the slot is passed on
                }
                Some("send cancelled".to_string())
            }
            (Role::Send(value), Task::NotRun, false) => {
                if self.rx_closed {
                    Some("send closed".to_string())
                } else if !self.free_slot() || !self.senders.is_empty() {
                    self.senders.push_back(t);
                    self.tasks[t] = Task::Waiting;
                    return;
                } else {
                    self.push(value);
                    Some("sent".to_string())
                }
            }
            (Role::Send(value), Task::Granted(promise), false) => {
                if promise {
                    self.promised_slots = self.promised_slots.saturating_sub(1);
                    // 0 after a close, as in the channel
                }
                if self.rx_closed || !promise {
                    Some("send closed".to_string())
                } else {
                    self.push(value);
                    Some("sent".to_string())
                }
            }
            (Role::Recv, Task::Waiting, true) => Some("recv cancelled".to_string()),
            (Role::Recv, Task::NotRun | Task::Waiting, false) => match self.pop() {
                Some(value) => Some(format!("received {value}")),
                None if self.live_senders() == 0 || self.rx_closed => Some("received none".to_string()),
                None => {
                    self.rx_waker = Some(t);
                    self.tasks[t] = Task::Waiting;
                    return;
                }
            },
            (role, state, cancelled) => unreachable!("{role:?} task {t} ran in state {state:?} (cancel: {cancelled})"),
        };
        if let Some(outcome) = outcome {
            self.log.push(format!("{t} {outcome}"));
        }
        self.tasks[t] = Task::Done;
        self.sched.finish(t);
        if matches!(self.roles[t], Role::Send(_)) {
            self.sender_dropped(); // its clone of the sender goes with its future
        }
    }

    fn spawn(&mut self, role: Role) {
        self.sched.spawn();
        self.roles.push(role);
        self.tasks.push(Task::NotRun);
    }
}

/// Tasks per case.
const MAX_TASKS: usize = 10;

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        (1..4usize)
            .prop_map(|capacity| Model {
                capacity,
                items: VecDeque::new(),
                promised_slots: 0,
                senders: VecDeque::new(),
                base_sender: true,
                rx_closed: false,
                rx_waker: None,
                roles: Vec::new(),
                tasks: Vec::new(),
                sched: Sched::default(),
                next_value: 0,
                log: Vec::new(),
                result: None,
            })
            .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let tasks = state.tasks.len().max(1);
        let value = state.next_value;
        // Only operations whose preconditions hold, so that long runs do not stall on rejects.
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> =
            vec![(3, (0..tasks).prop_map(Op::Cancel).boxed()), (4, Just(Op::Settle).boxed())];
        if state.tasks.len() < MAX_TASKS {
            if state.base_sender {
                ops.push((4, Just(Op::SpawnSend(value)).boxed()));
            }
            if !state.recv_alive() {
                ops.push((3, Just(Op::SpawnRecv).boxed()));
            }
        }
        if state.base_sender {
            ops.push((2, Just(Op::TrySend(value)).boxed()));
            ops.push((1, Just(Op::DropSender).boxed()));
        }
        if !state.recv_alive() {
            ops.push((2, Just(Op::TryRecv).boxed()));
            if !state.rx_closed {
                ops.push((1, Just(Op::Close).boxed()));
            }
        }
        proptest::strategy::Union::new_weighted(ops).boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        match op {
            Op::SpawnSend(_) => state.tasks.len() < MAX_TASKS && state.base_sender,
            Op::SpawnRecv => state.tasks.len() < MAX_TASKS && !state.recv_alive(),
            Op::TrySend(_) | Op::DropSender => state.base_sender,
            Op::TryRecv => !state.recv_alive(),
            Op::Close => !state.recv_alive() && !state.rx_closed,
            Op::Cancel(t) => *t < state.tasks.len(),
            Op::Settle => true,
        }
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        state.log.clear();
        state.result = None;
        match *op {
            Op::SpawnSend(value) => {
                state.next_value += 1;
                state.spawn(Role::Send(value));
            }
            Op::SpawnRecv => state.spawn(Role::Recv),
            Op::TrySend(value) => {
                state.next_value += 1;
                let result = if state.rx_closed {
                    "closed"
                } else if !state.free_slot() || !state.senders.is_empty() {
                    "full"
                } else {
                    state.push(value);
                    "ok"
                };
                state.result = Some(result.to_string());
            }
            Op::TryRecv => {
                let result = match state.pop() {
                    Some(value) => value.to_string(),
                    None if state.live_senders() == 0 || state.rx_closed => "closed".to_string(),
                    None => "empty".to_string(),
                };
                state.result = Some(result);
            }
            Op::Close => {
                state.rx_closed = true;
                state.promised_slots = 0;
                while let Some(sender) = state.senders.pop_front() {
                    state.tasks[sender] = Task::Granted(false);
                    state.sched.wake(sender);
                }
            }
            Op::DropSender => {
                state.base_sender = false;
                state.sender_dropped();
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
    rx: Rc<RefCell<Receiver<u32>>>,
}

impl StateMachineTest for Sut {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(model: &Model) -> Sut {
        let (tx, rx) = mpsc::channel(model.capacity).unwrap();
        Sut { harness: Harness::new(), tx: Some(tx), rx: Rc::new(RefCell::new(rx)) }
    }

    // One receiving task at a time holds the receiver across its `recv` (the model's preconditions keep every other
    // use of it away meanwhile).
    #[allow(clippy::await_holding_refcell_ref)]
    fn apply(mut sut: Sut, model: &Model, op: Op) -> Sut {
        let (out, id) = (sut.harness.log.clone(), sut.harness.tasks.len());
        let mut result = None;
        match op {
            Op::SpawnSend(value) => {
                let tx = sut.tx.clone().expect("the test still has its sender");
                sut.harness.spawn(async move {
                    let outcome = match tx.send(value).await {
                        Ok(()) => "sent",
                        Err(SendError::Closed(v)) => {
                            assert_eq!(v, value, "the value comes back");
                            "send closed"
                        }
                        Err(SendError::Cancelled(_, v)) => {
                            assert_eq!(v, value, "the value comes back");
                            "send cancelled"
                        }
                    };
                    log(&out, format!("{id} {outcome}"));
                });
            }
            Op::SpawnRecv => {
                let rx = sut.rx.clone();
                sut.harness.spawn(async move {
                    let outcome = match rx.borrow_mut().recv().await {
                        Ok(Some(value)) => format!("received {value}"),
                        Ok(None) => "received none".to_string(),
                        Err(_) => "recv cancelled".to_string(),
                    };
                    log(&out, format!("{id} {outcome}"));
                });
            }
            Op::TrySend(value) => {
                let tx = sut.tx.as_ref().expect("the test still has its sender");
                result = Some(
                    match tx.try_send(value) {
                        Ok(()) => "ok",
                        Err(TrySendError::Full(_)) => "full",
                        Err(TrySendError::Closed(_)) => "closed",
                    }
                    .to_string(),
                );
            }
            Op::TryRecv => {
                result = Some(match sut.rx.borrow_mut().try_recv() {
                    Ok(value) => value.to_string(),
                    Err(TryRecvError::Empty) => "empty".to_string(),
                    Err(TryRecvError::Closed) => "closed".to_string(),
                });
            }
            Op::Close => sut.rx.borrow_mut().close(),
            Op::DropSender => sut.tx = None,
            Op::Cancel(t) => sut.harness.cancel(t),
            Op::Settle => sut.harness.settle(),
        }
        assert_eq!(sut.harness.take_log(), model.log, "each task's outcome, in order");
        assert_eq!(result, model.result, "try_send / try_recv");
        sut
    }
}

prop_state_machine! {
    #![proptest_config(sync_model::config("prop_sync_mpsc", 1024))]

    #[test]
    fn mpsc_matches_reference(sequential 1..60 => Sut);
}
