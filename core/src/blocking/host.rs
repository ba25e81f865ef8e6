//! The seam between the blocking layer and the loop: what submitting a job
//! needs of the loop running on this thread, defined here and implemented by
//! the runtime.
//!
//! Two things: the loop's default pool (asyncio's default executor, created
//! on first use), and a [`KeepAlive`] that a queued or running job holds so
//! that a loop on a virtual clock does not report a deadlock while a pool
//! thread still owes it a wake-up (rule L5). The runtime installs its loop
//! as the running [`Host`] with [`RunningGuard`] while it runs.
//!
//! # Invariants
//!
//! * The host is only reached on its loop's thread, while it runs.
//! * A [`KeepAlive`] is a type-erased `LoopHandle`: it holds the loop's
//!   shared state and counts as a live handle until dropped, on any thread.

use super::BlockingPool;
use crate::loom::corio_thread_local;
use std::cell::Cell;
use std::ptr::NonNull;

/// What the blocking layer needs of the loop running on this thread.
pub(crate) trait Host {
    /// The loop's default pool, created on first use; counts one job in the
    /// loop's metrics (every job the free functions submit comes here).
    fn default_pool(&self) -> BlockingPool;

    /// A live handle to the loop, for a job to hold until it ends.
    fn keep_alive(&self) -> KeepAlive;
}

/// A loop handle, its type erased: held by a job, released when dropped.
pub(crate) struct KeepAlive {
    owner: *const (),
    release: unsafe fn(*const ()),
}

// SAFETY: `release` is the loop handle's drop, which any thread may run (a
// `LoopHandle` is `Send`), and `owner` is only passed back to it.
unsafe impl Send for KeepAlive {}

impl KeepAlive {
    /// # Safety
    ///
    /// `release(owner)` drops one loop handle the caller owns and hands
    /// over, and may run on any thread.
    pub(crate) unsafe fn from_raw(owner: *const (), release: unsafe fn(*const ())) -> KeepAlive {
        KeepAlive { owner, release }
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        // SAFETY: `from_raw`'s contract: we own the handle it drops.
        unsafe { (self.release)(self.owner) }
    }
}

corio_thread_local! {
    /// The loop running on this thread, if any (set by [`RunningGuard`]).
    static RUNNING: Cell<Option<NonNull<dyn Host>>> = Cell::new(None);
}

/// Runs `f` with the loop running on this thread, if any.
pub(crate) fn with_running<R>(f: impl FnOnce(&dyn Host) -> R) -> Option<R> {
    // SAFETY: `RUNNING` is set by `RunningGuard` for exactly as long as the
    // loop it points to is borrowed by its run.
    RUNNING.with(Cell::get).map(|host| f(unsafe { host.as_ref() }))
}

/// The running loop's default pool; panics at the caller's location if no
/// loop is running on this thread.
#[track_caller]
pub(crate) fn default_pool() -> BlockingPool {
    match with_running(|host| host.default_pool()) {
        Some(pool) => pool,
        None => crate::task::host::no_loop(),
    }
}

/// Makes a loop the running host on this thread until dropped.
pub(crate) struct RunningGuard(Option<NonNull<dyn Host>>);

impl RunningGuard {
    /// # Safety
    ///
    /// `host` must outlive the guard, and the guard must be dropped on the
    /// thread that made it.
    pub(crate) unsafe fn enter(host: NonNull<dyn Host>) -> RunningGuard {
        RunningGuard(RUNNING.with(|r| r.replace(Some(host))))
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(self.0));
    }
}
