//! [`Interval`]: a periodic timer (tokio's `time::interval`), ticking on the
//! running loop's clock.
//!
//! ```
//! # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
//! # use corio::runtime::EventLoop;
//! # use corio::reactor::ParkReactor;
//! # use corio::clock::VirtualClock;
//! use corio::time::interval;
//! use std::time::Duration;
//! # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
//! # lp.block_on(async {
//! let mut every_second = interval(Duration::from_secs(1)).unwrap();
//! let first = every_second.tick().await?; // the first tick is at once
//! let second = every_second.tick().await?;
//! assert_eq!(second - first, Duration::from_secs(1)); // exact on the virtual clock
//! Ok::<_, corio::task::Cancelled>(())
//! # })
//! # .unwrap()
//! # .unwrap();
//! ```
//!
//! # Invariants
//!
//! * `next` is the instant the next tick is due; `None` before the first
//!   poll of an [`interval`] (its first tick is at the instant it is first
//!   polled, so an interval can be made outside a loop), `Some(None)` once
//!   the next tick lies beyond the clock's range (it never comes).
//! * The timer of the tick being waited for lives in the `Interval`, not in
//!   the future [`tick`](Interval::tick) returns: a dropped tick future
//!   leaves the timer registered, and the next `tick()` goes on waiting for
//!   the same instant. That is what makes `tick` cancel-safe.
//! * A tick that is already due when polled completes in that poll (no
//!   timer, no yield); the cancel check comes first, as at every checkpoint.

use super::Deadline;
use crate::runtime::current;
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current::checkpoint;
use crate::task::Cancelled;
use futures_core::Stream;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// What an [`Interval`] does when ticks were missed (the loop was busy past
/// one or more tick instants). The default is [`Burst`](MissedTickBehavior::Burst),
/// as tokio's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one per `tick()`, until caught up: the
    /// ticks keep their schedule (`start + k * period`).
    #[default]
    Burst,
    /// Fire one tick now, and schedule the next a full period after it: the
    /// schedule shifts by the delay.
    Delay,
    /// Fire one tick now, and skip the missed ones: the next tick is the
    /// next instant of the original schedule that lies in the future.
    Skip,
}

/// [`interval`] or [`interval_at`] with a zero period (every tick would be
/// due at once, forever). tokio panics here; corio reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZeroPeriod;

impl fmt::Display for ZeroPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an interval needs a period greater than zero")
    }
}

impl std::error::Error for ZeroPeriod {}

/// A timer ticking every `period`; the first tick is at once (at the first
/// poll). `Err(ZeroPeriod)` for a zero period.
///
/// The interval may be created outside a loop: its schedule starts when it
/// is first polled, on the polling loop's clock.
pub fn interval(period: Duration) -> Result<Interval, ZeroPeriod> {
    Interval::new(None, period)
}

/// A timer ticking every `period`, first at `start` (a past `start` fires at
/// once, then catches up as [`MissedTickBehavior`] says). `Err(ZeroPeriod)`
/// for a zero period.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use corio::time::interval_at;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// # lp.block_on(async {
/// let start = corio::time() + Duration::from_secs(5);
/// let mut ticks = interval_at(start, Duration::from_secs(2)).unwrap();
/// assert_eq!(ticks.tick().await?, start);
/// assert_eq!(ticks.tick().await?, start + Duration::from_secs(2));
/// Ok::<_, corio::task::Cancelled>(())
/// # })
/// # .unwrap()
/// # .unwrap();
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Result<Interval, ZeroPeriod> {
    Interval::new(Some(start), period)
}

/// A periodic timer: see [`interval`]. Also a `futures::Stream` of
/// `Result<Instant, Cancelled>` that never ends.
pub struct Interval {
    period: Duration,
    /// See the module documentation.
    next: Option<Option<Instant>>,
    missed: MissedTickBehavior,
    /// The timer of the tick being waited for, if one is registered.
    deadline: Option<Deadline>,
}

impl Interval {
    fn new(start: Option<Instant>, period: Duration) -> Result<Interval, ZeroPeriod> {
        if period.is_zero() {
            return Err(ZeroPeriod);
        }
        Ok(Interval { period, next: start.map(Some), missed: MissedTickBehavior::Burst, deadline: None })
    }

    /// Waits for the next tick (a checkpoint) and returns the instant it was
    /// scheduled for (not the instant it was noticed: under load the two
    /// differ).
    ///
    /// **Cancel safety:** cancel-safe. Dropping the future (a losing
    /// `select!` branch) or a delivered cancel loses no tick: the next
    /// `tick()` waits for the same instant.
    pub fn tick(&mut self) -> Tick<'_> {
        Tick { interval: self }
    }

    /// [`tick`](Interval::tick) as a poll function.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Result<Instant, Cancelled>> {
        if let Err(cancelled) = checkpoint() {
            return Poll::Ready(Err(cancelled)); // the timer, if any, stays for the next tick
        }
        let now = current::time();
        let due = *self.next.get_or_insert(Some(now));
        let Some(due) = due else {
            // Beyond the clock's range: it never comes.
            suspend_at(WaitKind::Sleep, None);
            return Poll::Pending;
        };
        if now < due {
            let deadline = self.deadline.get_or_insert_with(|| Deadline::at(due));
            if deadline.poll_timer(cx).is_pending() {
                suspend_at(WaitKind::Sleep, None);
                return Poll::Pending;
            }
        }
        self.deadline = None;
        self.next = Some(self.after(due, now));
        Poll::Ready(Ok(due))
    }

    /// The tick after the one due at `due`, noticed at `now`.
    fn after(&self, due: Instant, now: Instant) -> Option<Instant> {
        let scheduled = due.checked_add(self.period)?;
        if scheduled > now {
            return Some(scheduled);
        }
        // Missed ticks: `now` is at or past the next one.
        match self.missed {
            MissedTickBehavior::Burst => Some(scheduled),
            MissedTickBehavior::Delay => now.checked_add(self.period),
            MissedTickBehavior::Skip => {
                // The first instant `due + k * period` after `now`.
                let behind = now.duration_since(due).as_nanos();
                let period = self.period.as_nanos();
                let periods = behind / period + 1;
                let ahead = period.checked_mul(periods)?;
                due.checked_add(Duration::from_nanos(u64::try_from(ahead).ok()?))
            }
        }
    }

    /// Restarts the schedule: the next tick is one period from now (tokio's
    /// `reset`). Needs the running loop (for "now").
    pub fn reset(&mut self) {
        self.reset_at(current::time().checked_add(self.period));
    }

    /// The next tick is at once, then on the schedule from there.
    pub fn reset_immediately(&mut self) {
        self.reset_at(Some(current::time()));
    }

    /// The next tick is one period after `after`.
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(current::time().checked_add(after));
    }

    /// The next tick is at `deadline`.
    pub fn reset_at_instant(&mut self, deadline: Instant) {
        self.reset_at(Some(deadline));
    }

    fn reset_at(&mut self, next: Option<Instant>) {
        self.deadline = None; // a registered timer is cancelled when dropped
        self.next = Some(next);
    }

    /// What happens to missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("next", &self.next)
            .field("missed_tick_behavior", &self.missed)
            .finish()
    }
}

impl Stream for Interval {
    type Item = Result<Instant, Cancelled>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

/// The future returned by [`Interval::tick`]. Cancel-safe (see there).
#[must_use = "futures do nothing unless awaited"]
pub struct Tick<'a> {
    interval: &'a mut Interval,
}

impl Future for Tick<'_> {
    type Output = Result<Instant, Cancelled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.interval.poll_tick(cx)
    }
}

impl fmt::Debug for Tick<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tick").field("interval", &self.interval).finish()
    }
}
