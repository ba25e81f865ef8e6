//! `fut.timeout(d)`: the plain combinator with Rust's drop semantics
//! (tokio's `timeout(d, fut)`).
//!
//! Unlike the [`timeout`](super::timeout()) scope, it cancels nothing: at the
//! deadline it drops `fut` and returns `Err(Elapsed)`. Its timer is not a
//! checkpoint, so a cancel of the task reaches `fut`'s own checkpoints and
//! nothing else. A future that is ready at once never touches the timer
//! heap (the timer registers on the first `Pending`).

use super::timeout::Elapsed;
use crate::time::Deadline;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub(crate) fn timed<F: Future>(future: F, delay: Duration) -> Timed<F> {
    Timed { future: ManuallyDrop::new(future), timer: Deadline::after(delay) }
}

pub(crate) fn timed_until<F: Future>(future: F, deadline: Instant) -> Timed<F> {
    Timed { future: ManuallyDrop::new(future), timer: Deadline::at(deadline) }
}

/// The future of [`FutureExt::timeout`](crate::FutureExt::timeout) and
/// [`FutureExt::timeout_at`](crate::FutureExt::timeout_at).
///
/// `future` is dropped at the deadline, and otherwise when the `Timed` is:
/// a future that finished stays in place, so finishing stores nothing (W9a
/// is bound by stores). The timer is done exactly when `future` has been
/// dropped: only a `Ready` from `poll_timer` makes it done, and the future
/// is dropped right after.
#[must_use = "futures do nothing unless awaited"]
pub struct Timed<F> {
    /// Structurally pinned; dropped in place once `timer` is done.
    future: ManuallyDrop<F>,
    timer: Deadline,
}

impl<F: Future> Future for Timed<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is polled and dropped in place, never moved;
        // `timer` is `Unpin`.
        let this = unsafe { self.get_unchecked_mut() };
        if this.timer.is_done() {
            panic!("a timeout future polled after its deadline");
        }
        // SAFETY: pinned in place, see above; alive while the timer is not
        // done. Polling it again after it finished is its own affair, as for
        // any future.
        if let Poll::Ready(output) = unsafe { Pin::new_unchecked(&mut *this.future) }.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match this.timer.poll_timer(cx) {
            Poll::Ready(()) => {
                // SAFETY: the timer is done from now on, so the future is
                // neither polled nor dropped again.
                unsafe { ManuallyDrop::drop(&mut this.future) };
                Poll::Ready(Err(Elapsed::new()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> Drop for Timed<F> {
    fn drop(&mut self) {
        if !self.timer.is_done() {
            // SAFETY: not dropped at the deadline (the timer is not done);
            // dropped in place, as pinning requires.
            unsafe { ManuallyDrop::drop(&mut self.future) };
        }
    }
}

impl<F> fmt::Debug for Timed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timed").field("elapsed", &self.timer.is_done()).field("timer", &self.timer).finish()
    }
}
