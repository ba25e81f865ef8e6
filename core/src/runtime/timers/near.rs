//! The near level: every keyed entry up to the wheel's horizon (the end of
//! the current tick), in exact firing order.
//!
//! Two parts. The *runs* are sorted arrays, one after another, each read from
//! its front: the wheel hands over each tick it reaches as one sorted batch
//! (all of a batch's keys lie beyond everything already here), which becomes
//! the last run without being copied; an insert not earlier than the last
//! run's last entry is appended to it. So a burst fires as a walk along an
//! array. The *heap* takes the rare insert that lands among the runs' entries
//! (a deadline already past, or in the current tick but before its latest
//! timer). The front is the smaller of the first run's front and the heap's
//! top.
//!
//! A run read to its end gives its array back: the next batch handed over
//! leaves with it, for the wheel to fill again.
//!
//! Entries of cancelled timers stay until they reach the front or the queue's
//! purge removes them; this level does not know which are live.

use super::order::Entry;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// The largest emptied array kept for reuse, in entries (384 KiB); a larger
/// one, left by an unusual tick, is freed.
pub(super) const SPARE_CAPACITY: usize = 1 << 14;

/// The part of the near level an entry is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Run,
    Heap,
}

/// A sorted array read from `head`.
#[derive(Debug)]
struct Run {
    entries: Vec<Entry>,
    head: usize,
}

impl Run {
    fn live(&self) -> &[Entry] {
        &self.entries[self.head..]
    }
}

#[derive(Debug, Default)]
pub(super) struct Near {
    /// In order: every entry of a run precedes every entry of the next. None
    /// is empty.
    runs: VecDeque<Run>,
    heap: BinaryHeap<Reverse<Entry>>,
    /// The array of the last run read to its end, emptied.
    spare: Vec<Entry>,
}

impl Near {
    /// Adds `entry`, whose key is within the horizon.
    #[inline]
    pub(super) fn push(&mut self, entry: Entry) {
        match self.runs.back_mut() {
            Some(run) if entry < *run.entries.last().expect("runs are not empty") => self.heap.push(Reverse(entry)),
            Some(run) => run.entries.push(entry),
            None => {
                let mut entries = std::mem::take(&mut self.spare);
                entries.push(entry);
                self.runs.push_back(Run { entries, head: 0 });
            }
        }
    }

    /// Takes `batch`, sorted, every entry beyond all of this level's, as the
    /// last run; leaves in its place an empty array to reuse.
    pub(super) fn append_sorted(&mut self, batch: &mut Vec<Entry>) {
        if batch.is_empty() {
            return;
        }
        let entries = std::mem::replace(batch, std::mem::take(&mut self.spare));
        self.runs.push_back(Run { entries, head: 0 });
    }

    /// The first entry in order, and where it is.
    #[inline]
    pub(super) fn front(&self) -> Option<(Entry, Part)> {
        let run = self.runs.front().map(|run| &run.entries[run.head]);
        match (run, self.heap.peek()) {
            (Some(run), Some(Reverse(top))) if top < run => Some((*top, Part::Heap)),
            (Some(run), _) => Some((*run, Part::Run)),
            (None, Some(Reverse(top))) => Some((*top, Part::Heap)),
            (None, None) => None,
        }
    }

    /// Removes the first entry of `part` (the front, as [`front`](Self::front)
    /// found it).
    #[inline]
    pub(super) fn pop(&mut self, part: Part) {
        match part {
            Part::Run => {
                let run = self.runs.front_mut().expect("the front is in a run");
                run.head += 1;
                if run.head == run.entries.len() {
                    let mut done = self.runs.pop_front().expect("just read").entries;
                    done.clear();
                    if done.capacity() > self.spare.capacity() && done.capacity() <= SPARE_CAPACITY {
                        self.spare = done;
                    }
                }
            }
            Part::Heap => drop(self.heap.pop()),
        }
    }

    /// The entry `distance` places after the first run's front, if that run
    /// has one (what a burst will fire soon).
    #[inline]
    pub(super) fn ahead(&self, distance: usize) -> Option<&Entry> {
        let run = self.runs.front()?;
        run.entries.get(run.head + distance)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.heap.is_empty()
    }

    /// Keeps the entries `live` accepts; returns how many went.
    pub(super) fn retain(&mut self, mut live: impl FnMut(&Entry) -> bool) -> usize {
        let before = self.len();
        for run in self.runs.iter_mut() {
            run.entries.drain(..run.head);
            run.head = 0;
            run.entries.retain(&mut live);
        }
        self.runs.retain(|run| !run.entries.is_empty());
        self.heap.retain(|Reverse(e)| live(e));
        before - self.len()
    }

    pub(super) fn len(&self) -> usize {
        self.runs.iter().map(|run| run.live().len()).sum::<usize>() + self.heap.len()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.runs.iter().flat_map(Run::live).chain(self.heap.iter().map(|Reverse(e)| e))
    }

    pub(super) fn clear(&mut self) {
        self.runs.clear();
        self.heap.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{Near, Part, SPARE_CAPACITY};
    use crate::runtime::timers::order::Entry;

    fn entry(key: u64) -> Entry {
        Entry { key, seq: key, slot: key as u32, generation: 0 }
    }

    fn drain(near: &mut Near) -> Vec<u64> {
        std::iter::from_fn(|| {
            let (e, part) = near.front()?;
            near.pop(part);
            Some(e.key)
        })
        .collect()
    }

    #[test]
    fn runs_and_heap_give_one_order_and_ahead_looks_into_the_first_run() {
        let mut near = Near::default();
        let mut batch: Vec<Entry> = (10..20).map(entry).collect();
        near.append_sorted(&mut batch);
        assert!(batch.is_empty());
        near.push(entry(20)); // after the last run's end: appended
        near.push(entry(5)); // among the runs: the heap
        assert_eq!((near.len(), near.iter().count(), near.is_empty()), (12, 12, false));
        assert_eq!(near.front(), Some((entry(5), Part::Heap)));
        assert_eq!(near.ahead(0), Some(&entry(10)));
        assert_eq!(near.ahead(8), Some(&entry(18)));
        assert_eq!(near.ahead(11), None);
        assert_eq!(drain(&mut near), [5, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
        assert!(near.is_empty());
    }

    #[test]
    fn a_run_read_to_its_end_leaves_its_array_for_reuse_unless_it_is_huge() {
        let mut near = Near::default();
        let mut batch: Vec<Entry> = (0..100).map(entry).collect();
        near.append_sorted(&mut batch);
        drain(&mut near);
        let kept = near.spare.capacity();
        assert!(kept >= 100, "the emptied array is kept ({kept})");
        // The next batch handed over leaves with the spare, for the wheel to fill.
        let mut batch = vec![entry(200)];
        near.append_sorted(&mut batch);
        assert_eq!((batch.capacity(), near.spare.capacity()), (kept, 0));
        drain(&mut near);

        // A larger array replaces a smaller spare; one beyond SPARE_CAPACITY is freed.
        near.spare = Vec::with_capacity(10);
        let mut batch: Vec<Entry> = (0..50).map(entry).collect();
        near.append_sorted(&mut batch);
        drain(&mut near);
        assert!(near.spare.capacity() >= 50);
        let mut huge: Vec<Entry> = (0..SPARE_CAPACITY as u64 + 1).map(entry).collect();
        near.append_sorted(&mut huge);
        assert!(huge.capacity() >= 50, "the spare left with the batch");
        drain(&mut near);
        assert_eq!(near.spare.capacity(), 0, "a huge array is freed, not kept");
    }
}
