//! [`Event`]: asyncio's event flag.
//!
//! # Invariants
//!
//! The state word holds `SET` and `WAITERS`.
//!
//! * `WAITERS` is set exactly while the waiter list is non-empty, and changes
//!   only under the list's mutex (as in `permits.rs`).
//! * A waiter queues only after publishing `WAITERS` with a compare-exchange
//!   that fails if `SET` appeared meanwhile; `set()` takes the lock only if it
//!   saw `WAITERS`. So either `set()` finds the waiter or the waiter finds
//!   the flag: no lost wakeup (loom model 8).
//! * `set()` wakes exactly the waiters that were queued when it set the flag
//!   (rule S3): it reads the list's next sequence number under the lock, in
//!   the same critical section that sets `SET`, and grants only older
//!   waiters. A granted waiter returns `Ok` even if `clear()` came first.
//! * `wait()` on a set event and `set()`/`clear()` without waiters take no
//!   lock.
//! * A waiter that is cancelled or dropped leaves the list (so a wait under a
//!   timeout in a loop does not grow it); debug builds assert the first
//!   invariant wherever the list shrinks, and `Debug` shows the list's length.

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

const SET: usize = 1;
const WAITERS: usize = 2;

/// A flag tasks can wait for (asyncio's `Event`).
///
/// [`set`](Event::set) wakes every task waiting at that moment — even if
/// [`clear`](Event::clear) follows at once (rule S3); [`wait`](Event::wait)
/// on a set event returns at once. `Send + Sync`.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::Event;
/// use std::sync::Arc;
/// corio::run(async {
///     let ready = Arc::new(Event::new());
///     let r = ready.clone();
///     let waiter = corio::spawn(async move { r.wait().await });
///     corio::yield_now().await?;
///     ready.set();
///     ready.clear(); // too late to stop the wake-up
///     waiter.await.unwrap()?;
///     Ok::<_, corio::task::Cancelled>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct Event {
    state: AtomicUsize,
    waiters: Mutex<Waiters<()>>,
}

impl Event {
    /// An event that is not set.
    pub fn new() -> Event {
        Event { state: AtomicUsize::new(0), waiters: Mutex::new(Waiters::default()) }
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.state.load(Ordering::Acquire) & SET != 0
    }

    /// Sets the flag and wakes every task waiting now (S3).
    pub fn set(&self) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & SET != 0 {
                return;
            }
            if state & WAITERS != 0 {
                break;
            }
            match self.state.compare_exchange(state, state | SET, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
        // Waiters: set the flag and fix who was there in one critical section.
        let mut waiters = lock(&self.waiters);
        if self.state.fetch_or(SET, Ordering::AcqRel) & SET != 0 {
            return;
        }
        let boundary = waiters.next_seq();
        loop {
            let mut batch = WakeBatch::new();
            let mut done = false;
            while !batch.is_full() {
                match waiters.grant_first_before(boundary, ()) {
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
            debug_assert_eq!(
                self.state.load(Ordering::Relaxed) & WAITERS != 0,
                !waiters.is_empty(),
                "Event: WAITERS out of step with the waiter list"
            );
            drop(waiters);
            batch.wake_all();
            if done {
                return;
            }
            waiters = lock(&self.waiters);
        }
    }

    /// Clears the flag: later waits wait again.
    pub fn clear(&self) {
        self.state.fetch_and(!SET, Ordering::AcqRel);
    }

    /// Waits until the flag is set (a checkpoint); returns at once if it is.
    ///
    /// **Cancel safety:** cancel-safe: a dropped wait leaves the queue; nothing
    /// is passed on (`set` wakes everyone).
    #[track_caller]
    pub fn wait(&self) -> impl Future<Output = Result<(), Cancelled>> + '_ {
        EventWait { event: self, key: None, at: Location::caller() }
    }

    /// Queues a waiter unless the flag is set (then `None`).
    fn wait_or_queue(&self, cx: &Context<'_>) -> Option<WaiterKey> {
        let mut waiters = lock(&self.waiters);
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & SET != 0 {
                return None;
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

    fn leave(&self, key: WaiterKey) {
        let mut waiters = lock(&self.waiters);
        // A granted waiter has nothing to pass on: `set` woke everyone.
        if waiters.remove(key) == Some(Removed::Waiting) && waiters.is_empty() {
            self.state.fetch_and(!WAITERS, Ordering::Release);
        }
        debug_assert_eq!(
            self.state.load(Ordering::Relaxed) & WAITERS != 0,
            !waiters.is_empty(),
            "Event: WAITERS out of step with the waiter list"
        );
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("set", &self.is_set()).field("waiters", &lock(&self.waiters).len()).finish()
    }
}

struct EventWait<'a> {
    event: &'a Event,
    key: Option<WaiterKey>,
    /// Where the user awaited, for task dumps.
    at: &'static Location<'static>,
}

impl Future for EventWait<'_> {
    type Output = Result<(), Cancelled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Err(cancelled) = current::checkpoint() {
            if let Some(key) = self.key.take() {
                self.event.leave(key);
            }
            return Poll::Ready(Err(cancelled));
        }
        match self.key {
            None if self.event.is_set() => Poll::Ready(Ok(())),
            None => match self.event.wait_or_queue(cx) {
                None => Poll::Ready(Ok(())),
                Some(key) => {
                    self.key = Some(key);
                    suspend_at(WaitKind::Event, Some(self.at));
                    Poll::Pending
                }
            },
            Some(key) => {
                // The guard must be gone before a re-queue (the mutant below) locks again.
                let polled = lock(&self.event.waiters).poll(key, cx.waker());
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

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.event.leave(key);
        }
    }
}
