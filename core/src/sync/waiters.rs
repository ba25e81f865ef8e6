//! The waiter list every primitive queues its waiting futures in.
//!
//! # Invariants
//!
//! * FIFO: waiters are granted in the order they were pushed; a waiter that
//!   leaves (cancelled or dropped) frees its place and nobody else moves.
//! * A waiter is either *waiting* (linked in the list, with its waker) or
//!   *granted* (unlinked, holding the grant value the primitive left for it:
//!   a permit, a notification, a barrier index...). Only the primitive moves
//!   a waiter from waiting to granted; only the waiter itself takes the grant
//!   or removes its entry. So a waiter that finds its entry granted knows it
//!   owns what the grant stands for — and, if it is cancelled instead of
//!   taking it, must pass it on (rule S7).
//! * Keys are never reused: a key names a slot and a list-wide sequence
//!   number, so a stale key finds nothing. Sequence numbers also order
//!   waiters, which lets `Event::set` wake exactly the waiters that were
//!   there when it was called.
//! * No allocation per wait once the slab has grown to the peak number of
//!   waiters; every operation is O(1).
//!
//! The list is plain data: each primitive keeps it behind its own mutex
//! (`crate::loom::Mutex`, so loom model 8 sees every interleaving) and wakes
//! the wakers it pops only after unlocking ([`WakeBatch`]).

use crate::loom::{Mutex, MutexGuard};
use std::task::{Poll, Waker};

const NIL: u32 = u32::MAX;

/// Names one waiter of one [`Waiters`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WaiterKey {
    slot: u32,
    seq: u64,
}

impl WaiterKey {
    /// The waiter's sequence number: its place in the list's arrival order.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }
}

enum Slot<G> {
    Vacant { next_free: u32 },
    Waiting { seq: u64, waker: Waker, prev: u32, next: u32 },
    Granted { seq: u64, grant: G },
}

/// What a waiter's entry held when it removed it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Removed<G> {
    /// It was still waiting: it leaves as if it had never come.
    Waiting,
    /// It had been granted `G`, which it now owns (and must pass on if it
    /// will not use it).
    Granted(G),
}

/// A FIFO of waiters (see the module documentation).
pub(crate) struct Waiters<G = ()> {
    slots: Vec<Slot<G>>,
    head: u32,
    tail: u32,
    free: u32,
    waiting: usize,
    next_seq: u64,
}

impl<G> Default for Waiters<G> {
    fn default() -> Self {
        Waiters { slots: Vec::new(), head: NIL, tail: NIL, free: NIL, waiting: 0, next_seq: 0 }
    }
}

impl<G> Waiters<G> {
    /// How many are waiting (granted entries not yet taken do not count).
    pub(crate) fn len(&self) -> usize {
        self.waiting
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.waiting == 0
    }

    /// The sequence number the next waiter will get: every waiter already in
    /// the list has a smaller one.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Queues a waiter at the back.
    pub(crate) fn push(&mut self, waker: Waker) -> WaiterKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let node = Slot::Waiting { seq, waker, prev: self.tail, next: NIL };
        let slot = match self.free {
            NIL => {
                let slot = u32::try_from(self.slots.len()).ok().filter(|&s| s != NIL).expect("fewer than 2^32 waiters");
                self.slots.push(node);
                slot
            }
            slot => {
                let Slot::Vacant { next_free } = self.slots[slot as usize] else { unreachable!("free list") };
                self.free = next_free;
                self.slots[slot as usize] = node;
                slot
            }
        };
        match self.tail {
            NIL => self.head = slot,
            tail => self.set_next(tail, slot),
        }
        self.tail = slot;
        self.waiting += 1;
        WaiterKey { slot, seq }
    }

    /// The waiter's state: still waiting (its waker refreshed), or granted —
    /// then the grant is taken and the entry freed. `Ready(None)` for a key
    /// that names nothing (already taken or removed).
    pub(crate) fn poll(&mut self, key: WaiterKey, waker: &Waker) -> Poll<Option<G>> {
        match self.slots.get_mut(key.slot as usize) {
            Some(Slot::Waiting { seq, waker: current, .. }) if *seq == key.seq => {
                if !current.will_wake(waker) {
                    current.clone_from(waker);
                }
                Poll::Pending
            }
            Some(Slot::Granted { seq, .. }) if *seq == key.seq => match self.remove(key) {
                Some(Removed::Granted(grant)) => Poll::Ready(Some(grant)),
                _ => unreachable!("the slot was granted"),
            },
            _ => Poll::Ready(None),
        }
    }

    /// Removes the waiter's entry, whatever its state; `None` if the key
    /// names nothing.
    pub(crate) fn remove(&mut self, key: WaiterKey) -> Option<Removed<G>> {
        let index = key.slot as usize;
        match self.slots.get(index) {
            Some(Slot::Waiting { seq, .. } | Slot::Granted { seq, .. }) if *seq == key.seq => {}
            _ => return None,
        }
        if matches!(self.slots[index], Slot::Waiting { .. }) {
            self.unlink(key.slot);
        }
        let slot = std::mem::replace(&mut self.slots[index], Slot::Vacant { next_free: self.free });
        self.free = key.slot;
        match slot {
            Slot::Granted { grant, .. } => Some(Removed::Granted(grant)),
            _ => Some(Removed::Waiting),
        }
    }

    /// Grants `grant` to the first waiter and returns its waker (to wake
    /// after unlocking); `None` if nobody waits.
    pub(crate) fn grant_first(&mut self, grant: G) -> Option<Waker> {
        self.grant_first_before(u64::MAX, grant)
    }

    /// As [`grant_first`](Waiters::grant_first), but only to a waiter that
    /// was pushed before the one with sequence number `limit`.
    pub(crate) fn grant_first_before(&mut self, limit: u64, grant: G) -> Option<Waker> {
        let slot = self.head;
        let Some(Slot::Waiting { seq, .. }) = self.slots.get(slot as usize) else {
            return None;
        };
        let seq = *seq;
        if seq >= limit {
            return None;
        }
        self.unlink(slot);
        match std::mem::replace(&mut self.slots[slot as usize], Slot::Granted { seq, grant }) {
            Slot::Waiting { waker, .. } => Some(waker),
            _ => unreachable!("checked above"),
        }
    }

    /// Removes the first waiter altogether (no grant entry is left behind)
    /// and returns its waker and sequence number. For primitives whose
    /// waiters learn of their grant another way (`permits.rs`): a waiter
    /// whose key names nothing was granted.
    pub(crate) fn pop_first(&mut self) -> Option<(Waker, u64)> {
        let slot = self.head;
        let Some(Slot::Waiting { seq, .. }) = self.slots.get(slot as usize) else {
            return None;
        };
        let seq = *seq;
        self.unlink(slot);
        let freed = std::mem::replace(&mut self.slots[slot as usize], Slot::Vacant { next_free: self.free });
        self.free = slot;
        match freed {
            Slot::Waiting { waker, .. } => Some((waker, seq)),
            _ => unreachable!("checked above"),
        }
    }

    fn unlink(&mut self, slot: u32) {
        let Slot::Waiting { prev, next, .. } = self.slots[slot as usize] else {
            unreachable!("only waiting entries are linked")
        };
        match prev {
            NIL => self.head = next,
            prev => self.set_next(prev, next),
        }
        match next {
            NIL => self.tail = prev,
            next => self.set_prev(next, prev),
        }
        self.waiting -= 1;
    }

    fn set_next(&mut self, slot: u32, to: u32) {
        if let Slot::Waiting { next, .. } = &mut self.slots[slot as usize] {
            *next = to;
        }
    }

    fn set_prev(&mut self, slot: u32, to: u32) {
        if let Slot::Waiting { prev, .. } = &mut self.slots[slot as usize] {
            *prev = to;
        }
    }
}

/// Locks a primitive's state. A panic while it was held (a user `Ord` in a
/// priority queue, a waker's `clone`) leaves the state consistent enough to
/// go on, so poisoning is ignored.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wakes `waker`, if any (after the caller unlocked).
#[inline]
pub(crate) fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Wakers popped under a lock, woken after it is released — so a waker that
/// runs code (or takes another lock) never does so inside a primitive's
/// critical section. Holds up to [`WakeBatch::CAPACITY`] without
/// allocating; callers that wake more loop: fill, unlock, wake, relock.
pub(crate) struct WakeBatch {
    wakers: [Option<Waker>; WakeBatch::CAPACITY],
    len: usize,
}

impl WakeBatch {
    pub(crate) const CAPACITY: usize = 32;

    pub(crate) fn new() -> WakeBatch {
        WakeBatch { wakers: [const { None }; WakeBatch::CAPACITY], len: 0 }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == Self::CAPACITY
    }

    /// Adds a waker; the batch must not be full.
    pub(crate) fn push(&mut self, waker: Waker) {
        self.wakers[self.len] = Some(waker);
        self.len += 1;
    }

    /// Wakes everything in the batch and empties it.
    pub(crate) fn wake_all(&mut self) {
        for waker in &mut self.wakers[..self.len] {
            if let Some(waker) = waker.take() {
                waker.wake();
            }
        }
        self.len = 0;
    }
}

/// Grants `grant` to every waiter of the list `select` picks that is queued
/// now (not to ones that arrive meanwhile), waking them in batches outside
/// the lock. Consumes the guard; returns with the mutex unlocked.
pub(crate) fn grant_all<'a, S, G: Clone>(
    mutex: &'a Mutex<S>,
    mut guard: MutexGuard<'a, S>,
    select: impl Fn(&mut S) -> &mut Waiters<G>,
    grant: G,
) {
    let boundary = select(&mut guard).next_seq();
    loop {
        let mut batch = WakeBatch::new();
        let mut done = false;
        while !batch.is_full() {
            match select(&mut guard).grant_first_before(boundary, grant.clone()) {
                Some(waker) => batch.push(waker),
                None => {
                    done = true;
                    break;
                }
            }
        }
        drop(guard);
        batch.wake_all();
        if done {
            return;
        }
        guard = lock(mutex);
    }
}

#[cfg(all(test, not(corio_loom)))]
mod tests {
    use super::*;

    fn noop() -> Waker {
        Waker::noop().clone()
    }

    #[test]
    fn fifo_grants_and_self_removal() {
        let mut w: Waiters<u32> = Waiters::default();
        let a = w.push(noop());
        let b = w.push(noop());
        let c = w.push(noop());
        assert_eq!(w.len(), 3);
        assert_eq!(w.remove(b), Some(Removed::Waiting)); // b leaves; a and c keep their places
        assert!(w.grant_first(7).is_some());
        assert_eq!(w.poll(c, Waker::noop()), Poll::Pending);
        assert_eq!(w.poll(a, Waker::noop()), Poll::Ready(Some(7)));
        assert_eq!(w.poll(a, Waker::noop()), Poll::Ready(None)); // taken once
        assert!(w.grant_first(8).is_some());
        assert_eq!(w.remove(c), Some(Removed::Granted(8)));
        assert!(w.is_empty());
        assert!(w.grant_first(9).is_none());
    }

    #[test]
    fn keys_are_not_reused() {
        let mut w: Waiters<()> = Waiters::default();
        let a = w.push(noop());
        assert_eq!(w.remove(a), Some(Removed::Waiting));
        let b = w.push(noop()); // same slot, new sequence number
        assert_eq!(w.remove(a), None);
        // A stale key names nothing, whether the slot's new waiter waits or
        // was granted; the new waiter keeps its place and its grant.
        assert_eq!(w.poll(a, Waker::noop()), Poll::Ready(None));
        assert_eq!(w.poll(b, Waker::noop()), Poll::Pending);
        assert!(w.grant_first(()).is_some());
        assert_eq!(w.poll(a, Waker::noop()), Poll::Ready(None));
        assert_eq!(w.poll(b, Waker::noop()), Poll::Ready(Some(())));
    }

    #[test]
    fn grant_before_limit() {
        let mut w: Waiters<()> = Waiters::default();
        let _a = w.push(noop());
        let limit = w.next_seq();
        let _b = w.push(noop());
        assert!(w.grant_first_before(limit, ()).is_some());
        assert!(w.grant_first_before(limit, ()).is_none());
        assert_eq!(w.len(), 1);
    }
}
