//! The near level: every keyed entry up to the wheel's horizon (the end of
//! the current tick), in exact firing order.
//!
//! Two parts. The *run* is a sorted array read from the front: the wheel
//! appends each tick it reaches as one sorted batch (all of a batch's keys
//! lie beyond everything already here), and an insert not earlier than the
//! run's last entry is appended too — so a burst fires as a walk along an
//! array. The *heap* takes the rare insert that lands among the run's
//! entries (a deadline already past, or in the current tick but before its
//! latest timer). The front is the smaller of the two fronts.
//!
//! Entries of cancelled timers stay until they reach the front or the queue's
//! purge removes them; this level does not know which are live.

use super::order::Entry;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The part of the near level an entry is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Run,
    Heap,
}

#[derive(Debug, Default)]
pub(super) struct Near {
    /// Sorted; `run[head..]` are the entries, `run[..head]` already taken.
    run: Vec<Entry>,
    head: usize,
    heap: BinaryHeap<Reverse<Entry>>,
}

impl Near {
    /// Adds `entry`, whose key is within the horizon.
    #[inline]
    pub(super) fn push(&mut self, entry: Entry) {
        match self.run.last() {
            // MUTANT (prop_timers `timer_queue_matches_reference`): append
            // whatever comes, so an earlier deadline queues behind later ones.
            #[cfg(not(corio_mutant = "sorted_run_takes_any"))]
            Some(last) if self.head < self.run.len() && entry < *last => self.heap.push(Reverse(entry)),
            _ => self.append(entry),
        }
    }

    fn append(&mut self, entry: Entry) {
        if self.head == self.run.len() {
            self.run.clear();
            self.head = 0;
        }
        self.run.push(entry);
    }

    /// Appends `batch`, sorted, every entry beyond all of this level's, and
    /// leaves `batch` empty (it may come back holding the run's old buffer).
    pub(super) fn append_sorted(&mut self, batch: &mut Vec<Entry>) {
        if self.head == self.run.len() {
            // Nothing left to read: the batch becomes the run, no copy.
            std::mem::swap(&mut self.run, batch);
            self.head = 0;
            batch.clear();
            return;
        }
        if self.head > 0 && self.head >= self.run.len() / 2 {
            // Reclaim what was read before the array grows.
            self.run.drain(..self.head);
            self.head = 0;
        }
        self.run.append(batch);
    }

    /// The first entry in order, and where it is.
    #[inline]
    pub(super) fn front(&self) -> Option<(Entry, Part)> {
        let run = self.run.get(self.head);
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
            Part::Run => self.head += 1,
            Part::Heap => drop(self.heap.pop()),
        }
    }

    /// The run's entry `distance` places after its front, if any (what a
    /// burst will fire next).
    #[inline]
    pub(super) fn ahead(&self, distance: usize) -> Option<&Entry> {
        self.run.get(self.head + distance)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.head == self.run.len() && self.heap.is_empty()
    }

    /// Keeps the entries `live` accepts; returns how many went.
    pub(super) fn retain(&mut self, mut live: impl FnMut(&Entry) -> bool) -> usize {
        let before = self.len();
        self.run.drain(..self.head);
        self.head = 0;
        self.run.retain(&mut live);
        self.heap.retain(|Reverse(e)| live(e));
        before - self.len()
    }

    pub(super) fn len(&self) -> usize {
        self.run.len() - self.head + self.heap.len()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.run[self.head..].iter().chain(self.heap.iter().map(|Reverse(e)| e))
    }

    pub(super) fn clear(&mut self) {
        self.run.clear();
        self.head = 0;
        self.heap.clear();
    }
}
