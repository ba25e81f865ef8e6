//! [`Mutex<T>`]: a lock that guards data (tokio's `sync::Mutex`), on the same
//! permit engine as [`Lock`](super::Lock) (`permits.rs`): FIFO hand-over,
//! cancel-safe, one compare-exchange when uncontended.
//!
//! # Invariants
//!
//! * The data is reached only through a guard, and a guard exists only while
//!   its holder owns the engine's single permit: `&mut T` is unique.
//! * Every guard gives the permit back exactly once, when dropped; a mapped
//!   guard takes over that duty from the guard it was made from.

use super::permits::{Acquire, Permits};
use crate::task::checkpoint::WaitKind;
use crate::task::Cancelled;
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A mutual-exclusion lock around a value (tokio's `Mutex<T>`), for data
/// that tasks share across `.await`s.
///
/// * **FIFO** (rule S1): waiters get the lock in the order they asked; a
///   release hands it straight to the first waiter.
/// * **A checkpoint**: [`lock`](Mutex::lock) returns `Err(Cancelled)` when
///   the task's cancel is delivered while it waits — the same shape as
///   [`Lock::acquire`](super::Lock::acquire) (tokio's `lock()` returns the
///   guard directly; see `docs/semantics.md`, "The everyday toolbox").
/// * **Cancel-safe** (S7): a waiter cancelled or dropped while queued leaves
///   no trace; one handed the lock before it could resume passes it on.
/// * **`Send + Sync`** for `T: Send`: share it with `Arc` across tasks and
///   loops.
///
/// A guard borrows the mutex, so it cannot outlive it — that does not
/// compile:
///
/// ```compile_fail
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::Mutex;
/// let guard = {
///     let m = Mutex::new(1);
///     m.try_lock().unwrap() // error: `m` does not live long enough
/// };
/// ```
///
/// An [`OwnedMutexGuard`] keeps the mutex alive through its `Arc`. For data
/// touched without `.await` in between, `std::sync::Mutex` is cheaper.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::Mutex;
/// use std::sync::Arc;
/// corio::run(async {
///     let hits = Arc::new(Mutex::new(0));
///     let tasks: Vec<_> = (0..10)
///         .map(|_| {
///             let hits = hits.clone();
///             corio::spawn(async move {
///                 let mut n = hits.lock().await?;
///                 *n += 1;
///                 Ok::<_, corio::task::Cancelled>(())
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap()?;
///     }
///     assert_eq!(*hits.lock().await?, 10);
///     Ok::<_, corio::task::Cancelled>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct Mutex<T: ?Sized> {
    permits: Permits,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands `&mut T` to one guard at a time (module
// invariants), possibly on another thread: `T: Send` is what that needs.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above; shared references only reach `T` through a guard.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub fn new(value: T) -> Mutex<T> {
        Mutex { permits: Permits::new(1, WaitKind::Lock), data: UnsafeCell::new(value) }
    }

    /// The value, consuming the mutex (no lock needed: nobody else has it).
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock (a checkpoint) and returns a guard that unlocks it
    /// when dropped. `Err(Cancelled)` if the task's cancel is delivered
    /// while waiting; the mutex is then left as if it had never been asked
    /// for.
    ///
    /// **Cancel safety:** cancel-safe. A dropped or cancelled `lock()` loses
    /// its place in the queue, nothing else; if the lock had already been
    /// handed to it, it goes to the next waiter.
    #[track_caller]
    pub fn lock(&self) -> MutexLock<'_, T> {
        MutexLock { mutex: self, acquire: self.permits.acquire(true, Some(Location::caller())) }
    }

    /// Takes the lock if it is free and nobody waits (never waits, no
    /// checkpoint).
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::{Mutex, TryLockError};
    /// let m = Mutex::new(1);
    /// let guard = m.try_lock().unwrap();
    /// assert_eq!(m.try_lock().unwrap_err(), TryLockError);
    /// drop(guard);
    /// assert_eq!(*m.try_lock().unwrap(), 1);
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        if self.permits.try_acquire() {
            Ok(MutexGuard { mutex: self, _data: PhantomData })
        } else {
            Err(TryLockError)
        }
    }

    /// Waits for the lock (a checkpoint) and returns a guard that owns an
    /// `Arc` of the mutex, so it can be moved into another task and outlive
    /// the borrow. Cancel-safe, as [`lock`](Mutex::lock).
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::Mutex;
    /// use std::sync::Arc;
    /// corio::run(async {
    ///     let log = Arc::new(Mutex::new(Vec::new()));
    ///     let mut guard = log.clone().lock_owned().await?;
    ///     let writer = corio::spawn(async move {
    ///         guard.push("from the task"); // the guard moved here
    ///     });
    ///     writer.await.unwrap();
    ///     assert_eq!(*log.lock().await?, ["from the task"]);
    ///     Ok::<_, corio::task::Cancelled>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> impl Future<Output = Result<OwnedMutexGuard<T>, Cancelled>> {
        let at = Location::caller();
        async move {
            self.permits.acquire(true, Some(at)).await?;
            Ok(OwnedMutexGuard { mutex: self })
        }
    }

    /// [`try_lock`](Mutex::try_lock) for an `Arc<Mutex<T>>`, returning an
    /// owned guard.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        if self.permits.try_acquire() {
            Ok(OwnedMutexGuard { mutex: self })
        } else {
            Err(TryLockError)
        }
    }

    /// The value, through `&mut` (no lock needed: the borrow is unique).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Whether the mutex is held (including by a waiter it was handed to
    /// that has not resumed yet).
    pub fn is_locked(&self) -> bool {
        self.permits.available() == 0
    }

    fn unlock(&self) {
        // Fails only when nothing is held, which a guard rules out.
        let _ = self.permits.release(1);
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// The future returned by [`Mutex::lock`]. Cancel-safe.
#[must_use = "futures do nothing unless awaited"]
pub struct MutexLock<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    acquire: Acquire<'a>,
}

impl<'a, T: ?Sized> Future for MutexLock<'a, T> {
    type Output = Result<MutexGuard<'a, T>, Cancelled>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mutex = self.mutex;
        Pin::new(&mut self.acquire).poll(cx).map(|granted| granted.map(|()| MutexGuard { mutex, _data: PhantomData }))
    }
}

impl<T: ?Sized> fmt::Debug for MutexLock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutexLock").finish_non_exhaustive()
    }
}

/// Access to a [`Mutex`]'s value; unlocks when dropped.
#[must_use = "the mutex is unlocked as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// `Send` iff `T: Send`, `Sync` iff `T: Sync` (as `&mut T`).
    _data: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// A guard of a part of the value (tokio's `MutexGuard::map`); the lock
    /// stays held until the mapped guard is dropped.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::{Mutex, MutexGuard};
    /// let m = Mutex::new((1, String::from("a")));
    /// let mut name = MutexGuard::map(m.try_lock().unwrap(), |pair| &mut pair.1);
    /// name.push('b');
    /// drop(name);
    /// assert_eq!(m.try_lock().unwrap().1, "ab");
    /// ```
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&mut T) -> &mut U) -> MappedMutexGuard<'a, U> {
        let permits = &this.mutex.permits;
        // SAFETY: the guard owns the lock, so the value is ours alone; the
        // mapped guard takes over the lock (the guard is forgotten below).
        let data = f(unsafe { &mut *this.mutex.data.get() }) as *mut U;
        std::mem::forget(this);
        MappedMutexGuard { permits, data, _data: PhantomData }
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard owns the lock (module invariants).
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard owns the lock, and `&mut self` is unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// A [`MutexGuard`] narrowed to a part of the value by [`MutexGuard::map`].
#[must_use = "the mutex is unlocked as soon as the guard is dropped"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    permits: &'a Permits,
    data: *mut T,
    _data: PhantomData<&'a mut T>,
}

// SAFETY: the guard is a unique borrow of a part of the value plus the duty
// to unlock, which any thread may do: as `&mut T`.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: shared access only hands out `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `data` points into the locked value, which the guard owns.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and `&mut self` is unique.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        let _ = self.permits.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A guard of an `Arc<Mutex<T>>` ([`Mutex::lock_owned`]): it keeps the
/// mutex alive, so it can move into another task. Unlocks when dropped.
#[must_use = "the mutex is unlocked as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.mutex
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard owns the lock (module invariants).
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard owns the lock, and `&mut self` is unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A `try_lock` (or `try_read`/`try_write`) found the lock held or waited
/// for (tokio's `TryLockError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError;

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the lock is held or waited for")
    }
}

impl std::error::Error for TryLockError {}
