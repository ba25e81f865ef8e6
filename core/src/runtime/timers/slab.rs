//! The slab of timers: each scheduled timer's value in a slot, named by the
//! slot and its generation (a [`TimerKey`](super::TimerKey)).
//!
//! Three arrays, by how often each is read:
//!
//! * an occupancy bitmap (a bit per slot, 12.5 KiB for 100k timers): what a
//!   sleep polled after its timer fired reads to learn so — the common
//!   answer, from memory small enough to stay in cache;
//! * the generations (4 bytes per slot): whether an entry or key is still
//!   live;
//! * the values, read when a timer fires or a sleep refreshes its waker.
//!
//! A slot freed by a firing or a cancel moves its generation on, so a key or
//! entry of the old timer never matches the next one; freed slots are reused
//! last-in first-out.

/// The slab; see the [module docs](self).
#[derive(Debug)]
pub(super) struct Slab<T> {
    /// A bit per slot: set while a timer occupies it.
    occupied: Vec<u64>,
    generations: Vec<u32>,
    values: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { occupied: Vec::new(), generations: Vec::new(), values: Vec::new(), free: Vec::new() }
    }
}

impl<T> Slab<T> {
    /// Stores `value`; its slot and generation.
    #[inline]
    pub(super) fn occupy(&mut self, value: T) -> (u32, u32) {
        let slot = match self.free.pop() {
            Some(slot) => {
                // A free slot holds `None`: nothing to drop.
                let old = self.values[slot as usize].replace(value);
                debug_assert!(old.is_none(), "a free slot holds no value");
                std::mem::forget(old);
                slot
            }
            None => {
                let slot = u32::try_from(self.values.len()).expect("more than 2^32 timers");
                self.values.push(Some(value));
                self.generations.push(0);
                if slot % 64 == 0 {
                    self.occupied.push(0);
                }
                slot
            }
        };
        self.occupied[slot as usize / 64] |= 1 << (slot % 64);
        (slot, self.generations[slot as usize])
    }

    /// Frees `slot` if `generation` is still its timer's; the value.
    #[inline(always)]
    pub(super) fn release(&mut self, slot: u32, generation: u32) -> Option<T> {
        if !self.is_live(slot, generation) {
            return None;
        }
        let value = self.values[slot as usize].take();
        debug_assert!(value.is_some(), "a live slot holds a value");
        self.generations[slot as usize] = generation.wrapping_add(1);
        self.occupied[slot as usize / 64] &= !(1 << (slot % 64));
        self.free.push(slot);
        value
    }

    /// Whether the timer (`slot`, `generation`) is still scheduled: a slot's
    /// generation moves on when its timer leaves, so a match means the same
    /// timer is still there.
    #[inline(always)]
    pub(super) fn is_live(&self, slot: u32, generation: u32) -> bool {
        self.generations.get(slot as usize) == Some(&generation)
    }

    /// The value of a live timer. A free slot — the usual answer, for a sleep
    /// polled after its timer fired — is told from the bitmap alone.
    #[inline]
    pub(super) fn get_mut(&mut self, slot: u32, generation: u32) -> Option<&mut T> {
        let bits = *self.occupied.get(slot as usize / 64)?;
        if bits & 1 << (slot % 64) == 0 || !self.is_live(slot, generation) {
            return None;
        }
        self.values[slot as usize].as_mut()
    }

    /// The value of a live timer.
    pub(super) fn get(&self, slot: u32, generation: u32) -> Option<&T> {
        if !self.is_live(slot, generation) {
            return None;
        }
        self.values[slot as usize].as_ref()
    }

    /// Asks the CPU to bring `slot`'s generation and value into cache: a
    /// burst fires its timers in deadline order, which is no order in the
    /// slab, and each firing reads both; asked a few firings ahead, the
    /// reads overlap instead of waiting in turn.
    #[inline]
    pub(super) fn prefetch(&self, slot: u32) {
        if let (Some(generation), Some(value)) = (self.generations.get(slot as usize), self.values.get(slot as usize)) {
            prefetch(generation);
            prefetch(value);
        }
    }

    /// Empties every slot, returning the values, and moves every generation
    /// on, so a key issued before never names a timer stored after.
    pub(super) fn drain(&mut self) -> Vec<T> {
        self.free.clear();
        let mut values = Vec::new();
        for (index, (value, generation)) in self.values.iter_mut().zip(&mut self.generations).enumerate() {
            values.extend(value.take());
            *generation = generation.wrapping_add(1);
            self.free.push(index as u32);
        }
        self.occupied.iter_mut().for_each(|bits| *bits = 0);
        values
    }
}

/// Asks for the cache line holding `value` (a hint: it changes no memory and
/// cannot fault; nothing on targets without a stable prefetch instruction).
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `prefetcht0` only hints at a line to fetch: it reads nothing
        // into the program, writes nothing and cannot fault; the pointer comes
        // from a reference, so it is valid anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

#[cfg(test)]
mod tests {
    use super::Slab;

    /// The bitmap says exactly which slots hold a value.
    fn check_bitmap<T>(slab: &Slab<T>) {
        for (slot, value) in slab.values.iter().enumerate() {
            let bit = slab.occupied[slot / 64] & 1 << (slot % 64) != 0;
            assert_eq!(bit, value.is_some(), "slot {slot}");
        }
    }

    #[test]
    fn slots_and_generations_over_many_bitmap_words() {
        let mut slab = Slab::default();
        let keys: Vec<_> = (0..5000).map(|i| slab.occupy(i)).collect();
        assert_eq!(slab.occupied.len(), 5000_usize.div_ceil(64));
        check_bitmap(&slab);
        for &(slot, generation) in keys.iter().step_by(3) {
            assert_eq!(slab.release(slot, generation), Some(slot as i32));
            assert_eq!(slab.release(slot, generation), None, "released once");
        }
        check_bitmap(&slab);
        for (i, &(slot, generation)) in keys.iter().enumerate() {
            let live = i % 3 != 0;
            assert_eq!(slab.is_live(slot, generation), live);
            assert_eq!(slab.get_mut(slot, generation).is_some(), live);
            assert_eq!(slab.get(slot, generation).is_some(), live);
        }
        // A freed slot is reused last-in first-out, under a new generation.
        let (last_freed, old_generation) = keys[4998];
        let (slot, generation) = slab.occupy(-1);
        assert_eq!((slot, generation), (last_freed, old_generation + 1));
        assert_eq!(slab.get_mut(last_freed, old_generation), None, "the old key names nothing");
        assert_eq!(slab.get(slot, generation), Some(&-1));
        check_bitmap(&slab);
        let values = slab.drain();
        assert_eq!(values.len(), 5000 - 1667 + 1);
        check_bitmap(&slab);
        assert!(keys.iter().all(|&(slot, generation)| !slab.is_live(slot, generation)));
    }
}
