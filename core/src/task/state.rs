//! The task state word: lifecycle bits, the owning loop and the reference
//! count in one 64-bit atomic.
//!
//! ```text
//!  63 ........ 26 | 25 ..... 10 | 9         | 8        7         | 6      5     | 4          3             | 2        1       0
//!  reference count| owner index | DELIVERED | PANICKED CANCELLED | CANCEL ABORT | JOIN_WAKER JOIN_INTEREST | COMPLETE RUNNING SCHEDULED
//! ```
//!
//! # Invariants
//!
//! * `SCHEDULED` means the task will be polled: if `RUNNING` is clear, a ready
//!   queue holds one reference for it; if `RUNNING` is set, the loop holds
//!   the step's reference and polls the task again. So a wake never adds a
//!   second queue entry.
//! * `RUNNING` means the loop holds the task's step: it is being polled, or
//!   it waits in a ready queue, whose entry holds the step's reference, with
//!   the header's loop-thread `queued_running` flag set — a new task (born
//!   `RUNNING`, queued by its spawn) or one that yielded (asked to run again
//!   during its step, `current::note_own_wake`). Neither costs a write: the
//!   spawn creates the word so, a yield's step ends without one, and the
//!   next step starts with a plain load unless a wake or a request set
//!   `SCHEDULED` meanwhile ([`resume`](State::resume)). So a wake or a
//!   request sees the same word during a poll and in the queue, and only
//!   sets `SCHEDULED` (loom model 5).
//! * `COMPLETE` is final. Once set, the future has been dropped and the stage
//!   holds the output (or the `JoinError`); `SCHEDULED`/`RUNNING` are clear.
//!   `CANCELLED`/`PANICKED` are set together with `COMPLETE` and say which
//!   outcome it holds, so anyone can ask without touching the stage.
//! * The output belongs to the `Task` handle iff `JOIN_INTEREST` was set when
//!   `COMPLETE` was set; otherwise the loop drops it on completion. Clearing
//!   `JOIN_INTEREST` fails once `COMPLETE` is set, so exactly one side drops
//!   the output (loom model 3).
//! * The join-waker slot is written only by the handle, and only while
//!   `JOIN_WAKER` and `COMPLETE` are both clear; the loop reads it only after
//!   it set `COMPLETE` while `JOIN_WAKER` was set. Setting `JOIN_WAKER` fails
//!   once `COMPLETE` is set, so a completion never misses a registered waker
//!   (loom model 1).
//! * Every waker, the handle, the loop's task registry and a queue entry each
//!   own one reference; the task is freed when the count reaches zero
//!   (loom model 5).
//! * `CANCEL` (a soft cancel request not yet delivered) is only set and
//!   cleared on the loop's thread; `ABORT` may be set from any thread.
//! * `DELIVERED` is set (on the loop's thread, never cleared) when a
//!   cancellation is first delivered to the task. While it is clear the
//!   task's delivery count is 0, so a scope's entry mark needs no registry
//!   lookup (W9b).
//! * The owner index (`owners.rs`) is written when the word is created and
//!   never changes: every transition keeps the bits it does not name, and a
//!   reference count that would reach them aborts first (`ref_inc`). So any
//!   load, even `Relaxed`, reads it.

use super::owners;
use crate::loom::{AtomicU64, Ordering};
use std::fmt;

pub(crate) const SCHEDULED: u64 = 1 << 0;
pub(crate) const RUNNING: u64 = 1 << 1;
pub(crate) const COMPLETE: u64 = 1 << 2;
pub(crate) const JOIN_INTEREST: u64 = 1 << 3;
pub(crate) const JOIN_WAKER: u64 = 1 << 4;
pub(crate) const ABORT: u64 = 1 << 5;
pub(crate) const CANCEL: u64 = 1 << 6;
pub(crate) const CANCELLED: u64 = 1 << 7;
pub(crate) const PANICKED: u64 = 1 << 8;
pub(crate) const DELIVERED: u64 = 1 << 9;

const OWNER_SHIFT: u32 = 10;
const REF_SHIFT: u32 = OWNER_SHIFT + owners::BITS;
const REF_ONE: u64 = 1 << REF_SHIFT;

/// A copy of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) u64);

impl Snapshot {
    pub(crate) fn has(self, bits: u64) -> bool {
        self.0 & bits != 0
    }

    pub(crate) fn refs(self) -> u64 {
        self.0 >> REF_SHIFT
    }

    /// The owning loop's index in `owners.rs`.
    #[inline]
    pub(crate) fn owner_index(self) -> u16 {
        (self.0 >> OWNER_SHIFT) as u16
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (SCHEDULED, "SCHEDULED"),
            (RUNNING, "RUNNING"),
            (COMPLETE, "COMPLETE"),
            (JOIN_INTEREST, "JOIN_INTEREST"),
            (JOIN_WAKER, "JOIN_WAKER"),
            (ABORT, "ABORT"),
            (CANCEL, "CANCEL"),
            (CANCELLED, "CANCELLED"),
            (PANICKED, "PANICKED"),
            (DELIVERED, "DELIVERED"),
        ];
        let set: Vec<_> = names.iter().filter(|(b, _)| self.has(*b)).map(|(_, n)| *n).collect();
        write!(f, "{} refs={}", set.join("|"), self.refs())
    }
}

/// What the loop should do with a task it popped from a ready queue.
pub(crate) enum RunDecision {
    /// Poll it. The snapshot is the state before `RUNNING` was set.
    Poll(Snapshot),
    /// It completed while queued (e.g. the loop closed); drop the queue's
    /// reference.
    Skip,
}

pub(crate) struct State(AtomicU64);

impl State {
    /// A new task of the loop at `owner_index`, with a handle, holding
    /// `refs` references: `RUNNING`, as its spawn queues it with the header's
    /// `queued_running` flag, so its first step starts with a load
    /// ([`resume`](Self::resume)).
    pub(crate) fn new(refs: u64, owner_index: u16) -> State {
        State(AtomicU64::new(RUNNING | JOIN_INTEREST | (u64::from(owner_index) << OWNER_SHIFT) | (refs * REF_ONE)))
    }

    /// The owning loop's index (immutable, so a relaxed load suffices).
    #[inline]
    pub(crate) fn owner_index(&self) -> u16 {
        Snapshot(self.0.load(Ordering::Relaxed)).owner_index()
    }

    #[inline]
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    /// Applies `f` until the compare-exchange succeeds. `f` returns the new
    /// word and a result, or `Err` to stop without writing.
    #[inline]
    fn update<T>(&self, mut f: impl FnMut(Snapshot) -> Result<(u64, T), T>) -> T {
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            let (next, out) = match f(Snapshot(current)) {
                Ok(pair) => pair,
                Err(out) => return out,
            };
            match self.0.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return out,
                Err(actual) => current = actual,
            }
        }
    }

    // ----- references -------------------------------------------------------

    #[inline]
    pub(crate) fn ref_inc(&self) {
        let previous = self.0.fetch_add(REF_ONE, Ordering::Relaxed);
        if previous >> REF_SHIFT >= (u64::MAX >> REF_SHIFT) / 2 {
            // Like `Arc`: an overflow can only come from leaking wakers in a
            // loop; continuing would risk a use-after-free.
            std::process::abort();
        }
    }

    /// Drops one reference; returns true if it was the last.
    #[inline]
    pub(crate) fn ref_dec(&self) -> bool {
        let previous = self.0.fetch_sub(REF_ONE, Ordering::AcqRel);
        debug_assert!(previous >> REF_SHIFT >= 1, "task reference count underflow");
        previous >> REF_SHIFT == 1
    }

    /// Drops two references at once (one read-modify-write instead of
    /// two); returns true if they were the last.
    pub(crate) fn ref_dec_two(&self) -> bool {
        let previous = self.0.fetch_sub(2 * REF_ONE, Ordering::AcqRel);
        debug_assert!(previous >> REF_SHIFT >= 2, "task reference count underflow");
        previous >> REF_SHIFT == 2
    }

    // ----- scheduling -------------------------------------------------------

    /// A wake. Returns the state before if the caller must push the task to
    /// a ready queue (its owner index says whose); a reference for that
    /// queue entry has then been added.
    #[inline]
    pub(crate) fn transition_to_notified(&self) -> Option<Snapshot> {
        self.update(|s| {
            if s.has(COMPLETE | SCHEDULED) {
                Err(None)
            } else if s.has(RUNNING) {
                Ok((s.0 | SCHEDULED, None))
            } else {
                Ok(((s.0 | SCHEDULED) + REF_ONE, Some(s)))
            }
        })
    }

    /// Requests `bit` (ABORT or CANCEL) and wakes the task so it sees it.
    /// Returns `(accepted, must_schedule)`: not accepted if already complete.
    pub(crate) fn request(&self, bit: u64) -> (bool, bool) {
        self.update(|s| {
            if s.has(COMPLETE) {
                Err((false, false))
            } else if s.has(SCHEDULED) {
                Ok((s.0 | bit, (true, false)))
            } else if s.has(RUNNING) {
                Ok((s.0 | bit | SCHEDULED, (true, false)))
            } else {
                Ok(((s.0 | bit | SCHEDULED) + REF_ONE, (true, true)))
            }
        })
    }

    /// Clears a pending soft cancel (the caller saw it, or is dropping it).
    pub(crate) fn take_cancel(&self) {
        self.0.fetch_and(!CANCEL, Ordering::AcqRel);
    }

    /// A cancellation was delivered to the task (see `DELIVERED`).
    pub(crate) fn mark_delivered(&self) {
        self.0.fetch_or(DELIVERED, Ordering::Release);
    }

    /// The loop popped the task (holding the queue's reference).
    #[inline]
    pub(crate) fn transition_to_running(&self) -> RunDecision {
        self.update(|s| {
            debug_assert!(!s.has(RUNNING), "task polled twice at once: {s:?}");
            if s.has(COMPLETE) {
                Ok((s.0 & !SCHEDULED, RunDecision::Skip))
            } else {
                Ok(((s.0 & !SCHEDULED) | RUNNING, RunDecision::Poll(s)))
            }
        })
    }

    /// The poll returned `Pending`. Returns true if the task was woken while
    /// running: the caller re-queues it with the reference it holds.
    #[inline]
    pub(crate) fn transition_to_idle(&self) -> bool {
        self.update(|s| Ok((s.0 & !RUNNING, s.has(SCHEDULED))))
    }

    /// The loop popped a task queued while `RUNNING` (new, or yielded in its
    /// last step; the queue entry holds the step's reference). Nothing to
    /// write unless a wake or a request came meanwhile: then it clears
    /// `SCHEDULED` (the coming poll covers that wake) in one
    /// read-modify-write, and the snapshot shows any request.
    #[inline]
    pub(crate) fn resume(&self) -> RunDecision {
        let s = self.load();
        if !s.has(SCHEDULED | COMPLETE) {
            debug_assert!(s.has(RUNNING), "a task queued while running lost RUNNING: {s:?}");
            return RunDecision::Poll(s);
        }
        self.update(|s| {
            if s.has(COMPLETE) {
                Ok((s.0 & !SCHEDULED, RunDecision::Skip))
            } else {
                Ok(((s.0 & !SCHEDULED) | RUNNING, RunDecision::Poll(s)))
            }
        })
    }

    /// The task finished with the outcome `outcome` (0, CANCELLED or
    /// PANICKED). Returns the state before.
    #[inline]
    pub(crate) fn transition_to_complete(&self, outcome: u64) -> Snapshot {
        debug_assert_eq!(outcome & !(CANCELLED | PANICKED), 0);
        self.update(|s| {
            debug_assert!(!s.has(COMPLETE), "task completed twice: {s:?}");
            Ok(((s.0 & !(RUNNING | SCHEDULED | CANCEL | ABORT)) | COMPLETE | outcome, s))
        })
    }

    // ----- the join handle --------------------------------------------------

    /// The handle is going away. `Ok`: the loop will drop the output when the
    /// task completes. `Err`: the task is complete and the handle must drop
    /// the output itself.
    #[inline]
    pub(crate) fn unset_join_interest(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(s.has(JOIN_INTEREST));
            if s.has(COMPLETE) {
                Err(Err(s))
            } else {
                Ok((s.0 & !(JOIN_INTEREST | JOIN_WAKER), Ok(s)))
            }
        })
    }

    /// Publishes the waker the handle just wrote. Fails if the task completed
    /// meanwhile (the handle then reads the output instead).
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(s.has(JOIN_INTEREST) && !s.has(JOIN_WAKER));
            if s.has(COMPLETE) {
                Err(Err(s))
            } else {
                Ok((s.0 | JOIN_WAKER, Ok(s)))
            }
        })
    }

    /// Takes the waker slot back to replace the waker. Fails if complete.
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(s.has(JOIN_INTEREST | JOIN_WAKER));
            if s.has(COMPLETE) {
                Err(Err(s))
            } else {
                Ok((s.0 & !JOIN_WAKER, Ok(s)))
            }
        })
    }
}

// The flags end below the owner index.
const _: () = assert!(DELIVERED < 1 << OWNER_SHIFT);

#[cfg(all(test, not(corio_loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_owner_index_survives_every_transition() {
        for index in [0, 1, 0xbeef, u16::MAX] {
            let state = State::new(3, index);
            let keeps = |state: &State, refs: u64| {
                assert_eq!(
                    (state.owner_index(), state.load().owner_index(), state.load().refs()),
                    (index, index, refs)
                );
            };
            keeps(&state, 3);
            state.ref_inc();
            keeps(&state, 4);
            // Born RUNNING and queued: the first step starts with a load.
            assert!(matches!(state.resume(), RunDecision::Poll(_)));
            assert!(!state.transition_to_idle());
            let woken = state.transition_to_notified().expect("an idle task is queued by a wake");
            assert_eq!(woken.owner_index(), index);
            keeps(&state, 5);
            assert_eq!(state.request(CANCEL), (true, false));
            state.take_cancel();
            assert!(!state.load().has(CANCEL));
            assert!(matches!(state.transition_to_running(), RunDecision::Poll(_)));
            // A yield writes nothing; the next step starts with a load...
            assert!(matches!(state.resume(), RunDecision::Poll(_)));
            // ...or, after a wake while queued (only SCHEDULED, no reference),
            // with the write that clears it.
            assert!(state.transition_to_notified().is_none());
            keeps(&state, 5);
            assert!(matches!(state.resume(), RunDecision::Poll(_)));
            assert!(!state.load().has(SCHEDULED) && state.load().has(RUNNING));
            let before = state.transition_to_complete(CANCELLED);
            assert_eq!(before.owner_index(), index);
            assert!(state.load().has(COMPLETE | CANCELLED));
            assert!(state.unset_join_interest().is_err());
            keeps(&state, 5);
            assert!(!state.ref_dec_two());
            assert!(!state.ref_dec_two());
            keeps(&state, 1);
            assert!(state.ref_dec());
        }
    }
}
