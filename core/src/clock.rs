//! The `Clock` trait: where the loop's notion of time comes from.
//!
//! # Contract
//!
//! * [`Clock::now`] is monotonic: it never goes backwards.
//! * When the loop is idle and its next timer is due at `deadline`, it calls
//!   [`Clock::advance_to`]. A real clock returns `false`, and the loop sleeps
//!   in the reactor until the deadline. A virtual clock jumps to `deadline`
//!   and returns `true`, and the loop only polls the reactor without waiting:
//!   a test that sleeps an hour runs in microseconds and is exact (trio's
//!   `MockClock(autojump_threshold=0)`, tokio's paused time).
//! * [`Clock::is_virtual`] tells the loop it may report a deadlock (rule L5)
//!   rather than block when nothing can ever happen.
//!
//! The loop reads the clock only when it has timers, or when asked for the
//! time, so a loop without timers makes no clock calls at all.

use std::time::{Duration, Instant};

/// A source of monotonic time for the event loop.
///
/// See the [module documentation](self) for the contract.
pub trait Clock: 'static {
    /// The current time.
    fn now(&self) -> Instant;

    /// Called when the loop is idle until `deadline`. Returns `true` if the
    /// clock has jumped there (no need to wait), `false` to make the loop wait.
    fn advance_to(&self, deadline: Instant) -> bool;

    /// Whether time only moves when the loop moves it.
    fn is_virtual(&self) -> bool {
        false
    }
}

/// The operating system's monotonic clock (`Instant::now`, a vDSO call).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn advance_to(&self, _deadline: Instant) -> bool {
        false
    }
}

/// A clock that moves only when told to, or when the loop is idle.
///
/// Clones share the same time, so a test can keep one and read or advance it
/// while the loop runs. It starts at a fixed point (the moment it was
/// created) and [`elapsed`](VirtualClock::elapsed) reports the virtual time
/// passed since.
///
/// ```
/// use corio_core::clock::{Clock, VirtualClock};
/// use std::time::Duration;
///
/// let clock = VirtualClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(3600));
/// assert_eq!(clock.now() - start, Duration::from_secs(3600));
/// // An idle loop jumps straight to its next deadline.
/// assert!(clock.advance_to(start + Duration::from_secs(7200)));
/// assert_eq!(clock.elapsed(), Duration::from_secs(7200));
/// ```
#[derive(Debug, Clone)]
pub struct VirtualClock {
    inner: std::sync::Arc<VirtualInner>,
}

#[derive(Debug)]
struct VirtualInner {
    origin: Instant,
    /// Nanoseconds since `origin`. An atomic so clones on other threads can
    /// read and advance it; the loop's own reads are plain loads.
    offset_ns: std::sync::atomic::AtomicU64,
}

impl VirtualClock {
    /// A virtual clock at elapsed time zero.
    pub fn new() -> Self {
        VirtualClock {
            inner: std::sync::Arc::new(VirtualInner {
                origin: Instant::now(),
                offset_ns: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// Moves time forward by `by`. Time saturates at about 584 years after
    /// the clock's creation (2^64 ns) instead of wrapping around.
    pub fn advance(&self, by: Duration) {
        let ns = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self.inner.offset_ns.fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |offset| Some(offset.saturating_add(ns)),
        );
    }

    /// Virtual time elapsed since the clock was created.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.inner.offset_ns.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for VirtualClock {
    #[inline]
    fn now(&self) -> Instant {
        self.inner.origin + self.elapsed()
    }

    fn advance_to(&self, deadline: Instant) -> bool {
        let target =
            u64::try_from(deadline.saturating_duration_since(self.inner.origin).as_nanos()).unwrap_or(u64::MAX);
        self.inner.offset_ns.fetch_max(target, std::sync::atomic::Ordering::Relaxed);
        true
    }

    fn is_virtual(&self) -> bool {
        true
    }
}
