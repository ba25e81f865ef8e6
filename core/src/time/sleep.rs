use super::Deadline;
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use crate::task::Cancelled;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Waits for `duration` on the running loop's clock (a checkpoint).
///
/// The deadline is taken when the sleep is first polled (asyncio computes it
/// when `sleep()` starts running). `Duration::ZERO` yields once instead.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use std::time::Duration;
/// let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// let slept = lp.block_on(async {
///     let t0 = corio::time();
///     corio::sleep(Duration::from_secs(10)).await?;
///     Ok::<_, corio::task::Cancelled>(corio::time() - t0)
/// });
/// assert_eq!(slept.unwrap().unwrap(), Duration::from_secs(10));
/// ```
///
/// **Cancel safety:** cancel-safe: nothing to lose (a dropped sleep's timer is
/// cancelled).
#[track_caller]
#[inline]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep { deadline: Deadline::after(duration), at: Location::caller() }
}

/// Waits until `deadline` on the running loop's clock (a checkpoint). A
/// deadline that has passed yields once and completes at the next
/// iteration, as `asyncio.sleep` with a non-positive delay does.
///
/// **Cancel safety:** cancel-safe: nothing to lose.
#[track_caller]
#[inline]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep { deadline: Deadline::at(deadline), at: Location::caller() }
}

/// The future returned by [`sleep`] and [`sleep_until`]; resolves to
/// `Err(Cancelled)` if its task is cancelled meanwhile.
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Deadline,
    /// Where it was created: the checkpoint a task dump shows.
    at: &'static Location<'static>,
}

impl Future for Sleep {
    type Output = Result<(), Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Err(cancelled) = current::checkpoint() {
            this.deadline.deregister();
            return Poll::Ready(Err(cancelled));
        }
        let poll = this.deadline.poll_timer(cx);
        if poll.is_pending() {
            let kind = if this.deadline.is_yielded() { WaitKind::Yield } else { WaitKind::Sleep };
            suspend_at(kind, Some(this.at));
        }
        poll.map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::Sleep;
    use crate::time::Deadline;
    use std::mem::size_of;

    /// docs/benchmarks.md counts a sleeping task's bytes with these sizes.
    #[test]
    fn sleep_is_32_bytes_and_its_deadline_24() {
        assert_eq!(size_of::<Deadline>(), 24);
        assert_eq!(size_of::<Sleep>(), 32);
    }
}
