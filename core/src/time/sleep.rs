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
pub fn sleep(duration: Duration) -> Sleep {
    Sleep { deadline: Deadline::After(duration), state: State::Idle, at: Location::caller() }
}

/// Waits until `deadline` on the running loop's clock (a checkpoint). A
/// deadline that has passed yields once and completes at the next
/// iteration, as `asyncio.sleep` with a non-positive delay does.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep { deadline: Deadline::At(deadline), state: State::Idle, at: Location::caller() }
}

#[derive(Debug, Clone, Copy)]
enum Deadline {
    After(Duration),
    At(Instant),
}

#[derive(Debug, Clone, Copy)]
enum State {
    Idle,
    Yielded,
    Registered { key: TimerKey, loop_id: LoopId },
    Done,
}

/// The future returned by [`sleep`] and [`sleep_until`]; resolves to
/// `Err(Cancelled)` if its task is cancelled meanwhile.
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Deadline,
    state: State,
    /// Where it was created: the checkpoint a task dump shows.
    at: &'static Location<'static>,
}

impl Sleep {
    /// Forgets the timer (dropped sleeps and cancelled ones).
    fn deregister(&mut self) {
        if let State::Registered { key, loop_id } = self.state {
            // Off the loop's thread there is no loop to reach; the timer then
            // fires once, harmlessly, and is reclaimed.
            with_loop(loop_id, |l| l.sleep_cancel(key));
        }
        self.state = State::Done;
    }
}

impl Future for Sleep {
    type Output = Result<(), Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Err(cancelled) = current::checkpoint() {
            this.deregister();
            return Poll::Ready(Err(cancelled));
        }
        let poll = this.poll_timer(cx);
        if poll.is_pending() {
            let kind = if matches!(this.state, State::Yielded) { WaitKind::Yield } else { WaitKind::Sleep };
            suspend_at(kind, Some(this.at));
        }
        poll.map(Ok)
    }
}

impl Sleep {
    /// The timer alone, without the checkpoint: for combinators whose
    /// deadline must not consume the task's cancel (`FutureExt::timeout`,
    /// `wait`).
    pub(crate) fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        match this.state {
            State::Done | State::Yielded => {
                this.state = State::Done;
                Poll::Ready(())
            }
            State::Registered { key, loop_id } if current::is_current(loop_id) => {
                if current::expect_running(|l| l.sleep_update(key, cx.waker())) {
                    Poll::Pending
                } else {
                    this.state = State::Done; // the timer fired
                    Poll::Ready(())
                }
            }
            State::Idle | State::Registered { .. } => {
                // First poll (or moved to another loop: start over there).
                let registered = current::expect_running(|l| {
                    let now = l.now();
                    let when = match this.deadline {
                        Deadline::After(duration) => now + duration,
                        Deadline::At(instant) => instant,
                    };
                    // asyncio: a delay <= 0 is `sleep(0)`, a bare yield that
                    // resumes in the next iteration; no timer.
                    (when > now).then(|| (l.sleep_register(when, cx.waker().clone()), l.id()))
                });
                this.state = match registered {
                    Some((key, loop_id)) => State::Registered { key, loop_id },
                    None => {
                        cx.waker().wake_by_ref();
                        State::Yielded
                    }
                };
                Poll::Pending
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}
