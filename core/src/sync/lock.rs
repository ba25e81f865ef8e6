//! [`Lock`]: asyncio's lock — FIFO, cancel-safe, shareable across loops.
//!
//! One permit of the permit engine (`permits.rs`): acquiring a free lock
//! nobody waits for is one compare-exchange; a release with waiters hands the
//! lock to the first of them (rule S1); a waiter handed the lock and then
//! cancelled passes it to the next (S1, S7).

use super::permits::{Acquire, Permits};
use crate::task::checkpoint::WaitKind;
use crate::task::Cancelled;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A mutual-exclusion lock for tasks (asyncio's `Lock`).
///
/// * **FIFO** (rule S1): waiters get the lock in the order they asked; an
///   `acquire` queues behind waiters even at an instant the lock looks free.
///   A release hands the lock straight to the first waiter, so it stays
///   [`locked`](Lock::locked) until that waiter resumes.
/// * **Cancel-safe** (S7): [`acquire`](Lock::acquire) is a checkpoint; a
///   waiter cancelled (or dropped) while queued leaves no trace, and one that
///   was handed the lock before it could resume passes it to the next waiter.
/// * **`Send + Sync`**: tasks on different loops (threads) can share it
///   (`Arc<Lock>`); a release wakes a waiter's loop wherever it runs.
///
/// Like asyncio's, the lock is not owned by a task: [`release`](Lock::release)
/// works from anywhere, and releasing an unlocked lock is an error.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::Lock;
/// use std::sync::Arc;
/// corio::run(async {
///     let lock = Arc::new(Lock::new());
///     let guard = lock.acquire().await?; // `async with lock:`
///     assert!(lock.locked());
///     let other = lock.clone();
///     let waiter = corio::spawn(async move {
///         let _guard = other.acquire().await?; // waits for the release below
///         Ok::<_, corio::task::Cancelled>("got it")
///     });
///     corio::yield_now().await?;
///     drop(guard); // hands the lock to the waiter
///     assert_eq!(waiter.await.unwrap()?, "got it");
///     assert!(!lock.locked());
///     Ok::<_, corio::task::Cancelled>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct Lock {
    permits: Permits,
}

impl Lock {
    /// An unlocked lock.
    pub fn new() -> Lock {
        Lock { permits: Permits::new(1, WaitKind::Lock) }
    }

    /// Waits for the lock (a checkpoint) and returns a guard that releases
    /// it when dropped. `Err(Cancelled)` if the task's cancel is delivered
    /// while waiting; the lock is then left as if it had never been asked
    /// for (S7).
    ///
    /// **Cancel safety:** cancel-safe: a dropped or cancelled acquire loses its
    /// place in the queue; if the lock had already been handed to it, it goes
    /// to the next waiter (S7).
    #[track_caller]
    pub fn acquire(&self) -> LockAcquire<'_> {
        LockAcquire { lock: self, acquire: self.permits.acquire(true, Some(Location::caller())) }
    }

    /// Takes the lock if it is free and nobody waits for it (never waits,
    /// no checkpoint).
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::Lock;
    /// let lock = Lock::new();
    /// let guard = lock.try_acquire().unwrap();
    /// assert!(lock.try_acquire().is_none());
    /// drop(guard);
    /// assert!(lock.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<LockGuard<'_>> {
        self.permits.try_acquire().then(|| LockGuard { lock: self })
    }

    /// Whether the lock is held (including by a waiter it was handed to
    /// that has not resumed yet).
    pub fn locked(&self) -> bool {
        self.permits.available() == 0
    }

    /// Releases the lock (asyncio's `release()`): hands it to the first
    /// waiter, if any. Meant for a lock kept with [`LockGuard::forget`];
    /// a guard releases by itself when dropped.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::{Lock, NotLocked};
    /// let lock = Lock::new();
    /// lock.try_acquire().unwrap().forget(); // held without a guard
    /// assert_eq!(lock.release(), Ok(()));
    /// assert_eq!(lock.release(), Err(NotLocked)); // rule S1
    /// ```
    pub fn release(&self) -> Result<(), NotLocked> {
        self.permits.release(1).map_err(|()| NotLocked)
    }

    /// Waits for the lock without being a checkpoint (a condition's
    /// re-acquire after `wait`, which must hold the lock again even when
    /// cancelled, rule S4).
    pub(crate) async fn acquire_uncancellable(&self) {
        // Without the checkpoint the wait cannot fail.
        let _ = self.permits.acquire(false, None).await;
    }
}

impl Default for Lock {
    fn default() -> Self {
        Lock::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").field("locked", &self.locked()).field("waiters", &self.permits.waiter_count()).finish()
    }
}

/// The future returned by [`Lock::acquire`] (a named type rather than an
/// `async` block: it is no larger than the wait it wraps, and
/// `#[track_caller]` gives the dump the caller's location).
#[must_use = "futures do nothing unless awaited"]
pub struct LockAcquire<'a> {
    lock: &'a Lock,
    acquire: Acquire<'a>,
}

impl<'a> Future for LockAcquire<'a> {
    type Output = Result<LockGuard<'a>, Cancelled>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let lock = self.lock;
        Pin::new(&mut self.acquire).poll(cx).map(|granted| granted.map(|()| LockGuard { lock }))
    }
}

impl fmt::Debug for LockAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockAcquire").finish_non_exhaustive()
    }
}

/// Holds a [`Lock`]; releases it when dropped (asyncio's `async with`).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl<'a> LockGuard<'a> {
    /// Keeps the lock held without the guard; release it later with
    /// [`Lock::release`] (asyncio's bare `acquire()`/`release()` style).
    pub fn forget(self) {
        std::mem::forget(self);
    }

    /// The lock this guard holds.
    pub fn lock(&self) -> &'a Lock {
        self.lock
    }
}

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // Fails only if someone released the lock behind the guard's back
        // (`Lock::release` while a guard exists); there is nothing to undo.
        let _ = self.lock.release();
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}

/// [`Lock::release`] on a lock that is not held (asyncio's
/// `RuntimeError('Lock is not acquired.')`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotLocked;

impl fmt::Display for NotLocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the lock is not acquired")
    }
}

impl std::error::Error for NotLocked {}
