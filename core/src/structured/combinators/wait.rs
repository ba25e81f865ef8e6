//! `wait`: until the first, the first failing, or every task has ended, or
//! a timeout (rule K2).
//!
//! asyncio returns `(done, pending)`. Here the pending tasks stay in the
//! caller's `Vec` and the done ones are moved out and returned, so nothing
//! is lost if the wait itself is cancelled: the wait is a checkpoint that
//! returns `Err(Cancelled)` and leaves every task running, in the `Vec`.
//! A timeout is not an error and cancels nothing: the wait returns what
//! has ended by then.

use crate::task::current;
use crate::task::{Cancelled, JoinError, Task};
use crate::time::Deadline;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// When [`wait`] returns (asyncio's `return_when`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnWhen {
    /// When any task ends.
    FirstCompleted,
    /// When any task fails (see [`Outcome`]) or panics, or when all have
    /// ended.
    FirstException,
    /// When every task has ended.
    AllCompleted,
}

/// What counts as a failure for [`ReturnWhen::FirstException`]: asyncio's
/// "finished with an exception". Implemented for `Result` (an `Err`) and
/// `()` (never); implement it for your own task outputs. A task that ended
/// cancelled is not a failure; one that panicked always is.
pub trait Outcome {
    /// Whether this output is a failure.
    fn is_failure(&self) -> bool;
}

impl<T, E> Outcome for Result<T, E> {
    fn is_failure(&self) -> bool {
        self.is_err()
    }
}

impl Outcome for () {
    fn is_failure(&self) -> bool {
        false
    }
}

/// Waits until `when` holds for `tasks`, or `timeout` passes (asyncio's
/// `asyncio.wait`, rule K2); returns the tasks that have ended, moved out of
/// `tasks`, which keeps the pending ones.
///
/// The ended tasks' outputs are still in them (await them; it returns at
/// once). An empty `tasks` returns at once with nothing (asyncio raises
/// `ValueError`). The wait is a checkpoint: a cancel of the awaiting task
/// returns `Err(Cancelled)` and leaves every task running, in `tasks`.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use corio::structured::ReturnWhen;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// # lp.block_on(async {
/// let mut tasks: Vec<_> = [3u64, 1, 2]
///     .into_iter()
///     .map(|s| corio::spawn(async move { corio::sleep(Duration::from_secs(s)).await.map(|_| s) }))
///     .collect();
/// let done = corio::wait(&mut tasks, ReturnWhen::FirstCompleted, None).await?;
/// assert_eq!(done.len(), 1);
/// assert_eq!(tasks.len(), 2); // still running
/// assert_eq!(done.into_iter().next().unwrap().await.unwrap().unwrap(), 1);
/// Ok::<_, corio::task::Cancelled>(())
/// # })
/// # .unwrap()
/// # .unwrap();
/// ```
///
/// **Cancel safety:** cancel-safe: the pending tasks stay in `tasks`, still
/// running.
pub fn wait<T: Outcome>(tasks: &mut Vec<Task<T>>, when: ReturnWhen, timeout: Option<Duration>) -> WaitTasks<'_, T> {
    WaitTasks { tasks, when, timer: timeout.map(Deadline::after) }
}

/// The future of [`wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct WaitTasks<'a, T> {
    tasks: &'a mut Vec<Task<T>>,
    when: ReturnWhen,
    timer: Option<Deadline>,
}

impl<T: Outcome> WaitTasks<'_, T> {
    /// Registers for every task's end; whether `when` holds.
    fn poll_condition(&mut self, cx: &mut Context<'_>) -> bool {
        let (mut ended, mut failed) = (0, false);
        for task in self.tasks.iter_mut() {
            if task.poll_complete(cx).is_ready() {
                ended += 1;
                failed |= match task.peek_output() {
                    Some(Ok(output)) => output.is_failure(),
                    Some(Err(JoinError::Panicked(_))) => true,
                    Some(Err(JoinError::Cancelled(_))) | None => false,
                };
            }
        }
        let all = ended == self.tasks.len();
        match self.when {
            ReturnWhen::FirstCompleted => ended > 0,
            ReturnWhen::FirstException => failed || all,
            ReturnWhen::AllCompleted => all,
        }
    }
}

impl<T: Outcome> Future for WaitTasks<'_, T> {
    type Output = Result<Vec<Task<T>>, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        current::checkpoint()?;
        let ready = this.tasks.is_empty()
            || this.poll_condition(cx)
            || this.timer.as_mut().is_some_and(|timer| timer.poll_timer(cx).is_ready());
        if !ready {
            return Poll::Pending;
        }
        let (done, pending) = std::mem::take(this.tasks).into_iter().partition(|task| task.done());
        *this.tasks = pending;
        Poll::Ready(Ok(done))
    }
}

impl<T> fmt::Debug for WaitTasks<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitTasks").field("tasks", &self.tasks.len()).field("when", &self.when).finish()
    }
}
