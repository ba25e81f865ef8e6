use crate::runtime::current::{self, with_loop};
use crate::runtime::shared::LoopId;
use crate::runtime::timers::TimerKey;
use crate::task::checkpoint::{suspend_at, WaitKind};
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
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// # use corio_core::clock::VirtualClock;
/// use std::time::Duration;
/// let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// let slept = lp.block_on(async {
///     let t0 = corio_core::time();
///     corio_core::sleep(Duration::from_secs(10)).await?;
///     Ok::<_, corio_core::task::Cancelled>(corio_core::time() - t0)
/// });
/// assert_eq!(slept.unwrap().unwrap(), Duration::from_secs(10));
/// ```
#[track_caller]
#[inline]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep { deadline: Deadline::after(duration), at: Location::caller() }
}

/// Waits until `deadline` on the running loop's clock (a checkpoint). A
/// deadline that has passed yields once and completes at the next
/// iteration, as `asyncio.sleep` with a non-positive delay does.
#[track_caller]
#[inline]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep { deadline: Deadline::at(deadline), at: Location::caller() }
}

/// Where a deadline is. It is kept while its timer is registered, so a
/// sleep moved to another loop can start over there.
#[derive(Debug, Clone, Copy)]
enum Phase {
    After(Duration),
    At(Instant),
    /// A deadline already due: yielded once, done at the next poll.
    Yielded,
    Done,
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

/// A sleep's timer without the checkpoint and without a place in task
/// dumps: the deadline of combinators that must not consume the task's
/// cancel and never suspend on their own (`FutureExt::timeout`, `wait`).
/// Creating and dropping one that never registered is a few stores and one
/// branch — W9a's whole cost beyond the future.
#[derive(Debug)]
pub(crate) struct Deadline {
    phase: Phase,
    /// The registered timer and the loop it is on (a separate field, not a
    /// phase, so a sleep is 48 bytes: `LoopId` is never zero).
    timer: Option<(TimerKey, LoopId)>,
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
            let kind = if matches!(this.deadline.phase, Phase::Yielded) { WaitKind::Yield } else { WaitKind::Sleep };
            suspend_at(kind, Some(this.at));
        }
        poll.map(Ok)
    }
}

impl Deadline {
    /// `duration` from the first poll.
    #[inline]
    pub(crate) fn after(duration: Duration) -> Self {
        Deadline { phase: Phase::After(duration), timer: None }
    }

    /// At `instant`.
    #[inline]
    pub(crate) fn at(instant: Instant) -> Self {
        Deadline { phase: Phase::At(instant), timer: None }
    }

    /// Forgets the timer (cancelled sleeps).
    #[inline]
    fn deregister(&mut self) {
        if let Some((key, loop_id)) = self.timer.take() {
            cancel_timer(key, loop_id);
        }
        self.phase = Phase::Done;
    }

    /// Registers the timer on the first poll, re-arms it with `cx`'s waker
    /// on later ones; `Ready` once the deadline has passed.
    pub(crate) fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        let deadline = match (this.phase, this.timer) {
            (Phase::Done | Phase::Yielded, _) => {
                this.phase = Phase::Done;
                return Poll::Ready(());
            }
            (_, Some((key, loop_id))) if current::is_current(loop_id) => {
                if current::expect_running(|l| l.sleep_update(key, cx.waker())) {
                    return Poll::Pending;
                }
                // The timer fired.
                (this.phase, this.timer) = (Phase::Done, None);
                return Poll::Ready(());
            }
            // First poll (or moved to another loop: start over there).
            (deadline, _) => deadline,
        };
        let registered = current::expect_running(|l| {
            let now = l.now();
            let when = match deadline {
                Phase::After(duration) => now + duration,
                Phase::At(instant) => instant,
                Phase::Yielded | Phase::Done => unreachable!("handled above"),
            };
            // asyncio: a delay <= 0 is `sleep(0)`, a bare yield that resumes
            // in the next iteration; no timer.
            (when > now).then(|| (l.sleep_register(when, cx.waker().clone()), l.id()))
        });
        match registered {
            Some(timer) => this.timer = Some(timer),
            None => {
                cx.waker().wake_by_ref();
                (this.phase, this.timer) = (Phase::Yielded, None);
            }
        }
        Poll::Pending
    }
}

/// Off the loop's thread there is no loop to reach; the timer then fires
/// once, harmlessly, and is reclaimed.
fn cancel_timer(key: TimerKey, loop_id: LoopId) {
    with_loop(loop_id, |l| l.sleep_cancel(key));
}

impl Drop for Deadline {
    /// Only reads: a sleep that never registered (a timeout around a ready
    /// future) costs its drop one load and one branch.
    #[inline]
    fn drop(&mut self) {
        if let Some((key, loop_id)) = self.timer {
            cancel_timer(key, loop_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Deadline, Sleep};
    use std::mem::size_of;

    /// docs/benchmarks.md counts a sleeping task's bytes with these sizes.
    #[test]
    fn sleep_is_48_bytes_and_its_deadline_40() {
        assert_eq!(size_of::<Deadline>(), 40);
        assert_eq!(size_of::<Sleep>(), 48);
    }
}
