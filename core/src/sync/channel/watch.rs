//! A watch channel (tokio's `sync::watch`): one latest value, and receivers
//! told when it changes.
//!
//! ```
//! # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
//! use corio::sync::watch;
//! corio::run(async {
//!     let (tx, mut rx) = watch::channel("v1");
//!     let reader = corio::spawn(async move {
//!         rx.changed().await.unwrap(); // waits for a value it has not seen
//!         *rx.borrow_and_update()
//!     });
//!     tx.send("v2").unwrap();
//!     assert_eq!(reader.await.unwrap(), "v2");
//! })
//! .unwrap();
//! ```
//!
//! # Invariants
//!
//! * The state word is `version << 1 | CLOSED`. The version grows by one
//!   with every change of the value, bumped while the value's write lock is
//!   held, so a reader holding the read lock sees a version that matches
//!   the value it reads. `CLOSED` is set when the last sender goes.
//! * A receiver remembers the version it has seen; `changed()` is ready as
//!   soon as the version differs (even after the close: the last value is
//!   still news), else `Closed` once `CLOSED` is set.
//! * A send bumps the version *before* it takes the waiter lock to wake the
//!   receivers; a receiver checks the version *under* that lock before it
//!   queues. So either the receiver sees the new version or the send finds
//!   it queued (no lost wake-up; loom model `watch_changed_sees_every_send`).
//! * Waking a receiver removes it from the list (head first, so in
//!   sequence order) and moves `woken_below` past its sequence number,
//!   under the lock: a woken receiver learns it was woken, and that its
//!   entry is gone, with one atomic load — no lock on the usual poll. A
//!   woken receiver that finds nothing new (woken by a send racing its
//!   queueing) queues again.
//! * The value's lock is a `std` reader-writer lock held only for the
//!   length of a borrow or a modification: do not hold a [`Ref`] across an
//!   `.await` (a sender would block its thread until it is dropped).

use crate::loom::{Arc, AtomicU64, AtomicUsize, Mutex, MutexGuard, Ordering, RwLock, RwLockReadGuard};
use crate::sync::waiters::{grant_all, lock, WaiterKey, Waiters, WakeBatch};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use crate::task::Cancelled;
use error::{RecvError, SendError};
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

const CLOSED: usize = 1;
const ONE_VERSION: usize = 2;

/// Why a watch operation failed.
pub mod error {
    use crate::task::Cancelled;
    use std::fmt;

    /// [`Sender::send`](super::Sender::send) found no receiver; the value
    /// comes back.
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("SendError(..)")
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the watch channel has no receiver")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Why [`Receiver::changed`](super::Receiver::changed) (or
    /// `has_changed`, `wait_for`) returned no change.
    #[derive(Debug, Clone, PartialEq)]
    pub enum RecvError {
        /// Every sender is gone, and the last value was seen.
        Closed,
        /// The waiting task's cancel was delivered.
        Cancelled(Cancelled),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("the watch channel is closed"),
                RecvError::Cancelled(c) => c.fmt(f),
            }
        }
    }

    impl std::error::Error for RecvError {}

    impl From<Cancelled> for RecvError {
        fn from(cancelled: Cancelled) -> Self {
            RecvError::Cancelled(cancelled)
        }
    }
}

struct Shared<T> {
    value: RwLock<T>,
    state: AtomicUsize,
    /// One past the sequence number of the last receiver woken (and
    /// removed from `lists.receivers`): see the module invariants.
    woken_below: AtomicU64,
    lists: Mutex<Lists>,
}

struct Lists {
    /// Receivers waiting in `changed()`.
    receivers: Waiters<()>,
    /// Senders waiting in `closed()`.
    senders: Waiters<()>,
    rx_count: usize,
    tx_count: usize,
}

impl<T> Shared<T> {
    /// Wakes every receiver queued now, removing each from the list and
    /// moving `woken_below` past it (in batches, waking outside the lock).
    /// Consumes the guard.
    fn wake_receivers<'a>(&'a self, mut lists: MutexGuard<'a, Lists>) {
        let boundary = lists.receivers.next_seq();
        loop {
            let mut batch = WakeBatch::new();
            let mut done = false;
            while !batch.is_full() {
                match lists.receivers.pop_first() {
                    Some((waker, seq)) => {
                        self.woken_below.store(seq + 1, Ordering::Release);
                        batch.push(waker);
                        if seq + 1 >= boundary {
                            done = true; // the rest queued after this send
                            break;
                        }
                    }
                    None => {
                        done = true;
                        break;
                    }
                }
            }
            drop(lists);
            batch.wake_all();
            if done {
                return;
            }
            lists = lock(&self.lists);
        }
    }

    /// Whether the receiver `key` was woken (its entry is gone): one atomic
    /// load.
    fn woken(&self, key: WaiterKey) -> bool {
        self.woken_below.load(Ordering::Acquire) > key.seq()
    }

    fn version(&self) -> usize {
        self.state.load(Ordering::Acquire) >> 1
    }

    fn read(&self) -> RwLockReadGuard<'_, T> {
        self.value.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the value with `f` under the write lock; if `f` says it
    /// changed it, bumps the version and wakes the waiting receivers.
    fn modify<R>(&self, f: impl FnOnce(&mut T) -> (bool, R)) -> R {
        let mut value = self.value.write().unwrap_or_else(|e| e.into_inner());
        let (changed, out) = f(&mut value);
        if !changed {
            return out;
        }
        self.state.fetch_add(ONE_VERSION, Ordering::AcqRel);
        drop(value);
        self.wake_receivers(lock(&self.lists));
        out
    }
}

/// Creates a watch channel holding `init`. Receivers start having seen it.
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: AtomicUsize::new(0),
        woken_below: AtomicU64::new(0),
        lists: Mutex::new(Lists {
            receivers: Waiters::default(),
            senders: Waiters::default(),
            rx_count: 1,
            tx_count: 1,
        }),
    });
    (Sender { shared: shared.clone() }, Receiver { shared, seen: 0 })
}

/// A borrow of the channel's value: the value cannot change while it lives.
/// Keep it short (not across an `.await`).
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The sending side: sets the value. Clone it for more senders; the channel
/// closes when the last one is dropped.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Replaces the value and tells the receivers; `Err(SendError(value))`
    /// if there is no receiver (tokio's rule; the value is not stored).
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::watch;
    ///
    /// let (tx, rx) = watch::channel("v1");
    /// tx.send("v2").unwrap();
    /// assert_eq!(*rx.borrow(), "v2"); // receivers see the latest value
    /// drop(rx);
    /// assert!(tx.send("v3").is_err()); // no receiver left: the value comes back
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if lock(&self.shared.lists).rx_count == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value whether or not anyone receives, returning the old
    /// one.
    pub fn send_replace(&self, value: T) -> T {
        self.shared.modify(|v| (true, std::mem::replace(v, value)))
    }

    /// Changes the value in place and tells the receivers.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::watch;
    /// let (tx, rx) = watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert!(rx.has_changed().unwrap());
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2)); // in place, even with no receiver
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.shared.modify(|v| {
            modify(v);
            (true, ())
        })
    }

    /// Changes the value in place; tells the receivers only if `modify`
    /// returns `true` (it changed something). Returns what `modify` did.
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        self.shared.modify(|v| {
            let changed = modify(v);
            (changed, changed)
        })
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref { guard: self.shared.read() }
    }

    /// A new receiver, having seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        lock(&self.shared.lists).rx_count += 1;
        let seen = self.shared.version();
        Receiver { shared: self.shared.clone(), seen }
    }

    /// How many receivers there are.
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.lists).rx_count
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone (a checkpoint).
    ///
    /// **Cancel safety:** cancel-safe: it takes nothing.
    pub fn closed(&self) -> Closed<'_, T> {
        Closed { shared: &self.shared, key: None }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.lists).tx_count += 1;
        Sender { shared: self.shared.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut lists = lock(&self.shared.lists);
        lists.tx_count -= 1;
        if lists.tx_count == 0 {
            self.shared.state.fetch_or(CLOSED, Ordering::AcqRel);
            self.shared.wake_receivers(lists);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let version = self.shared.version();
        let lists = lock(&self.shared.lists);
        f.debug_struct("watch::Sender")
            .field("value", &*self.borrow())
            .field("version", &version)
            .field("senders", &lists.tx_count)
            .field("receivers", &lists.rx_count)
            .field("waiting_changed", &lists.receivers.len())
            .field("waiting_closed", &lists.senders.len())
            .finish()
    }
}

/// The receiving side: reads the latest value, and waits for changes.
/// Clone it for more receivers (a clone has seen what this one has).
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver has seen.
    seen: usize,
}

impl<T> Receiver<T> {
    /// Borrows the current value, without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref { guard: self.shared.read() }
    }

    /// Borrows the current value and marks it seen.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::watch;
    ///
    /// let (tx, mut rx) = watch::channel(0);
    /// tx.send(1).unwrap();
    /// assert!(rx.has_changed().unwrap());
    /// assert_eq!(*rx.borrow_and_update(), 1);
    /// assert!(!rx.has_changed().unwrap()); // seen
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.read();
        self.seen = self.shared.version(); // the version matches the value under the read lock
        Ref { guard }
    }

    /// Whether the value changed since this receiver last saw it;
    /// `Err(RecvError::Closed)` once every sender is gone (tokio's rule).
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.state.load(Ordering::Acquire);
        if state & CLOSED != 0 {
            return Err(RecvError::Closed);
        }
        Ok(state >> 1 != self.seen)
    }

    /// Makes the next `changed()` return at once.
    pub fn mark_changed(&mut self) {
        self.seen = self.shared.version().wrapping_sub(1);
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.version();
    }

    /// Waits for a value this receiver has not seen (a checkpoint), and
    /// marks it seen. Ready at once if one was sent since the last
    /// `changed()` / `borrow_and_update()`. `Err(Closed)` once every sender
    /// is gone and the last value was seen.
    ///
    /// **Cancel safety:** cancel-safe: a dropped or cancelled `changed()`
    /// marks nothing seen, so the next call still sees the change.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::watch;
    ///
    /// corio::run(async {
    ///     let (tx, mut rx) = watch::channel("starting");
    ///     corio::spawn(async move { tx.send("ready").unwrap() }).detach();
    ///     rx.changed().await.unwrap(); // waits for a value not yet seen
    ///     assert_eq!(*rx.borrow_and_update(), "ready");
    ///     assert!(rx.changed().await.is_err()); // the sender is gone: Closed
    /// })
    /// .unwrap();
    /// ```
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed { shared: &self.shared, seen: &mut self.seen, key: None }
    }

    /// Waits until `f` holds for the value (checking the current value
    /// first), marks it seen and borrows it. A checkpoint; cancel-safe.
    pub async fn wait_for(&mut self, mut f: impl FnMut(&T) -> bool) -> Result<Ref<'_, T>, RecvError> {
        let shared = &*self.shared;
        let seen = &mut self.seen;
        loop {
            {
                let guard = shared.read();
                *seen = shared.version(); // matches the value under the read lock
                if f(&guard) {
                    return Ok(Ref { guard });
                }
            } // the value's lock is released before the wait
            Changed { shared, seen: &mut *seen, key: None }.await?;
        }
    }

    /// Whether `other` watches the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.lists).rx_count += 1;
        Receiver { shared: self.shared.clone(), seen: self.seen }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut lists = lock(&self.shared.lists);
        lists.rx_count -= 1;
        if lists.rx_count == 0 {
            grant_all(&self.shared.lists, lists, |l| &mut l.senders, ());
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver").field("value", &*self.borrow()).finish()
    }
}

/// The future returned by [`Receiver::changed`]. Cancel-safe.
#[must_use = "futures do nothing unless awaited"]
pub struct Changed<'a, T> {
    shared: &'a Shared<T>,
    seen: &'a mut usize,
    key: Option<WaiterKey>,
}

impl<T> Changed<'_, T> {
    fn leave(&mut self) {
        if let Some(key) = self.key.take() {
            if !self.shared.woken(key) {
                lock(&self.shared.lists).receivers.remove(key); // `None` if woken meanwhile
            }
        }
    }

    /// Ready if the version moved on (marking it seen) or the channel
    /// closed.
    fn check(&mut self, state: usize) -> Option<Result<(), RecvError>> {
        if state >> 1 != *self.seen {
            *self.seen = state >> 1;
            return Some(Ok(()));
        }
        (state & CLOSED != 0).then_some(Err(RecvError::Closed))
    }
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Err(cancelled) = current::checkpoint() {
            this.leave();
            return Poll::Ready(Err(RecvError::Cancelled(cancelled)));
        }
        // Woken (the usual reason for a poll): the entry is gone, no lock.
        if this.key.is_some_and(|key| this.shared.woken(key)) {
            this.key = None;
        }
        if this.key.is_none() {
            if let Some(ready) = this.check(this.shared.state.load(Ordering::Acquire)) {
                return Poll::Ready(ready);
            }
        }
        let mut lists = lock(&this.shared.lists);
        if let Some(key) = this.key {
            // Still queued (refresh the waker), or woken just now.
            if lists.receivers.poll(key, cx.waker()).is_pending() {
                suspend_at(WaitKind::Channel, None);
                return Poll::Pending;
            }
            this.key = None;
        }
        // Under the lock: a send that bumps the version after this check
        // finds this receiver queued.
        if let Some(ready) = this.check(this.shared.state.load(Ordering::Acquire)) {
            return Poll::Ready(ready);
        }
        this.key = Some(lists.receivers.push(cx.waker().clone()));
        suspend_at(WaitKind::Channel, None);
        Poll::Pending
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        self.leave();
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Changed").field("queued", &self.key.is_some()).finish()
    }
}

/// The future returned by [`Sender::closed`]. Cancel-safe.
#[must_use = "futures do nothing unless awaited"]
pub struct Closed<'a, T> {
    shared: &'a Shared<T>,
    key: Option<WaiterKey>,
}

impl<T> Closed<'_, T> {
    fn leave(&mut self) {
        if let Some(key) = self.key.take() {
            lock(&self.shared.lists).senders.remove(key);
        }
    }
}

impl<T> Future for Closed<'_, T> {
    type Output = Result<(), Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Err(cancelled) = current::checkpoint() {
            this.leave();
            return Poll::Ready(Err(cancelled));
        }
        let mut lists = lock(&this.shared.lists);
        if let Some(key) = this.key {
            if lists.senders.poll(key, cx.waker()).is_pending() {
                suspend_at(WaitKind::Channel, None);
                return Poll::Pending;
            }
            this.key = None;
        }
        if lists.rx_count == 0 {
            return Poll::Ready(Ok(()));
        }
        this.key = Some(lists.senders.push(cx.waker().clone()));
        suspend_at(WaitKind::Channel, None);
        Poll::Pending
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        self.leave();
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Closed").field("queued", &self.key.is_some()).finish()
    }
}
