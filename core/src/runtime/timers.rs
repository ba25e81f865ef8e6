//! The timer queue: deadlines in a sorted run and a binary min-heap, over a
//! slab of timers.
//!
//! Most timers arrive in firing order: one fixed delay (`sleep(d)`, a
//! server's timeout) from a clock that only moves forward gives
//! non-decreasing deadlines. Such an entry is appended to the *sorted run*
//! (a FIFO) in O(1), touching only its end; any other entry goes to the
//! heap. The front of the queue is the earlier of the two fronts. With a
//! million pending timers this spares every insertion the heap's sift,
//! whose comparisons land on cold cache lines.
//!
//! # Invariants
//!
//! * Timers fire in deadline order; equal deadlines fire in insertion order
//!   (each entry carries a sequence number; asyncio leaves ties unordered,
//!   corio does not — rule L3). Entries are ordered by (deadline, sequence),
//!   a total order; the sorted run is non-decreasing in it, so the queue's
//!   front is the smaller of the run's first entry and the heap's top.
//! * A cancelled timer never fires: cancelling frees its slot at once (the
//!   slot's generation moves on), and its entry becomes stale. Stale
//!   entries are counted; [`TimerQueue::purge`] rebuilds both parts when more
//!   than 100 entries are scheduled and more than half are stale, and
//!   otherwise pops stale entries off the front (asyncio's rule, L6), so
//!   memory stays bounded under `call_later` + `cancel` churn. The rule
//!   counts the entries of both parts, as asyncio counts its one heap.
//! * A key identifies one timer for its lifetime: a slot reused by a later
//!   timer has another generation, so a stale key never touches it.
//!
//! * An entry is 24 bytes: the deadline is kept as signed nanoseconds
//!   from the first deadline the queue saw (its epoch), exact for ±292
//!   years around it (further deadlines saturate and, among themselves,
//!   fire in insertion order).
//!
//! Inserting, cancelling and firing are O(log n) (cancel is O(1); insertion
//! and firing are O(1) in the sorted run); nothing here is O(n) per loop
//! iteration except the rebuild, which runs only when half the entries are
//! garbage, so its cost is amortised over the cancels.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

/// asyncio's `_MIN_SCHEDULED_TIMER_HANDLES`.
pub const PURGE_MIN_SCHEDULED: usize = 100;

/// Identifies one timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKey {
    slot: u32,
    generation: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// Nanoseconds from the queue's epoch.
    when: i64,
    seq: u64,
    slot: u32,
    generation: u32,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.when, self.seq).cmp(&(other.when, other.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The two parts of the queue.
#[derive(Debug, Clone, Copy)]
enum Part {
    /// Entries that arrived in firing order.
    SortedRun,
    /// The others.
    Heap,
}

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// Timers carrying a `T` each; see the [module docs](self).
///
/// ```
/// use corio_core::runtime::timers::TimerQueue;
/// use std::time::{Duration, Instant};
///
/// let t0 = Instant::now();
/// let mut timers = TimerQueue::new();
/// timers.insert(t0 + Duration::from_millis(20), "later20");
/// timers.insert(t0 + Duration::from_millis(10), "later10");
/// let cancelled = timers.insert(t0 + Duration::from_millis(15), "cancelled!");
/// timers.cancel(cancelled);
/// let fired: Vec<_> =
///     std::iter::from_fn(|| timers.pop_due(t0 + Duration::from_secs(1)).map(|(_, v)| v)).collect();
/// assert_eq!(fired, ["later10", "later20"]);
/// ```
#[derive(Debug)]
pub struct TimerQueue<T> {
    /// The first deadline inserted; entries count from it.
    epoch: Option<Instant>,
    /// Entries that arrived in firing order, oldest first.
    sorted: VecDeque<Entry>,
    /// The others.
    heap: BinaryHeap<Reverse<Entry>>,
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    /// Heap entries whose timer was cancelled (stale).
    stale: usize,
    next_seq: u64,
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> TimerQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        TimerQueue {
            epoch: None,
            sorted: VecDeque::new(),
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            stale: 0,
            next_seq: 0,
        }
    }

    /// Schedules `value` at `when`.
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
    pub fn insert_reserved(&mut self, when: Instant, seq: u64, value: T) -> TimerKey {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Slot { generation: 0, value: None });
                u32::try_from(self.slots.len() - 1).expect("more than 2^32 timers")
            }
        };
        let entry = &mut self.slots[slot as usize];
        entry.value = Some(value);
        let generation = entry.generation;
        let when = self.offset(when);
        let entry = Entry { when, seq, slot, generation };
        match self.sorted.back() {
            // MUTANT (prop_timers `timer_heap_matches_reference`): append
            // whatever comes, so an earlier deadline queues behind later ones.
            #[cfg(not(corio_mutant = "sorted_run_takes_any"))]
            Some(last) if entry < *last => self.heap.push(Reverse(entry)),
            _ => self.sorted.push_back(entry),
        }
        TimerKey { slot, generation }
    }

    /// `when` as nanoseconds from the epoch (which the first call sets).
    fn offset(&mut self, when: Instant) -> i64 {
        let epoch = *self.epoch.get_or_insert(when);
        offset_from(epoch, when)
    }

    fn instant(&self, offset: i64) -> Instant {
        let epoch = self.epoch.expect("an entry implies an epoch");
        let magnitude = Duration::from_nanos(offset.unsigned_abs());
        let instant = if offset >= 0 { epoch.checked_add(magnitude) } else { epoch.checked_sub(magnitude) };
        instant.unwrap_or(epoch)
    }

    /// The live timers with their deadlines, in no particular order (for
    /// task dumps; O(n)).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Instant, &T)> + '_ {
        self.sorted.iter().chain(self.heap.iter().map(|Reverse(entry)| entry)).filter_map(|entry| {
            let slot = self.slots.get(entry.slot as usize)?;
            (slot.generation == entry.generation).then_some(())?;
            Some((self.instant(entry.when), slot.value.as_ref()?))
        })
    }

    /// The live timer `key`, if it has neither fired nor been cancelled.
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        let slot = self.slots.get_mut(key.slot as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.value.as_mut()
    }

    /// Whether `key` is still scheduled.
    pub fn contains(&self, key: TimerKey) -> bool {
        self.slots.get(key.slot as usize).is_some_and(|s| s.generation == key.generation && s.value.is_some())
    }

    /// Cancels `key`, returning its value; `None` if it already fired or was
    /// cancelled.
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        let value = self.release(key.slot, key.generation)?;
        self.stale += 1;
        Some(value)
    }

    fn release(&mut self, slot: u32, generation: u32) -> Option<T> {
        let entry = self.slots.get_mut(slot as usize)?;
        if entry.generation != generation {
            return None;
        }
        let value = entry.value.take()?;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(slot);
        Some(value)
    }

    fn is_live(&self, e: &Entry) -> bool {
        self.slots[e.slot as usize].generation == e.generation
    }

    /// asyncio's purge (rule L6): rebuild when more than
    /// [`PURGE_MIN_SCHEDULED`] entries are scheduled and more than half are
    /// stale; otherwise drop stale entries from the front.
    #[inline]
    pub fn purge(&mut self) {
        // Called every loop iteration: without cancelled entries there is
        // nothing to do, and the check stays inline in the loop.
        if self.stale != 0 {
            self.purge_stale();
        }
    }

    fn purge_stale(&mut self) {
        #[cfg(not(corio_mutant = "skip_timer_purge"))]
        if self.heap_len() > PURGE_MIN_SCHEDULED && self.stale * 2 > self.heap_len() {
            let slots = &self.slots;
            let live = |e: &Entry| slots[e.slot as usize].generation == e.generation;
            self.sorted.retain(live);
            self.heap.retain(|Reverse(e)| live(e));
            self.stale = 0;
            return;
        }
        // MUTANT (proptest `timer_heap_memory_bounded`): never rebuild, so a
        // far-future timer at the front pins every cancelled entry behind it.
        self.pop_stale_front();
    }

    /// The first entry in firing order, and the part that holds it.
    fn front(&self) -> Option<(Entry, Part)> {
        match (self.sorted.front(), self.heap.peek()) {
            (Some(run), Some(Reverse(top))) if top < run => Some((*top, Part::Heap)),
            (Some(run), _) => Some((*run, Part::SortedRun)),
            (None, Some(Reverse(top))) => Some((*top, Part::Heap)),
            (None, None) => None,
        }
    }

    /// Removes the first entry of `part` (the queue's front, found by
    /// [`front`](Self::front)).
    fn pop_front(&mut self, part: Part) {
        match part {
            Part::SortedRun => drop(self.sorted.pop_front()),
            Part::Heap => drop(self.heap.pop()),
        }
    }

    fn pop_stale_front(&mut self) {
        while let Some((front, part)) = self.front() {
            if self.is_live(&front) {
                break;
            }
            self.pop_front(part);
            self.stale -= 1;
        }
    }

    /// The earliest live deadline.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        self.pop_stale_front();
        let (front, _) = self.front()?;
        Some(self.instant(front.when))
    }

    /// Removes and returns the earliest live timer due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(TimerKey, T)> {
        let now = offset_from(self.epoch?, now);
        loop {
            let (front, part) = self.front()?;
            if !self.is_live(&front) {
                self.pop_front(part);
                self.stale -= 1;
                continue;
            }
            if front.when > now {
                return None;
            }
            self.pop_front(part);
            let value = self.release(front.slot, front.generation).expect("live entry has a value");
            return Some((TimerKey { slot: front.slot, generation: front.generation }, value));
        }
    }

    /// Live timers.
    pub fn len(&self) -> usize {
        self.heap_len() - self.stale
    }

    /// Whether no live timer is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries including stale ones, in both parts (what the purge rule
    /// bounds; asyncio's heap length).
    pub fn heap_len(&self) -> usize {
        self.sorted.len() + self.heap.len()
    }

    /// Removes every timer, returning their values (loop teardown).
    pub fn drain(&mut self) -> Vec<T> {
        self.sorted.clear();
        self.heap.clear();
        self.stale = 0;
        self.free.clear();
        // Keep the slots and move every generation on, so a key issued
        // before the drain never names a timer inserted after it.
        let mut values = Vec::new();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            values.extend(slot.value.take());
            slot.generation = slot.generation.wrapping_add(1);
            self.free.push(index as u32);
        }
        values
    }
}

/// Signed nanoseconds from `epoch` to `when`, saturating.
fn offset_from(epoch: Instant, when: Instant) -> i64 {
    let saturate = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    match when.checked_duration_since(epoch) {
        Some(after) => saturate(after),
        None => -saturate(epoch.duration_since(when)),
    }
}

#[cfg(test)]
mod tests {
    use super::{Entry, TimerQueue};
    use std::time::{Duration, Instant};

    #[test]
    fn entries_are_24_bytes_and_deadlines_round_trip() {
        assert_eq!(std::mem::size_of::<Entry>(), 24);
        let t0 = Instant::now() + Duration::from_secs(3600);
        let mut timers = TimerQueue::new();
        timers.insert(t0, "epoch");
        let earlier = t0 - Duration::from_nanos(1_234_567_891);
        timers.insert(earlier, "before the epoch");
        assert_eq!(timers.next_deadline(), Some(earlier));
        assert_eq!(timers.pop_due(earlier - Duration::from_nanos(1)), None);
        assert_eq!(timers.pop_due(earlier).map(|(_, v)| v), Some("before the epoch"));
        assert_eq!(timers.next_deadline(), Some(t0));
    }
}
