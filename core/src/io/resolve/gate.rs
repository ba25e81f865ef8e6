//! The bound on concurrent name lookups: a counting gate whose slots are
//! taken on the loop's thread and given back on a pool thread.
//!
//! A lookup holds a slot from before its job is queued until the job has
//! ended — also when the task that asked for it was cancelled meanwhile,
//! since a started `getaddrinfo` cannot be stopped. So a burst of cancelled
//! lookups against a slow DNS server still occupies at most `limit` pool
//! threads, and the pool stays free for other blocking work.
//!
//! # Invariants
//!
//! * **Counted.** `free + taken slots == limit` at every point; a slot is
//!   given back exactly once (by its [`Slot`]'s drop, wherever it runs).
//! * **No lost wake-up.** A waiter stores its waker under the mutex after
//!   seeing no free slot; a release frees the slot and takes one waker under
//!   the same mutex, so it either sees the waiter or the waiter sees the slot.
//! * **A wake is never swallowed.** A release wakes one waiter and marks it
//!   *called*. A called waiter that goes away without taking a slot (its
//!   task was cancelled) passes the call to the next waiter; otherwise a
//!   free slot could sit unused while others wait (loom model
//!   `loom_lookup`, mutant `gate_cancel_swallows_call`).
//! * Waiters are served in arrival order; a new acquirer that finds a free
//!   slot takes it even if a called waiter has not run yet (barging keeps the
//!   fast path one lock), and the called waiter then waits again.

use crate::loom::{Arc, Mutex, MutexGuard};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A counting gate shared by the loop (acquiring) and pool threads
/// (releasing).
#[derive(Debug)]
pub(crate) struct Gate {
    state: Mutex<State>,
    limit: usize,
}

#[derive(Debug)]
struct State {
    free: usize,
    /// Waiters in arrival order: (id, waker).
    waiters: VecDeque<(u64, Waker)>,
    /// Waiters woken by a release that have not come back yet.
    called: Vec<u64>,
    next_id: u64,
}

impl Gate {
    /// A gate with `limit` slots (at least 1).
    pub(crate) fn new(limit: usize) -> Gate {
        let limit = limit.max(1);
        Gate {
            state: Mutex::new(State { free: limit, waiters: VecDeque::new(), called: Vec::new(), next_id: 0 }),
            limit,
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Slots taken right now.
    pub(crate) fn taken(&self) -> usize {
        self.limit - self.lock().free
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a slot. Not a checkpoint by itself: the caller checks for
    /// a cancel before polling it.
    pub(crate) fn acquire(gate: &Arc<Gate>) -> Acquire {
        Acquire { gate: gate.clone(), id: None }
    }

    fn release(&self) {
        let waker = {
            let mut state = self.lock();
            state.free += 1;
            debug_assert!(state.free <= self.limit, "a slot was given back twice");
            call_next(&mut state)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Takes the first waiter out of the queue and marks it called.
fn call_next(state: &mut State) -> Option<Waker> {
    let (id, waker) = state.waiters.pop_front()?;
    state.called.push(id);
    Some(waker)
}

/// A taken slot; dropping it gives the slot back (on any thread).
#[derive(Debug)]
pub(crate) struct Slot {
    gate: Arc<Gate>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.gate.release();
    }
}

/// The future of [`Gate::acquire`].
#[derive(Debug)]
pub(crate) struct Acquire {
    gate: Arc<Gate>,
    /// Our id once we have waited.
    id: Option<u64>,
}

impl Future for Acquire {
    type Output = Slot;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Slot> {
        let this = &mut *self;
        let mut state = this.gate.lock();
        let mut was_called = false;
        if let Some(id) = this.id {
            let before = state.called.len();
            state.called.retain(|&c| c != id);
            was_called = state.called.len() != before;
        }
        if state.free > 0 {
            state.free -= 1;
            if let Some(id) = this.id.take() {
                state.waiters.retain(|(w, _)| *w != id);
            }
            drop(state);
            return Poll::Ready(Slot { gate: this.gate.clone() });
        }
        let id = match this.id {
            Some(id) => id,
            None => {
                let id = state.next_id;
                state.next_id += 1;
                this.id = Some(id);
                id
            }
        };
        match state.waiters.iter_mut().find(|(w, _)| *w == id) {
            Some((_, waker)) => {
                if !waker.will_wake(cx.waker()) {
                    *waker = cx.waker().clone();
                }
            }
            // Called, but another took the slot first: first in line again.
            None if was_called => state.waiters.push_front((id, cx.waker().clone())),
            None => state.waiters.push_back((id, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        let waker = {
            let mut state = self.gate.lock();
            state.waiters.retain(|(w, _)| *w != id);
            let was_called = match state.called.iter().position(|&c| c == id) {
                Some(at) => {
                    state.called.swap_remove(at);
                    true
                }
                None => false,
            };
            if was_called && state.free > 0 {
                call_next(&mut state)
            } else {
                None
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}
