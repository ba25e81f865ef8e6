//! [`Condition`]: asyncio's condition variable over a [`Lock`].
//!
//! # Invariants
//!
//! * A waiter joins the condition's waiter list *before* it releases the
//!   lock, so a notifier — who holds the lock — always sees it (no lost
//!   notification between the release and the wait, also across threads).
//! * `notify(n)` grants the first `n` waiters (FIFO, rule S4); a granted
//!   waiter has taken a notification. If it is cancelled or dropped before
//!   it resumes, it grants the next waiter instead (asyncio 3.13, S4, S7).
//! * `wait()` holds the lock again when it returns, whether notified or
//!   cancelled (S4): the re-acquire is not a checkpoint. A cancel that
//!   arrives during the re-acquire is delivered once the lock is held again
//!   (asyncio raises the `CancelledError` it caught while re-acquiring), and
//!   the notification the waiter had taken goes to the next waiter.
//! * As in asyncio, the lock has no owner: any task may notify or wait while
//!   it is held, whoever acquired it ([`Condition::notify`],
//!   [`Condition::wait`]); the guard's methods are the same operations with
//!   the "held" check done by construction.

use super::lock::{Lock, NotLocked};
use super::waiters::{lock, Removed, WaiterKey, Waiters, WakeBatch};
use crate::loom::{Arc, Mutex};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use crate::task::Cancelled;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A condition variable for tasks (asyncio's `Condition`).
///
/// Waiting and notifying happen through the guard of the condition's lock,
/// so both are done holding it, by construction.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::Condition;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// corio::run(async {
///     let cond = Arc::new(Condition::new());
///     let ready = Arc::new(AtomicBool::new(false));
///     let (c, r) = (cond.clone(), ready.clone());
///     let consumer = corio::spawn(async move {
///         let mut guard = c.acquire().await?;
///         guard.wait_for(|| r.load(Ordering::SeqCst)).await?; // releases the lock while waiting
///         Ok::<_, corio::task::Cancelled>("ready")
///     });
///     corio::yield_now().await?;
///     let guard = cond.acquire().await?;
///     ready.store(true, Ordering::SeqCst);
///     guard.notify(1);
///     drop(guard);
///     assert_eq!(consumer.await.unwrap()?, "ready");
///     Ok::<_, corio::task::Cancelled>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct Condition {
    lock: LockRef,
    waiters: Mutex<Waiters<()>>,
}

enum LockRef {
    Own(Lock),
    Shared(Arc<Lock>),
}

impl Condition {
    /// A condition with a lock of its own.
    pub fn new() -> Condition {
        Condition { lock: LockRef::Own(Lock::new()), waiters: Mutex::new(Waiters::default()) }
    }

    /// A condition over a lock shared with others (asyncio's
    /// `Condition(lock)`), e.g. two conditions of one queue.
    pub fn with_lock(lock: Arc<Lock>) -> Condition {
        Condition { lock: LockRef::Shared(lock), waiters: Mutex::new(Waiters::default()) }
    }

    /// The underlying lock.
    pub fn lock(&self) -> &Lock {
        match &self.lock {
            LockRef::Own(lock) => lock,
            LockRef::Shared(lock) => lock,
        }
    }

    /// Whether the underlying lock is held.
    pub fn locked(&self) -> bool {
        self.lock().locked()
    }

    /// Waits for the lock (a checkpoint); the guard waits and notifies.
    #[track_caller]
    pub fn acquire(&self) -> impl Future<Output = Result<ConditionGuard<'_>, Cancelled>> + '_ {
        let acquire = self.lock().acquire();
        async move {
            let guard = acquire.await?;
            guard.forget();
            Ok(ConditionGuard { cond: self, held: true })
        }
    }

    /// Takes the lock if it is free and nobody waits (never waits).
    pub fn try_acquire(&self) -> Option<ConditionGuard<'_>> {
        let guard = self.lock().try_acquire()?;
        guard.forget();
        Some(ConditionGuard { cond: self, held: true })
    }

    /// Releases the lock (asyncio's `cond.release()`): for a lock taken
    /// without a guard (`cond.lock().acquire().await?.forget()`, or
    /// [`ConditionGuard::forget`]). `Err(NotLocked)` if it is not held.
    pub fn release(&self) -> Result<(), NotLocked> {
        self.lock().release()
    }

    /// Wakes up to `n` waiters, first come first served (asyncio's
    /// `cond.notify(n)`): by any task, while the lock is held by anyone.
    /// `Err(NotLocked)` if the lock is not held (asyncio's `RuntimeError`).
    ///
    /// ```
    /// use corio_core::sync::{Condition, NotLocked};
    /// let cond = Condition::new();
    /// assert_eq!(cond.notify(1), Err(NotLocked));
    /// cond.try_acquire().unwrap().forget(); // held, without a guard
    /// assert_eq!(cond.notify(1), Ok(()));
    /// assert_eq!(cond.notify_all(), Ok(()));
    /// cond.release().unwrap();
    /// ```
    pub fn notify(&self, n: usize) -> Result<(), NotLocked> {
        if !self.locked() {
            return Err(NotLocked);
        }
        self.grant(n);
        Ok(())
    }

    /// Wakes every waiter (asyncio's `cond.notify_all()`); see
    /// [`notify`](Self::notify).
    pub fn notify_all(&self) -> Result<(), NotLocked> {
        self.notify(usize::MAX)
    }

    /// Releases the lock, waits to be notified and takes the lock again
    /// (asyncio's `cond.wait()`), while the lock is held by anyone — the
    /// caller need not be the task that acquired it. `Err(NotLocked)` at
    /// once if it is not held (asyncio's `RuntimeError`); the wait itself
    /// is [`ConditionGuard::wait`]'s.
    ///
    /// ```
    /// # use corio_core::runtime::EventLoop;
    /// # use corio_core::reactor::ParkReactor;
    /// use corio_core::sync::{Condition, NotLocked};
    /// use std::sync::Arc;
    /// # let lp = EventLoop::new(ParkReactor::new());
    /// lp.block_on(async {
    ///     let cond = Arc::new(Condition::new());
    ///     assert!(matches!(cond.wait(), Err(NotLocked)));
    ///     let c = cond.clone();
    ///     let waiter = corio_core::spawn(async move {
    ///         c.lock().acquire().await?.forget(); // asyncio: await cond.acquire()
    ///         c.wait().unwrap().await?;
    ///         c.release().unwrap();
    ///         Ok::<_, corio_core::task::Cancelled>(())
    ///     });
    ///     corio_core::yield_now().await?;
    ///     cond.lock().acquire().await?.forget();
    ///     cond.notify(1).unwrap();
    ///     cond.release().unwrap();
    ///     waiter.await.unwrap()
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn wait(&self) -> Result<impl Future<Output = Result<(), Cancelled>> + '_, NotLocked> {
        if !self.locked() {
            return Err(NotLocked);
        }
        let at = Location::caller();
        Ok(async move {
            // The lock is held on the caller's behalf, not by a guard of
            // ours: never release it on the way out.
            let mut guard = std::mem::ManuallyDrop::new(ConditionGuard { cond: self, held: true });
            guard.wait_at(at).await
        })
    }

    /// Waits until `predicate` returns true (asyncio's `cond.wait_for`):
    /// checks it first — a true predicate needs no lock — and again after
    /// each wake-up. `Err(NotLocked)` if it must wait and the lock is not
    /// held.
    #[track_caller]
    pub fn wait_for<'s, P: FnMut() -> bool + 's>(
        &'s self,
        mut predicate: P,
    ) -> Result<impl Future<Output = Result<(), Cancelled>> + 's, NotLocked> {
        let ready = predicate();
        if !ready && !self.locked() {
            return Err(NotLocked);
        }
        let at = Location::caller();
        Ok(async move {
            if ready {
                return Ok(());
            }
            let mut guard = std::mem::ManuallyDrop::new(ConditionGuard { cond: self, held: true });
            loop {
                guard.wait_at(at).await?;
                if predicate() {
                    return Ok(());
                }
            }
        })
    }

    /// Grants up to `n` waiters, first come first served.
    fn grant(&self, n: usize) {
        let mut remaining = n;
        let mut waiters = lock(&self.waiters);
        while remaining > 0 {
            let mut batch = WakeBatch::new();
            while remaining > 0 && !batch.is_full() {
                match waiters.grant_first(()) {
                    Some(waker) => batch.push(waker),
                    None => remaining = 0,
                }
                remaining = remaining.saturating_sub(1);
            }
            drop(waiters);
            batch.wake_all();
            if remaining == 0 {
                return;
            }
            waiters = lock(&self.waiters);
        }
    }

    /// A waiter leaves; a notification it had taken goes to the next waiter.
    fn leave(&self, key: WaiterKey) {
        let removed = lock(&self.waiters).remove(key);
        if removed == Some(Removed::Granted(())) {
            self.grant(1);
        }
    }
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("locked", &self.locked())
            .field("waiters", &lock(&self.waiters).len())
            .finish()
    }
}

/// Holds a [`Condition`]'s lock; waits and notifies. Releases the lock when
/// dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ConditionGuard<'a> {
    cond: &'a Condition,
    /// False only after a `wait` future was dropped half-way (the lock was
    /// released and not re-acquired): then dropping the guard releases
    /// nothing.
    held: bool,
}

impl<'a> ConditionGuard<'a> {
    /// Releases the lock, waits to be notified, and takes the lock again
    /// (asyncio's `Condition.wait()`, a checkpoint).
    ///
    /// Holds the lock again when it returns, also with `Err(Cancelled)`
    /// (rule S4). A notification taken by a waiter that is then cancelled
    /// goes to the next waiter (3.13). Like asyncio's, a wait may end
    /// without the condition being true: check it again, or use
    /// [`wait_for`](ConditionGuard::wait_for).
    ///
    /// If this future is dropped before it finishes (rather than cancelled),
    /// the lock may be left released; the guard then releases nothing on
    /// drop, and a later `wait` takes the lock again first.
    #[track_caller]
    pub fn wait<'s>(&'s mut self) -> impl Future<Output = Result<(), Cancelled>> + use<'s, 'a> {
        self.wait_at(Location::caller())
    }

    /// [`wait`](Self::wait), suspended at `at` for task dumps.
    async fn wait_at(&mut self, at: &'static Location<'static>) -> Result<(), Cancelled> {
        current::checkpoint()?;
        if !self.held {
            // An earlier wait was dropped half-way: hold the lock again
            // before releasing it, or we would release someone else's.
            self.cond.lock().acquire_uncancellable().await;
            self.held = true;
        }
        let key = lock(&self.cond.waiters).push(std::task::Waker::noop().clone());
        self.held = false;
        let _ = self.cond.lock().release(); // held by this guard
        let outcome = Notified { cond: self.cond, key: Some(key), at }.await;
        self.cond.lock().acquire_uncancellable().await;
        self.held = true;
        if outcome.is_ok() {
            // A cancel that came while we re-acquired (asyncio re-raises
            // it once the lock is held): the notification we took goes on.
            if let Err(cancelled) = current::checkpoint() {
                self.cond.grant(1);
                return Err(cancelled);
            }
        }
        outcome
    }

    /// Waits until `predicate` returns true (asyncio's `wait_for`); checks
    /// it first, and again after each wake-up, always holding the lock.
    #[track_caller]
    pub fn wait_for<'s, P: FnMut() -> bool + 's>(
        &'s mut self,
        mut predicate: P,
    ) -> impl Future<Output = Result<(), Cancelled>> + use<'s, 'a, P> {
        let at = Location::caller();
        async move {
            while !predicate() {
                self.wait_at(at).await?;
            }
            Ok(())
        }
    }

    /// Wakes up to `n` waiters, first come first served (rule S4).
    pub fn notify(&self, n: usize) {
        self.cond.grant(n);
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.cond.grant(usize::MAX);
    }

    /// Keeps the lock held without the guard (asyncio's bare
    /// `acquire()`): release it later with [`Condition::release`].
    pub fn forget(self) {
        if !self.held {
            // A wait was dropped half-way and left the lock released:
            // there is nothing to keep.
            return;
        }
        std::mem::forget(self);
    }

    /// The condition this guard belongs to.
    pub fn condition(&self) -> &Condition {
        self.cond
    }
}

impl Drop for ConditionGuard<'_> {
    fn drop(&mut self) {
        if self.held {
            // Fails only if the lock was released behind the guard's back.
            let _ = self.cond.lock().release();
        }
    }
}

impl fmt::Debug for ConditionGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionGuard").field("held", &self.held).finish()
    }
}

/// Waits for a notification; leaving passes a taken one on.
struct Notified<'a> {
    cond: &'a Condition,
    key: Option<WaiterKey>,
    /// Where the user awaited, for task dumps.
    at: &'static Location<'static>,
}

impl Future for Notified<'_> {
    type Output = Result<(), Cancelled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(key) = self.key else {
            return Poll::Ready(Ok(()));
        };
        if let Err(cancelled) = current::checkpoint() {
            self.key = None;
            self.cond.leave(key);
            return Poll::Ready(Err(cancelled));
        }
        match lock(&self.cond.waiters).poll(key, cx.waker()) {
            Poll::Pending => {
                suspend_at(WaitKind::Condition, Some(self.at));
                Poll::Pending
            }
            Poll::Ready(_) => {
                self.key = None;
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.cond.leave(key);
        }
    }
}
