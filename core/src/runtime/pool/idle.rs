//! Which members of a pool are parked, or about to park, for want of work.
//!
//! # Invariants
//!
//! The park side and the push side are ordered with `SeqCst` so that a push
//! is never missed by a member that parks (loom model `loom_pool`):
//!
//! * a member about to park sets its flag, adds itself to `count`, then
//!   looks at every queue;
//! * a pusher updates a queue's length, then reads `count`, and if it is not
//!   zero takes one flag (a compare-exchange, so exactly one pusher wakes a
//!   given member) and kicks that member.
//!
//! In the total order of these operations either the member's look comes
//! after the push (it sees the work and withdraws) or the pusher's read of
//! `count` comes after the announcement (it sees the member and wakes it).
//! A kick that finds the member running costs it one empty drain of its
//! remote queue.

use crate::loom::{AtomicBool, AtomicUsize, Ordering};

pub(crate) struct Idle {
    flags: Box<[AtomicBool]>,
    count: AtomicUsize,
}

impl Idle {
    pub(crate) fn new(members: usize) -> Idle {
        Idle { flags: (0..members).map(|_| AtomicBool::new(false)).collect(), count: AtomicUsize::new(0) }
    }

    /// Member `index` is about to park.
    pub(crate) fn announce(&self, index: usize) {
        if !self.flags[index].swap(true, Ordering::SeqCst) {
            self.count.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Member `index` runs again; a no-op if a pusher already took its flag.
    pub(crate) fn withdraw(&self, index: usize) {
        if self.flags[index].compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            self.count.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Takes one idle member other than `except` (the pusher itself), for
    /// the caller to wake; `None` if none is idle.
    pub(crate) fn take_one(&self, except: Option<usize>) -> Option<usize> {
        // MUTANT (loom_pool): read the count before the push was published
        // (as if the push side's order were relaxed): a member that parked
        // meanwhile is never woken.
        #[cfg(corio_mutant = "pool_idle_unchecked")]
        return None;
        #[allow(unreachable_code)]
        if self.count.load(Ordering::SeqCst) == 0 {
            return None;
        }
        let index = self.flags.iter().enumerate().position(|(i, flag)| {
            Some(i) != except && flag.compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst).is_ok()
        })?;
        self.count.fetch_sub(1, Ordering::SeqCst);
        Some(index)
    }
}
