//! [`Notify`]: wake one task or all of them, without data (tokio's
//! `sync::Notify`).
//!
//! # Invariants
//!
//! The state word is `calls << 2 | PERMIT | WAITERS`, where `calls` counts
//! the `notify_waiters()` calls.
//!
//! * `WAITERS` is set exactly while the waiter list is non-empty, and changes
//!   only under the list's mutex (as in `permits.rs`). `PERMIT` (the one
//!   stored notification) is set only while `WAITERS` is clear: a
//!   `notify_one` that finds waiters grants the first instead.
//! * A waiter queues only after publishing `WAITERS` with a compare-exchange
//!   that fails if `PERMIT` or `calls` changed meanwhile, and `notify_one`
//!   takes the lock only if it saw `WAITERS`: either the notification finds
//!   the waiter or the waiter finds the permit (no lost wake-up; loom model
//!   `notify_one_before_or_after_the_wait`).
//! * A [`Notified`] remembers `calls` when it is created: a later
//!   `notify_waiters()` completes it even if it had not queued yet (tokio's
//!   rule). `notify_waiters` bumps `calls` and grants the queued waiters in
//!   one critical section.
//! * A waiter granted `notify_one`'s notification that is cancelled or
//!   dropped before it resumes passes it on, to the next waiter or back to
//!   the stored permit (S7). A `notify_waiters` grant has nothing to pass
//!   on.

use super::waiters::{lock, Removed, WaiterKey, Waiters, WakeBatch};
use crate::loom::{AtomicUsize, Mutex, Ordering};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use crate::task::Cancelled;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

const WAITERS: usize = 1;
const PERMIT: usize = 2;
const ONE_CALL: usize = 4;

/// A grant: `true` for `notify_one`'s single notification (to pass on if
/// unused), `false` for `notify_waiters`.
type Grant = bool;

/// Notifies tasks: [`notify_one`](Notify::notify_one) wakes the first
/// waiter, or stores one permit for the next [`notified`](Notify::notified)
/// if nobody waits; [`notify_waiters`](Notify::notify_waiters) wakes every
/// waiter and stores nothing.
///
/// Waiters are served FIFO; `notified().await` is a checkpoint
/// (`Err(Cancelled)`) and cancel-safe. `Send + Sync`.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::Notify;
/// use std::sync::Arc;
/// corio::run(async {
///     let notify = Arc::new(Notify::new());
///     let n = notify.clone();
///     let waiter = corio::spawn(async move {
///         n.notified().await?;
///         Ok::<_, corio::task::Cancelled>("woken")
///     });
///     notify.notify_one(); // stored if the waiter has not queued yet
///     assert_eq!(waiter.await.unwrap()?, "woken");
///     Ok::<_, corio::task::Cancelled>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct Notify {
    state: AtomicUsize,
    waiters: Mutex<Waiters<Grant>>,
}

impl Notify {
    /// A `Notify` with no stored permit.
    pub fn new() -> Notify {
        Notify { state: AtomicUsize::new(0), waiters: Mutex::new(Waiters::default()) }
    }

    /// Waits for a notification (a checkpoint): takes the stored permit if
    /// there is one, else queues until `notify_one` picks it or
    /// `notify_waiters` is called (including a call made after this future
    /// was created but before it was first polled).
    ///
    /// **Cancel safety:** cancel-safe. A dropped or cancelled wait loses its
    /// place in the queue; if `notify_one` had already picked it, the
    /// notification goes to the next waiter (or back to the stored permit).
    #[track_caller]
    pub fn notified(&self) -> Notified<'_> {
        Notified { notify: self, calls: self.state.load(Ordering::Acquire) >> 2, key: None, at: Location::caller() }
    }

    /// Wakes the first waiter, or stores a permit (at most one) for the
    /// next `notified()` if nobody waits.
    pub fn notify_one(&self) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & WAITERS != 0 {
                break;
            }
            if state & PERMIT != 0 {
                return;
            }
            match self.state.compare_exchange(state, state | PERMIT, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
        let mut waiters = lock(&self.waiters);
        let waker = self.grant_one(&mut waiters);
        drop(waiters);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Under the lock: grants the first waiter `notify_one`'s notification,
    /// or stores it as the permit if nobody waits.
    fn grant_one(&self, waiters: &mut Waiters<Grant>) -> Option<std::task::Waker> {
        match waiters.grant_first(true) {
            Some(waker) => {
                if waiters.is_empty() {
                    self.state.fetch_and(!WAITERS, Ordering::Release);
                }
                Some(waker)
            }
            None => {
                // Nobody waits (the last waiter left before we locked):
                // `WAITERS` is clear, so the permit may be stored.
                self.state.fetch_or(PERMIT, Ordering::AcqRel);
                None
            }
        }
    }

    /// Wakes every task waiting now (and every [`Notified`] created before
    /// this call); stores no permit.
    pub fn notify_waiters(&self) {
        let state = self.state.load(Ordering::Acquire);
        if state & WAITERS == 0 {
            // Nobody queued; futures not yet polled see the new count. A
            // waiter that queues meanwhile fails its compare-exchange on it.
            let mut state = state;
            loop {
                if state & WAITERS != 0 {
                    break;
                }
                match self.state.compare_exchange(
                    state,
                    state.wrapping_add(ONE_CALL),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return,
                    Err(actual) => state = actual,
                }
            }
        }
        let mut waiters = lock(&self.waiters);
        self.state.fetch_add(ONE_CALL, Ordering::AcqRel);
        let boundary = waiters.next_seq();
        loop {
            let mut batch = WakeBatch::new();
            let mut done = false;
            while !batch.is_full() {
                match waiters.grant_first_before(boundary, false) {
                    Some(waker) => batch.push(waker),
                    None => {
                        done = true;
                        break;
                    }
                }
            }
            if waiters.is_empty() {
                self.state.fetch_and(!WAITERS, Ordering::Release);
            }
            drop(waiters);
            batch.wake_all();
            if done {
                return;
            }
            waiters = lock(&self.waiters);
        }
    }

    /// Takes the permit, or queues a waiter unless `calls` moved on (then
    /// `None`: notified).
    fn take_or_queue(&self, calls: usize, cx: &Context<'_>) -> Option<WaiterKey> {
        let mut waiters = lock(&self.waiters);
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state >> 2 != calls {
                return None;
            }
            if state & PERMIT != 0 {
                match self.state.compare_exchange(state, state & !PERMIT, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => return None,
                    Err(actual) => state = actual,
                }
                continue;
            }
            if state & WAITERS != 0 {
                break;
            }
            match self.state.compare_exchange(state, state | WAITERS, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        Some(waiters.push(cx.waker().clone()))
    }

    /// A waiter leaves; one granted `notify_one`'s notification passes it on.
    fn leave(&self, key: WaiterKey) {
        let mut waiters = lock(&self.waiters);
        match waiters.remove(key) {
            Some(Removed::Waiting) if waiters.is_empty() => {
                self.state.fetch_and(!WAITERS, Ordering::Release);
            }
            Some(Removed::Granted(true)) => {
                let waker = if self.state.load(Ordering::Acquire) & WAITERS != 0 {
                    self.grant_one(&mut waiters)
                } else {
                    self.state.fetch_or(PERMIT, Ordering::AcqRel);
                    None
                };
                drop(waiters);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            _ => {}
        }
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Under the list's lock, where `WAITERS` changes: the flag and the
        // list agree (invariant above), which debug builds check here.
        let waiters = lock(&self.waiters);
        let state = self.state.load(Ordering::Acquire);
        debug_assert_eq!(state & WAITERS != 0, !waiters.is_empty(), "WAITERS is set exactly while someone waits");
        f.debug_struct("Notify").field("permit", &(state & PERMIT != 0)).field("waiters", &waiters.len()).finish()
    }
}

/// The future returned by [`Notify::notified`]. Cancel-safe.
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a> {
    notify: &'a Notify,
    /// `notify_waiters` calls when created.
    calls: usize,
    key: Option<WaiterKey>,
    at: &'static Location<'static>,
}

impl Future for Notified<'_> {
    type Output = Result<(), Cancelled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Err(cancelled) = current::checkpoint() {
            if let Some(key) = self.key.take() {
                self.notify.leave(key);
            }
            return Poll::Ready(Err(cancelled));
        }
        match self.key {
            None => {
                let state = self.notify.state.load(Ordering::Acquire);
                if state >> 2 != self.calls {
                    return Poll::Ready(Ok(()));
                }
                match self.notify.take_or_queue(self.calls, cx) {
                    None => Poll::Ready(Ok(())),
                    Some(key) => {
                        self.key = Some(key);
                        suspend_at(WaitKind::Event, Some(self.at));
                        Poll::Pending
                    }
                }
            }
            Some(key) => {
                let polled = lock(&self.notify.waiters).poll(key, cx.waker());
                match polled {
                    Poll::Pending => {
                        suspend_at(WaitKind::Event, Some(self.at));
                        Poll::Pending
                    }
                    Poll::Ready(_) => {
                        self.key = None;
                        Poll::Ready(Ok(()))
                    }
                }
            }
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.notify.leave(key);
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified").field("queued", &self.key.is_some()).finish()
    }
}
