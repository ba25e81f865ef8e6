//! [`RwLock<T>`]: a fair reader-writer lock (tokio's `sync::RwLock`).
//!
//! # Invariants
//!
//! The state word is `readers << 2 | WRITER | WAITERS`; the waiter list (one
//! FIFO of readers and writers, `waiters.rs`) and the sequence numbers of
//! the writers in it sit behind a mutex.
//!
//! * `WAITERS` is set exactly while the list is non-empty, and changes only
//!   under the mutex (as in `permits.rs`). While it is set the lock-free
//!   fast paths fail: a newcomer never overtakes a waiter, so a waiting
//!   writer blocks new readers (fairness), and a waiter publishes `WAITERS`
//!   with a compare-exchange that fails if the state changed meanwhile, so
//!   a release either sees the waiter or the waiter sees the release (no
//!   lost wake-up; loom model `rwlock_writer_behind_readers`).
//! * Grants go to the head of the list, in order: every reader ahead of the
//!   first waiting writer (up to `max_readers` holders), or that writer once
//!   no reader holds the lock. A granted waiter is counted in the state word
//!   from the grant on: it holds the lock before it resumes.
//! * A granted waiter that is cancelled or dropped releases what it was
//!   granted, which grants the next waiters (S7). A waiting writer that
//!   leaves may unblock the readers queued behind it; its leaving grants
//!   them.

use super::mutex::TryLockError;
use super::waiters::{lock, Removed, WaiterKey, Waiters, WakeBatch};
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use crate::task::Cancelled;
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

const WAITERS: usize = 1;
const WRITER: usize = 2;
const ONE_READER: usize = 4;

/// The most readers an [`RwLock`] admits at once (tokio's `MAX_READS`).
pub const MAX_READERS: u32 = u32::MAX >> 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// The waiters: one FIFO, and which of them are writers.
#[derive(Default)]
struct Queue {
    list: Waiters<()>,
    /// The sequence numbers of the writers in `list`, oldest first.
    writers: VecDeque<u64>,
}

/// The lock itself, without the data.
struct Raw {
    state: AtomicUsize,
    max_readers: usize,
    queue: Mutex<Queue>,
}

impl Raw {
    fn new(max_readers: u32) -> Raw {
        Raw {
            state: AtomicUsize::new(0),
            max_readers: max_readers.clamp(1, MAX_READERS) as usize,
            queue: Mutex::new(Queue::default()),
        }
    }

    /// Whether `access` can be taken in `state` by someone not queued.
    fn free_for(&self, state: usize, access: Access) -> bool {
        match access {
            Access::Read => state & (WAITERS | WRITER) == 0 && (state >> 2) < self.max_readers,
            Access::Write => state == 0,
        }
    }

    fn taken(state: usize, access: Access) -> usize {
        match access {
            Access::Read => state + ONE_READER,
            Access::Write => state | WRITER,
        }
    }

    /// Takes `access` if it is free and nobody waits (no lock).
    fn try_acquire(&self, access: Access) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        while self.free_for(state, access) {
            match self.state.compare_exchange_weak(
                state,
                Raw::taken(state, access),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
        false
    }

    /// The slow path of an acquire: takes `access`, or queues the caller
    /// after publishing `WAITERS`.
    fn acquire_or_wait(&self, access: Access, cx: &Context<'_>) -> Option<WaiterKey> {
        let mut queue = lock(&self.queue);
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if self.free_for(state, access) {
                match self.state.compare_exchange(
                    state,
                    Raw::taken(state, access),
                    Ordering::Acquire,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return None,
                    Err(actual) => state = actual,
                }
            } else if state & WAITERS != 0 {
                break;
            } else {
                match self.state.compare_exchange(state, state | WAITERS, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => break,
                    Err(actual) => state = actual,
                }
            }
        }
        let key = queue.list.push(cx.waker().clone());
        if access == Access::Write {
            queue.writers.push_back(key.seq());
        }
        Some(key)
    }

    /// Gives `access` back; grants the waiters it unblocks.
    fn release(&self, access: Access) {
        let gone = match access {
            Access::Read => ONE_READER,
            Access::Write => WRITER,
        };
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & WAITERS != 0 {
                break;
            }
            match self.state.compare_exchange_weak(state, state - gone, Ordering::Release, Ordering::Acquire) {
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
        let queue = lock(&self.queue);
        // `WAITERS` only changes under the lock: with it set, nobody else
        // changes the state word now but grants, which are ours.
        self.state.fetch_sub(gone, Ordering::AcqRel);
        self.grant_and_unlock(queue);
    }

    /// Grants what the head of the queue can have now (see the module
    /// invariants), waking the granted waiters outside the lock, in batches.
    fn grant_and_unlock<'a>(&'a self, mut queue: MutexGuard<'a, Queue>) {
        loop {
            let mut batch = WakeBatch::new();
            let more = self.grant(&mut queue, &mut batch);
            if queue.list.is_empty() {
                self.state.fetch_and(!WAITERS, Ordering::Release);
            }
            drop(queue);
            batch.wake_all();
            if !more {
                return;
            }
            queue = lock(&self.queue);
        }
    }

    /// Fills `batch` with the wakers of the waiters granted now; `true` if
    /// it stopped because the batch was full.
    fn grant(&self, queue: &mut Queue, batch: &mut WakeBatch) -> bool {
        loop {
            if batch.is_full() {
                return true;
            }
            let state = self.state.load(Ordering::Acquire);
            if state & WRITER != 0 {
                return false;
            }
            let readers = state >> 2;
            let first_writer = queue.writers.front().copied().unwrap_or(u64::MAX);
            if readers < self.max_readers {
                if let Some(waker) = queue.list.grant_first_before(first_writer, ()) {
                    self.state.fetch_add(ONE_READER, Ordering::AcqRel);
                    batch.push(waker);
                    continue;
                }
            }
            // The head is the first writer (or nobody waits, or the readers
            // are at their maximum).
            if readers == 0 && !queue.writers.is_empty() {
                if let Some(waker) = queue.list.grant_first(()) {
                    queue.writers.pop_front();
                    self.state.fetch_or(WRITER, Ordering::AcqRel);
                    batch.push(waker);
                }
            }
            return false;
        }
    }

    /// Whether the waiter `key` was granted (refreshing its waker if not).
    fn poll_granted(&self, key: WaiterKey, cx: &Context<'_>) -> Poll<()> {
        lock(&self.queue).list.poll(key, cx.waker()).map(|_| ())
    }

    /// A waiter leaves: as if it had never come, or releasing what it was
    /// granted (S7).
    fn abandon(&self, key: WaiterKey, access: Access) {
        let mut queue = lock(&self.queue);
        match queue.list.remove(key) {
            Some(Removed::Waiting) => {
                if access == Access::Write {
                    queue.writers.retain(|&seq| seq != key.seq());
                    // Readers queued behind it may go now.
                    self.grant_and_unlock(queue);
                } else if queue.list.is_empty() {
                    self.state.fetch_and(!WAITERS, Ordering::Release);
                }
            }
            Some(Removed::Granted(())) => {
                drop(queue);
                self.release(access);
            }
            None => {}
        }
    }
}

/// A reader-writer lock around a value (tokio's `RwLock<T>`): many readers
/// at once, or one writer.
///
/// * **Fair** (phase-fair, as tokio's): waiters are served in arrival
///   order. A waiting writer blocks new readers, so writers do not starve;
///   the readers queued ahead of a writer all go together.
/// * **Checkpoints**: [`read`](RwLock::read) and [`write`](RwLock::write)
///   return `Err(Cancelled)` when the task's cancel is delivered while they
///   wait (the shape of [`Lock::acquire`](super::Lock::acquire)).
/// * **Cancel-safe**: a waiter cancelled or dropped while queued leaves no
///   trace (and unblocks the readers behind it, if it was a writer); one
///   that was granted the lock before it could resume releases it again.
/// * **`Send + Sync`** for `T: Send + Sync`.
///
/// Guards borrow the lock and cannot outlive it (that does not compile);
/// the owned guards ([`read_owned`](RwLock::read_owned),
/// [`write_owned`](RwLock::write_owned)) keep it alive through its `Arc`.
///
/// ```compile_fail
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::RwLock;
/// let guard = {
///     let lock = RwLock::new(1);
///     lock.try_read().unwrap() // error: `lock` does not live long enough
/// };
/// ```
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::RwLock;
/// corio::run(async {
///     let config = RwLock::new(String::from("v1"));
///     {
///         let a = config.read().await?;
///         let b = config.read().await?; // readers share
///         assert_eq!((a.as_str(), b.as_str()), ("v1", "v1"));
///     }
///     config.write().await?.push_str("-patched");
///     assert_eq!(*config.read().await?, "v1-patched");
///     Ok::<_, corio::task::Cancelled>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct RwLock<T: ?Sized> {
    raw: Raw,
    data: UnsafeCell<T>,
}

// SAFETY: a writer gets `&mut T` on any thread (`T: Send`), readers get `&T`
// on several threads at once (`T: Sync`).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// An unlocked lock holding `value`, admitting up to [`MAX_READERS`]
    /// readers at once.
    pub fn new(value: T) -> RwLock<T> {
        RwLock::with_max_readers(value, MAX_READERS)
    }

    /// An unlocked lock admitting up to `max_readers` readers at once.
    /// `max_readers` is clamped to `1..=MAX_READERS` (tokio panics outside
    /// it; 0 would make every read wait forever).
    pub fn with_max_readers(value: T, max_readers: u32) -> RwLock<T> {
        RwLock { raw: Raw::new(max_readers), data: UnsafeCell::new(value) }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared access (a checkpoint): queues behind any waiting
    /// writer.
    ///
    /// **Cancel safety:** cancel-safe (see the type's documentation).
    #[track_caller]
    pub fn read(&self) -> RwLockAcquire<'_, RwLockReadGuard<'_, T>> {
        RwLockAcquire::new(&self.raw, Access::Read, RwLockReadGuard { lock: self, _data: PhantomData })
    }

    /// Waits for exclusive access (a checkpoint).
    ///
    /// **Cancel safety:** cancel-safe (see the type's documentation).
    #[track_caller]
    pub fn write(&self) -> RwLockAcquire<'_, RwLockWriteGuard<'_, T>> {
        RwLockAcquire::new(&self.raw, Access::Write, RwLockWriteGuard { lock: self, _data: PhantomData })
    }

    /// Shared access if no writer holds the lock and nobody waits for it
    /// (never waits).
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::RwLock;
    /// let lock = RwLock::new(0);
    /// let r = lock.try_read().unwrap();
    /// assert!(lock.try_write().is_err());
    /// drop(r);
    /// *lock.try_write().unwrap() += 1;
    /// assert_eq!(*lock.try_read().unwrap(), 1);
    /// ```
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        if self.raw.try_acquire(Access::Read) {
            Ok(RwLockReadGuard { lock: self, _data: PhantomData })
        } else {
            Err(TryLockError)
        }
    }

    /// Exclusive access if nobody holds or waits for the lock (never waits).
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        if self.raw.try_acquire(Access::Write) {
            Ok(RwLockWriteGuard { lock: self, _data: PhantomData })
        } else {
            Err(TryLockError)
        }
    }

    /// [`read`](RwLock::read) for an `Arc<RwLock<T>>`: the guard owns an
    /// `Arc` of the lock. Cancel-safe.
    #[track_caller]
    pub fn read_owned(self: Arc<Self>) -> impl Future<Output = Result<OwnedRwLockReadGuard<T>, Cancelled>> {
        let at = Location::caller();
        async move {
            Wait::new(&self.raw, Access::Read, at).await?;
            Ok(OwnedRwLockReadGuard { lock: self })
        }
    }

    /// [`write`](RwLock::write) for an `Arc<RwLock<T>>`: the guard owns an
    /// `Arc` of the lock. Cancel-safe.
    #[track_caller]
    pub fn write_owned(self: Arc<Self>) -> impl Future<Output = Result<OwnedRwLockWriteGuard<T>, Cancelled>> {
        let at = Location::caller();
        async move {
            Wait::new(&self.raw, Access::Write, at).await?;
            Ok(OwnedRwLockWriteGuard { lock: self })
        }
    }

    /// [`try_read`](RwLock::try_read) returning an owned guard.
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        if self.raw.try_acquire(Access::Read) {
            Ok(OwnedRwLockReadGuard { lock: self })
        } else {
            Err(TryLockError)
        }
    }

    /// [`try_write`](RwLock::try_write) returning an owned guard.
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        if self.raw.try_acquire(Access::Write) {
            Ok(OwnedRwLockWriteGuard { lock: self })
        } else {
            Err(TryLockError)
        }
    }

    /// The value, through `&mut` (no lock needed: the borrow is unique).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Waits in the queue for one access; dropping it leaves the queue (or
/// releases a grant).
struct Wait<'a> {
    raw: &'a Raw,
    access: Access,
    key: Option<WaiterKey>,
    done: bool,
    at: &'static Location<'static>,
}

impl<'a> Wait<'a> {
    fn new(raw: &'a Raw, access: Access, at: &'static Location<'static>) -> Wait<'a> {
        Wait { raw, access, key: None, done: false, at }
    }

    fn leave(&mut self) {
        if let Some(key) = self.key.take() {
            self.raw.abandon(key, self.access);
        }
    }
}

impl Future for Wait<'_> {
    type Output = Result<(), Cancelled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Err(cancelled) = current::checkpoint() {
            self.leave();
            self.done = true;
            return Poll::Ready(Err(cancelled));
        }
        assert!(!self.done, "a corio RwLock future was polled after it completed");
        let poll = match self.key {
            None => {
                if self.raw.try_acquire(self.access) {
                    Poll::Ready(())
                } else {
                    match self.raw.acquire_or_wait(self.access, cx) {
                        None => Poll::Ready(()),
                        Some(key) => {
                            self.key = Some(key);
                            Poll::Pending
                        }
                    }
                }
            }
            Some(key) => {
                let poll = self.raw.poll_granted(key, cx);
                if poll.is_ready() {
                    self.key = None;
                }
                poll
            }
        };
        match poll {
            Poll::Ready(()) => {
                self.done = true;
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                suspend_at(WaitKind::Lock, Some(self.at));
                Poll::Pending
            }
        }
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        self.leave();
    }
}

/// The future of [`RwLock::read`] and [`RwLock::write`]: resolves to the
/// guard `G`. Cancel-safe.
#[must_use = "futures do nothing unless awaited"]
pub struct RwLockAcquire<'a, G> {
    wait: Wait<'a>,
    /// Handed out when the wait succeeds; a guard that was never handed out
    /// must not release anything, so it is kept unmade (`ManuallyDrop`).
    guard: Option<std::mem::ManuallyDrop<G>>,
}

impl<'a, G> RwLockAcquire<'a, G> {
    #[track_caller]
    fn new(raw: &'a Raw, access: Access, guard: G) -> Self {
        RwLockAcquire {
            wait: Wait::new(raw, access, Location::caller()),
            guard: Some(std::mem::ManuallyDrop::new(guard)),
        }
    }
}

// Nothing in it is pinned: the wait and the guard are plain values.
impl<G> Unpin for RwLockAcquire<'_, G> {}

impl<G> Future for RwLockAcquire<'_, G> {
    type Output = Result<G, Cancelled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.wait).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(cancelled)) => Poll::Ready(Err(cancelled)),
            Poll::Ready(Ok(())) => {
                let guard = self.guard.take().expect("a corio RwLock future was polled after it completed");
                Poll::Ready(Ok(std::mem::ManuallyDrop::into_inner(guard)))
            }
        }
    }
}

impl<G> fmt::Debug for RwLockAcquire<'_, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockAcquire").field("access", &self.wait.access).finish_non_exhaustive()
    }
}

/// Shared access to an [`RwLock`]'s value; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// `Send` and `Sync` iff `T: Sync` (as `&T`).
    _data: PhantomData<&'a T>,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds shared access: no writer exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.release(Access::Read);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]'s value; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// `Send` iff `T: Send`, `Sync` iff `T: Sync` (as `&mut T`).
    _data: PhantomData<&'a mut T>,
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds exclusive access.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds exclusive access, and `&mut self` is unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.release(Access::Write);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Shared access through an `Arc<RwLock<T>>` ([`RwLock::read_owned`]).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockReadGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

impl<T: ?Sized> Deref for OwnedRwLockReadGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds shared access: no writer exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockReadGuard<T> {
    fn drop(&mut self) {
        self.lock.raw.release(Access::Read);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockReadGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access through an `Arc<RwLock<T>>` ([`RwLock::write_owned`]).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds exclusive access.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds exclusive access, and `&mut self` is unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.raw.release(Access::Write);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
