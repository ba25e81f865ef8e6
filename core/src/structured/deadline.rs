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
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub(crate) fn timed<F: Future>(future: F, delay: Duration) -> Timed<F> {
    Timed { future: Some(future), timer: Deadline::after(delay) }
}

pub(crate) fn timed_until<F: Future>(future: F, deadline: Instant) -> Timed<F> {
    Timed { future: Some(future), timer: Deadline::at(deadline) }
}

/// The future of [`FutureExt::timeout`](crate::FutureExt::timeout) and
/// [`FutureExt::timeout_at`](crate::FutureExt::timeout_at).
#[must_use = "futures do nothing unless awaited"]
pub struct Timed<F> {
    /// Structurally pinned; `None` once finished or dropped at the deadline.
    future: Option<F>,
    timer: Deadline,
}

impl<F: Future> Future for Timed<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is polled and dropped in place, never moved;
        // `timer` is `Unpin`.
        let this = unsafe { self.get_unchecked_mut() };
        let Some(future) = this.future.as_mut() else {
            panic!("a timeout future polled after it returned");
        };
        // SAFETY: pinned in place, see above.
        if let Poll::Ready(output) = unsafe { Pin::new_unchecked(future) }.poll(cx) {
            this.future = None;
            return Poll::Ready(Ok(output));
        }
        match this.timer.poll_timer(cx) {
            Poll::Ready(()) => {
                this.future = None; // dropped at the deadline
                Poll::Ready(Err(Elapsed::new()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timed").field("finished", &self.future.is_none()).field("timer", &self.timer).finish()
    }
}
