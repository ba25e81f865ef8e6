//! The seam between the I/O layer and the loop: what a source needs of the
//! loop it is registered with, defined here and implemented by the runtime.
//!
//! A loop keeps its sources' readiness in its own registry (`registry.rs`)
//! and polls its own reactor; [`Async`](super::Async) reaches them through
//! a [`Driver`]: the loop running on this thread (installed by the runtime
//! with [`RunningGuard`] while it runs), or — to deregister a source dropped
//! between runs — any loop living on this thread ([`register_local`]).
//!
//! # Invariants
//!
//! * A driver is only ever reached on its loop's thread: the running one
//!   through [`with_running`]/[`with_current`], the others through this
//!   thread's list ([`with_loop`]).
//! * [`RunningGuard`] restores the previous driver when dropped.

use super::registry::{Direction, IoKey};
use crate::loom::corio_thread_local;
use crate::loop_id::LoopId;
use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::RawFd;
use std::ptr::NonNull;
use std::rc::Weak;
use std::task::{Context, Poll, Waker};

/// What the I/O layer needs of a loop. Implemented by the runtime; called
/// on the loop's thread only.
pub(crate) trait Driver {
    /// The loop's identity, which a source keeps to find it again.
    fn id(&self) -> LoopId;

    /// Registers `fd` with the loop's reactor (both directions,
    /// edge-triggered).
    fn register(&self, fd: RawFd) -> io::Result<IoKey>;

    /// Waits until the source may be ready in `direction`; records the wait
    /// for task dumps when it is pending.
    fn poll_ready(&self, key: IoKey, direction: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Forgets cached readiness in `direction`.
    fn clear_ready(&self, key: IoKey, direction: Direction);

    /// Deregisters the source, waking its waiters with an error.
    fn deregister(&self, key: IoKey, fd: RawFd) -> io::Result<()>;

    /// Sends a wait for readiness to loop `home`, another loop of this
    /// loop's runtime, where the source is registered: `waker` waits there
    /// (and is woken at once if the source is ready). `false` if `home` is
    /// no such loop.
    fn forward_poll_ready(&self, home: LoopId, key: IoKey, direction: Direction, waker: Waker) -> bool;

    /// Tells loop `home` (as above) to forget a source whose descriptor was
    /// closed here, waking its waiters; nothing is asked of the reactor,
    /// which dropped the closed descriptor itself. `false` if `home` is no
    /// such loop.
    fn forward_forget(&self, home: LoopId, key: IoKey) -> bool;

    /// Forgets a source whose descriptor is closed (see
    /// [`forward_forget`](Driver::forward_forget)).
    fn forget(&self, key: IoKey);

    /// Whether the reactor runs completion-based operations
    /// (`reactor::ops`).
    fn completions_available(&self) -> bool;

    /// Submits `op` to the reactor's completions (`Unsupported` without).
    fn submit_op(&self, op: crate::reactor::ops::OpRef) -> io::Result<()>;

    /// Asks the reactor to stop `op` early.
    fn cancel_op(&self, op: &crate::reactor::ops::Op);
}

corio_thread_local! {
    /// The driver of the loop running on this thread, if any, with the
    /// loop's id (so that checking a source's loop reads no vtable).
    static RUNNING: Cell<Option<(NonNull<dyn Driver>, LoopId)>> = Cell::new(None);
}
corio_thread_local! {
    /// Every loop created on this thread (normally one), running or not.
    static LOCAL: RefCell<Vec<Weak<dyn Driver>>> = RefCell::new(Vec::new());
}

/// Runs `f` with the driver of the loop running on this thread, if any.
#[inline]
pub(crate) fn with_running<R>(f: impl FnOnce(&dyn Driver) -> R) -> Option<R> {
    // SAFETY: `RUNNING` is set by `RunningGuard` for exactly as long as the
    // loop it points to is borrowed by its run.
    RUNNING.with(Cell::get).map(|(driver, _)| f(unsafe { driver.as_ref() }))
}

/// Runs `f` with the driver of the loop running on this thread if it is
/// loop `id`; `None` otherwise.
#[inline]
pub(crate) fn with_current<R>(id: LoopId, f: impl FnOnce(&dyn Driver) -> R) -> Option<R> {
    match RUNNING.with(Cell::get) {
        // SAFETY: as in `with_running`.
        Some((driver, running)) if running == id => Some(f(unsafe { driver.as_ref() })),
        _ => None,
    }
}

/// Runs `f` with the driver of loop `id`, if that loop lives on this thread
/// (running or not).
pub(crate) fn with_loop<R>(id: LoopId, f: impl FnOnce(&dyn Driver) -> R) -> Option<R> {
    if RUNNING.with(Cell::get).is_some_and(|(_, running)| running == id) {
        return with_running(f);
    }
    let driver = LOCAL.with(|loops| loops.borrow().iter().filter_map(Weak::upgrade).find(|d| d.id() == id))?;
    Some(f(&*driver))
}

/// Adds a loop created on this thread to the list [`with_loop`] searches.
pub(crate) fn register_local(driver: Weak<dyn Driver>) {
    LOCAL.with(|loops| {
        let mut loops = loops.borrow_mut();
        loops.retain(|d| d.strong_count() > 0);
        loops.push(driver);
    });
}

/// Makes a loop's driver the running one on this thread until dropped.
pub(crate) struct RunningGuard(Option<(NonNull<dyn Driver>, LoopId)>);

impl RunningGuard {
    /// # Safety
    ///
    /// `driver` must outlive the guard, and the guard must be dropped on the
    /// thread that made it.
    pub(crate) unsafe fn enter(driver: NonNull<dyn Driver>) -> RunningGuard {
        // SAFETY: `driver` is live (the caller's contract).
        let id = unsafe { driver.as_ref() }.id();
        RunningGuard(RUNNING.with(|r| r.replace(Some((driver, id)))))
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(self.0));
    }
}
