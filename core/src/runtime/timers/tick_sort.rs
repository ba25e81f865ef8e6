//! Sorting one tick's entries into firing order, `(key, seq)`.
//!
//! Every entry of a batch lies in one tick, so keys differ only in their low
//! [`TICK_SHIFT`] bits, and a batch is almost always in scheduling order
//! already: a wheel slot's array is appended to in insertion order, and a
//! cascade moves a slot's entries, in order, into slots that were empty. For
//! such a batch a *stable* sort by key alone gives `(key, seq)` order, and a
//! least-significant-digit radix sort on the in-tick offset is stable and
//! linear: two passes of 10 bits, each a count and a scatter. A small batch
//! takes the standard library's stable sort; a batch out of scheduling order
//! (a timeout scope reserves its place on entry and inserts later) takes a
//! full comparison sort.
//!
//! Measured on the timer storm's 100k timers alone (W17 under callgrind,
//! docs/design.md): the comparison sort of ~2,000-entry ticks cost about 230
//! instructions per timer; the radix sort about 40.

use super::order::Entry;
use super::wheel::TICK_SHIFT;

/// Bits per radix digit.
const DIGIT_BITS: u32 = 10;
const BUCKETS: usize = 1 << DIGIT_BITS;
/// Below this many entries the buckets' overhead outweighs the radix sort.
const RADIX_MIN: usize = 256;
/// A scratch buffer larger than this many entries is freed after use.
const SCRATCH_KEEP: usize = 1 << 16;

/// Sorts `batch`, one tick's entries, by `(key, seq)`; `scratch` is working
/// space, kept between calls.
pub(super) fn sort_tick(batch: &mut [Entry], scratch: &mut Vec<Entry>) {
    let in_seq_order = batch.windows(2).all(|pair| pair[0].seq < pair[1].seq);
    if !in_seq_order {
        batch.sort_unstable();
    } else if batch.len() < RADIX_MIN {
        batch.sort_by_key(|entry| entry.key);
    } else {
        radix_sort_by_offset(batch, scratch);
        if scratch.capacity() > SCRATCH_KEEP {
            *scratch = Vec::new();
        }
    }
}

/// A stable LSD radix sort by `key`'s low `TICK_SHIFT` bits.
fn radix_sort_by_offset(batch: &mut [Entry], scratch: &mut Vec<Entry>) {
    // Every pass writes each of the first `len` places, so what the scratch
    // held before does not matter: it only needs the length.
    if scratch.len() < batch.len() {
        scratch.resize(batch.len(), batch[0]);
    }
    let scratch = &mut scratch[..batch.len()];
    // Each pass reads one array and scatters into the other.
    let mut in_scratch = false;
    for shift in (0..TICK_SHIFT).step_by(DIGIT_BITS as usize) {
        let (from, to): (&[Entry], &mut [Entry]) = match in_scratch {
            false => (batch, scratch),
            true => (scratch, batch),
        };
        let digit = |entry: &Entry| (entry.key >> shift) as usize & (BUCKETS - 1);
        let mut counts = [0u32; BUCKETS];
        for entry in from {
            counts[digit(entry)] += 1;
        }
        if counts.iter().any(|&count| count as usize == from.len()) {
            continue; // every entry has this digit: the pass would move nothing
        }
        let mut next = 0u32;
        for count in counts.iter_mut() {
            (*count, next) = (next, next + *count);
        }
        for entry in from {
            let at = &mut counts[digit(entry)];
            to[*at as usize] = *entry;
            *at += 1;
        }
        in_scratch = !in_scratch;
    }
    if in_scratch {
        batch.copy_from_slice(scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::{sort_tick, RADIX_MIN, SCRATCH_KEEP};
    use crate::runtime::timers::order::Entry;

    fn entry(key: u64, seq: u64) -> Entry {
        Entry { key, seq, slot: seq as u32, generation: 0 }
    }

    /// Every path — radix, small stable, out of scheduling order — gives the
    /// `(key, seq)` order a comparison sort gives.
    #[test]
    fn every_path_sorts_by_key_then_seq() {
        let tick = 0x0001_2345_u64 << super::TICK_SHIFT;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for len in [0, 1, 2, 17, RADIX_MIN - 1, RADIX_MIN, 3000] {
            for spread in [1u64, 7, 1 << 10, 1 << 20].map(|spread| spread.min(1 << super::TICK_SHIFT)) {
                let mut in_order: Vec<Entry> = (0..len as u64)
                    .map(|seq| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        entry(tick + state % spread, seq)
                    })
                    .collect();
                let mut out_of_order = in_order.clone();
                out_of_order.reverse();
                for batch in [&mut in_order, &mut out_of_order] {
                    let mut expected = batch.clone();
                    expected.sort_unstable();
                    sort_tick(batch, &mut Vec::new());
                    assert_eq!(*batch, expected, "len {len}, spread {spread}");
                }
            }
        }
    }

    #[test]
    fn only_a_large_batch_in_scheduling_order_takes_the_radix_sort_and_its_scratch_is_kept_unless_huge() {
        let tick = 7u64 << super::TICK_SHIFT;
        let batch = |len: u64| -> Vec<Entry> { (0..len).map(|seq| entry(tick + (len - seq) % 1000, seq)).collect() };
        let mut scratch = Vec::new();
        let mut small = batch(RADIX_MIN as u64 - 1);
        sort_tick(&mut small, &mut scratch);
        assert_eq!(scratch.capacity(), 0, "a small batch takes the stable sort");
        let mut reversed = batch(RADIX_MIN as u64 * 2);
        reversed.reverse(); // out of scheduling order
        sort_tick(&mut reversed, &mut scratch);
        assert_eq!(scratch.capacity(), 0, "a batch out of scheduling order takes the comparison sort");
        let mut large = batch(RADIX_MIN as u64);
        sort_tick(&mut large, &mut scratch);
        assert!(large.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(scratch.len() >= RADIX_MIN, "from RADIX_MIN on, the radix sort; its scratch is kept for the next tick");
        let mut scratch = Vec::with_capacity(SCRATCH_KEEP);
        assert_eq!(scratch.capacity(), SCRATCH_KEEP, "the allocator gave what was asked");
        let mut at_the_limit = batch(SCRATCH_KEEP as u64);
        sort_tick(&mut at_the_limit, &mut scratch);
        assert!(at_the_limit.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(scratch.capacity(), SCRATCH_KEEP, "a scratch of SCRATCH_KEEP entries is kept");
        let mut huge = batch(SCRATCH_KEEP as u64 + 1);
        sort_tick(&mut huge, &mut scratch);
        assert!(huge.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(scratch.capacity(), 0, "a scratch larger than SCRATCH_KEEP is freed");
    }
}
