//! The hierarchical timing wheel: every keyed entry beyond the horizon,
//! bucketed by tick, O(1) to insert.
//!
//! A tick is 2^[`TICK_SHIFT`] ns of key (about 1 ms). The wheel has
//! [`LEVELS`] levels of 64 slots; level `l`'s slot spans 64^l ticks, so the
//! levels together cover every tick a 64-bit key has (2^44 of them). As in
//! tokio's wheel, an entry's level is the highest 6-bit digit in which its
//! tick differs from the wheel's cursor (`elapsed`, the current tick), and
//! its slot is that digit of its tick. Hence every entry of a lower level is
//! earlier than every entry of a higher one, and within a level the occupied
//! slots all lie after the cursor's own: the next entries are in the lowest
//! occupied slot of the lowest occupied level, found with two bit scans.
//!
//! A slot is an array of entries (insertion appends: no node is touched, no
//! pointer chased). [`Wheel::advance`] moves the cursor: it takes each slot
//! whose start the target reaches, in time order; a level-0 slot is exactly
//! one tick, so it is sorted ([`tick_sort`]) and handed to the near level whole; a higher
//! slot is *cascaded*, its entries redistributed below the new cursor — those
//! of the cursor's own tick straight to the near level, sorted. So each entry
//! is touched once per level it descends, and once sorted, in a batch of its
//! tick's entries.
//!
//! The wheel never reads the slab: cancelled entries ride along until the
//! near level drops them at its front, or the queue's purge removes them.
//!
//! Emptied slot arrays keep their capacity for reuse; a few spare ones are
//! kept for slots that fill again ([`SPARES`], each at most
//! [`SPARE_CAPACITY`] entries), the rest are freed.

use super::near::{Near, SPARE_CAPACITY};
use super::order::Entry;
use super::tick_sort;

/// A tick is `2^TICK_SHIFT` ns: 1.048576 ms.
pub(super) const TICK_SHIFT: u32 = 20;
/// The last key of a tick, relative to its first.
const TICK_MASK: u64 = (1 << TICK_SHIFT) - 1;
/// Slots per level: 64, one 6-bit digit of the tick.
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Levels: 8 × 6 bits cover the 44 bits of a tick.
pub(super) const LEVELS: usize = (64 - TICK_SHIFT).div_ceil(SLOT_BITS) as usize;
/// The last tick a key can have.
pub(super) const MAX_TICK: u64 = u64::MAX >> TICK_SHIFT;
/// Emptied slot arrays kept for reuse.
const SPARES: usize = 8;

/// A key's tick.
#[inline]
pub(super) fn tick(key: u64) -> u64 {
    key >> TICK_SHIFT
}

/// The level of an entry at `tick` when the cursor is at `elapsed`: its
/// highest 6-bit digit that differs from the cursor's (0 within the cursor's
/// own 64-tick block).
#[inline]
fn level_for(elapsed: u64, tick: u64) -> usize {
    let masked = (elapsed ^ tick) | (SLOTS as u64 - 1);
    let significant = 63 - masked.leading_zeros();
    // Ticks have 44 bits, so this is at most LEVELS - 1; the `min` says so.
    ((significant / SLOT_BITS) as usize).min(LEVELS - 1)
}

/// Gives an empty slot array a kept spare, if there is one.
#[cold]
fn reuse_spare(slot: &mut Vec<Entry>, spares: &mut Vec<Vec<Entry>>) {
    if let Some(spare) = spares.pop() {
        *slot = spare;
    }
}

/// An occupied slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SlotRef {
    pub(super) level: usize,
    index: usize,
    /// Its first tick.
    pub(super) start: u64,
}

#[derive(Debug)]
pub(super) struct Wheel {
    /// The current tick; every entry here has a later tick.
    elapsed: u64,
    /// Per level, a bit per occupied slot.
    occupied: [u64; LEVELS],
    /// `LEVELS * SLOTS` arrays, level-major.
    slots: Box<[Vec<Entry>]>,
    spares: Vec<Vec<Entry>>,
    /// Working space of the tick sort.
    scratch: Vec<Entry>,
}

impl Wheel {
    /// An empty wheel with its cursor at `elapsed`.
    pub(super) fn new(elapsed: u64) -> Self {
        Wheel {
            elapsed,
            occupied: [0; LEVELS],
            slots: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            spares: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The last key of the current tick: keys up to here belong to the near
    /// level.
    #[inline]
    pub(super) fn horizon(&self) -> u64 {
        self.elapsed << TICK_SHIFT | TICK_MASK
    }

    pub(super) fn is_empty(&self) -> bool {
        self.occupied.iter().all(|&bits| bits == 0)
    }

    /// Moves the cursor of an empty wheel (the queue's origin moved).
    pub(super) fn reset(&mut self, elapsed: u64) {
        debug_assert!(self.is_empty());
        self.elapsed = elapsed;
    }

    /// Adds `entry`, whose key lies beyond the horizon.
    #[inline(always)]
    pub(super) fn insert(&mut self, entry: Entry) {
        let tick = tick(entry.key);
        debug_assert!(tick > self.elapsed, "an entry within the horizon belongs to the near level");
        let level = level_for(self.elapsed, tick);
        let index = (tick >> (SLOT_BITS * level as u32)) as usize & (SLOTS - 1);
        let slot = &mut self.slots[level * SLOTS + index];
        if slot.capacity() == 0 {
            reuse_spare(slot, &mut self.spares);
        }
        slot.push(entry);
        self.occupied[level] |= 1 << index;
    }

    /// The slot holding the earliest entries: the lowest occupied slot of the
    /// lowest occupied level.
    #[inline]
    pub(super) fn next_slot(&self) -> Option<SlotRef> {
        let level = self.occupied.iter().position(|&bits| bits != 0)?;
        let index = self.occupied[level].trailing_zeros() as usize;
        let shift = SLOT_BITS * level as u32;
        // The cursor's block at this level, then the slot's offset in it.
        let block = self.elapsed >> (shift + SLOT_BITS) << (shift + SLOT_BITS);
        let start = block + ((index as u64) << shift);
        debug_assert!(start > self.elapsed, "an occupied slot lies after the cursor");
        Some(SlotRef { level, index, start })
    }

    /// The entries of an occupied slot, in no order.
    pub(super) fn entries(&self, slot: SlotRef) -> &[Entry] {
        &self.slots[slot.level * SLOTS + slot.index]
    }

    /// Moves the cursor to tick `target` (never back): every entry of a tick
    /// up to `target` goes to `near`, one sorted batch per tick, in tick
    /// order.
    pub(super) fn advance(&mut self, target: u64, near: &mut Near) {
        while let Some(slot) = self.next_slot() {
            if slot.start > target {
                break;
            }
            self.elapsed = slot.start;
            self.occupied[slot.level] &= !(1 << slot.index);
            let mut batch = std::mem::take(&mut self.slots[slot.level * SLOTS + slot.index]);
            if slot.level > 0 {
                // Cascade: the entries of the new current tick stay in the
                // batch; the others go down to the level the cursor now puts
                // them at.
                let elapsed = self.elapsed;
                batch.retain(|entry| {
                    let here = tick(entry.key) == elapsed;
                    if !here {
                        self.insert(*entry);
                    }
                    here
                });
            }
            tick_sort::sort_tick(&mut batch, &mut self.scratch);
            near.append_sorted(&mut batch);
            self.recycle(batch);
        }
        self.elapsed = self.elapsed.max(target);
    }

    /// Keeps an emptied slot array for reuse if it is small and few are kept.
    fn recycle(&mut self, buffer: Vec<Entry>) {
        debug_assert!(buffer.is_empty());
        if buffer.capacity() != 0 && buffer.capacity() <= SPARE_CAPACITY && self.spares.len() < SPARES {
            self.spares.push(buffer);
        }
    }

    /// Keeps the entries `live` accepts; returns how many went.
    pub(super) fn retain(&mut self, mut live: impl FnMut(&Entry) -> bool) -> usize {
        let mut removed = 0;
        for level in 0..LEVELS {
            let mut bits = self.occupied[level];
            while bits != 0 {
                let index = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let slot = &mut self.slots[level * SLOTS + index];
                let had = slot.len();
                slot.retain(&mut live);
                removed += had - slot.len();
                if slot.is_empty() {
                    self.occupied[level] &= !(1 << index);
                }
            }
        }
        removed
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.slots.iter().flatten()
    }

    pub(super) fn clear(&mut self) {
        for slot in self.slots.iter_mut() {
            slot.clear();
        }
        self.occupied = [0; LEVELS];
    }
}

#[cfg(test)]
mod tests {
    use super::{level_for, Wheel, LEVELS, MAX_TICK, SLOTS, SPARES, SPARE_CAPACITY, TICK_SHIFT};
    use crate::runtime::timers::near::Near;
    use crate::runtime::timers::order::Entry;

    fn at_tick(tick: u64, seq: u64) -> Entry {
        Entry { key: (tick << TICK_SHIFT) | (seq % 1000), seq, slot: seq as u32, generation: 0 }
    }

    /// Everything `near` holds, in firing order, as (tick, seq).
    fn fire(near: &mut Near) -> Vec<(u64, u64)> {
        std::iter::from_fn(|| {
            let (e, part) = near.front()?;
            near.pop(part);
            Some((e.key >> TICK_SHIFT, e.seq))
        })
        .collect()
    }

    #[test]
    fn slots_hand_over_in_tick_order_cascade_and_keep_a_few_arrays_for_reuse() {
        let mut wheel = Wheel::new(0);
        assert!(wheel.is_empty());
        assert_eq!(wheel.horizon(), (1 << TICK_SHIFT) - 1);
        let mut seq = 0;
        let mut add = |wheel: &mut Wheel, tick: u64| {
            seq += 1;
            wheel.insert(at_tick(tick, seq));
        };
        for tick in (1..=10).rev() {
            add(&mut wheel, tick); // level 0, one slot each
        }
        add(&mut wheel, 3 * 64 + 5); // level 1
        add(&mut wheel, 3 * 64 + 5); // the same tick: fires in insertion order
        add(&mut wheel, 5 * 64 * 64 + 7); // level 2
        assert_eq!((wheel.iter().count(), wheel.is_empty()), (13, false));
        let first = wheel.next_slot().expect("occupied");
        assert_eq!((first.level, first.start, wheel.entries(first).len()), (0, 1, 1));

        let mut near = Near::default();
        wheel.advance(4, &mut near);
        assert_eq!(fire(&mut near), [(1, 10), (2, 9), (3, 8), (4, 7)]);
        assert_eq!(wheel.horizon(), (5 << TICK_SHIFT) - 1, "the cursor moved to the target");
        wheel.advance(3 * 64 + 5, &mut near); // cascades the level-1 slot
        assert_eq!(fire(&mut near), [(5, 6), (6, 5), (7, 4), (8, 3), (9, 2), (10, 1), (197, 11), (197, 12)]);
        add(&mut wheel, 3 * 64 + 6);
        wheel.advance(MAX_TICK, &mut near);
        assert_eq!(fire(&mut near), [(198, 14), (5 * 64 * 64 + 7, 13)]);
        assert!(wheel.is_empty() && wheel.next_slot().is_none());
    }

    #[test]
    fn a_few_emptied_arrays_are_kept_and_an_empty_slot_takes_one() {
        let mut wheel = Wheel::new(0);
        wheel.recycle(Vec::new());
        wheel.recycle(Vec::with_capacity(SPARE_CAPACITY + 1));
        assert!(wheel.spares.is_empty(), "neither an array without room nor a huge one is kept");
        for _ in 0..SPARES + 2 {
            wheel.recycle(Vec::with_capacity(SPARE_CAPACITY));
        }
        assert_eq!(wheel.spares.len(), SPARES, "at most SPARES are kept");
        wheel.insert(at_tick(5, 0));
        assert_eq!(wheel.spares.len(), SPARES - 1);
        let slot = wheel.next_slot().expect("occupied");
        assert_eq!(wheel.slots[slot.index].capacity(), SPARE_CAPACITY, "the slot took a kept array");
        wheel.insert(at_tick(5, 1));
        assert_eq!(wheel.spares.len(), SPARES - 1, "a slot with room takes none");
    }

    #[test]
    fn retain_removes_what_is_not_live_and_clear_empties_every_level() {
        let mut wheel = Wheel::new(0);
        for (seq, tick) in [1u64, 2, 2, 64, 64 * 64, 64 * 64 * 64].into_iter().enumerate() {
            wheel.insert(at_tick(tick, seq as u64));
        }
        assert_eq!(wheel.retain(|e| e.seq % 2 == 0), 3);
        assert_eq!(wheel.iter().map(|e| e.seq).collect::<Vec<_>>(), [0, 2, 4]);
        // The slots of ticks 64 (level 1) and 64^3 (level 3) lost their only entry: no longer occupied.
        assert_eq!((wheel.occupied[1], wheel.occupied[3]), (0, 0));
        let mut near = Near::default();
        wheel.advance(MAX_TICK, &mut near);
        assert_eq!(fire(&mut near), [(1, 0), (2, 2), (64 * 64, 4)]);

        let mut wheel = Wheel::new(0);
        for level in 0..LEVELS as u32 {
            wheel.insert(at_tick((SLOTS as u64).pow(level) * 3, u64::from(level)));
        }
        assert_eq!(wheel.iter().count(), LEVELS);
        wheel.clear();
        assert!(wheel.is_empty() && wheel.iter().next().is_none());
        wheel.reset(100);
        assert_eq!(wheel.horizon(), (101 << TICK_SHIFT) - 1);
    }

    #[test]
    fn levels_cover_every_tick() {
        assert_eq!(LEVELS, 8);
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(63, 64), 1);
        assert_eq!(level_for(0, 64 * 64), 2);
        assert_eq!(level_for(0, MAX_TICK), LEVELS - 1);
        assert_eq!(level_for(MAX_TICK - 1, MAX_TICK), 0);
    }
}
