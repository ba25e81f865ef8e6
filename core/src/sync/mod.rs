//! Synchronisation primitives and queues: asyncio's `Lock`, `Event`,
//! `Condition`, `Semaphore`, `BoundedSemaphore`, `Barrier`, `Queue`,
//! `PriorityQueue` and `LifoQueue`; the data-guarding locks and the
//! notifier tokio users expect ([`Mutex`], [`RwLock`], [`Notify`]); and the
//! channels ([`oneshot`], [`mpsc`], [`broadcast`], [`watch`]).
//!
//! # What every primitive guarantees
//!
//! * **Every waiting operation is a checkpoint** (rule C1): it returns
//!   `Err(Cancelled)` (or an error carrying it) when the task's cancel is
//!   delivered — also on its first poll, before it tries anything.
//! * **Fair**: waiters are served first come, first served, and a newcomer
//!   never overtakes a waiter: what is freed (a lock, a permit, an item, a
//!   slot) is *handed over* to the first waiter, not left for whoever polls
//!   first (rules S1, S2, S6).
//! * **Cancel-safe** (S7): a waiter that is cancelled, or whose future is
//!   dropped, while it waits leaves the primitive as if it had never come;
//!   one that was handed something before it could resume passes it on to
//!   the next waiter. Values (a queue item, a channel message) come back
//!   with the error.
//! * **`Send + Sync`**: tasks on different loops (threads) can share a
//!   primitive; waking a waiter on another loop wakes that loop.
//! * **Bad input is an error**, never a panic or a hang: releasing an
//!   unlocked [`Lock`], over-releasing a [`BoundedSemaphore`], calling
//!   [`Queue::task_done`] too often, using a shut-down queue, a closed
//!   channel.
//!
//! # How
//!
//! Every primitive queues its waiters in one shared structure (`waiters.rs`:
//! a FIFO where an entry is *waiting* or *granted*). [`Lock`], [`Semaphore`]
//! and [`BoundedSemaphore`] share a permit engine (`permits.rs`) whose
//! uncontended acquire and release are one compare-exchange, no lock; the
//! waiter list sits behind a mutex only on the contended path. [`Event`]
//! takes no lock to wait on a set flag or to set one nobody waits for. The
//! queues and `mpsc` keep their buffer and waiters under one mutex (each
//! operation changes the buffer anyway). Wakers are woken after the lock is
//! released. Atomics and mutexes come from `crate::loom`, so loom model 8
//! (`verify/tests/loom_sync.rs`) checks this very code.

mod barrier;
pub mod channel;
mod condition;
mod event;
mod lock;
mod mutex;
mod notify;
mod permits;
pub mod queue;
mod rwlock;
mod semaphore;
pub(crate) mod waiters;

pub use barrier::{Barrier, BarrierError};
pub use channel::{broadcast, mpsc, oneshot, watch};
pub use condition::{Condition, ConditionGuard};
pub use event::Event;
pub use lock::{Lock, LockAcquire, LockGuard, NotLocked};
pub use mutex::{MappedMutexGuard, Mutex, MutexGuard, MutexLock, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use queue::{GetError, LifoQueue, PriorityQueue, PutError, Queue, QueueStream, TaskDoneError};
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockAcquire, RwLockReadGuard, RwLockWriteGuard, MAX_READERS,
};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreAcquire, SemaphorePermit, TooManyReleases};
