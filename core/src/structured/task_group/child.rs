//! A child of a task group: its task, and where its outcome goes.
//!
//! The child's task returns `Result<T, E>`. When it ends, the group's
//! done-callback *settles* it: the value stays here for the [`Child`]
//! handle; a failure's error goes to the group (which must keep every
//! error, G3), leaving [`ChildError::Failed`] here; a panic goes to the group
//! (G7), leaving [`ChildError::Panicked`]. Settling happens in the
//! done-callback, one loop iteration after the task ended — asyncio's
//! `_on_task_done` timing — so errors are gathered in the order the tasks
//! ended, and a failure cancels the siblings when asyncio's would.

use super::error::ChildError;
use crate::task::current;
use crate::task::{AnyTask, JoinError, Panic, Task};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// What the group learns when a child is settled.
pub(crate) enum Settled<E> {
    Value,
    Cancelled,
    Failed(E),
    /// The panic, and the task (to report further panics by).
    Panicked(Panic, AnyTask),
}

enum State<T, E> {
    /// The task runs (or ended and waits for the group's done-callback).
    Running {
        task: Task<Result<T, E>>,
        /// A `Child` awaiter that found the task ended but not yet settled.
        waiter: Option<Waker>,
    },
    /// Settled; `None` once the handle took the outcome.
    Settled(Option<Result<T, ChildError>>),
}

/// The child's slot, shared by the group's done-callback and the handle.
pub(crate) struct ChildCell<T, E> {
    state: RefCell<State<T, E>>,
}

impl<T, E> ChildCell<T, E> {
    pub(crate) fn new(task: Task<Result<T, E>>) -> Rc<Self> {
        Rc::new(ChildCell { state: RefCell::new(State::Running { task, waiter: None }) })
    }

    /// Moves the ended task's outcome in (see the module documentation).
    pub(crate) fn settle(&self) -> Settled<E> {
        let mut state = self.state.borrow_mut();
        let State::Running { task, waiter } = &mut *state else {
            unreachable!("a child is settled once");
        };
        let handle = AnyTask::clone(task);
        let waiter = waiter.take();
        let (kept, settled) = match task.take_output() {
            Ok(Ok(value)) => (Ok(value), Settled::Value),
            Ok(Err(error)) => (Err(ChildError::Failed), Settled::Failed(error)),
            Err(JoinError::Cancelled(c)) => (Err(ChildError::Cancelled(c)), Settled::Cancelled),
            Err(JoinError::Panicked(panic)) => (Err(ChildError::Panicked), Settled::Panicked(panic, handle)),
        };
        *state = State::Settled(Some(kept));
        drop(state);
        if let Some(waiter) = waiter {
            waiter.wake();
        }
        settled
    }
}

/// The handle's view of a child's slot, without the group's error type.
trait Slot<T> {
    fn poll_outcome(&self, cx: &mut Context<'_>) -> Poll<Result<T, ChildError>>;
}

impl<T, E> Slot<T> for ChildCell<T, E> {
    fn poll_outcome(&self, cx: &mut Context<'_>) -> Poll<Result<T, ChildError>> {
        let mut state = self.state.borrow_mut();
        match &mut *state {
            State::Settled(outcome) => match outcome.take().expect("a Child polled after it returned") {
                // The awaiter gets a cancellation of its own (as with Task).
                Err(ChildError::Cancelled(c)) => Poll::Ready(Err(ChildError::Cancelled(current::adopt_cancelled(c)))),
                outcome => Poll::Ready(outcome),
            },
            State::Running { task, waiter } => {
                if task.poll_complete(cx).is_ready() {
                    // Ended; the group's done-callback settles it shortly.
                    *waiter = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// A handle to a task group's child (asyncio's task returned by
/// `TaskGroup.create_task`).
///
/// It dereferences to [`AnyTask`] (`cancel`, `name`, `done`, ...). Awaiting
/// it gives the child's value, or a [`ChildError`]: a child's *error* goes to
/// the group, which reports every failure together, so the handle only says
/// that it failed. Awaiting is a checkpoint that behaves like awaiting a
/// [`Task`]: a cancel of the awaiting task is passed on to the child (C6).
/// Dropping the handle changes nothing: the group still waits for the child.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use std::io;
/// corio::run(async {
///     let (a, b) = corio::task_group(|tg| async move {
///         let a = tg.spawn(async { Ok::<_, io::Error>(1) })?;
///         let b = tg.spawn(async { Ok::<_, io::Error>("two") })?;
///         Ok::<_, io::Error>((a, b))
///     })
///     .await
///     .unwrap();
///     // The group waited for both; their values are ready.
///     assert_eq!(a.await.unwrap(), 1);
///     assert_eq!(b.await.unwrap(), "two");
/// })
/// .unwrap();
/// ```
///
/// **Cancel safety:** awaiting `&mut child` is cancel-safe when dropped: the
/// child keeps running.
pub struct Child<T> {
    slot: Rc<dyn Slot<T>>,
    task: AnyTask,
}

impl<T> Child<T> {
    pub(crate) fn new<E: 'static>(cell: Rc<ChildCell<T, E>>, task: AnyTask) -> Child<T>
    where
        T: 'static,
    {
        Child { slot: cell, task }
    }
}

impl<T> std::ops::Deref for Child<T> {
    type Target = AnyTask;

    fn deref(&self) -> &AnyTask {
        &self.task
    }
}

impl<T> Future for Child<T> {
    type Output = Result<T, ChildError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // The checkpoint, as `Task`'s: pass the awaiter's cancel on (C6).
        if let Some(cancelled) = crate::task::join_checkpoint(this.task.raw()) {
            return Poll::Ready(Err(ChildError::Cancelled(cancelled)));
        }
        this.slot.poll_outcome(cx)
    }
}

impl<T> fmt::Debug for Child<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child").field("task", &self.task).finish()
    }
}
