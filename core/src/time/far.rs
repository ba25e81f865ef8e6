//! Delays too long for the clock: a deadline beyond the range of
//! [`Instant`] is one that never comes.
//!
//! Every API that turns a user's delay into a deadline — `call_later`,
//! `timeout`, `wait_for`, `move_on_after`, `fail_after`,
//! `CancelScope::with_timeout`, `EventLoop::shutdown`'s grace — goes through
//! [`deadline_after`], so `Duration::MAX` (or any delay past the clock's
//! end) means "never" everywhere, where `Instant + Duration` would panic.
//! What "never" does is the caller's: a timer that never fires is not
//! scheduled at all, a scope without a deadline never expires, a shutdown
//! without one waits for its tasks. (`sleep` is the exception by design: its
//! delays saturate at 2^31 s, see `deadline.rs`.)

use std::time::{Duration, Instant};

/// The deadline `delay` after `now`, or `None` when it lies beyond the
/// clock's range: a deadline that never comes.
#[inline]
pub(crate) fn deadline_after(now: Instant, delay: Duration) -> Option<Instant> {
    now.checked_add(delay)
}

/// The latest instant after `now` that the clock can represent: what a
/// handle whose deadline never comes reports as its time (asyncio's
/// `call_later(math.inf)` reports `inf`). Cold: only such handles ask.
#[cold]
pub(crate) fn end_of_time(now: Instant) -> Instant {
    // The largest number of seconds that still fits, by bisection.
    let (mut fits, mut overflows) = (0u64, u64::MAX);
    while overflows - fits > 1 {
        let mid = fits + (overflows - fits) / 2;
        if now.checked_add(Duration::from_secs(mid)).is_some() {
            fits = mid;
        } else {
            overflows = mid;
        }
    }
    now + Duration::from_secs(fits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delay_past_the_clocks_end_is_never() {
        let now = Instant::now();
        assert_eq!(deadline_after(now, Duration::ZERO), Some(now));
        assert_eq!(deadline_after(now, Duration::from_secs(1)), Some(now + Duration::from_secs(1)));
        assert_eq!(deadline_after(now, Duration::MAX), None);
        let end = end_of_time(now);
        assert!(end > now + Duration::from_secs(1 << 40));
        assert_eq!(end.checked_add(Duration::from_secs(1)), None, "nothing a second later fits");
    }
}
