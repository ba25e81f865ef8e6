//! [`Barrier`]: asyncio's barrier — `parties` tasks wait until all arrived.
//!
//! # Invariants
//!
//! * `count` is the number of waiters of the current round; it equals the
//!   waiter list's length (a waiter counts from its arrival until it is
//!   released or leaves).
//! * The arrival that makes `count + 1 == parties` releases the round: every
//!   waiter is granted its index (0, 1, ... in arrival order) and the
//!   releaser takes `parties - 1`. A new round starts empty at once.
//! * A waiter that leaves (cancelled or dropped) before its round is
//!   released lowers the count and does not break the barrier (rule S5); one
//!   that leaves after being released has nothing to give back.
//! * `abort()` breaks the barrier: waiters and later arrivals get
//!   [`BarrierError::Broken`] until `reset()`.

use super::waiters::{lock, Removed, WaiterKey, Waiters, WakeBatch};
use crate::loom::Mutex;
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
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// use corio_core::sync::Barrier;
/// use std::sync::Arc;
/// # let lp = EventLoop::new(ParkReactor::new());
/// lp.block_on(async {
///     let barrier = Arc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let b = barrier.clone();
///             corio_core::spawn(async move { b.wait().await })
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

struct State {
    count: usize,
    broken: bool,
    /// Granted `Ok(index)` on release, `Err(Broken)` on abort or reset.
    waiters: Waiters<Result<usize, BarrierError>>,
}

impl Barrier {
    /// A barrier for `parties` tasks. As with `std::sync::Barrier`, 0 acts
    /// like 1: nobody waits.
    pub fn new(parties: usize) -> Barrier {
        Barrier {
            parties: parties.max(1),
            state: Mutex::new(State { count: 0, broken: false, waiters: Waiters::default() }),
        }
    }

    /// Waits until `parties` tasks are waiting (a checkpoint), then returns
    /// this task's arrival index in the round, `0..parties`.
    ///
    /// `Err(Broken)` if the barrier is or becomes broken ([`abort`](Barrier::abort))
    /// or is [`reset`](Barrier::reset) while waiting. A cancelled waiter
    /// leaves without breaking the barrier (rule S5).
    pub async fn wait(&self) -> Result<usize, BarrierError> {
        BarrierWait { barrier: self, key: None }.await
    }

    /// Breaks the barrier: every waiter, and every later `wait` until
    /// [`reset`](Barrier::reset), gets `Err(Broken)` (rule S5).
    pub fn abort(&self) {
        let mut state = lock(&self.state);
        state.broken = true;
        self.release_all(state, Err(BarrierError::Broken));
    }

    /// Returns the barrier to its empty, unbroken state; current waiters get
    /// `Err(Broken)`.
    pub fn reset(&self) {
        let mut state = lock(&self.state);
        state.broken = false;
        self.release_all(state, Err(BarrierError::Broken));
    }

    /// How many tasks the barrier waits for.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many tasks wait in the current round.
    pub fn n_waiting(&self) -> usize {
        lock(&self.state).count
    }

    /// Whether the barrier is broken.
    pub fn broken(&self) -> bool {
        lock(&self.state).broken
    }

    /// Grants every waiter (`Ok(index)` in arrival order, or `outcome`'s
    /// error) and starts a new round.
    fn release_all<'a>(&'a self, mut state: crate::loom::MutexGuard<'a, State>, outcome: Result<usize, BarrierError>) {
        state.count = 0;
        // Only this round's waiters: arrivals during a wake-up batch belong
        // to the next round.
        let boundary = state.waiters.next_seq();
        let mut index = 0;
        loop {
            let mut batch = WakeBatch::new();
            while !batch.is_full() {
                let grant = outcome.clone().map(|_| index);
                match state.waiters.grant_first_before(boundary, grant) {
                    Some(waker) => batch.push(waker),
                    None => break,
                }
                index += 1;
            }
            let done = !batch.is_full();
            drop(state);
            batch.wake_all();
            if done {
                return;
            }
            state = lock(&self.state);
        }
    }

    fn arrive(&self, cx: &Context<'_>) -> Result<Result<usize, BarrierError>, WaiterKey> {
        let mut state = lock(&self.state);
        if state.broken {
            return Ok(Err(BarrierError::Broken));
        }
        if state.count + 1 >= self.parties {
            self.release_all(state, Ok(0));
            return Ok(Ok(self.parties - 1));
        }
        state.count += 1;
        Err(state.waiters.push(cx.waker().clone()))
    }

    fn leave(&self, key: WaiterKey) {
        let mut state = lock(&self.state);
        if state.waiters.remove(key) == Some(Removed::Waiting) {
            // MUTANT (prop_sync_barrier): a cancelled waiter keeps counting,
            // so the round is released one arrival early (breaks S5).
            #[cfg(not(corio_mutant = "barrier_cancel_keeps_count"))]
            {
                state.count -= 1;
            }
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("waiting", &state.count)
            .field("broken", &state.broken)
            .finish()
    }
}

struct BarrierWait<'a> {
    barrier: &'a Barrier,
    key: Option<WaiterKey>,
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BarrierError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Err(cancelled) = current::checkpoint() {
            if let Some(key) = self.key.take() {
                self.barrier.leave(key);
            }
            return Poll::Ready(Err(BarrierError::Cancelled(cancelled)));
        }
        match self.key {
            None => match self.barrier.arrive(cx) {
                Ok(outcome) => Poll::Ready(outcome),
                Err(key) => {
                    self.key = Some(key);
                    suspend_at(WaitKind::Barrier, None);
                    Poll::Pending
                }
            },
            Some(key) => match lock(&self.barrier.state).waiters.poll(key, cx.waker()) {
                Poll::Pending => {
                    suspend_at(WaitKind::Barrier, None);
                    Poll::Pending
                }
                Poll::Ready(grant) => {
                    self.key = None;
                    Poll::Ready(grant.expect("a waiter's entry lives until it takes its grant"))
                }
            },
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.barrier.leave(key);
        }
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
