//! State-machine test of `RwLock<T>` against a sequential reference model (issue 22), with cancellation injected at
//! every await: FIFO grants (the readers ahead of the first waiting writer together, up to `max_readers`; the writer
//! once no reader holds), a waiting writer blocking new readers, a waiter cancelled while queued leaving no trace (a
//! writer's leaving letting the readers behind it in), a waiter cancelled after it was granted releasing what it got.
//!
//! Each task takes a read or write lock, logs it, then holds it until the test releases it (an `Event`, a
//! checkpoint: a cancel there drops the guard too). The test also tries `try_read`/`try_write`. The reference keeps
//! the holders, the FIFO of waiters and each task's state; after every operation the test compares each task's
//! outcome, in order, and the `try_*` results.
//!
//! Caught mutant: `rwlock_writer_leave_no_regrant`.

mod sync_model;

use corio_core::sync::{Event, RwLock};
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::collections::VecDeque;
use std::rc::Rc;
use sync_model::{log, Harness, Sched};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Access {
    Read,
    Write,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Task {
    NotRun,
    Waiting,
    /// Handed the lock, not resumed yet.
    Granted,
    /// Resumed holding the lock, waiting for the test's release.
    Holding {
        released: bool,
    },
    Done,
}

#[derive(Clone, Debug)]
enum Op {
    Spawn(Access),
    Release(usize),
    TryRead,
    TryWrite,
    Cancel(usize),
    Settle,
}

#[derive(Clone, Debug)]
struct Model {
    max_readers: usize,
    readers: usize,
    writer: bool,
    queue: VecDeque<usize>,
    access: Vec<Access>,
    tasks: Vec<Task>,
    sched: Sched,
    log: Vec<String>,
    result: Option<&'static str>,
}

impl Model {
    /// Whether someone not queued can take `access` now.
    fn free_for(&self, access: Access) -> bool {
        self.queue.is_empty()
            && !self.writer
            && match access {
                Access::Read => self.readers < self.max_readers,
                Access::Write => self.readers == 0,
            }
    }

    fn take(&mut self, access: Access) {
        match access {
            Access::Read => self.readers += 1,
            Access::Write => self.writer = true,
        }
    }

    fn release(&mut self, access: Access) {
        match access {
            Access::Read => self.readers -= 1,
            Access::Write => self.writer = false,
        }
        self.grant();
    }

    /// Grants the head of the queue what it can have now.
    fn grant(&mut self) {
        while let Some(&t) = self.queue.front() {
            let can = !self.writer
                && match self.access[t] {
                    Access::Read => self.readers < self.max_readers,
                    Access::Write => self.readers == 0,
                };
            if !can {
                return;
            }
            self.queue.pop_front();
            self.take(self.access[t]);
            self.tasks[t] = Task::Granted;
            self.sched.wake(t);
            if self.access[t] == Access::Write {
                return;
            }
        }
    }

    fn settle(&mut self) {
        self.sched.start();
        while let Some((t, cancelled)) = self.sched.next() {
            let access = self.access[t];
            let outcome = match (self.tasks[t], cancelled) {
                (Task::NotRun, true) => None, // C4: never runs
                (Task::Waiting, true) => {
                    self.queue.retain(|&w| w != t);
                    if access == Access::Write {
                        self.grant(); // the readers behind it may go
                    }
                    Some("cancelled")
                }
                (Task::Granted, true) => {
                    self.release(access); // S7: what it was handed goes on
                    Some("cancelled")
                }
                (Task::NotRun, false) if self.free_for(access) => {
                    self.take(access);
                    self.log.push(format!("{t} acquired"));
                    self.tasks[t] = Task::Holding { released: false };
                    continue;
                }
                (Task::NotRun, false) => {
                    self.queue.push_back(t);
                    self.tasks[t] = Task::Waiting;
                    continue;
                }
                (Task::Granted, false) => {
                    self.log.push(format!("{t} acquired"));
                    self.tasks[t] = Task::Holding { released: false };
                    continue;
                }
                (Task::Holding { .. }, true) => {
                    self.release(access);
                    Some("cancelled holding")
                }
                (Task::Holding { released: true }, false) => {
                    self.release(access);
                    Some("released")
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
const MAX_TASKS: usize = 10;

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        (1..4usize)
            .prop_map(|max_readers| Model {
                max_readers,
                readers: 0,
                writer: false,
                queue: VecDeque::new(),
                access: Vec::new(),
                tasks: Vec::new(),
                sched: Sched::default(),
                log: Vec::new(),
                result: None,
            })
            .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let tasks = state.tasks.len().max(1);
        let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
            (2, (0..tasks).prop_map(Op::Cancel).boxed()),
            (4, Just(Op::Settle).boxed()),
            (1, Just(Op::TryRead).boxed()),
            (1, Just(Op::TryWrite).boxed()),
        ];
        if state.tasks.len() < MAX_TASKS {
            ops.push((5, prop_oneof![3 => Just(Access::Read), 2 => Just(Access::Write)].prop_map(Op::Spawn).boxed()));
        }
        let holding: Vec<usize> =
            (0..state.tasks.len()).filter(|&t| state.tasks[t] == Task::Holding { released: false }).collect();
        if !holding.is_empty() {
            ops.push((4, proptest::sample::select(holding).prop_map(Op::Release).boxed()));
        }
        proptest::strategy::Union::new_weighted(ops).boxed()
    }

    fn preconditions(state: &Model, op: &Op) -> bool {
        match op {
            Op::Spawn(_) => state.tasks.len() < MAX_TASKS,
            Op::Release(t) => state.tasks.get(*t) == Some(&Task::Holding { released: false }),
            Op::Cancel(t) => *t < state.tasks.len(),
            _ => true,
        }
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        state.log.clear();
        state.result = None;
        match *op {
            Op::Spawn(access) => {
                state.sched.spawn();
                state.access.push(access);
                state.tasks.push(Task::NotRun);
            }
            Op::Release(t) => {
                state.tasks[t] = Task::Holding { released: true };
                state.sched.wake(t);
            }
            Op::TryRead => state.result = Some(if state.free_for(Access::Read) { "ok" } else { "busy" }),
            Op::TryWrite => state.result = Some(if state.free_for(Access::Write) { "ok" } else { "busy" }),
            Op::Cancel(t) => state.sched.cancel(t),
            Op::Settle => state.settle(),
        }
        state
    }
}

struct Sut {
    harness: Harness,
    lock: Rc<RwLock<u32>>,
    releases: Vec<Rc<Event>>,
}

impl StateMachineTest for Sut {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(model: &Model) -> Sut {
        Sut {
            harness: Harness::new(),
            lock: Rc::new(RwLock::with_max_readers(0, model.max_readers as u32)),
            releases: Vec::new(),
        }
    }

    fn apply(mut sut: Sut, model: &Model, op: Op) -> Sut {
        let mut result = None;
        match op {
            Op::Spawn(access) => {
                let (lock, out, id) = (sut.lock.clone(), sut.harness.log.clone(), sut.harness.tasks.len());
                let release = Rc::new(Event::new());
                sut.releases.push(release.clone());
                sut.harness.spawn(async move {
                    // Holds the guard (of either kind) until the release, then drops it.
                    async fn hold<G>(guard: G, id: usize, out: &sync_model::Log, release: &Event) {
                        log(out, format!("{id} acquired"));
                        let released = release.wait().await.is_ok();
                        drop(guard);
                        log(out, format!("{id} {}", if released { "released" } else { "cancelled holding" }));
                    }
                    match access {
                        Access::Read => match lock.read().await {
                            Ok(guard) => hold(guard, id, &out, &release).await,
                            Err(_) => log(&out, format!("{id} cancelled")),
                        },
                        Access::Write => match lock.write().await {
                            Ok(mut guard) => {
                                *guard += 1;
                                hold(guard, id, &out, &release).await
                            }
                            Err(_) => log(&out, format!("{id} cancelled")),
                        },
                    }
                });
            }
            Op::Release(t) => sut.releases[t].set(),
            Op::TryRead => result = Some(if sut.lock.try_read().is_ok() { "ok" } else { "busy" }),
            Op::TryWrite => result = Some(if sut.lock.try_write().is_ok() { "ok" } else { "busy" }),
            Op::Cancel(t) => sut.harness.cancel(t),
            Op::Settle => sut.harness.settle(),
        }
        assert_eq!(sut.harness.take_log(), model.log, "each task's outcome, in order");
        assert_eq!(result, model.result, "try_read / try_write");
        sut
    }
}

prop_state_machine! {
    #![proptest_config(sync_model::config("prop_sync_rwlock", 512))]

    #[test]
    fn rwlock_matches_reference(sequential 1..60 => Sut);
}
