//! The part of a loop other threads can reach: its ready queue (own thread
//! only), the cross-thread queue, the park flag, and the reactor.
//!
//! # Invariants
//!
//! * The local ready queue is touched only on the loop's thread while the
//!   loop is the running one there ([`super::current::is_running`]); wakes on
//!   that thread push to it with no atomic beyond the task's state word.
//! * Everything from other threads goes through the remote queue, under its
//!   mutex. Pushes are refused once the loop is closed; closing takes the
//!   mutex, so nothing is accepted after the final drain (loom model 7).
//! * The park protocol (loom model 2). The loop, before blocking in the
//!   reactor, sets `parked` and *then* checks `remote_pending`; a remote
//!   pusher sets `remote_pending` and *then* clears `parked` with a
//!   compare-exchange, calling `notify()` only if it was the one to clear it.
//!   Both sides use `SeqCst`, so at least one of them sees the other: either
//!   the loop does not block, or the pusher notifies. A wake while the loop is
//!   busy costs no syscall (rule L7).
//! * When the last `Arc` is dropped — possibly on another thread, by a task's
//!   last waker — the local queue is already empty: the loop drains it on its
//!   own thread when it closes.

use super::callback::{CallbackRef, Runnable};
use super::current;
use crate::context::{ContextValue, VarKey};
use crate::loom::{Arc, AtomicBool, AtomicU64, AtomicUsize, Mutex, Ordering, UnsafeCell};
pub(crate) use crate::loop_id::LoopId;
use crate::reactor::Reactor;
use crate::task::host::{SchedVTable, VTables};
use crate::task::owners::{OwnerIndex, TooManyLoops};
use crate::task::raw::{Spawner, TaskRef};
use std::collections::VecDeque;

/// Work handed to the loop from another thread.
pub(crate) enum Remote {
    /// A wake: the entry owns the queue reference.
    Wake(TaskRef),
    /// A task spawned from another thread: references for the registry and
    /// for the ready queue, and the spawner's context.
    Spawn { registry: TaskRef, queued: TaskRef, context: Vec<(VarKey, ContextValue)> },
    /// `call_soon_threadsafe`.
    Callback(CallbackRef, Vec<(VarKey, ContextValue)>),
    /// An operation on the loop's own state (a cancel from another thread,
    /// `stop()` through a handle), run as soon as the loop drains the queue.
    Run(Box<dyn FnOnce() + Send>),
}

struct RemoteQueue {
    items: Vec<Remote>,
    closed: bool,
}

/// The loop is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopClosed;

impl std::fmt::Display for LoopClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the event loop is closed")
    }
}

impl std::error::Error for LoopClosed {}

pub(crate) struct LoopShared<R, X> {
    /// The vtable this loop's tasks schedule through; published with the
    /// owner index, so that a task finds both in one table entry.
    sched: &'static SchedVTable,
    /// How this loop's tasks name it (`task::owners`); freed with the state.
    owner_index: OwnerIndex,
    /// Loop thread only; see the module invariants.
    ready: UnsafeCell<VecDeque<Runnable<X>>>,
    remote: Mutex<RemoteQueue>,
    remote_pending: AtomicBool,
    parked: AtomicBool,
    /// Live `LoopHandle`s: with none, no other thread can add work (used to
    /// report deadlocks on a virtual clock).
    pub(crate) handles: AtomicUsize,
    pub(crate) reactor: R,
    /// Cross-thread wakes that had to notify a parked loop (for tests).
    pub(crate) notifies: AtomicUsize,
    /// Tasks woken from other threads (the metrics' `cross_thread_wakes`);
    /// bumped only on that path, which is atomic anyway. A statistic nothing
    /// synchronises on: std's atomic, kept out of the loom models' schedules.
    pub(crate) remote_wakes: std::sync::atomic::AtomicU64,
    /// Task ids (`Task-N`), shared by local and cross-thread spawns.
    next_task_id: AtomicU64,
    /// On a multi-loop runtime, the runtime's one id counter, which its
    /// loops and its pool share instead (so that every task of the runtime
    /// has its own id); set when the loop joins the pool, before it runs.
    /// A std atomic: nothing synchronises on an id.
    runtime_ids: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// This loop's identity for the lifetime of the process. Objects that do
    /// not keep the loop alive (timer handles, sleeps, I/O sources) name it
    /// by id, not by address: an address can be reused by a later loop.
    pub(crate) id: LoopId,
}

// SAFETY: `ready` (an `UnsafeCell` with local wakers and task references) is only touched on the
// loop's thread, while it runs there, and is empty whenever the loop is not
// running (it is drained at close); every other field is `Send + Sync`.
unsafe impl<R: Send, X> Send for LoopShared<R, X> {}
// SAFETY: as above.
unsafe impl<R: Sync, X> Sync for LoopShared<R, X> {}

impl<R: Reactor, X: 'static> LoopShared<R, X> {
    /// The shared state of a new loop. Publish it ([`publish`](Self::publish))
    /// once it is in its `Arc`, before the loop spawns.
    pub(crate) fn new(reactor: R) -> Result<Self, TooManyLoops> {
        Ok(LoopShared {
            sched: VTables::<Self>::get(),
            owner_index: OwnerIndex::claim()?,
            ready: UnsafeCell::new(VecDeque::new()),
            remote: Mutex::new(RemoteQueue { items: Vec::new(), closed: false }),
            remote_pending: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            handles: AtomicUsize::new(0),
            reactor,
            notifies: AtomicUsize::new(0),
            remote_wakes: std::sync::atomic::AtomicU64::new(0),
            next_task_id: AtomicU64::new(1),
            runtime_ids: std::sync::OnceLock::new(),
            id: LoopId::next(),
        })
    }

    /// Makes the state its tasks' owner (see `task::owners`), once it has
    /// its final address in an `Arc`.
    pub(crate) fn publish(shared: &Arc<Self>) {
        shared.owner_index.publish(shared.as_owner(), shared.sched);
    }

    pub(crate) fn next_task_id(&self) -> u64 {
        self.next_task_ids(1)
    }

    /// Reserves `n` consecutive task ids, returning the first.
    pub(crate) fn next_task_ids(&self, n: u64) -> u64 {
        if let Some(ids) = self.runtime_ids.get() {
            return ids.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        }
        self.next_task_id.fetch_add(n, Ordering::Relaxed)
    }

    /// The vtable this loop's tasks schedule through. This very reference,
    /// not another `VTables::get()`: a constant's address may differ
    /// between uses, and wakers are told apart by their vtable's address.
    #[inline]
    pub(crate) fn sched_vtable(&self) -> &'static SchedVTable {
        self.sched
    }

    pub(crate) fn owner_index(&self) -> u16 {
        self.owner_index.get()
    }

    pub(crate) fn as_owner(&self) -> *const () {
        self as *const Self as *const ()
    }

    /// Pushes to the local ready queue.
    ///
    /// # Safety
    ///
    /// On the loop's thread, with no borrow of the queue live (pushes are
    /// leaf operations, so the only borrow is the loop's own, in
    /// [`LoopShared::with_ready`], which runs no user code).
    pub(crate) unsafe fn push_local(&self, runnable: Runnable<X>) {
        // SAFETY: per the caller.
        self.ready.with_mut(|q| unsafe { (*q).push_back(runnable) });
    }

    /// Runs `f` on the local ready queue.
    ///
    /// # Safety
    ///
    /// As for [`push_local`](LoopShared::push_local); `f` runs no user code.
    pub(crate) unsafe fn with_ready<T>(&self, f: impl FnOnce(&mut VecDeque<Runnable<X>>) -> T) -> T {
        // SAFETY: per the caller.
        self.ready.with_mut(|q| f(unsafe { &mut *q }))
    }

    /// Hands `item` to the loop from any thread; refused once closed.
    pub(crate) fn post(&self, item: Remote) -> Result<(), Remote> {
        {
            let mut queue = self.remote.lock().unwrap_or_else(|e| e.into_inner());
            if queue.closed {
                return Err(item);
            }
            queue.items.push(item);
            self.remote_pending.store(true, Ordering::SeqCst);
        }
        self.unpark();
        Ok(())
    }

    /// Wakes the loop if (and only if) it is parked.
    pub(crate) fn unpark(&self) {
        // The compare-exchange makes exactly one pusher pay for the syscall,
        // and (being a read-modify-write) it reads the latest `parked`.
        let was_parked = self.parked.compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst).is_ok();
        if was_parked {
            self.notifies.fetch_add(1, Ordering::Relaxed);
            // An error here means the reactor's wake-up descriptor is gone,
            // which only happens after the loop has closed.
            let _ = self.reactor.notify();
        }
    }

    /// Takes its task ids from `ids` from now on (see `runtime_ids`).
    pub(crate) fn share_task_ids(&self, ids: std::sync::Arc<std::sync::atomic::AtomicU64>) {
        let _ = self.runtime_ids.set(ids);
    }

    /// Makes the loop look at its queues again: wakes it if it is parked,
    /// and makes a park about to happen return at once (a pool with work
    /// for it, `pool/idle.rs`). Nothing is posted; the loop's next drain of
    /// the remote queue finds it empty.
    pub(crate) fn kick(&self) {
        // Under the remote queue's mutex, as a post is: the park protocol's
        // argument (module invariants) then covers a kick too.
        {
            let _queue = self.remote.lock().unwrap_or_else(|e| e.into_inner());
            self.remote_pending.store(true, Ordering::SeqCst);
        }
        self.unpark();
    }

    /// Whether anything was posted since the last drain.
    pub(crate) fn has_remote(&self) -> bool {
        self.remote_pending.load(Ordering::SeqCst)
    }

    /// Swaps the posted items into `into` (which must be empty).
    pub(crate) fn drain_remote(&self, into: &mut Vec<Remote>) {
        if !self.has_remote() {
            return;
        }
        let mut queue = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        self.remote_pending.store(false, Ordering::SeqCst);
        std::mem::swap(&mut queue.items, into);
    }

    /// Marks the loop parked. Returns `false` (and un-parks) if work arrived
    /// meanwhile, in which case the loop must not block.
    ///
    /// The queue is checked under its mutex: either the pusher's unlock came
    /// first and we see its item, or our unlock did and the pusher's
    /// compare-exchange is ordered after our `parked` store and sees it.
    pub(crate) fn park(&self) -> bool {
        self.parked.store(true, Ordering::SeqCst);
        // A kick (`kick`) sets `remote_pending` with nothing in the queue.
        let queued = {
            let queue = self.remote.lock().unwrap_or_else(|e| e.into_inner());
            !queue.items.is_empty() || self.remote_pending.load(Ordering::SeqCst)
        };
        if queued {
            self.parked.store(false, Ordering::SeqCst);
            return false;
        }
        true
    }

    pub(crate) fn unpark_self(&self) {
        self.parked.store(false, Ordering::SeqCst);
    }

    /// Refuses further posts and returns what was queued.
    pub(crate) fn close(&self) -> Vec<Remote> {
        let mut queue = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        queue.closed = true;
        self.remote_pending.store(false, Ordering::SeqCst);
        std::mem::take(&mut queue.items)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.remote.lock().unwrap_or_else(|e| e.into_inner()).closed
    }
}

impl<R: Reactor, X: 'static> LoopShared<R, X> {
    /// Queues `task` (the loop side of `task::host::Host::schedule`): on
    /// the loop's own queue when this is the loop's thread and it runs,
    /// otherwise through the remote queue.
    pub(crate) fn schedule(&self, task: TaskRef) {
        if current::is_running(self.as_owner()) {
            // SAFETY: we are on the loop's thread and it is running; a push
            // is a leaf operation.
            unsafe { self.push_local(Runnable::Task(task)) };
        } else {
            // Refused only when closed; the task was completed at close, and
            // dropping the entry releases the reference.
            if self.post(Remote::Wake(task)).is_ok() {
                self.remote_wakes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

/// What a new task needs of its loop: its owner index, and a strong count
/// of the loop's state, which the task releases when it is freed.
pub(crate) fn spawner<R: Reactor, X: 'static>(shared: &Arc<LoopShared<R, X>>) -> Spawner {
    // The task's count, given back by `release_owner` when it is freed.
    // (`into_raw`, not `forget`: `release_owner` takes it back with
    // `from_raw`, under loom's `Arc` too.)
    let _ = Arc::into_raw(Arc::clone(shared));
    Spawner { owner_index: shared.owner_index() }
}
