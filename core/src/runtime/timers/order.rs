//! Where a timer sits in the firing order: its entry, and the key that turns
//! an `Instant` into a number the wheel can bucket.
//!
//! A key is a deadline in nanoseconds on a 64-bit line whose middle is the
//! queue's origin: `key(origin) = 2^63`, one nanosecond per step, so every
//! instant within about 292 years either side of the origin has a key, exactly,
//! and keys compare as their instants do. An instant outside that window has
//! no key ([`Origin::key`] says `None`); the queue keeps such a timer, with its
//! `Instant`, in an overflow heap. Nothing saturates: no deadline is ever
//! stored as another.
//!
//! The origin is where the queue was made (`Instant::now()`), not any
//! deadline, and it moves ([`Origin::moved_to`]) when the clock has gone more
//! than 146 years from it while no keyed timer is pending — so a far-off
//! timer cannot shift the meaning of any other (issue 25, defect 2).

use std::time::{Duration, Instant};

/// The key of the origin itself.
pub(super) const MID: u64 = 1 << 63;

/// How far `now` may drift from the origin (in key units) before an empty
/// queue recentres on it: half the window, about 146 years.
pub(super) const RECENTRE_AT: u64 = 1 << 62;

/// A timer's place in the order: its deadline's key, then its sequence
/// number (the tie order, rule L3), then the slab slot and generation that
/// say whether it is still live. The derived order is (key, seq, ..); seq is
/// unique, so the last two never decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Entry {
    pub(super) key: u64,
    pub(super) seq: u64,
    pub(super) slot: u32,
    pub(super) generation: u32,
}

/// A timer whose deadline has no key: kept with its `Instant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct FarEntry {
    pub(super) when: Instant,
    pub(super) seq: u64,
    pub(super) slot: u32,
    pub(super) generation: u32,
}

/// How much of the keyed order is due at some `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Limit {
    /// `now` lies before every key: nothing keyed is due.
    Nothing,
    /// Keys up to and including this one are due (`u64::MAX`: all of them).
    UpTo(u64),
}

impl Limit {
    #[inline]
    pub(super) fn covers(self, key: u64) -> bool {
        match self {
            Limit::Nothing => false,
            Limit::UpTo(limit) => key <= limit,
        }
    }

    /// Whether the `now` this limit was made from lies so far from the origin
    /// (more than 146 years, or outside the window) that an empty queue
    /// should recentre on it.
    #[inline]
    pub(super) fn is_far(self) -> bool {
        match self {
            Limit::Nothing => true,
            Limit::UpTo(key) => key.abs_diff(MID) > RECENTRE_AT,
        }
    }
}

/// `d` in nanoseconds if that fits 64 bits (under 2^34 s, about 544 years,
/// more than the window needs), without a 128-bit product.
#[inline]
fn nanos(d: Duration) -> Option<u64> {
    let secs = d.as_secs();
    (secs < 1 << 34).then(|| secs * 1_000_000_000 + u64::from(d.subsec_nanos()))
}

/// The instant keys count from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Origin {
    at: Instant,
}

impl Origin {
    pub(super) fn new(at: Instant) -> Self {
        Origin { at }
    }

    /// `when`'s key, if it lies within the window (about ±292 years).
    #[inline]
    pub(super) fn key(&self, when: Instant) -> Option<u64> {
        match when.checked_duration_since(self.at) {
            Some(after) => nanos(after).filter(|&ns| ns < MID).map(|ns| MID + ns),
            None => nanos(self.at - when).filter(|&ns| ns <= MID).map(|ns| MID - ns),
        }
    }

    /// What is due at `now`; a `now` outside the window covers all keys or
    /// none.
    #[inline]
    pub(super) fn limit(&self, now: Instant) -> Limit {
        match self.key(now) {
            Some(key) => Limit::UpTo(key),
            None if now > self.at => Limit::UpTo(u64::MAX),
            None => Limit::Nothing,
        }
    }

    /// The instant of `key`: exact for a key made by [`key`](Self::key). (A
    /// wheel slot's start, used as a lower bound, lies between keys made from
    /// real instants, so it exists too; were it ever out of the clock's range,
    /// the origin stands in.)
    pub(super) fn instant(&self, key: u64) -> Instant {
        let instant = if key >= MID {
            self.at.checked_add(Duration::from_nanos(key - MID))
        } else {
            self.at.checked_sub(Duration::from_nanos(MID - key))
        };
        instant.unwrap_or(self.at)
    }

    /// The origin recentred on `now`.
    pub(super) fn moved_to(now: Instant) -> Self {
        Origin { at: now }
    }
}

#[cfg(test)]
mod tests {
    use super::{Limit, Origin, MID};
    use std::time::{Duration, Instant};

    #[test]
    fn keys_are_exact_within_the_window_and_absent_beyond() {
        let at = Instant::now();
        let origin = Origin::new(at);
        assert_eq!(origin.key(at), Some(MID));
        let most = Duration::from_nanos(MID - 1);
        for d in [Duration::from_nanos(1), Duration::from_secs(3600), Duration::from_secs(200 * 365 * 86_400), most] {
            let key = origin.key(at + d).expect("within the window");
            assert_eq!(origin.instant(key), at + d);
            if let Some(before) = at.checked_sub(d) {
                let key = origin.key(before).expect("within the window");
                assert_eq!(origin.instant(key), before);
            }
        }
        assert_eq!(origin.key(at + most), Some(u64::MAX));
        assert_eq!(origin.key(at + most + Duration::from_nanos(1)), None);
        assert_eq!(origin.limit(at + most + Duration::from_nanos(1)), Limit::UpTo(u64::MAX));
        if let Some(long_ago) = at.checked_sub(Duration::from_nanos(MID) + Duration::from_nanos(1)) {
            assert_eq!(origin.key(long_ago), None);
            assert_eq!(origin.limit(long_ago), Limit::Nothing);
        }
    }
}
