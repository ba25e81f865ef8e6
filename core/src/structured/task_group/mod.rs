//! `task_group`: asyncio's `TaskGroup` as a scope that owns its body.
//!
//! ```text
//! task_group(|tg| async move { tg.spawn(..)?; ...; Ok(v) })
//!   enter    parent = the task polling us; mark its cancel deliveries
//!   body     poll the body; a child failure cancels the children and the
//!            parent (once), so the body's next checkpoint returns Cancelled
//!   exit     the body returned: a cancellation or an error aborts the rest;
//!            wait (a checkpoint) until no child is left
//!   finish   take our parent cancel back; resume a panic; then a plain
//!            Cancelled, or every failure, or the body's value
//! ```
//!
//! This is CPython 3.13's `taskgroups.py`, step for step; the rules:
//!
//! * G1 — the exit waits for every child, also those spawned while it waits.
//! * G2 — the first failure that is not a cancellation cancels every other
//!   child and the body (by cancelling the parent task, counted in its
//!   `cancelling()`).
//! * G3 — failures are kept, with their source, in the order the group's
//!   done-callbacks see the children end; the body's own error comes last.
//! * G4 — an outer cancel with no failure ends the group `Cancelled`; the
//!   group's own cancel of its parent is taken back (`uncancel`), so the
//!   parent's `cancelling()` returns to its value at entry.
//! * G5 — an outer cancel plus a failure gives the failures, and the outer
//!   cancel is requested again, for the parent's next checkpoint.
//! * G6 — spawning into a finished or shutting-down group is an error; the
//!   future is dropped unpolled. (A group that has not started cannot be
//!   reached: the body receives its handle on entry.)
//! * G7 — a panic (child or body) is a failure; once every child is done it
//!   is resumed from the group.
//!
//! "Is the body's error a cancellation?" is answered by token liveness: the
//! body returned while holding a cancellation delivered to the parent since
//! the group was entered (see `task::cancel`). Dropping a group's future
//! before it finished aborts its children: no orphans.

mod child;
mod error;

pub use child::Child;
pub use error::{ChildError, ErrorGroup, Failure, GroupError, Source, SpawnError};

use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::{current, host};
use crate::task::{AnyTask, Builder, Cancelled, Panic, TaskId, TaskInfo};
use child::{ChildCell, Settled};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Runs `body` in a new task group and waits for every child it spawned
/// (asyncio's `async with TaskGroup() as tg:`).
///
/// `body` receives the group's handle, [`TaskGroup`], and returns a future
/// of `Result<T, E>`; children spawned with [`TaskGroup::spawn`] return
/// `Result<_, E>` too. The group ends with:
///
/// * `Ok(value)` — the body returned `Ok` and no child failed;
/// * `Err(GroupError::Failed(..))` — every failure (G3): a child that
///   returned `Err`, or the body's own `Err`; the first failure cancelled
///   the rest (G2);
/// * `Err(GroupError::Cancelled(..))` — the group's task was cancelled from
///   outside and nothing failed (G4);
/// * a resumed panic, if a child or the body panicked (G7).
///
/// A child whose error carries the cancellation it was given (`?` on a
/// checkpoint) ended cancelled, which is not a failure; any other `Err` is.
///
/// The body may return early with `?`: the group still waits for its
/// children (cancelling them first, as asyncio's `__aexit__` does).
///
/// # Panics
///
/// When first polled outside a corio task.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use corio::structured::GroupError;
/// use std::time::Duration;
///
/// #[derive(Debug)]
/// enum Error {
///     Cancelled(corio::task::Cancelled),
///     Refused(&'static str),
/// }
/// impl From<corio::task::Cancelled> for Error {
///     fn from(c: corio::task::Cancelled) -> Self {
///         Error::Cancelled(c)
///     }
/// }
/// impl From<corio::structured::SpawnError> for Error {
///     fn from(_: corio::structured::SpawnError) -> Self {
///         Error::Refused("spawn")
///     }
/// }
///
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// # lp.block_on(async {
/// let result = corio::task_group(|tg| async move {
///     tg.spawn(async {
///         corio::sleep(Duration::from_secs(60)).await?; // cancelled at t=1
///         Ok::<_, Error>(())
///     })?;
///     tg.spawn(async {
///         corio::sleep(Duration::from_secs(1)).await?;
///         Err::<(), _>(Error::Refused("upstream"))
///     })?;
///     Ok::<_, Error>(())
/// })
/// .await;
/// let Err(GroupError::Failed(group)) = result else { panic!("{result:?}") };
/// assert_eq!(group.len(), 1); // the sibling was cancelled, not failed
/// assert!(matches!(group.failures()[0].error, Error::Refused("upstream")));
/// # })
/// # .unwrap();
/// ```
///
/// **Cancel safety:** not cancel-safe: a group dropped before it finished
/// aborts its children (no orphans).
pub fn task_group<E, T, B, Fut>(body: B) -> GroupScope<E, T, B, Fut>
where
    E: 'static,
    B: FnOnce(TaskGroup<E>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    GroupScope {
        body: Some(body),
        running: None,
        group: None,
        mark: 0,
        value: None,
        propagate: None,
        body_error: None,
        body_panic: None,
        waited: false,
    }
}

/// The handle to a running task group: spawns children into it. Cloneable;
/// a child may hold one to spawn siblings (G1).
pub struct TaskGroup<E> {
    state: Rc<GroupState<E>>,
}

impl<E> Clone for TaskGroup<E> {
    fn clone(&self) -> Self {
        TaskGroup { state: self.state.clone() }
    }
}

impl<E: 'static> TaskGroup<E> {
    /// Spawns `future` as a child (asyncio's `tg.create_task`). It first
    /// runs in a later loop iteration, like [`spawn`](crate::spawn).
    ///
    /// Errors (G6): the group has finished or is shutting down after a
    /// failure or a cancel; `future` is then dropped without being polled.
    #[track_caller]
    pub fn spawn<T, F>(&self, future: F) -> Result<Child<T>, SpawnError>
    where
        T: 'static,
        F: Future<Output = Result<T, E>> + 'static,
    {
        self.spawn_with(Builder::new(), future)
    }

    /// [`spawn`](TaskGroup::spawn) with options: a name, or an eager start.
    #[track_caller]
    pub fn spawn_with<T, F>(&self, builder: Builder, future: F) -> Result<Child<T>, SpawnError>
    where
        T: 'static,
        F: Future<Output = Result<T, E>> + 'static,
    {
        self.state.check_open()?;
        let task = builder.spawn(future); // an eager child runs its first step here
        let handle = AnyTask::clone(&task);
        let cell = ChildCell::new(task);
        self.state.children.borrow_mut().insert(handle.id(), handle.clone());
        let (state, settle) = (self.state.clone(), cell.clone());
        // Registered even if an eager child is already done: the callback
        // then runs in the next iteration, never inline (asyncio gh-128550).
        handle
            .add_done_callback(move |info| state.child_done(info, settle.settle()))
            .expect("spawned on the running loop's thread");
        // An eager child may have failed the group before it was counted.
        if self.state.aborting.get() && !handle.done() {
            handle.cancel();
        }
        Ok(Child::new(cell, handle))
    }

    /// Children spawned and not yet settled.
    pub fn len(&self) -> usize {
        self.state.children.borrow().len()
    }

    /// Whether no child is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("phase", &self.state.phase.get())
            .field("children", &self.state.children.borrow().len())
            .field("errors", &self.state.errors.borrow().len())
            .field("aborting", &self.state.aborting.get())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The body runs.
    Open,
    /// The body returned; waiting for the children.
    Exiting,
    /// Finished, or dropped.
    Done,
}

/// The group's state, shared by its scope, its handles and the
/// done-callbacks of its children. Loop thread only.
struct GroupState<E> {
    /// The task that runs the body.
    parent: AnyTask,
    phase: Cell<Phase>,
    /// A failure or a cancel is shutting the group down (asyncio's
    /// `_aborting`): children have been cancelled, spawning is refused.
    aborting: Cell<bool>,
    /// The group cancelled its parent (once) and must take it back.
    parent_cancel_requested: Cell<bool>,
    /// Live children by id (ids grow, so this is spawn order); the group
    /// waits until it is empty.
    children: RefCell<BTreeMap<TaskId, AnyTask>>,
    errors: RefCell<Vec<Failure<E>>>,
    /// The first child panic (G7).
    panic: RefCell<Option<Panic>>,
    /// The scope, waiting for the last child (asyncio's `_on_completed_fut`).
    waiter: RefCell<Option<Waker>>,
}

impl<E> GroupState<E> {
    fn check_open(&self) -> Result<(), SpawnError> {
        match self.phase.get() {
            Phase::Done => Err(SpawnError::Finished),
            Phase::Exiting if self.children.borrow().is_empty() => Err(SpawnError::Finished),
            _ if self.aborting.get() => Err(SpawnError::ShuttingDown),
            _ => Ok(()),
        }
    }

    /// asyncio's `_abort`: cancel every child still running.
    fn abort(&self) {
        self.aborting.set(true);
        // Collected first: cancelling must not hold the borrow.
        let children: Vec<AnyTask> = self.children.borrow().values().cloned().collect();
        for child in children {
            if !child.done() {
                child.cancel();
            }
        }
    }

    /// A child's done-callback (asyncio's `_on_task_done`).
    fn child_done(&self, info: &TaskInfo, settled: Settled<E>) {
        let id = info.id;
        let last = {
            let mut children = self.children.borrow_mut();
            children.remove(&id);
            children.is_empty()
        };
        if last {
            let waiter = self.waiter.borrow_mut().take();
            if let Some(waiter) = waiter {
                waiter.wake();
            }
        }
        match settled {
            Settled::Value | Settled::Cancelled => return,
            Settled::Failed(error) => {
                let name = info.name.clone();
                self.errors.borrow_mut().push(Failure { source: Source::Child { id, name }, error });
            }
            Settled::Panicked(panic, task) => {
                let mut first = self.panic.borrow_mut();
                if first.is_none() && self.phase.get() != Phase::Done {
                    *first = Some(panic);
                } else {
                    // Only one panic can be resumed, and a dropped group
                    // resumes none: the others are reported.
                    drop(first);
                    host::report_unretrieved_panic(task.raw(), panic);
                }
            }
        }
        self.failed();
    }

    /// G2: the first failure cancels the children and the body.
    fn failed(&self) {
        if self.parent.done() || self.phase.get() == Phase::Done {
            return; // the scope is gone (and aborted the children)
        }
        if !self.aborting.get() && !self.parent_cancel_requested.get() {
            self.abort();
            self.parent_cancel_requested.set(true);
            self.parent.cancel();
        }
    }
}

/// The future of [`task_group`]: runs the body, then waits for the children.
#[must_use = "futures do nothing unless awaited"]
pub struct GroupScope<E, T, B, Fut> {
    /// Until entered.
    body: Option<B>,
    /// The body's future, while it runs (boxed: the scope stays `Unpin`).
    running: Option<Pin<Box<Fut>>>,
    group: Option<Rc<GroupState<E>>>,
    /// The parent's cancel deliveries at entry.
    mark: u64,
    value: Option<T>,
    /// The cancellation to end with (asyncio's `propagate_cancellation_error`).
    propagate: Option<Cancelled>,
    body_error: Option<E>,
    body_panic: Option<Box<dyn Any + Send>>,
    /// Suspended waiting for the children (asyncio's `await _on_completed_fut`).
    waited: bool,
}

impl<E, T, B, Fut> Unpin for GroupScope<E, T, B, Fut> {}

const NOT_IN_A_TASK: &str = "corio: task_group must run inside a corio task (EventLoop::block_on, spawn or corio::run)";

impl<E, T, B, Fut> GroupScope<E, T, B, Fut>
where
    E: 'static,
    B: FnOnce(TaskGroup<E>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    fn enter(&mut self, body: B) {
        let parent = current::current_task_handle().unwrap_or_else(|| panic!("{NOT_IN_A_TASK}"));
        self.mark = current::cancel_mark(parent.raw());
        let state = Rc::new(GroupState {
            parent,
            phase: Cell::new(Phase::Open),
            aborting: Cell::new(false),
            parent_cancel_requested: Cell::new(false),
            children: RefCell::new(BTreeMap::new()),
            errors: RefCell::new(Vec::new()),
            panic: RefCell::new(None),
            waiter: RefCell::new(None),
        });
        self.group = Some(state.clone());
        self.running = Some(Box::pin(body(TaskGroup { state })));
    }

    fn group(&self) -> &GroupState<E> {
        self.group.as_deref().expect("entered")
    }

    /// asyncio's `__aexit__` entry: what the body ended with.
    fn body_returned(&mut self, output: Result<T, E>) {
        let group = self.group.clone().expect("entered");
        group.phase.set(Phase::Exiting);
        match output {
            Ok(value) => {
                self.value = Some(value);
                return;
            }
            Err(error) => match current::cancel_held_since(group.parent.raw(), self.mark) {
                // The body propagated a cancellation it was given.
                Some(cancelled) => {
                    drop(error);
                    self.propagate = Some(cancelled);
                }
                None => self.body_error = Some(error),
            },
        }
        if !group.aborting.get() {
            group.abort();
        }
    }

    fn body_panicked(&mut self, payload: Box<dyn Any + Send>) {
        let group = self.group.clone().expect("entered");
        group.phase.set(Phase::Exiting);
        self.body_panic = Some(payload);
        if !group.aborting.get() {
            group.abort();
        }
    }

    /// Waits for the children (a checkpoint while any is left), then
    /// finishes.
    fn poll_exit(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, GroupError<E>>> {
        let group = self.group.clone().expect("entered");
        loop {
            // asyncio awaits `_on_completed_fut` while children are left; a
            // cancel of the parent is delivered there. Our own pending cancel
            // of the parent is consumed here too (asyncio always delivers it,
            // by cancelling the future the parent waits on).
            if !group.children.borrow().is_empty() || self.waited || group.parent_cancel_requested.get() {
                self.waited = false;
                if let Err(cancelled) = current::checkpoint() {
                    if !group.aborting.get() {
                        // The parent is being cancelled from outside.
                        self.propagate = Some(cancelled);
                        group.abort();
                    }
                    continue;
                }
            }
            if group.children.borrow().is_empty() {
                break;
            }
            *group.waiter.borrow_mut() = Some(cx.waker().clone());
            self.waited = true;
            suspend_at(WaitKind::TaskGroup, None);
            return Poll::Pending;
        }
        Poll::Ready(self.finish(&group))
    }

    fn finish(&mut self, group: &GroupState<E>) -> Result<T, GroupError<E>> {
        group.phase.set(Phase::Done);
        let mut propagate = self.propagate.take();
        if group.parent_cancel_requested.get() && group.parent.uncancel() == 0 {
            // Our cancel of the parent was the only one: it ends here.
            propagate = None;
        }
        if let Some(payload) = self.body_panic.take() {
            panic::resume_unwind(payload);
        }
        let child_panic = group.panic.borrow_mut().take();
        if let Some(panic) = child_panic {
            match panic.into_payload() {
                Some(payload) => panic::resume_unwind(payload),
                None => panic!("a task group child panicked"),
            }
        }
        let mut errors = std::mem::take(&mut *group.errors.borrow_mut());
        if let Some(cancelled) = propagate.take() {
            if errors.is_empty() {
                return Err(GroupError::Cancelled(cancelled)); // G4
            }
        }
        if let Some(error) = self.body_error.take() {
            errors.push(Failure { source: Source::Body, error });
        }
        if !errors.is_empty() {
            // G5: an outer cancel is not swallowed by the group: request it
            // again (keeping the count), for the parent's next checkpoint.
            if group.parent.cancelling() > 0 {
                crate::task::host::recancel_for_next_checkpoint(&group.parent);
            }
            return Err(GroupError::Failed(ErrorGroup::new(errors)));
        }
        match self.value.take() {
            Some(value) => Ok(value),
            // Unreachable: a body that propagated a cancellation left
            // `propagate` set, which only our own (failure-driven) cancel
            // clears, and then there are errors.
            None => Err(GroupError::Cancelled(Cancelled::with_message("task group cancelled"))),
        }
    }
}

impl<E, T, B, Fut> Future for GroupScope<E, T, B, Fut>
where
    E: 'static,
    B: FnOnce(TaskGroup<E>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Output = Result<T, GroupError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(body) = this.body.take() {
            this.enter(body);
        }
        if let Some(running) = this.running.as_mut() {
            // A panicking body is a failure too (G7): the children are
            // cancelled and waited for before the panic is resumed.
            match panic::catch_unwind(AssertUnwindSafe(|| running.as_mut().poll(cx))) {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(output)) => {
                    this.running = None;
                    this.body_returned(output);
                }
                Err(payload) => {
                    this.running = None;
                    this.body_panicked(payload);
                }
            }
        }
        if this.group.is_none() || this.group().phase.get() == Phase::Done {
            panic!("a task_group future polled after it returned");
        }
        this.poll_exit(cx)
    }
}

impl<E, T, B, Fut> Drop for GroupScope<E, T, B, Fut> {
    /// A group dropped before it finished aborts its children (no orphans)
    /// and takes back its cancel of the parent.
    fn drop(&mut self) {
        let Some(group) = self.group.take() else { return };
        if group.phase.replace(Phase::Done) == Phase::Done {
            return;
        }
        group.aborting.set(true);
        let children: Vec<AnyTask> = group.children.borrow().values().cloned().collect();
        for child in children {
            child.abort();
        }
        if group.parent_cancel_requested.get() && !group.parent.done() {
            group.parent.uncancel();
        }
    }
}

impl<E, T, B, Fut> fmt::Debug for GroupScope<E, T, B, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupScope").field("entered", &self.group.is_some()).finish_non_exhaustive()
    }
}
