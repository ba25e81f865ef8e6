//! The timer queue: a hierarchical timing wheel with an exactly ordered near
//! level, over a slab of timers.
//!
//! Three places hold a timer's entry, by how far off its deadline is:
//!
//! * the **near level** (`timers/near.rs`): every deadline up to the end of
//!   the current tick (about 1 ms), past ones included, in exact order —
//!   sorted runs, one per tick reached, that fire as a walk along an array,
//!   and a small heap for the rare insert that lands among them;
//! * the **wheel** (`timers/wheel.rs`): later deadlines, bucketed by tick in
//!   8 levels of 64 slots (tokio's layout); inserting appends to a slot's
//!   array; reaching a slot sorts its tick into the near level
//!   (`timers/tick_sort.rs`), or cascades a coarser slot one level down;
//! * the **overflow** heap: deadlines that have no key, more than about 292
//!   years from the queue's origin either way (`timers/order.rs`).
//!
//! The values live in a slab (`timers/slab.rs`), named by [`TimerKey`]s. So a
//! burst of timers fires with one sort per tick and a walk, no per-timer heap
//! sift and no allocation; an insert is O(1) and touches only the end of an
//! array; a cancel is O(1) (below). docs/design.md ("Timers") has the
//! measurements behind each choice.
//!
//! ```
//! use corio_core::runtime::timers::TimerQueue;
//! use std::time::{Duration, Instant};
//!
//! let t0 = Instant::now();
//! let mut timers = TimerQueue::new();
//! timers.insert(t0 + Duration::from_secs(3600 * 24 * 365 * 1000), "in a thousand years");
//! timers.insert(t0 + Duration::from_millis(20), "later20");
//! timers.insert(t0 + Duration::from_millis(10), "later10");
//! let cancelled = timers.insert(t0 + Duration::from_millis(15), "cancelled!");
//! timers.cancel(cancelled);
//! let mut fired = Vec::new();
//! timers.fire_due(t0 + Duration::from_secs(1), |v| fired.push(v));
//! assert_eq!(fired, ["later10", "later20"]);
//! ```
//!
//! # Invariants
//!
//! * Timers fire in deadline order; equal deadlines fire in insertion order
//!   (each entry carries a sequence number; asyncio leaves ties unordered,
//!   corio does not — rule L3). A timer never fires before its deadline: due
//!   means key ≤ the key of `now`, compared exactly, in whichever part.
//! * The parts partition the keyed order at the *horizon*, the last key of
//!   the wheel's current tick: the near level holds exactly the entries up to
//!   it, the wheel those beyond. The queue's front is the smaller of the near
//!   level's front and the overflow's top (compared as instants).
//! * Any deadline is exact: keys count nanoseconds from an origin set when the
//!   queue is made (not from any deadline), ±292 years; beyond, the overflow
//!   keeps the `Instant`. The origin recentres on `now` once the clock is 146
//!   years away and nothing keyed is pending.
//! * A cancelled timer never fires: cancelling frees its slot at once (the
//!   slot's generation moves on) and its entry becomes stale where it lies.
//!   Stale entries are counted; [`TimerQueue::purge`] removes them all when
//!   more than 100 entries are scheduled and more than half are stale, and
//!   otherwise drops stale entries off the front (asyncio's rule, L6), so
//!   memory stays bounded under `call_later` + `cancel` churn.
//! * A key identifies one timer for its lifetime: a slot reused by a later
//!   timer has another generation, so a stale key never touches it.
//! * [`next_deadline`](TimerQueue::next_deadline) is exact unless the first
//!   timers lie in a wheel slot holding more than 32 entries: then it is that
//!   slot's start, a lower bound (a loop waits until then, advances, and asks
//!   again: it wakes early, never late).
//!   [`next_deadline_exact`](TimerQueue::next_deadline_exact) is always exact.

mod near;
mod order;
mod slab;
mod tick_sort;
mod wheel;

use near::{Near, Part};
use order::{Entry, FarEntry, Limit, Origin, MID};
use slab::Slab;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;
use wheel::{Wheel, MAX_TICK};

/// asyncio's `_MIN_SCHEDULED_TIMER_HANDLES`.
pub const PURGE_MIN_SCHEDULED: usize = 100;

/// How many entries [`TimerQueue::next_deadline`] reads in a wheel slot to
/// find the exact deadline; a fuller slot gives its start instead.
const SCAN_LIMIT: usize = 32;

/// How many entries ahead [`TimerQueue::fire_due`] prefetches a value.
const PREFETCH_DISTANCE: usize = 8;

/// Identifies one timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKey {
    slot: u32,
    generation: u32,
}

/// The first entry in firing order, and where it is.
#[derive(Debug, Clone, Copy)]
enum Front {
    Near(Entry, Part),
    Far(FarEntry),
}

impl Front {
    fn key(self) -> TimerKey {
        match self {
            Front::Near(e, _) => TimerKey { slot: e.slot, generation: e.generation },
            Front::Far(e) => TimerKey { slot: e.slot, generation: e.generation },
        }
    }
}

/// Timers carrying a `T` each; see the [module docs](self).
#[derive(Debug)]
pub struct TimerQueue<T> {
    origin: Origin,
    near: Near,
    wheel: Wheel,
    overflow: BinaryHeap<Reverse<FarEntry>>,
    slab: Slab<T>,
    /// Entries in all parts, live and stale.
    entries: usize,
    /// Entries whose timer was cancelled.
    stale: usize,
    next_seq: u64,
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> TimerQueue<T> {
    /// An empty queue; its origin is now.
    pub fn new() -> Self {
        TimerQueue {
            origin: Origin::new(Instant::now()),
            near: Near::default(),
            wheel: Wheel::new(wheel::tick(MID)),
            overflow: BinaryHeap::new(),
            slab: Slab::default(),
            entries: 0,
            stale: 0,
            next_seq: 0,
        }
    }

    /// Schedules `value` at `when`.
    #[inline]
    pub fn insert(&mut self, when: Instant, value: T) -> TimerKey {
        let seq = self.reserve();
        self.insert_reserved(when, seq, value)
    }

    /// Takes a place in the tie order now for a timer inserted later with
    /// [`insert_reserved`](Self::insert_reserved): among equal deadlines it
    /// fires as if inserted at this call. (A timeout scope reserves its place
    /// on entry and inserts only if its body waits.)
    ///
    /// ```
    /// use corio_core::runtime::timers::TimerQueue;
    /// use std::time::Instant;
    ///
    /// let at = Instant::now();
    /// let mut timers = TimerQueue::new();
    /// let first = timers.reserve();
    /// timers.insert(at, "inserted second");
    /// timers.insert_reserved(at, first, "reserved first");
    /// let fired: Vec<_> = std::iter::from_fn(|| timers.pop_due(at).map(|(_, v)| v)).collect();
    /// assert_eq!(fired, ["reserved first", "inserted second"]);
    /// ```
    pub fn reserve(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Schedules `value` at `when` in the tie order of `seq`, a place taken
    /// with [`reserve`](Self::reserve) (each used once).
    #[inline]
    pub fn insert_reserved(&mut self, when: Instant, seq: u64, value: T) -> TimerKey {
        let (slot, generation) = self.slab.occupy(value);
        self.entries += 1;
        match self.origin.key(when) {
            Some(key) => {
                let entry = Entry { key, seq, slot, generation };
                if key <= self.wheel.horizon() {
                    self.near.push(entry);
                } else {
                    self.wheel.insert(entry);
                }
            }
            None => self.overflow.push(Reverse(FarEntry { when, seq, slot, generation })),
        }
        TimerKey { slot, generation }
    }

    #[inline]
    fn is_live(&self, slot: u32, generation: u32) -> bool {
        self.slab.is_live(slot, generation)
    }

    /// The live timers with their deadlines, in no particular order (for
    /// task dumps; O(n)).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Instant, &T)> + '_ {
        let keyed =
            self.near.iter().chain(self.wheel.iter()).map(|e| (self.origin.instant(e.key), e.slot, e.generation));
        let far = self.overflow.iter().map(|Reverse(e)| (e.when, e.slot, e.generation));
        keyed.chain(far).filter_map(|(when, slot, generation)| Some((when, self.slab.get(slot, generation)?)))
    }

    /// The live timer `key`, if it has neither fired nor been cancelled.
    #[inline]
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        self.slab.get_mut(key.slot, key.generation)
    }

    /// Whether `key` is still scheduled.
    pub fn contains(&self, key: TimerKey) -> bool {
        self.slab.is_live(key.slot, key.generation)
    }

    /// Cancels `key`, returning its value; `None` if it already fired or was
    /// cancelled. O(1): the entry stays where it is, stale.
    #[inline]
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        let value = self.slab.release(key.slot, key.generation)?;
        self.stale += 1;
        Some(value)
    }

    /// asyncio's purge (rule L6): remove every stale entry when more than
    /// [`PURGE_MIN_SCHEDULED`] entries are scheduled and more than half are
    /// stale; otherwise drop stale entries off the front.
    #[inline]
    pub fn purge(&mut self) {
        // Called every loop iteration: without cancelled entries there is
        // nothing to do, and the check stays inline in the loop.
        if self.stale != 0 {
            self.purge_stale();
        }
    }

    fn purge_stale(&mut self) {
        if self.entries > PURGE_MIN_SCHEDULED && self.stale * 2 > self.entries {
            let slab = &self.slab;
            let live = |e: &Entry| slab.is_live(e.slot, e.generation);
            let mut removed = self.near.retain(live);
            removed += self.wheel.retain(live);
            let far = self.overflow.len();
            self.overflow.retain(|Reverse(e)| slab.is_live(e.slot, e.generation));
            removed += far - self.overflow.len();
            debug_assert_eq!(removed, self.stale);
            self.entries -= removed;
            self.stale = 0;
            return;
        }
        self.pop_stale_fronts();
    }

    /// Drops stale entries off the fronts of the near level and the overflow
    /// (the wheel's are dropped when they reach the near level).
    fn pop_stale_fronts(&mut self) {
        while let Some((e, part)) = self.near.front() {
            if self.is_live(e.slot, e.generation) {
                break;
            }
            self.near.pop(part);
            self.forget_stale();
        }
        while let Some(&Reverse(e)) = self.overflow.peek() {
            if self.is_live(e.slot, e.generation) {
                break;
            }
            self.overflow.pop();
            self.forget_stale();
        }
    }

    fn forget_stale(&mut self) {
        self.entries -= 1;
        self.stale -= 1;
    }

    /// The first entry in firing order.
    #[inline]
    fn front(&self) -> Option<Front> {
        let near = self.near.front();
        let Some(&Reverse(far)) = self.overflow.peek() else {
            return near.map(|(e, part)| Front::Near(e, part));
        };
        match near {
            Some((e, part)) if (self.origin.instant(e.key), e.seq) < (far.when, far.seq) => Some(Front::Near(e, part)),
            _ => Some(Front::Far(far)),
        }
    }

    fn pop_front(&mut self, front: Front) {
        self.entries -= 1;
        match front {
            Front::Near(_, part) => self.near.pop(part),
            Front::Far(_) => drop(self.overflow.pop()),
        }
    }

    /// Moves the wheel up to `now` (every entry due by then reaches the near
    /// level) and says what is due; recentres the origin first if the clock
    /// has gone far from it and nothing keyed is pending.
    fn advance(&mut self, now: Instant) -> Limit {
        let mut limit = self.origin.limit(now);
        if limit.is_far() && self.near.is_empty() && self.wheel.is_empty() {
            self.origin = Origin::moved_to(now);
            self.wheel.reset(wheel::tick(MID));
            limit = Limit::UpTo(MID);
        }
        if let Limit::UpTo(key) = limit {
            self.wheel.advance(wheel::tick(key).min(MAX_TICK), &mut self.near);
        }
        limit
    }

    /// Removes and returns the first timer if it is live and due by `now`
    /// (`limit` for keyed entries), dropping stale entries on the way.
    #[inline]
    fn pop_if_due(&mut self, now: Instant, limit: Limit) -> Option<(TimerKey, T)> {
        loop {
            let front = self.front()?;
            let key = front.key();
            if !self.is_live(key.slot, key.generation) {
                self.pop_front(front);
                self.stale -= 1;
                continue;
            }
            let due = match front {
                Front::Near(e, _) => limit.covers(e.key),
                Front::Far(e) => e.when <= now,
            };
            if !due {
                return None;
            }
            self.pop_front(front);
            let value = self.slab.release(key.slot, key.generation).expect("a live entry has a value");
            return Some((key, value));
        }
    }

    /// Removes and returns the earliest live timer due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(TimerKey, T)> {
        if self.entries == 0 {
            return None;
        }
        let limit = self.advance(now);
        self.pop_if_due(now, limit)
    }

    /// Removes every live timer due at or before `now` and hands each value
    /// to `fire`, in firing order: the loop's "move due timers to the ready
    /// queue" step, one pass.
    #[inline]
    pub fn fire_due(&mut self, now: Instant, mut fire: impl FnMut(T)) {
        if self.entries == 0 {
            return;
        }
        let limit = self.advance(now);
        while let Some((_, value)) = self.pop_if_due(now, limit) {
            // The slab's values are read in deadline order: ask for one a few
            // firings ahead, so the reads overlap instead of waiting in turn.
            if let Some(ahead) = self.near.ahead(PREFETCH_DISTANCE) {
                self.slab.prefetch(ahead.slot);
            }
            fire(value);
        }
    }

    /// When the earliest live timer is due — or, if finding that would mean
    /// reading a wheel slot of more than 32 entries, that slot's start, a
    /// lower bound: wait until then, [`pop_due`](Self::pop_due) or
    /// [`fire_due`](Self::fire_due) (which advance the wheel), and ask again.
    /// A loop on a real clock wakes early at worst, never late.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        if self.is_empty() {
            return None; // only cancelled entries: nothing will fire
        }
        self.pop_stale_fronts();
        let keyed = match self.near.front() {
            Some((e, _)) => Some(self.origin.instant(e.key)),
            None => self.wheel_bound(),
        };
        let far = self.overflow.peek().map(|Reverse(e)| e.when);
        keyed.into_iter().chain(far).min()
    }

    /// The earliest deadline in the wheel, or a lower bound of it.
    fn wheel_bound(&self) -> Option<Instant> {
        let slot = self.wheel.next_slot()?;
        let entries = self.wheel.entries(slot);
        let exact = if entries.len() <= SCAN_LIMIT {
            entries.iter().filter(|e| self.is_live(e.slot, e.generation)).map(|e| e.key).min()
        } else {
            None
        };
        Some(self.origin.instant(exact.unwrap_or(slot.start << wheel::TICK_SHIFT)))
    }

    /// When the earliest live timer is due, exactly. It may move the wheel's
    /// cursor up to that deadline, so call it when the clock is about to jump
    /// there (a virtual clock); on a real clock, inserts made before the clock
    /// gets there would all take the near level's slower path.
    pub fn next_deadline_exact(&mut self) -> Option<Instant> {
        if self.is_empty() {
            return None;
        }
        loop {
            self.pop_stale_fronts();
            let far = self.overflow.peek().map(|Reverse(e)| e.when);
            if let Some((e, _)) = self.near.front() {
                let keyed = self.origin.instant(e.key);
                return Some(far.map_or(keyed, |far| far.min(keyed)));
            }
            let Some(slot) = self.wheel.next_slot() else {
                return far;
            };
            if far.is_some_and(|far| far < self.origin.instant(slot.start << wheel::TICK_SHIFT)) {
                return far;
            }
            self.wheel.advance(slot.start, &mut self.near);
        }
    }

    /// Live timers.
    pub fn len(&self) -> usize {
        self.entries - self.stale
    }

    /// Whether no live timer is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries including stale ones, in every part (what the purge rule
    /// bounds; asyncio's heap length).
    pub fn heap_len(&self) -> usize {
        self.entries
    }

    /// Removes every timer, returning their values (loop teardown).
    pub fn drain(&mut self) -> Vec<T> {
        self.near.clear();
        self.wheel.clear();
        self.overflow.clear();
        self.entries = 0;
        self.stale = 0;
        self.slab.drain()
    }
}

#[cfg(test)]
mod tests {
    use super::order::{Entry, MID, RECENTRE_AT};
    use super::TimerQueue;
    use std::time::{Duration, Instant};

    #[test]
    fn entries_are_24_bytes_and_deadlines_round_trip() {
        assert_eq!(std::mem::size_of::<Entry>(), 24);
        let t0 = Instant::now() + Duration::from_secs(3600);
        let mut timers = TimerQueue::new();
        timers.insert(t0, "first");
        let earlier = t0 - Duration::from_nanos(1_234_567_891);
        timers.insert(earlier, "earlier");
        assert_eq!(timers.next_deadline_exact(), Some(earlier));
        assert_eq!(timers.pop_due(earlier - Duration::from_nanos(1)), None);
        assert_eq!(timers.pop_due(earlier).map(|(_, v)| v), Some("earlier"));
        assert_eq!(timers.next_deadline_exact(), Some(t0));
    }

    /// Where the entries are: (near level and wheel, overflow).
    fn parts<T>(timers: &TimerQueue<T>) -> (usize, usize) {
        (timers.near.len() + timers.wheel.iter().count(), timers.overflow.len())
    }

    const YEAR: Duration = Duration::from_secs(365 * 86_400);

    #[test]
    fn deadlines_within_292_years_are_keyed_and_only_those_beyond_overflow() {
        let t0 = Instant::now();
        let mut timers = TimerQueue::new();
        let origin = timers.origin.instant(MID);
        for d in [Duration::ZERO, Duration::from_nanos(1), Duration::from_secs(1), 291 * YEAR] {
            timers.insert(origin + d, "after the origin");
            if let Some(before) = origin.checked_sub(d) {
                timers.insert(before, "before the origin");
            }
        }
        let keyed = timers.len() - parts(&timers).1;
        assert_eq!(parts(&timers), (keyed, 0), "every one of them is keyed");
        timers.insert(origin + 293 * YEAR, "beyond the window");
        assert_eq!(parts(&timers), (keyed, 1));
        assert_eq!(timers.iter().count(), keyed + 1, "a dump lists every part");
        assert!(timers.iter().any(|(when, v)| when == origin + 293 * YEAR && *v == "beyond the window"));
        assert!(t0 <= origin);
    }

    #[test]
    fn the_origin_recentres_once_the_clock_is_more_than_146_years_away_and_nothing_keyed_waits() {
        // A pending overflow timer makes pop_due look at the clock; nothing keyed waits.
        for (away, recentres) in [(RECENTRE_AT, false), (RECENTRE_AT + 1, true)] {
            let mut timers = TimerQueue::new();
            let origin = timers.origin.instant(MID);
            timers.insert(origin + 1000 * YEAR, "overflow");
            let now = origin + Duration::from_nanos(away);
            assert_eq!(timers.pop_due(now), None);
            // 147 years after `now` is beyond the old origin's window, within a new one's.
            timers.insert(now + 147 * YEAR, "probe");
            let keyed = parts(&timers).0 == 1;
            assert_eq!(keyed, recentres, "{away} ns from the origin");
            assert_eq!(timers.origin.instant(MID) == now, recentres);
            if recentres {
                // The wheel's cursor moved with the origin: an hour ahead is in the wheel, not the near level.
                let near = timers.near.len();
                timers.insert(now + Duration::from_secs(3600), "an hour on");
                assert_eq!(timers.near.len(), near);
                assert_eq!(timers.pop_due(now + Duration::from_secs(3600)).map(|(_, v)| v), Some("an hour on"));
            }
        }
        // Nor while a keyed timer waits.
        let mut timers = TimerQueue::new();
        let origin = timers.origin.instant(MID);
        timers.insert(origin + Duration::from_secs(1), "keyed");
        timers.insert(origin + 1000 * YEAR, "overflow");
        let now = origin + 200 * YEAR;
        assert_eq!(timers.pop_due(now).map(|(_, v)| v), Some("keyed"));
        assert_eq!(timers.origin.instant(MID), origin, "the keyed timer was pending when the clock was read");
    }

    #[test]
    fn a_far_first_deadline_moves_nothing() {
        let t0 = Instant::now();
        let mut timers = TimerQueue::new();
        let year = Duration::from_secs(365 * 86_400);
        timers.insert(t0 + 1000 * year, "far");
        timers.insert(t0 + Duration::from_millis(100), "near");
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_millis(100)));
        assert_eq!(timers.pop_due(t0 + Duration::from_millis(99)), None);
        assert_eq!(timers.pop_due(t0 + Duration::from_millis(100)).map(|(_, v)| v), Some("near"));
        assert_eq!(timers.next_deadline(), Some(t0 + 1000 * year));
        assert_eq!(timers.pop_due(t0 + 999 * year), None);
        assert_eq!(timers.pop_due(t0 + 1000 * year).map(|(_, v)| v), Some("far"));
    }
}
