//! State-machine test of `Queue`, `LifoQueue` and `PriorityQueue` against a sequential reference model (rules S6,
//! S7), with cancellation injected at every await.
//!
//! The reference keeps the items, the items promised to woken getters and the slots promised to woken putters, the
//! FIFOs of waiting getters, putters and joiners, the unfinished count and the shutdown flag, and runs tasks in the
//! loop's order (`sync_model::Sched`). After every operation the test compares what the real queue on a real loop
//! did: each task's outcome (got an item, put, joined, shut out, cancelled), in order; the results of `put_nowait`,
//! `get_nowait` and `task_done`; `qsize`, `empty`, `full`, `is_shut_down`; and the bookkeeping through `Debug` (waiting getters,
//! putters and joiners, the unfinished count).
//!
//! Caught mutant: `queue_getter_keeps_promise` (also by loom), and `waiters_lifo`.

mod sync_model;

use corio_core::sync::queue::{Fifo, Lifo, Priority, QueueOrder};
use corio_core::sync::{GetError, PutError, Queue};
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::collections::VecDeque;
use std::rc::Rc;
use sync_model::{log, Harness, Sched};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Order {
    Fifo,
    Lifo,
    Priority,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Get,
    Put(u32),
    Join,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Task {
    NotRun,
    Waiting,
    /// Woken: `true` with a promise (an item, a slot), `false` by shutdown (joiners: always `true`).
    Granted(bool),
    Done,
}

#[derive(Clone, Debug)]
enum Op {
    SpawnGet,
    SpawnPut(u32),
    SpawnJoin,
    PutNowait(u32),
    GetNowait,
    TaskDone,
    Shutdown(bool),
    Cancel(usize),
    Settle,
}

#[derive(Clone, Debug)]
struct Model {
    order: Order,
    maxsize: usize,
    items: Vec<u32>,
    promised_items: usize,
    promised_slots: usize,
    getters: VecDeque<usize>,
    putters: VecDeque<usize>,
    joiners: VecDeque<usize>,
    unfinished: usize,
    shut_down: bool,
    roles: Vec<Role>,
    tasks: Vec<Task>,
    sched: Sched,
    next_value: u32,
    log: Vec<String>,
    result: Option<String>,
}

impl Model {
    fn free_slot(&self) -> bool {
        self.maxsize == 0 || self.items.len() + self.promised_slots < self.maxsize
    }

    fn grant(&mut self, task: usize, promise: bool) {
        self.tasks[task] = Task::Granted(promise);
        self.sched.wake(task);
    }

    fn push_item(&mut self, value: u32) {
        self.items.push(value);
        self.unfinished += 1;
        if let Some(getter) = self.getters.pop_front() {
            self.promised_items += 1;
            self.grant(getter, true);
        }
    }

    fn pop_item(&mut self) -> Option<u32> {
        let item = match self.order {
            _ if self.items.is_empty() => None,
            Order::Fifo => Some(self.items.remove(0)),
            Order::Lifo => self.items.pop(),
            Order::Priority => {
                let min = (0..self.items.len()).min_by_key(|&i| self.items[i]).expect("not empty");
                Some(self.items.remove(min))
            }
        };
        self.grant_slot();
        item
    }

    fn grant_slot(&mut self) {
        if !self.shut_down && self.free_slot() {
            if let Some(putter) = self.putters.pop_front() {
                self.promised_slots += 1;
                self.grant(putter, true);
            }
        }
    }

    fn grant_item(&mut self) {
        if self.items.len() > self.promised_items {
            if let Some(getter) = self.getters.pop_front() {
                self.promised_items += 1;
                self.grant(getter, true);
            }
        }
    }

    fn release_joiners(&mut self) {
        while let Some(joiner) = self.joiners.pop_front() {
            self.grant(joiner, true);
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
        let state = self.tasks[t];
        if state == Task::NotRun && cancelled {
            return self.finish(t, None); // C4: never runs
        }
        let outcome = match (self.roles[t], state, cancelled) {
            (Role::Get, Task::Waiting, true) => {
                self.getters.retain(|&g| g != t);
                "get cancelled".to_string()
            }
            (Role::Get, Task::Granted(promise), true) => {
                if promise {
                    self.promised_items = self.promised_items.saturating_sub(1);
                    self.grant_item(); // S7: pass the item on
                }
                "get cancelled".to_string()
            }
            (Role::Get, Task::NotRun, false) => {
                if self.items.len() > self.promised_items {
                    format!("got {}", self.pop_item().expect("an unpromised item"))
                } else if self.shut_down {
                    "get shutdown".to_string()
                } else {
                    self.getters.push_back(t);
                    self.tasks[t] = Task::Waiting;
                    return;
                }
            }
            (Role::Get, Task::Granted(true), false) => {
                self.promised_items = self.promised_items.saturating_sub(1);
                match self.pop_item() {
                    Some(item) => format!("got {item}"),
                    None => "get shutdown".to_string(), // an immediate shutdown took it
                }
            }
            (Role::Get, Task::Granted(false), false) => "get shutdown".to_string(),
            (Role::Put(_), Task::Waiting, true) => {
                self.putters.retain(|&p| p != t);
                "put cancelled".to_string()
            }
            (Role::Put(_), Task::Granted(promise), true) => {
                if promise {
                    self.promised_slots = self.promised_slots.saturating_sub(1);
                    self.grant_slot(); // S7: pass the slot on
                }
                "put cancelled".to_string()
            }
            (Role::Put(value), Task::NotRun, false) => {
                if self.shut_down {
                    "put shutdown".to_string()
                } else if !self.free_slot() || !self.putters.is_empty() {
                    self.putters.push_back(t);
                    self.tasks[t] = Task::Waiting;
                    return;
                } else {
                    self.push_item(value);
                    "put".to_string()
                }
            }
            (Role::Put(value), Task::Granted(promise), false) => {
                if promise {
                    self.promised_slots = self.promised_slots.saturating_sub(1);
                }
                if self.shut_down || !promise {
                    "put shutdown".to_string()
                } else {
                    self.push_item(value);
                    "put".to_string()
                }
            }
            (Role::Join, Task::Waiting, true) => {
                self.joiners.retain(|&j| j != t);
                "join cancelled".to_string()
            }
            (Role::Join, Task::Granted(_), true) => "join cancelled".to_string(),
            (Role::Join, Task::NotRun, false) if self.unfinished == 0 => "joined".to_string(),
            (Role::Join, Task::NotRun, false) => {
                self.joiners.push_back(t);
                self.tasks[t] = Task::Waiting;
                return;
            }
            (Role::Join, Task::Granted(_), false) => "joined".to_string(),
            (role, state, cancelled) => unreachable!("{role:?} task {t} ran in state {state:?} (cancel: {cancelled})"),
        };
        self.finish(t, Some(outcome));
    }

    fn finish(&mut self, t: usize, outcome: Option<String>) {
        if let Some(outcome) = outcome {
            self.log.push(format!("{t} {outcome}"));
        }
        self.tasks[t] = Task::Done;
        self.sched.finish(t);
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
        (prop_oneof![Just(Order::Fifo), Just(Order::Lifo), Just(Order::Priority)], 0..3usize)
            .prop_map(|(order, maxsize)| Model {
                order,
                maxsize,
                items: Vec::new(),
                promised_items: 0,
                promised_slots: 0,
                getters: VecDeque::new(),
                putters: VecDeque::new(),
                joiners: VecDeque::new(),
                unfinished: 0,
                shut_down: false,
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
        // Values are distinct but not monotonic, so priority order differs from arrival order.
        let value = (state.next_value * 7) % 11 + 11 * (state.next_value / 11);
        // Only operations whose preconditions hold, so that long runs do not stall on rejects.
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
            (2, Just(Op::PutNowait(value)).boxed()),
            (2, Just(Op::GetNowait).boxed()),
            (2, Just(Op::TaskDone).boxed()),
            (3, (0..tasks).prop_map(Op::Cancel).boxed()),
            (4, Just(Op::Settle).boxed()),
        ];
        if state.tasks.len() < MAX_TASKS {
            ops.push((3, Just(Op::SpawnGet).boxed()));
            ops.push((3, Just(Op::SpawnPut(value)).boxed()));
            ops.push((1, Just(Op::SpawnJoin).boxed()));
        }
        if !state.shut_down {
            ops.push((1, any::<bool>().prop_map(Op::Shutdown).boxed()));
        }
        proptest::strategy::Union::new_weighted(ops).boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        match op {
            Op::SpawnGet | Op::SpawnPut(_) | Op::SpawnJoin => state.tasks.len() < MAX_TASKS,
            Op::Cancel(t) => *t < state.tasks.len(),
            Op::Shutdown(_) => !state.shut_down,
            _ => true,
        }
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        state.log.clear();
        state.result = None;
        match *op {
            Op::SpawnGet => state.spawn(Role::Get),
            Op::SpawnPut(value) => {
                state.next_value += 1;
                state.spawn(Role::Put(value));
            }
            Op::SpawnJoin => state.spawn(Role::Join),
            Op::PutNowait(value) => {
                state.next_value += 1;
                let result = if state.shut_down {
                    "shutdown"
                } else if !state.free_slot() || !state.putters.is_empty() {
                    "full"
                } else {
                    state.push_item(value);
                    "ok"
                };
                state.result = Some(result.to_string());
            }
            Op::GetNowait => {
                let result = if state.items.len() > state.promised_items {
                    state.pop_item().expect("an unpromised item").to_string()
                } else if state.shut_down {
                    "shutdown".to_string()
                } else {
                    "empty".to_string()
                };
                state.result = Some(result);
            }
            Op::TaskDone => {
                let result = if state.unfinished == 0 {
                    "too many"
                } else {
                    state.unfinished -= 1;
                    if state.unfinished == 0 {
                        state.release_joiners();
                    }
                    "ok"
                };
                state.result = Some(result.to_string());
            }
            Op::Shutdown(immediate) => {
                state.shut_down = true;
                if immediate {
                    let dropped = std::mem::take(&mut state.items).len();
                    state.unfinished = state.unfinished.saturating_sub(dropped);
                    state.promised_items = 0;
                }
                state.promised_slots = 0;
                while let Some(getter) = state.getters.pop_front() {
                    state.grant(getter, false);
                }
                while let Some(putter) = state.putters.pop_front() {
                    state.grant(putter, false);
                }
                if state.unfinished == 0 {
                    state.release_joiners();
                }
            }
            Op::Cancel(t) => state.sched.cancel(t),
            Op::Settle => state.settle(),
        }
        state
    }
}

/// The queue under test, in the model's order.
enum AnyQueue {
    Fifo(Queue<u32, Fifo<u32>>),
    Lifo(Queue<u32, Lifo<u32>>),
    Priority(Queue<u32, Priority<u32>>),
}

macro_rules! each {
    ($queue:expr, $q:ident => $body:expr) => {
        match $queue {
            AnyQueue::Fifo($q) => $body,
            AnyQueue::Lifo($q) => $body,
            AnyQueue::Priority($q) => $body,
        }
    };
}

async fn get_outcome<O: QueueOrder<u32>>(queue: &Queue<u32, O>) -> String {
    match queue.get().await {
        Ok(item) => format!("got {item}"),
        Err(GetError::ShutDown) => "get shutdown".into(),
        Err(GetError::Cancelled(_)) => "get cancelled".into(),
        Err(GetError::Empty) => unreachable!("a waiting get never reports empty"),
    }
}

async fn put_outcome<O: QueueOrder<u32>>(queue: &Queue<u32, O>, value: u32) -> String {
    match queue.put(value).await {
        Ok(()) => "put".into(),
        Err(PutError::ShutDown(v)) => {
            assert_eq!(v, value, "the item comes back");
            "put shutdown".into()
        }
        Err(PutError::Cancelled(_, v)) => {
            assert_eq!(v, value, "the item comes back");
            "put cancelled".into()
        }
        Err(PutError::Full(_)) => unreachable!("a waiting put never reports full"),
    }
}

struct Sut {
    harness: Harness,
    queue: Rc<AnyQueue>,
}

impl Sut {
    fn spawn(&mut self, role: Role) {
        let (queue, out, id) = (self.queue.clone(), self.harness.log.clone(), self.harness.tasks.len());
        self.harness.spawn(async move {
            let outcome = match role {
                Role::Get => each!(&*queue, q => get_outcome(q).await),
                Role::Put(value) => each!(&*queue, q => put_outcome(q, value).await),
                Role::Join => match each!(&*queue, q => q.join().await) {
                    Ok(()) => "joined".to_string(),
                    Err(_) => "join cancelled".to_string(),
                },
            };
            log(&out, format!("{id} {outcome}"));
        });
    }
}

impl StateMachineTest for Sut {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(model: &Model) -> Sut {
        let queue = match model.order {
            Order::Fifo => AnyQueue::Fifo(Queue::with_order(model.maxsize)),
            Order::Lifo => AnyQueue::Lifo(Queue::with_order(model.maxsize)),
            Order::Priority => AnyQueue::Priority(Queue::with_order(model.maxsize)),
        };
        Sut { harness: Harness::new(), queue: Rc::new(queue) }
    }

    fn apply(mut sut: Sut, model: &Model, op: Op) -> Sut {
        let queue = sut.queue.clone();
        let result = match op {
            Op::SpawnGet => {
                sut.spawn(Role::Get);
                None
            }
            Op::SpawnPut(value) => {
                sut.spawn(Role::Put(value));
                None
            }
            Op::SpawnJoin => {
                sut.spawn(Role::Join);
                None
            }
            Op::PutNowait(value) => Some(match each!(&*queue, q => q.put_nowait(value)) {
                Ok(()) => "ok".to_string(),
                Err(PutError::Full(_)) => "full".to_string(),
                Err(PutError::ShutDown(_)) => "shutdown".to_string(),
                Err(other) => panic!("put_nowait: {other:?}"),
            }),
            Op::GetNowait => Some(match each!(&*queue, q => q.get_nowait()) {
                Ok(item) => item.to_string(),
                Err(GetError::Empty) => "empty".to_string(),
                Err(GetError::ShutDown) => "shutdown".to_string(),
                Err(other) => panic!("get_nowait: {other:?}"),
            }),
            Op::TaskDone => {
                Some(if each!(&*queue, q => q.task_done()).is_ok() { "ok" } else { "too many" }.to_string())
            }
            Op::Shutdown(immediate) => {
                each!(&*queue, q => q.shutdown(immediate));
                None
            }
            Op::Cancel(t) => {
                sut.harness.cancel(t);
                None
            }
            Op::Settle => {
                sut.harness.settle();
                None
            }
        };
        assert_eq!(sut.harness.take_log(), model.log, "each task's outcome, in order");
        assert_eq!(result, model.result, "put_nowait / get_nowait / task_done");
        assert_eq!(each!(&*queue, q => q.qsize()), model.items.len(), "qsize");
        let full = model.maxsize > 0 && model.items.len() >= model.maxsize;
        assert_eq!(
            each!(&*queue, q => (q.empty(), q.full(), q.is_shut_down())),
            (model.items.is_empty(), full, model.shut_down)
        );
        let bookkeeping = format!(
            "Queue {{ maxsize: {}, qsize: {}, getters: {}, putters: {}, joiners: {}, unfinished: {}, shut_down: {} }}",
            model.maxsize,
            model.items.len(),
            model.getters.len(),
            model.putters.len(),
            model.joiners.len(),
            model.unfinished,
            model.shut_down
        );
        assert_eq!(each!(&*queue, q => format!("{q:?}")), bookkeeping, "waiting getters, putters, joiners; unfinished");
        sut
    }
}

prop_state_machine! {
    #![proptest_config(sync_model::config("prop_sync_queue", 1024))]

    #[test]
    fn queue_matches_reference(sequential 1..60 => Sut);
}
