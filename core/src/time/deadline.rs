//! A deadline and its timer: what `sleep`, `fut.timeout(d)` and `wait(..)`
//! share.
//!
//! # Invariants
//!
//! * The whole state is one word (`state`): `REGISTERED` and the phase's
//!   kind in its top bits, a magnitude (seconds, then nanoseconds) below
//!   them. Creating a deadline is one store and dropping one that never
//!   registered is one load and one branch — W9a's whole cost beyond the
//!   future, which is bound by stores, not instructions.
//! * `timer` (the timer's key and its loop) is initialised exactly while
//!   `REGISTERED` is set, and only read then.
//! * The phase is kept while the timer is registered, so a deadline moved to
//!   another loop can start over there.
//! * Magnitudes saturate at 2^31 seconds (about 68 years). A delay that
//!   saturated, or a deadline that lies that far after the anchor, never
//!   comes: it registers no timer and waits until cancelled — firing at 68
//!   years would be early, and `sleep(Duration::MAX)` must not overflow the
//!   clock. (A deadline that far *before* the anchor is simply past.)
//! * An absolute deadline is kept as a signed offset from a process-wide
//!   anchor (an `Instant` taken once), so it round-trips exactly.

use crate::runtime::current::{self, with_loop};
use crate::runtime::shared::LoopId;
use crate::runtime::timers::TimerKey;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A duration, or an offset from the anchor: whole seconds above
/// `NANOS_BITS`, the subsecond nanoseconds below (no division to decode).
const MAGNITUDE: u64 = (1 << 61) - 1;
const NANOS_BITS: u32 = 30;
/// The longest magnitude's seconds: 2^31 - 1, about 68 years.
const MAX_SECS: u64 = MAGNITUDE >> NANOS_BITS;
/// The magnitude a longer duration saturates to.
const SATURATED: u64 = MAX_SECS << NANOS_BITS | 999_999_999;
/// The phase's kind: `AFTER | AT_LATER | AT_EARLIER | SPECIAL`.
const KIND: u64 = 3 << 61;
/// `magnitude` from the first poll.
const AFTER: u64 = 0;
/// At the anchor plus the magnitude.
const AT_LATER: u64 = 1 << 61;
/// At the anchor minus the magnitude.
const AT_EARLIER: u64 = 2 << 61;
/// `YIELDED` or `DONE`, told apart by the magnitude.
const SPECIAL: u64 = 3 << 61;
/// A deadline already due: yielded once, done at the next poll.
const YIELDED: u64 = SPECIAL;
const DONE: u64 = SPECIAL | 1;
/// `timer` holds a registered timer.
const REGISTERED: u64 = 1 << 63;

/// Where a deadline is, decoded from the state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    After(Duration),
    At(Instant),
    Yielded,
    Done,
}

/// The instant absolute deadlines are measured from.
fn anchor() -> Instant {
    static ANCHOR: OnceLock<Instant> = OnceLock::new();
    *ANCHOR.get_or_init(Instant::now)
}

#[inline]
fn magnitude_of(duration: Duration) -> u64 {
    match duration.as_secs() {
        secs @ 0..=MAX_SECS => secs << NANOS_BITS | u64::from(duration.subsec_nanos()),
        _ => SATURATED,
    }
}

/// A timer on the running loop, registered on the first poll that finds its
/// deadline in the future. Cancelled when dropped while registered.
pub(crate) struct Deadline {
    state: u64,
    /// Initialised exactly while `state & REGISTERED` (see the module docs).
    timer: MaybeUninit<(TimerKey, LoopId)>,
}

impl Deadline {
    /// `duration` from the first poll.
    #[inline]
    pub(crate) fn after(duration: Duration) -> Self {
        Deadline { state: AFTER | magnitude_of(duration), timer: MaybeUninit::uninit() }
    }

    /// At `instant`.
    pub(crate) fn at(instant: Instant) -> Self {
        let anchor = anchor();
        let state = match instant.checked_duration_since(anchor) {
            Some(later) => AT_LATER | magnitude_of(later),
            None => AT_EARLIER | magnitude_of(anchor - instant),
        };
        Deadline { state, timer: MaybeUninit::uninit() }
    }

    fn phase(&self) -> Phase {
        match self.state & KIND {
            AFTER => Phase::After(self.magnitude()),
            SPECIAL if self.state & MAGNITUDE == 0 => Phase::Yielded, // YIELDED has magnitude 0
            SPECIAL => Phase::Done,
            _ => Phase::At(self.instant()),
        }
    }

    #[inline]
    fn magnitude(&self) -> Duration {
        let nanos = self.state & ((1 << NANOS_BITS) - 1);
        Duration::new((self.state & MAGNITUDE) >> NANOS_BITS, nanos as u32)
    }

    /// The instant of an `AT_LATER` or `AT_EARLIER` deadline.
    fn instant(&self) -> Instant {
        if self.state & KIND == AT_LATER {
            anchor() + self.magnitude()
        } else {
            // An offset that saturated may reach before the clock's origin:
            // any instant that early is long past.
            anchor().checked_sub(self.magnitude()).unwrap_or_else(anchor)
        }
    }

    /// Whether the delay, or the deadline's distance after the anchor,
    /// saturated: it never comes (see the module docs).
    fn is_beyond_reach(&self) -> bool {
        matches!(self.state & KIND, AFTER | AT_LATER) && self.state & MAGNITUDE == SATURATED
    }

    /// Whether the deadline was already due and the poll only yielded.
    pub(crate) fn is_yielded(&self) -> bool {
        self.state & !REGISTERED == YIELDED
    }

    /// Whether the deadline passed (a poll returned `Ready`) or the timer
    /// was deregistered.
    pub(crate) fn is_done(&self) -> bool {
        self.state & !REGISTERED == DONE
    }

    fn timer(&self) -> Option<(TimerKey, LoopId)> {
        // SAFETY: `timer` is initialised while `REGISTERED` is set.
        (self.state & REGISTERED != 0).then(|| unsafe { self.timer.assume_init() })
    }

    /// Forgets the timer (cancelled sleeps).
    #[inline]
    pub(crate) fn deregister(&mut self) {
        if let Some((key, loop_id)) = self.timer() {
            cancel_timer(key, loop_id);
        }
        self.state = DONE;
    }

    /// Registers the timer on the first poll, re-arms it with `cx`'s waker
    /// on later ones; `Ready` once the deadline has passed.
    pub(crate) fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.state & KIND == SPECIAL {
            self.state = DONE; // yielded or done
            return Poll::Ready(());
        }
        if let Some((key, loop_id)) = self.timer() {
            if current::is_current(loop_id) {
                if current::expect_running(|l| l.sleep_update(key, cx.waker())) {
                    return Poll::Pending;
                }
                self.state = DONE; // the timer fired
                return Poll::Ready(());
            }
            // Polled on another loop of the timer's runtime (a task that
            // moved): the timer stays where it is, with this poll's waker,
            // and wakes the task there when it fires.
            let waker = cx.waker().clone();
            let forwarded = current::forward_to_loop(loop_id, move || {
                current::with_running(|l| l.sleep_update(key, &waker));
            });
            if forwarded {
                return Poll::Pending;
            }
        }
        // First poll (or moved to a loop the timer's cannot reach: start
        // over there).
        let outcome = current::expect_running(|l| {
            let now = l.now();
            let when = match self.state & KIND {
                _ if self.is_beyond_reach() => None,
                AFTER => now.checked_add(self.magnitude()),
                _ => Some(self.instant()),
            };
            match when {
                Some(when) if when > now => Registration::Timer(l.sleep_register(when, cx.waker().clone()), l.id()),
                Some(_) => Registration::Due,
                None => Registration::Never,
            }
        });
        match outcome {
            Registration::Timer(key, loop_id) => {
                self.timer = MaybeUninit::new((key, loop_id));
                self.state |= REGISTERED;
            }
            // asyncio: a delay <= 0 is `sleep(0)`, a bare yield that resumes
            // in the next iteration; no timer.
            Registration::Due => {
                cx.waker().wake_by_ref();
                self.state = YIELDED;
            }
            // Beyond reach (see the module docs) or the clock's range: it
            // never comes, so nothing wakes it.
            Registration::Never => self.state &= !REGISTERED,
        }
        Poll::Pending
    }
}

/// What a first poll did with the deadline.
enum Registration {
    Timer(TimerKey, LoopId),
    Due,
    Never,
}

/// Cancels the timer on its loop: directly on the loop's thread, or —
/// from another loop of its runtime (a task that moved) — by asking it.
/// Elsewhere there is no loop to reach; the timer then fires once,
/// harmlessly, and is reclaimed.
fn cancel_timer(key: TimerKey, loop_id: LoopId) {
    if with_loop(loop_id, |l| l.sleep_cancel(key)).is_none() {
        current::forward_to_loop(loop_id, move || {
            current::with_running(|l| l.sleep_cancel(key));
        });
    }
}

impl Drop for Deadline {
    /// Only reads: a deadline that never registered (a timeout around a
    /// ready future) costs its drop one load and one branch.
    #[inline]
    fn drop(&mut self) {
        if let Some((key, loop_id)) = self.timer() {
            cancel_timer(key, loop_id);
        }
    }
}

impl fmt::Debug for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deadline").field("phase", &self.phase()).field("timer", &self.timer()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{Deadline, Phase, DONE, MAX_SECS, REGISTERED};
    use std::time::{Duration, Instant};

    #[test]
    fn phases_round_trip_through_the_state_word() {
        let d = Duration::new(3600, 123_456_789);
        assert_eq!(Deadline::after(d).phase(), Phase::After(d));
        assert_eq!(Deadline::after(Duration::ZERO).phase(), Phase::After(Duration::ZERO));
        let now = Instant::now();
        for instant in [now, now + d, now - Duration::from_millis(1), now + Duration::from_nanos(1)] {
            assert_eq!(Deadline::at(instant).phase(), Phase::At(instant));
        }
        let mut yielded = Deadline::after(d);
        yielded.state = super::YIELDED;
        assert!(yielded.is_yielded());
        assert_eq!(yielded.phase(), Phase::Yielded);
        yielded.state = DONE;
        assert!(!yielded.is_yielded());
        assert_eq!(yielded.phase(), Phase::Done);
        assert!(yielded.timer().is_none());
    }

    #[test]
    fn saturated_forward_deadlines_are_beyond_reach() {
        let year = Duration::from_secs(365 * 86_400);
        assert!(Deadline::after(Duration::MAX).is_beyond_reach());
        assert!(Deadline::after(100 * year).is_beyond_reach());
        assert!(!Deadline::after(60 * year).is_beyond_reach());
        let now = Instant::now();
        assert!(Deadline::at(now + 100 * year).is_beyond_reach());
        assert!(!Deadline::at(now + 60 * year).is_beyond_reach());
        if let Some(long_ago) = now.checked_sub(100 * year) {
            assert!(!Deadline::at(long_ago).is_beyond_reach(), "a deadline that far back is past, not never");
        }
    }

    #[test]
    fn magnitudes_saturate_at_about_68_years() {
        let most = Duration::new(MAX_SECS, 999_999_999);
        assert_eq!(MAX_SECS, (1 << 31) - 1);
        assert_eq!(Deadline::after(Duration::MAX).phase(), Phase::After(most));
        assert_eq!(Deadline::after(most).phase(), Phase::After(most));
        assert_eq!(Deadline::after(most + Duration::from_nanos(1)).phase(), Phase::After(most));
        assert_eq!(Deadline::after(Duration::MAX).state & REGISTERED, 0);
    }
}
