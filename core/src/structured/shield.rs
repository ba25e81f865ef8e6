//! `shield`: asyncio's `asyncio.shield` (rule C6).
//!
//! Awaiting a task passes the awaiter's cancel on to it (C6). A shield is
//! the exception: the shielded work runs as a task of its own, and a cancel
//! of the awaiter ends only the wait — the awaiter gets `Cancelled` at once,
//! the task keeps running to its end. (For trio's kind of shield, which
//! holds cancels back from code running *inline*, see
//! [`CancelScope::set_shield`](super::CancelScope::set_shield).)

use crate::task::current;
use crate::task::{JoinError, Task};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs `future` as a task that a cancel of the awaiter does not reach
/// (asyncio's `shield(aw)`).
///
/// Awaiting the shield gives the task's result. If the awaiting task is
/// cancelled meanwhile, the await returns `Err(JoinError::Cancelled)` at
/// once and the task keeps running, detached (C6). The task itself can
/// still be cancelled by whoever holds it (see [`Shield::new`]).
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// # lp.block_on(async {
/// let saved = Rc::new(Cell::new(false));
/// let s = saved.clone();
/// let waiter = corio::spawn(corio::shield(async move {
///     corio::sleep(Duration::from_secs(2)).await?;
///     s.set(true); // ...the shielded work did not
///     Ok::<_, corio::task::Cancelled>(())
/// }));
/// corio::sleep(Duration::from_secs(1)).await?;
/// waiter.cancel();
/// assert!(waiter.await.unwrap_err().is_cancelled()); // the wait ended...
/// corio::sleep(Duration::from_secs(2)).await?;
/// assert!(saved.get());
/// Ok::<_, corio::task::Cancelled>(())
/// # })
/// # .unwrap()
/// # .unwrap();
/// ```
///
/// **Cancel safety:** cancel-safe: the shielded task runs on when the shield is
/// dropped or cancelled.
#[track_caller]
pub fn shield<F>(future: F) -> Shield<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    Shield::new(crate::task::spawn(future))
}

/// The future of [`shield`]: the inner task's result, or the awaiter's own
/// cancellation.
#[must_use = "futures do nothing unless awaited"]
pub struct Shield<T> {
    task: Task<T>,
}

impl<T> Shield<T> {
    /// Shields an existing task.
    pub fn new(task: Task<T>) -> Shield<T> {
        Shield { task }
    }

    /// The shielded task.
    pub fn task(&self) -> &Task<T> {
        &self.task
    }

    /// Gives the task back.
    pub fn into_task(self) -> Task<T> {
        self.task
    }
}

impl<T> Future for Shield<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // The awaiter's cancel ends the wait, not the task.
        current::checkpoint()?;
        // No cancel is pending now, so polling the join passes none on.
        Pin::new(&mut this.task).poll(cx)
    }
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield").field("task", &self.task).finish()
    }
}
