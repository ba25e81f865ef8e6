//! Which members of a pool are parked, or about to park, for want of work.
//!
//! # Invariants
//!
//! The park side and the push side meet on `count`, with a read-modify-write
//! on each side, so that a push is never missed by a member that parks
//! (loom model `loom_pool`):
//!
//! * a member about to park sets its flag, adds itself to `count`, then
//!   looks at every queue;
//! * a pusher updates a queue's length, then reads `count` with a
//!   read-modify-write (`fetch_add(0)`), and if it is not zero takes one flag
//!   (a compare-exchange, so exactly one pusher wakes a given member) and
//!   kicks that member.
//!
//! Read-modify-writes of `count` are totally ordered: if the pusher's comes
//! first, the member's reads from it and so sees the push; otherwise the
//! pusher's reads the announcement and wakes the member. (A plain load on the
//! push side would need `SeqCst`'s total order of loads and stores, the
//! store-buffering pattern, which loom does not model.) A kick that finds the
//! member running costs it one empty drain of its remote queue.

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
        if self.count.fetch_add(0, Ordering::SeqCst) == 0 {
            return None;
        }
        let index = self.flags.iter().enumerate().position(|(i, flag)| {
            Some(i) != except && flag.compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst).is_ok()
        })?;
        self.count.fetch_sub(1, Ordering::SeqCst);
        Some(index)
    }
}
