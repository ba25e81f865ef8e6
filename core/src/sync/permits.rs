//! The permit engine under [`Lock`](super::Lock), [`Semaphore`](super::Semaphore)
//! and [`BoundedSemaphore`](super::BoundedSemaphore).
//!
//! # Invariants
//!
//! The state word is `available << 1 | WAITERS`.
//!
//! * `WAITERS` is set exactly while the waiter list is non-empty, and changes
//!   only under the list's mutex.
//! * While `WAITERS` is set, `available` is 0: a release hands its permit to
//!   the first waiter (FIFO hand-over, rules S1, S2) instead of adding it, and
//!   an acquire never takes a permit past a waiter (no barging: S1's "acquire
//!   queues behind waiters").
//! * Uncontended acquire and release are one compare-exchange on the state
//!   word: no lock. Both fast paths succeed only while `WAITERS` is clear; a
//!   waiter publishes `WAITERS` with a compare-exchange that fails if the
//!   count changed meanwhile. So a release either sees the waiter (and hands
//!   over under the lock) or the waiter sees the permit: no lost wakeup
//!   (loom model 8).
//! * A granted waiter owns one permit. If it is cancelled or dropped before
//!   it takes it, it releases it again, which hands it to the next waiter
//!   (rule S7).
//! * Grants go to the head of the FIFO, so the granted waiters' sequence
//!   numbers only grow: `next_ungranted` (one past the last granted one) tells
//!   a woken waiter that it was granted with one atomic load, no lock. A
//!   granted waiter's entry is freed by the grant itself; a waiter whose key
//!   names nothing was granted.

use super::waiters::{lock, Removed, WaiterKey, Waiters};
use crate::loom::{AtomicU64, AtomicUsize, Mutex, Ordering};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use crate::task::Cancelled;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

const WAITERS: usize = 1;
const ONE: usize = 2;

/// The most permits a semaphore can hold (larger counts are clamped).
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 2;

pub(crate) struct Permits {
    state: AtomicUsize,
    /// One past the sequence number of the last waiter granted a permit.
    next_ungranted: AtomicU64,
    waiters: Mutex<Waiters<()>>,
    /// What a task waiting here is waiting on, for task dumps.
    kind: WaitKind,
}

impl Permits {
    pub(crate) fn new(permits: usize, kind: WaitKind) -> Permits {
        Permits {
            kind,
            state: AtomicUsize::new(permits.min(MAX_PERMITS) * ONE),
            next_ungranted: AtomicU64::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Permits free right now (0 while anyone waits).
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) >> 1
    }

    /// Whether anyone waits.
    pub(crate) fn has_waiters(&self) -> bool {
        self.state.load(Ordering::Acquire) & WAITERS != 0
    }

    /// Takes a permit if one is free and nobody waits (no lock).
    pub(crate) fn try_acquire(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        while state & WAITERS == 0 && state >= ONE {
            match self.state.compare_exchange_weak(state, state - ONE, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
        false
    }

    /// Releases one permit: to the first waiter if any, else back to the
    /// count. Refused (`Err`) when nobody waits and `bound` permits are
    /// already free (an unlocked lock, an over-released bounded semaphore).
    pub(crate) fn release(&self, bound: usize) -> Result<(), ()> {
        loop {
            let state = self.state.load(Ordering::Acquire);
            if state & WAITERS == 0 {
                // MUTANT (prop_sync_permits, rules_sync): no bound check, so
                // releasing an unlocked lock or over-releasing a bounded
                // semaphore is not an error (breaks S1, S2).
                #[cfg(not(corio_mutant = "release_unchecked"))]
                if state >> 1 >= bound {
                    return Err(());
                }
                if self.state.compare_exchange(state, state + ONE, Ordering::Release, Ordering::Relaxed).is_ok() {
                    return Ok(());
                }
                continue;
            }
            let mut waiters = lock(&self.waiters);
            if self.state.load(Ordering::Relaxed) & WAITERS == 0 {
                continue; // the last waiter left before we locked
            }
            let waker = self.grant_first(&mut waiters);
            drop(waiters);
            waker.wake();
            return Ok(());
        }
    }

    /// Hands one permit to the first waiter. Under the lock, with `WAITERS`
    /// set; returns the waker to wake after unlocking.
    fn grant_first(&self, waiters: &mut Waiters<()>) -> Waker {
        let (waker, seq) = waiters.pop_first().expect("WAITERS is set only while someone waits");
        self.next_ungranted.store(seq + 1, Ordering::Release);
        if waiters.is_empty() {
            self.state.fetch_and(!WAITERS, Ordering::Release);
        }
        waker
    }

    /// The slow path of an acquire: takes a permit, or queues the caller
    /// (returning its key) after publishing `WAITERS`.
    fn acquire_or_wait(&self, waker: &Waker) -> Option<WaiterKey> {
        let mut waiters = lock(&self.waiters);
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & WAITERS == 0 && state >= ONE {
                match self.state.compare_exchange(state, state - ONE, Ordering::Acquire, Ordering::Acquire) {
                    Ok(_) => return None,
                    Err(actual) => state = actual,
                }
            } else if state & WAITERS != 0 {
                break;
            } else {
                // No permit: publish that we wait, unless a release just
                // added one (then the exchange fails and we take it).
                match self.state.compare_exchange(state, state | WAITERS, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => break,
                    Err(actual) => state = actual,
                }
            }
        }
        Some(waiters.push(waker.clone()))
    }

    /// Whether the waiter `key` was granted its permit: one atomic load when
    /// it was (the usual reason for a poll), else a look under the lock that
    /// also refreshes its waker.
    fn poll_granted(&self, key: WaiterKey, waker: &Waker) -> Poll<()> {
        if self.next_ungranted.load(Ordering::Acquire) > key.seq() {
            return Poll::Ready(());
        }
        match lock(&self.waiters).poll(key, waker) {
            Poll::Pending => Poll::Pending,
            // The entry is gone: the grant freed it.
            Poll::Ready(_) => Poll::Ready(()),
        }
    }

    /// A waiter leaves: as if it had never come, or — if it was granted a
    /// permit it will not use — passing the permit on (S7).
    fn abandon(&self, key: WaiterKey) {
        let mut waiters = lock(&self.waiters);
        match waiters.remove(key) {
            Some(Removed::Waiting) if waiters.is_empty() => {
                self.state.fetch_and(!WAITERS, Ordering::Release);
            }
            Some(Removed::Waiting) => {}
            // Granted: the grant freed the entry; the permit is ours.
            None | Some(Removed::Granted(())) => {
                // MUTANT (loom_sync, prop_sync_permits): hand the lock to a
                // cancelled waiter — the permit it was granted is never
                // passed on, so the lock stays held forever.
                #[cfg(corio_mutant = "lock_handoff_to_cancelled")]
                return;
                #[allow(unreachable_code)]
                if self.state.load(Ordering::Relaxed) & WAITERS != 0 {
                    let waker = self.grant_first(&mut waiters);
                    drop(waiters);
                    waker.wake();
                } else {
                    self.state.fetch_add(ONE, Ordering::Release);
                }
            }
        }
    }

    /// Waits for a permit; a checkpoint unless `cancellable` is false (a
    /// condition re-acquiring its lock).
    pub(crate) fn acquire(&self, cancellable: bool, at: Option<&'static Location<'static>>) -> Acquire<'_> {
        Acquire { permits: self, state: State::Idle, cancellable, at }
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Idle,
    Waiting(WaiterKey),
    Done,
}

/// Waits for one permit. Dropping it while queued leaves the queue; dropping
/// it after it was granted the permit passes the permit on.
pub(crate) struct Acquire<'a> {
    permits: &'a Permits,
    state: State,
    cancellable: bool,
    /// Where the user awaited, for task dumps.
    at: Option<&'static Location<'static>>,
}

impl Acquire<'_> {
    /// Leaves the queue if still in it. Inline: an acquire that finished
    /// (the usual drop) costs one compare.
    #[inline]
    fn abandon(&mut self) {
        if let State::Waiting(key) = self.state {
            self.state = State::Done;
            self.permits.abandon(key);
        }
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), Cancelled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.cancellable {
            if let Err(cancelled) = current::checkpoint() {
                self.abandon();
                return Poll::Ready(Err(cancelled));
            }
        }
        match self.state {
            State::Idle => {
                if self.permits.try_acquire() {
                    self.state = State::Done;
                    return Poll::Ready(Ok(()));
                }
                match self.permits.acquire_or_wait(cx.waker()) {
                    None => {
                        self.state = State::Done;
                        Poll::Ready(Ok(()))
                    }
                    Some(key) => {
                        self.state = State::Waiting(key);
                        suspend_at(self.permits.kind, self.at);
                        Poll::Pending
                    }
                }
            }
            State::Waiting(key) => match self.permits.poll_granted(key, cx.waker()) {
                Poll::Ready(()) => {
                    self.state = State::Done;
                    Poll::Ready(Ok(()))
                }
                Poll::Pending => {
                    suspend_at(self.permits.kind, self.at);
                    Poll::Pending
                }
            },
            State::Done => panic!("a corio acquire future was polled after it completed"),
        }
    }
}

impl Drop for Acquire<'_> {
    #[inline]
    fn drop(&mut self) {
        self.abandon();
    }
}
