//! [`Barrier`]: asyncio's barrier — `parties` tasks wait until all arrived.
//!
//! asyncio 3.13's barrier, phase for phase (its `_BarrierState`):
//!
//! * **filling**: arrivals wait; the one that makes `parties` releases the
//!   round and the barrier starts **draining**;
//! * **draining**: the released tasks leave one by one as they resume; new
//!   arrivals wait (blocked) until the last has left, then the barrier fills
//!   again and the blocked arrivals arrive, in order;
//! * **resetting** (`reset()` while tasks are in the barrier): the waiters
//!   get [`BarrierError::Broken`]; new arrivals are blocked until all have
//!   left;
//! * **broken** (`abort()`): every waiter, blocked arrival and later
//!   arrival gets `Broken`, until `reset()`.
//!
//! # Invariants
//!
//! * `count` is asyncio's `_count`: the tasks inside the barrier — waiting
//!   in the filling round, or released (granted) and not yet resumed. The
//!   releaser itself leaves at once.
//! * A released task learns how its round ended when it *resumes*, as in
//!   asyncio: if the barrier was aborted or reset meanwhile, its wait ends
//!   `Broken` rather than with its index.
//! * Indices are `0..parties` in arrival order among the tasks released
//!   together (unique, also after a cancelled waiter left).
//! * A waiter that leaves (cancelled or dropped) before its round is
//!   released lowers the count and does not break the barrier (rule S5); a
//!   released one that leaves before resuming still leaves the barrier
//!   (the count drops, maybe ending the drain).

use super::waiters::{lock, WaiterKey, Waiters, WakeBatch};
use crate::loom::{Mutex, MutexGuard};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use crate::task::Cancelled;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Lets a fixed number of tasks wait for each other (asyncio's `Barrier`).
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::Barrier;
/// use std::sync::Arc;
/// corio::run(async {
///     let barrier = Arc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let b = barrier.clone();
///             corio::spawn(async move { b.wait().await })
///         })
///         .collect();
///     let mut indices = Vec::new();
///     for task in tasks {
///         indices.push(task.await.unwrap().unwrap());
///     }
///     assert_eq!(indices, [0, 1, 2]); // arrival order; 2 released the round
/// })
/// .unwrap();
/// ```
pub struct Barrier {
    parties: usize,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Filling,
    Draining,
    Resetting,
    Broken,
}

/// What a waiter of the filling round is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Released {
    /// The round was released; its index (its wait ends `Broken` if the
    /// barrier was aborted or reset before it resumed).
    Index(usize),
    /// Aborted or reset while it waited.
    Broken,
}

/// What a blocked arrival is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unblocked {
    /// The drain or reset is over: arrive again.
    Arrive,
    /// Aborted.
    Broken,
}

struct State {
    phase: Phase,
    count: usize,
    /// The filling round's waiters.
    waiters: Waiters<Released>,
    /// Arrivals while draining or resetting.
    blocked: Waiters<Unblocked>,
}

impl Barrier {
    /// A barrier for `parties` tasks. As with `std::sync::Barrier`, 0 acts
    /// like 1: nobody waits.
    pub fn new(parties: usize) -> Barrier {
        Barrier {
            parties: parties.max(1),
            state: Mutex::new(State {
                phase: Phase::Filling,
                count: 0,
                waiters: Waiters::default(),
                blocked: Waiters::default(),
            }),
        }
    }

    /// Waits until `parties` tasks are waiting (a checkpoint), then returns
    /// this task's arrival index in the round, `0..parties`. While the
    /// barrier drains a released round or resets, an arrival first waits
    /// for that to end.
    ///
    /// `Err(Broken)` if the barrier is or becomes broken ([`abort`](Barrier::abort))
    /// or is [`reset`](Barrier::reset) before this task resumed. A cancelled
    /// waiter leaves without breaking the barrier (rule S5).
    pub async fn wait(&self) -> Result<usize, BarrierError> {
        BarrierWait { barrier: self, at: At::Outside }.await
    }

    /// Breaks the barrier: every waiter (also one released but not yet
    /// resumed), every blocked arrival and every later `wait` until
    /// [`reset`](Barrier::reset) gets `Err(Broken)` (rule S5). asyncio's
    /// `abort()` is a coroutine only because it takes a lock.
    pub fn abort(&self) {
        let mut state = lock(&self.state);
        state.phase = Phase::Broken;
        let mut batch = WakeBatch::new();
        while let Some(waker) = state.waiters.grant_first(Released::Broken) {
            batch.push(waker);
            if batch.is_full() {
                state = flush(state, &self.state, &mut batch);
            }
        }
        while let Some(waker) = state.blocked.grant_first(Unblocked::Broken) {
            batch.push(waker);
            if batch.is_full() {
                state = flush(state, &self.state, &mut batch);
            }
        }
        drop(state);
        batch.wake_all();
    }

    /// Returns the barrier to filling (asyncio's `reset()`): if tasks are in
    /// the barrier, those waiting get `Err(Broken)`, and new arrivals wait
    /// until every task inside has left; otherwise it fills at once.
    pub fn reset(&self) {
        let mut state = lock(&self.state);
        if state.count > 0 {
            state.phase = Phase::Resetting;
            let mut batch = WakeBatch::new();
            while let Some(waker) = state.waiters.grant_first(Released::Broken) {
                batch.push(waker);
                if batch.is_full() {
                    state = flush(state, &self.state, &mut batch);
                }
            }
            drop(state);
            batch.wake_all();
        } else {
            state.phase = Phase::Filling;
            self.unblock(state);
        }
    }

    /// How many tasks the barrier waits for.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many tasks wait in the filling round (0 while it drains or
    /// resets, as asyncio's `n_waiting`).
    pub fn n_waiting(&self) -> usize {
        let state = lock(&self.state);
        if state.phase == Phase::Filling {
            state.count
        } else {
            0
        }
    }

    /// Whether the barrier is broken.
    pub fn broken(&self) -> bool {
        lock(&self.state).phase == Phase::Broken
    }

    /// Whether a released round is still leaving (asyncio's "draining"
    /// state): new arrivals wait until it has.
    pub fn draining(&self) -> bool {
        lock(&self.state).phase == Phase::Draining
    }

    /// An arrival (after the checkpoint).
    fn arrive(&self, cx: &Context<'_>) -> Arrival {
        let mut state = lock(&self.state);
        match state.phase {
            Phase::Broken => return Arrival::Done(Err(BarrierError::Broken)),
            Phase::Draining | Phase::Resetting => return Arrival::Blocked(state.blocked.push(cx.waker().clone())),
            _ => {}
        }
        if state.count + 1 >= self.parties {
            // Release the round: every waiter gets its index in arrival
            // order; the releaser takes the last and leaves at once.
            state.phase = Phase::Draining;
            let mut batch = WakeBatch::new();
            let mut index = 0;
            while let Some(waker) = state.waiters.grant_first(Released::Index(index)) {
                index += 1;
                batch.push(waker);
                if batch.is_full() {
                    state = flush(state, &self.state, &mut batch);
                }
            }
            // The releaser is inside no longer; if nobody else is, the
            // drain is over already.
            if state.count == 0 {
                state.phase = Phase::Filling;
                state = self.grant_blocked(state, &mut batch);
            }
            drop(state);
            batch.wake_all();
            return Arrival::Done(Ok(self.parties - 1));
        }
        state.count += 1;
        Arrival::Waiting(state.waiters.push(cx.waker().clone()))
    }

    /// A task inside the barrier leaves it (asyncio's `_exit`): the last one
    /// out ends a drain or a reset, and the blocked arrivals come in.
    fn exit<'a>(&'a self, mut state: MutexGuard<'a, State>) {
        state.count -= 1;
        if state.count == 0 && matches!(state.phase, Phase::Draining | Phase::Resetting) {
            state.phase = Phase::Filling;
            self.unblock(state);
        }
    }

    /// Lets every blocked arrival arrive again (in the order they came).
    fn unblock<'a>(&'a self, state: MutexGuard<'a, State>) {
        let mut batch = WakeBatch::new();
        let state = self.grant_blocked(state, &mut batch);
        drop(state);
        batch.wake_all();
    }

    /// Grants every blocked arrival `Arrive`, into `batch` (flushed outside
    /// the lock when full).
    fn grant_blocked<'a>(&'a self, mut state: MutexGuard<'a, State>, batch: &mut WakeBatch) -> MutexGuard<'a, State> {
        while let Some(waker) = state.blocked.grant_first(Unblocked::Arrive) {
            batch.push(waker);
            if batch.is_full() {
                state = flush(state, &self.state, batch);
            }
        }
        state
    }

    /// A waiter of the filling round resumes with its grant.
    fn resume(&self, grant: Released) -> Result<usize, BarrierError> {
        let state = lock(&self.state);
        let broken = matches!(state.phase, Phase::Broken | Phase::Resetting);
        self.exit(state);
        match grant {
            Released::Index(index) if !broken => Ok(index),
            _ => Err(BarrierError::Broken),
        }
    }

    /// A waiter of the filling round leaves before resuming (cancelled or
    /// dropped).
    fn leave(&self, key: WaiterKey) {
        let mut state = lock(&self.state);
        let removed = state.waiters.remove(key);
        // Waiting or released: it leaves the barrier either way.
        if removed.is_some() {
            self.exit(state);
        }
    }

    /// A blocked arrival leaves (cancelled or dropped); one that was just
    /// let in had not arrived yet, so there is nothing to give back.
    fn leave_blocked(&self, key: WaiterKey) {
        let _ = lock(&self.state).blocked.remove(key);
    }
}

/// Wakes a full batch outside the lock and takes the lock again.
fn flush<'a>(state: MutexGuard<'a, State>, mutex: &'a Mutex<State>, batch: &mut WakeBatch) -> MutexGuard<'a, State> {
    drop(state);
    batch.wake_all();
    lock(mutex)
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("phase", &state.phase)
            .field("count", &state.count)
            .field("blocked", &state.blocked.len())
            .finish()
    }
}

/// Where a wait is.
#[derive(Clone, Copy)]
enum At {
    Outside,
    Waiting(WaiterKey),
    Blocked(WaiterKey),
}

enum Arrival {
    Done(Result<usize, BarrierError>),
    Waiting(WaiterKey),
    Blocked(WaiterKey),
}

struct BarrierWait<'a> {
    barrier: &'a Barrier,
    at: At,
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BarrierError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Err(cancelled) = current::checkpoint() {
            self.leave();
            return Poll::Ready(Err(BarrierError::Cancelled(cancelled)));
        }
        loop {
            match self.at {
                At::Outside => match self.barrier.arrive(cx) {
                    Arrival::Done(outcome) => return Poll::Ready(outcome),
                    Arrival::Waiting(key) => self.at = At::Waiting(key),
                    Arrival::Blocked(key) => self.at = At::Blocked(key),
                },
                At::Waiting(key) => {
                    let polled = lock(&self.barrier.state).waiters.poll(key, cx.waker());
                    return match polled {
                        Poll::Pending => {
                            suspend_at(WaitKind::Barrier, None);
                            Poll::Pending
                        }
                        Poll::Ready(grant) => {
                            self.at = At::Outside;
                            let grant = grant.expect("a waiter's entry lives until it takes its grant");
                            Poll::Ready(self.barrier.resume(grant))
                        }
                    };
                }
                At::Blocked(key) => {
                    let polled = lock(&self.barrier.state).blocked.poll(key, cx.waker());
                    match polled {
                        Poll::Pending => {
                            suspend_at(WaitKind::Barrier, None);
                            return Poll::Pending;
                        }
                        Poll::Ready(Some(Unblocked::Arrive)) => self.at = At::Outside,
                        Poll::Ready(_) => {
                            self.at = At::Outside;
                            return Poll::Ready(Err(BarrierError::Broken));
                        }
                    }
                }
            }
        }
    }
}

impl BarrierWait<'_> {
    fn leave(&mut self) {
        match std::mem::replace(&mut self.at, At::Outside) {
            At::Outside => {}
            At::Waiting(key) => self.barrier.leave(key),
            At::Blocked(key) => self.barrier.leave_blocked(key),
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        self.leave();
    }
}

/// Why [`Barrier::wait`] did not pass.
#[derive(Debug, Clone, PartialEq)]
pub enum BarrierError {
    /// The barrier was aborted or reset (asyncio's `BrokenBarrierError`).
    Broken,
    /// The waiting task's cancel was delivered here.
    Cancelled(Cancelled),
}

impl BarrierError {
    /// Whether the barrier is broken.
    pub fn is_broken(&self) -> bool {
        matches!(self, BarrierError::Broken)
    }

    /// Whether the wait was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, BarrierError::Cancelled(_))
    }
}

impl From<Cancelled> for BarrierError {
    fn from(cancelled: Cancelled) -> Self {
        BarrierError::Cancelled(cancelled)
    }
}

impl fmt::Display for BarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarrierError::Broken => f.write_str("the barrier is broken"),
            BarrierError::Cancelled(c) => c.fmt(f),
        }
    }
}

impl std::error::Error for BarrierError {}
