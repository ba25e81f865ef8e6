use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use crate::task::Cancelled;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Lets every other ready task and callback run once, then continues (a
/// checkpoint). Two tasks alternating `yield_now` interleave a1 b1 a2 b2
/// (rule T2). Costs no syscall: the task goes to the back of the ready queue.
///
/// **Cancel safety:** cancel-safe: nothing to lose.
#[inline]
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = Result<(), Cancelled>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        current::checkpoint()?;
        if self.yielded {
            return Poll::Ready(Ok(()));
        }
        self.yielded = true;
        current::requeue(cx.waker());
        suspend_at(WaitKind::Yield, None);
        Poll::Pending
    }
}
