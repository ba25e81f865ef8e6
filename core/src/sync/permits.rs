//! The permit engine under [`Lock`](super::Lock), [`Semaphore`](super::Semaphore)
//! and [`BoundedSemaphore`](super::BoundedSemaphore).
//!
//! # Invariants
//!
//! The state word is `available << 1 | WAITERS`.
//!
//! * `WAITERS` is set exactly while the waiter list is non-empty, and changes
//!   only under the list's mutex.
//! * A release while `WAITERS` is set hands its permit to the first waiter
//!   (FIFO hand-over, rules S1, S2) instead of adding it.
//! * The line: a waiter that was handed a permit and has not resumed yet
//!   (`pending`) still stands in line, as in asyncio, where its future stays
//!   in `_waiters` until it runs. An acquire never takes a permit past the
//!   line — past a waiter, or past a handed-over waiter that has not
//!   resumed (no barging: S1's "acquire queues behind waiters";
//!   CPython's `test_acquire_fifo_order_4`) — so permits released meanwhile
//!   (a semaphore released several times) may wait in the count while
//!   `WAITERS` is set. Whoever leaves the line (a granted waiter resuming or
//!   giving up, a waiter cancelled) hands such permits to the waiters,
//!   asyncio's "wake up as many as are allowed".
//! * Uncontended acquire and release are one compare-exchange on the state
//!   word (and, for an acquire, a load of `pending`): no lock. Both fast
//!   paths succeed only while `WAITERS` is clear; a waiter publishes
//!   `WAITERS` with a compare-exchange that fails if the count changed
//!   meanwhile. So a release either sees the waiter (and hands over under
//!   the lock) or the waiter sees the permit: no lost wakeup (loom model 8).
//!   A newcomer that queues behind a pending waiter while permits are free
//!   and the pending waiter resuming meet Dekker-style: each writes
//!   (`WAITERS`, `pending`) before reading the other's, sequentially
//!   consistent, so at least one of them hands the permits out.
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
    /// Waiters handed a permit that have not resumed yet (they still stand
    /// in line, see the module documentation).
    pending: AtomicUsize,
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
            pending: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Permits free right now (0 while anyone waits).
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) >> 1
    }

    /// Whether anyone waits.
    fn has_waiters(&self) -> bool {
        self.state.load(Ordering::Acquire) & WAITERS != 0
    }

    /// How many wait (not counting those handed a permit): the waiter list's
    /// length, read under its lock, for `Debug`. Checks the invariant that
    /// `WAITERS` is set exactly while the list is non-empty.
    pub(crate) fn waiter_count(&self) -> usize {
        let waiters = lock(&self.waiters);
        debug_assert_eq!(
            waiters.is_empty(),
            !self.has_waiters(),
            "WAITERS is set exactly while someone waits ({} waiting)",
            waiters.len()
        );
        waiters.len()
    }

    /// Whether anyone stands in line: a waiter, or one handed a permit that
    /// has not resumed (so a newcomer would queue).
    pub(crate) fn in_line(&self) -> bool {
        self.has_waiters() || self.pending.load(Ordering::SeqCst) != 0
    }

    /// Whether a waiter handed a permit has yet to resume (it stands in
    /// line ahead of any newcomer).
    #[inline]
    fn line_pending(&self) -> bool {
        {
            self.pending.load(Ordering::SeqCst) != 0
        }
    }

    /// Takes a permit if one is free and nobody stands in line (no lock).
    pub(crate) fn try_acquire(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        while state & WAITERS == 0 && state >= ONE {
            if self.line_pending() {
                return false;
            }
            match self.state.compare_exchange_weak(state, state - ONE, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
        false
    }

    /// Releases one permit: to the first waiter if any, else back to the
    /// count. Refused (`Err`) when `bound` permits are already free (an
    /// unlocked lock, an over-released bounded semaphore).
    pub(crate) fn release(&self, bound: usize) -> Result<(), ()> {
        loop {
            let state = self.state.load(Ordering::SeqCst);
            if state >> 1 >= bound {
                return Err(());
            }
            if state & WAITERS == 0 {
                if self.state.compare_exchange(state, state + ONE, Ordering::SeqCst, Ordering::Relaxed).is_ok() {
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
        self.pending.fetch_add(1, Ordering::SeqCst);
        self.next_ungranted.store(seq + 1, Ordering::Release);
        if waiters.is_empty() {
            self.state.fetch_and(!WAITERS, Ordering::SeqCst);
        }
        waker
    }

    /// Hands permits waiting in the count to waiters (asyncio's "wake up as
    /// many as are allowed", when someone leaves the line). Under the lock;
    /// wakes after unlocking.
    fn distribute(&self, mut waiters: crate::loom::MutexGuard<'_, Waiters<()>>) {
        let mut batch = super::waiters::WakeBatch::new();
        loop {
            let state = self.state.load(Ordering::SeqCst);
            if state & WAITERS == 0 || state < ONE || batch.is_full() {
                break;
            }
            // Under the lock with WAITERS set, only we change the count.
            self.state.fetch_sub(ONE, Ordering::SeqCst);
            batch.push(self.grant_first(&mut waiters));
        }
        let more = batch.is_full();
        drop(waiters);
        batch.wake_all();
        if more {
            self.distribute(lock(&self.waiters));
        }
    }

    /// A granted waiter resumed with its permit: it leaves the line, handing
    /// out any permits that waited behind it.
    fn resumed(&self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
        let state = self.state.load(Ordering::SeqCst);
        if state & WAITERS != 0 && state >= ONE {
            self.distribute(lock(&self.waiters));
        }
    }

    /// The slow path of an acquire: takes a permit, or queues the caller
    /// (returning its key) after publishing `WAITERS`.
    fn acquire_or_wait(&self, waker: &Waker) -> Option<WaiterKey> {
        let mut waiters = lock(&self.waiters);
        let mut state = self.state.load(Ordering::SeqCst);
        while state & WAITERS == 0 {
            // Publish that we wait, unless the word changed meanwhile (then
            // look again). A permit may be free with nobody in line: a
            // release came after the fast path looked, or the waiter that
            // stood in line resumed meanwhile and saw no `WAITERS` (the
            // Dekker pair in the module docs). Then take it ourselves: under
            // the lock with `WAITERS` set, nobody else moves the word, and
            // storing it without `WAITERS` takes the flag down again.
            match self.state.compare_exchange(state, state | WAITERS, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) if state >= ONE && !self.line_pending() => {
                    self.state.store(state - ONE, Ordering::SeqCst);
                    return None;
                }
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        Some(waiters.push(waker.clone()))
    }

    /// Whether the waiter `key` was granted its permit: one atomic load when
    /// it was (the usual reason for a poll), else a look under the lock that
    /// also refreshes its waker.
    fn poll_granted(&self, key: WaiterKey, waker: &Waker) -> Poll<()> {
        if self.next_ungranted.load(Ordering::Acquire) > key.seq() {
            self.resumed();
            return Poll::Ready(());
        }
        let polled = lock(&self.waiters).poll(key, waker);
        match polled {
            Poll::Pending => Poll::Pending,
            // The entry is gone: the grant freed it.
            Poll::Ready(_) => {
                self.resumed();
                Poll::Ready(())
            }
        }
    }

    /// A waiter leaves: as if it had never come, or — if it was granted a
    /// permit it will not use — passing the permit on (S7).
    fn abandon(&self, key: WaiterKey) {
        let mut waiters = lock(&self.waiters);
        match waiters.remove(key) {
            Some(Removed::Waiting) if waiters.is_empty() => {
                self.state.fetch_and(!WAITERS, Ordering::SeqCst);
            }
            // Permits may wait in the count behind a pending waiter: the
            // one leaving hands them out (asyncio's `finally` in acquire).
            Some(Removed::Waiting) => self.distribute(waiters),
            // Granted: the grant freed the entry; the permit is ours.
            None | Some(Removed::Granted(())) => {
                self.pending.fetch_sub(1, Ordering::SeqCst);
                if self.state.load(Ordering::SeqCst) & WAITERS != 0 {
                    let waker = self.grant_first(&mut waiters);
                    drop(waiters);
                    waker.wake();
                    self.distribute(lock(&self.waiters));
                } else {
                    self.state.fetch_add(ONE, Ordering::SeqCst);
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
