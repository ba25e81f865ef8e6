use crate::runtime::current::{self, with_local};
use crate::runtime::timers::TimerKey;
use crate::task::Cancelled;
use std::future::Future;
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
pub fn sleep(duration: Duration) -> Sleep {
    Sleep { deadline: Deadline::After(duration), state: State::Idle }
}

/// Waits until `deadline` on the running loop's clock (a checkpoint). A
/// deadline in the past completes at the next iteration.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep { deadline: Deadline::At(deadline), state: State::Idle }
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
    Registered { key: TimerKey, owner: usize },
    Done,
}

/// The future returned by [`sleep`] and [`sleep_until`]; resolves to
/// `Err(Cancelled)` if its task is cancelled meanwhile.
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Deadline,
    state: State,
}

impl Sleep {
    /// Forgets the timer (dropped sleeps and cancelled ones).
    fn deregister(&mut self) {
        if let State::Registered { key, owner } = self.state {
            // Off the loop's thread there is no loop to reach; the timer then
            // fires once, harmlessly, and is reclaimed.
            with_local(owner as *const (), |l| l.sleep_cancel(key));
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
        match this.state {
            State::Done | State::Yielded => {
                this.state = State::Done;
                Poll::Ready(Ok(()))
            }
            State::Registered { key, owner } if current::is_running(owner as *const ()) => {
                if current::expect_running(|l| l.sleep_update(key, cx.waker())) {
                    Poll::Pending
                } else {
                    this.state = State::Done; // the timer fired
                    Poll::Ready(Ok(()))
                }
            }
            State::Idle | State::Registered { .. } => {
                // First poll (or moved to another loop: start over there).
                if let Deadline::After(Duration::ZERO) = this.deadline {
                    this.state = State::Yielded;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                let (key, owner) = current::expect_running(|l| {
                    let when = match this.deadline {
                        Deadline::After(duration) => l.now() + duration,
                        Deadline::At(instant) => instant,
                    };
                    (l.sleep_register(when, cx.waker().clone()), l.owner() as usize)
                });
                this.state = State::Registered { key, owner };
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
