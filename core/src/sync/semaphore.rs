//! [`Semaphore`] and [`BoundedSemaphore`]: asyncio's counting semaphores,
//! with FIFO hand-over (rule S2) on the permit engine (`permits.rs`).

use super::permits::{Acquire, Permits, MAX_PERMITS};
use crate::task::checkpoint::WaitKind;
use crate::task::Cancelled;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A counting semaphore for tasks (asyncio's `Semaphore`).
///
/// * **FIFO hand-over** (rule S2): a release with waiters gives its permit
///   straight to the first waiter; newcomers queue behind waiters. The number
///   of holders never exceeds the permits.
/// * **Cancel-safe** (S7): [`acquire`](Semaphore::acquire) is a checkpoint;
///   a waiter cancelled while queued leaves no trace, and one that was handed
///   a permit before it could resume gives it back (to the next waiter).
/// * **`Send + Sync`**, lock-free when uncontended (one compare-exchange).
///
/// [`release`](Semaphore::release) adds a permit, as asyncio's does, even
/// beyond the initial count; [`BoundedSemaphore`] refuses that.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::Semaphore;
/// use std::sync::Arc;
/// corio::run(async {
///     let sem = Arc::new(Semaphore::new(2));
///     let a = sem.acquire().await?;
///     let _b = sem.acquire().await?;
///     assert_eq!(sem.available_permits(), 0);
///     assert!(sem.locked());
///     drop(a);
///     assert_eq!(sem.available_permits(), 1);
///     Ok::<_, corio::task::Cancelled>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct Semaphore {
    permits: Permits,
}

impl Semaphore {
    /// The most permits a semaphore holds; larger counts are clamped to it.
    pub const MAX_PERMITS: usize = MAX_PERMITS;

    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Semaphore {
        Semaphore { permits: Permits::new(permits, WaitKind::Semaphore) }
    }

    /// Waits for a permit (a checkpoint); the permit goes back when the
    /// returned guard is dropped.
    #[track_caller]
    pub fn acquire(&self) -> SemaphoreAcquire<'_> {
        SemaphoreAcquire {
            release: Release::Plain(self),
            acquire: self.permits.acquire(true, Some(Location::caller())),
        }
    }

    /// Takes a permit if one is free and nobody waits (never waits).
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.permits.try_acquire().then(|| SemaphorePermit { release: Release::Plain(self) })
    }

    /// Adds a permit (asyncio's `release()`): hands it to the first waiter,
    /// if any. Counts past [`MAX_PERMITS`](Semaphore::MAX_PERMITS) are not
    /// kept.
    pub fn release(&self) {
        let _ = self.permits.release(MAX_PERMITS);
    }

    /// Permits free right now (asyncio's `_value`). A release hands its
    /// permit to the first waiter instead; permits released while a waiter
    /// handed one has not resumed yet wait here, for the waiters behind it.
    pub fn available_permits(&self) -> usize {
        self.permits.available()
    }

    /// Whether an `acquire` would wait (asyncio's `locked()`): no permit is
    /// free, or someone stands in line — a waiter, or one handed a permit
    /// that has not resumed yet (FIFO: a newcomer goes behind it).
    pub fn locked(&self) -> bool {
        self.permits.available() == 0 || self.permits.in_line()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available_permits())
            .field("waiters", &self.permits.waiter_count())
            .finish()
    }
}

/// A semaphore that refuses to be released more often than it was acquired
/// (asyncio's `BoundedSemaphore`, rule S2).
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::{BoundedSemaphore, TooManyReleases};
/// let sem = BoundedSemaphore::new(1);
/// sem.try_acquire().unwrap().forget(); // held without a guard
/// assert_eq!(sem.release(), Ok(()));
/// assert_eq!(sem.release(), Err(TooManyReleases));
/// ```
pub struct BoundedSemaphore {
    permits: Permits,
    bound: usize,
}

impl BoundedSemaphore {
    /// A semaphore with `permits` permits, never more.
    pub fn new(permits: usize) -> BoundedSemaphore {
        let bound = permits.min(MAX_PERMITS);
        BoundedSemaphore { permits: Permits::new(bound, WaitKind::Semaphore), bound }
    }

    /// Waits for a permit (a checkpoint); see [`Semaphore::acquire`].
    #[track_caller]
    pub fn acquire(&self) -> SemaphoreAcquire<'_> {
        SemaphoreAcquire {
            release: Release::Bounded(self),
            acquire: self.permits.acquire(true, Some(Location::caller())),
        }
    }

    /// Takes a permit if one is free and nobody waits (never waits).
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.permits.try_acquire().then(|| SemaphorePermit { release: Release::Bounded(self) })
    }

    /// Gives a permit back; `Err(TooManyReleases)` if all are already free.
    pub fn release(&self) -> Result<(), TooManyReleases> {
        self.permits.release(self.bound).map_err(|()| TooManyReleases)
    }

    /// Permits free right now.
    pub fn available_permits(&self) -> usize {
        self.permits.available()
    }

    /// Whether an `acquire` would wait (see [`Semaphore::locked`]).
    pub fn locked(&self) -> bool {
        self.permits.available() == 0 || self.permits.in_line()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("available", &self.available_permits())
            .field("bound", &self.bound)
            .field("waiters", &self.permits.waiter_count())
            .finish()
    }
}

/// The future returned by [`Semaphore::acquire`] and
/// [`BoundedSemaphore::acquire`] (see [`LockAcquire`](super::LockAcquire)
/// for why it is a named type).
#[must_use = "futures do nothing unless awaited"]
pub struct SemaphoreAcquire<'a> {
    release: Release<'a>,
    acquire: Acquire<'a>,
}

impl<'a> Future for SemaphoreAcquire<'a> {
    type Output = Result<SemaphorePermit<'a>, Cancelled>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let release = self.release;
        Pin::new(&mut self.acquire).poll(cx).map(|granted| granted.map(|()| SemaphorePermit { release }))
    }
}

impl fmt::Debug for SemaphoreAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire").finish_non_exhaustive()
    }
}

#[derive(Clone, Copy)]
enum Release<'a> {
    Plain(&'a Semaphore),
    Bounded(&'a BoundedSemaphore),
}

/// A permit of a [`Semaphore`] or [`BoundedSemaphore`]; given back when
/// dropped.
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    release: Release<'a>,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit without the guard; give it back later with
    /// `release()` (asyncio's bare `acquire()`/`release()` style).
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        match self.release {
            Release::Plain(sem) => sem.release(),
            // Fails only if the semaphore was released behind the permit's
            // back; the bound holds either way.
            Release::Bounded(sem) => {
                let _ = sem.release();
            }
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}

/// [`BoundedSemaphore::release`] beyond the initial count (asyncio's
/// `ValueError('BoundedSemaphore released too many times')`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyReleases;

impl fmt::Display for TooManyReleases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoundedSemaphore released too many times")
    }
}

impl std::error::Error for TooManyReleases {}
