//! Making any future a checkpoint (rule C9).

use crate::task::current;
use crate::task::Cancelled;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Wraps `future` so that a cancel delivered to the task drops it and
/// returns `Err(Cancelled)` (rule C9). Without the wrapper, a future that is
/// not a corio checkpoint (a channel from another crate, say) does not notice
/// a cancel: the task is woken, the future returns `Pending` again, and the
/// cancel waits for the task's next checkpoint.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// use corio::FutureExt;
/// # let lp = EventLoop::builder(ParkReactor::new()).build();
/// # lp.block_on(async {
/// let task = corio::spawn(std::future::pending::<()>().cancellable());
/// corio::yield_now().await.unwrap();
/// task.cancel();
/// assert!(task.await.unwrap_err().is_cancelled());
/// # })
/// # .unwrap();
/// ```
///
/// **Cancel safety:** as the wrapped future's: a delivered cancel drops it.
pub fn cancellable<F: Future>(future: F) -> Cancellable<F> {
    Cancellable { future: Some(future) }
}

/// Extension methods for futures.
pub trait FutureExt: Future + Sized {
    /// See [`cancellable`].
    fn cancellable(self) -> Cancellable<Self> {
        cancellable(self)
    }

    /// Drops the future if it has not finished after `delay` and returns
    /// `Err(Elapsed)` (tokio's `timeout(d, fut)`): Rust's drop semantics,
    /// no cancellation. For asyncio's scope, which cancels the task and
    /// lets the body clean up, see [`timeout`](crate::timeout()).
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// # use corio::runtime::EventLoop;
    /// # use corio::reactor::ParkReactor;
    /// # use corio::clock::VirtualClock;
    /// use corio::FutureExt;
    /// use std::time::Duration;
    /// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
    /// # lp.block_on(async {
    /// let never = std::future::pending::<()>(); // not a corio checkpoint
    /// assert!(never.timeout(Duration::from_secs(1)).await.is_err());
    /// assert_eq!(async { 5 }.timeout(Duration::from_secs(1)).await, Ok(5));
    /// # })
    /// # .unwrap();
    /// ```
    fn timeout(self, delay: std::time::Duration) -> crate::structured::Timed<Self> {
        crate::structured::deadline::timed(self, delay)
    }

    /// Like [`timeout`](FutureExt::timeout), with a deadline on the loop's
    /// clock.
    fn timeout_at(self, deadline: std::time::Instant) -> crate::structured::Timed<Self> {
        crate::structured::deadline::timed_until(self, deadline)
    }
}

impl<F: Future> FutureExt for F {}

/// The future returned by [`cancellable`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Cancellable<F> {
    future: Option<F>,
}

impl<F: Future> Future for Cancellable<F> {
    type Output = Result<F::Output, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out,
        // only polled in place or dropped in place (set to `None`).
        let slot = unsafe { &mut self.get_unchecked_mut().future };
        if let Err(cancelled) = current::checkpoint() {
            *slot = None; // rule C9: the inner future is dropped
            return Poll::Ready(Err(cancelled));
        }
        let Some(future) = slot.as_mut() else {
            panic!("Cancellable polled after it completed");
        };
        // SAFETY: pinned in place, see above.
        let output = std::task::ready!(unsafe { Pin::new_unchecked(future) }.poll(cx));
        *slot = None;
        Poll::Ready(Ok(output))
    }
}
