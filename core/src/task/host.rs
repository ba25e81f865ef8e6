//! The seam between the task layer and the loops that run tasks: what a
//! task needs of its loop, defined here and implemented by the runtime.
//!
//! The task layer imports nothing from `runtime/`. Two things reach the
//! loop:
//!
//! * **A task's host** ([`Host`]): the loop (or, on a multi-loop runtime,
//!   the pool of loops) that owns the task. The task's state word names it
//!   by a 16-bit index into a process-wide table (`owners.rs`), whose entry
//!   holds the host and its [`SchedVTable`]. The hot operation — queueing a
//!   woken task — is statically dispatched: the vtable's waker functions are
//!   monomorphized per host type (`waker.rs`) and call [`Host::schedule`]
//!   directly. Everything else a task asks of its host is rare — a cancel
//!   request, a cancel delivered at a checkpoint, a done-callback, a panic
//!   nobody retrieved, a dump — and goes through `&dyn Host`, one indirect
//!   call. Where the bookkeeping behind those calls lives (a loop's
//!   registry, a pool's) is the host's business: that is what lets a task
//!   run on another loop of its pool (see `docs/design.md`, "Where a task's
//!   bookkeeping lives").
//! * **The loop running on this thread** ([`Running`]): what `spawn` and
//!   [`dump`](super::dump) need — a new task's host and id, adopting the
//!   task, listing the loop's tasks. The runtime makes its loop the running
//!   one with [`RunningGuard`] for as long as it runs.
//!
//! # Invariants
//!
//! * A task holds a strong count of its host from its spawn until it is
//!   freed, so `host_of(task)` is valid whenever the caller holds a
//!   reference to the task.
//! * A host's `schedule` takes ownership of the task reference it is given;
//!   a closed host drops it.
//! * [`RunningGuard`] restores the previous running loop when dropped, so
//!   nested guards (a loop closed from inside another's run) unwind in
//!   order.

use super::dump::{TaskDump, TaskSnapshot};
use super::join::{Panic, TaskInfo};
use super::raw::{RawTask, Spawner, TaskRef};
use super::waker;
use super::Cancelled;
use crate::loom::corio_thread_local;
use std::borrow::Cow;
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::task::RawWakerVTable;

/// A done-callback, as a task's host keeps it until the task ends.
pub(crate) type DoneCallback = Box<dyn FnOnce(&TaskInfo)>;

/// What a task needs of the loop (or pool of loops) that owns it.
///
/// Implemented by the runtime. Every method but [`schedule`](Host::schedule)
/// is called through `&dyn Host` and may be called from any thread unless it
/// says otherwise; the host decides whether to act at once or post the work
/// to the thread that owns the task's bookkeeping.
pub(crate) trait Host: Send + Sync + 'static {
    /// Queues `task`, taking ownership of its reference. If the host can no
    /// longer run it (closed), the reference is simply dropped. Hot: reached
    /// statically from the task's wakers.
    fn schedule(&self, task: TaskRef);

    /// Requests a soft cancel of `task` (asyncio's `Task.cancel`, rules
    /// C1-C3); `false` if the task is already done.
    fn cancel(&self, task: RawTask, message: Option<Cow<'static, str>>) -> bool;

    /// Takes one cancel request back (asyncio's `uncancel`, C2); returns
    /// the remaining count.
    fn uncancel(&self, task: RawTask) -> u32;

    /// Delivers `task`'s pending cancel at a checkpoint. On the thread
    /// polling the task.
    fn deliver_cancel(&self, task: RawTask) -> Cancelled;

    /// Takes `task`'s pending cancel to pass it on to what it awaits (C6),
    /// returning its message. On the thread polling the task.
    fn forward_cancel(&self, task: RawTask) -> Option<Cow<'static, str>>;

    /// Makes `cancelled` (a cancellation `task` received from a task it
    /// awaited) a delivery to `task` itself. On the thread polling the task.
    fn adopt_cancelled(&self, task: RawTask, cancelled: Cancelled) -> Cancelled;

    /// How many cancellations were delivered to `task` so far. On the thread
    /// polling the task.
    fn deliveries(&self, task: RawTask) -> u64;

    /// A live cancellation delivered to `task` as delivery number `mark` or
    /// later. On the thread polling the task.
    fn held_cancel_since(&self, task: RawTask, mark: u64) -> Option<Cancelled>;

    /// Schedules `callback` (with `call_soon`, in the caller's context) for
    /// when `task` ends. `Err(WrongThread)` if the caller's thread cannot
    /// run it.
    fn add_done_callback(&self, task: RawTask, callback: DoneCallback) -> Result<(), WrongThread>;

    /// `task`'s handle was dropped holding a panic nobody looked at: report
    /// it (asyncio's "exception was never retrieved", rule L8).
    fn report_unretrieved_panic(&self, task: RawTask, panic: Panic);

    /// `task`'s snapshot for a dump, if it is live and this thread may look.
    fn snapshot(&self, task: RawTask) -> Option<TaskSnapshot>;

    /// Marks `task`'s pending cancel request as one for its next checkpoint
    /// only: a body that returns before it does not end cancelled. On the
    /// thread polling the task.
    fn defer_cancel(&self, task: RawTask);

    /// A panic raised while `task`'s future or output was dropped: report
    /// it to the handler of the loop that can see it, else print it.
    fn report_drop_panic(&self, task: RawTask, panic: Panic);

    /// Runs `f` on a thread that owns `task`'s bookkeeping, at its next
    /// iteration (dropped unrun if the host has closed).
    fn post(&self, f: Box<dyn FnOnce() + Send>);

    /// Whether `task` cannot run until this thread's running loop returns:
    /// its host lives on this thread and is not the loop running here (a
    /// task awaited from here cannot end meanwhile).
    fn is_idle_here(&self) -> bool {
        false
    }
}

/// What a task's owner-table entry points to, beside the host itself.
/// Generic over the host type; the fields are the only way to call it
/// without knowing that type.
pub(crate) struct SchedVTable {
    /// The task's wakers (`waker.rs`), which call the host's `schedule`.
    pub(crate) waker: RawWakerVTable,
    /// Queues a task (see [`Host::schedule`]).
    pub(crate) schedule: unsafe fn(*const (), TaskRef),
    /// Drops the task's strong count of its host.
    pub(crate) release_owner: unsafe fn(*const ()),
    /// The host as a trait object, for everything but scheduling.
    pub(crate) host: unsafe fn(*const ()) -> *const dyn Host,
}

/// The vtables for host type `H`.
pub(crate) struct VTables<H>(PhantomData<H>);

impl<H: Host> VTables<H> {
    pub(crate) const SCHED: SchedVTable = SchedVTable {
        waker: waker::vtable::<H>(),
        schedule: schedule::<H>,
        release_owner: release_owner::<H>,
        host: as_dyn::<H>,
    };

    pub(crate) fn get() -> &'static SchedVTable {
        &Self::SCHED
    }
}

unsafe fn schedule<H: Host>(owner: *const (), task: TaskRef) {
    // SAFETY: per `SchedVTable`, `owner` is an `H` kept alive by the task.
    unsafe { &*(owner as *const H) }.schedule(task)
}

unsafe fn release_owner<H: Host>(owner: *const ()) {
    // SAFETY: the task was given one strong count (`Arc::into_raw`).
    drop(unsafe { crate::loom::Arc::from_raw(owner as *const H) });
}

unsafe fn as_dyn<H: Host>(owner: *const ()) -> *const dyn Host {
    owner as *const H as *const dyn Host
}

/// `task`'s host. Valid while the caller holds a reference to the task (the
/// task holds a strong count of its host).
#[inline]
pub(crate) fn host_of(task: &RawTask) -> &dyn Host {
    // SAFETY: the owner pointer and its vtable come from the same table
    // entry, published together for one host type; the task keeps the host
    // alive (module invariants) for at least as long as `task` is borrowed.
    unsafe { &*(task.sched().host)(task.owner()) }
}

/// Requests a soft cancel of `task` from wherever we are.
pub(crate) fn cancel_task(task: RawTask, message: Option<Cow<'static, str>>) -> bool {
    host_of(&task).cancel(task, message)
}

/// Takes one cancel request of `task` back; returns the remaining count.
/// See [`Host::defer_cancel`].
pub(crate) fn defer_cancel(task: RawTask) {
    host_of(&task).defer_cancel(task)
}

/// A task group's exit with failures, for its outer cancel (G5): requests
/// the cancel of `task` again, keeping its count, for the task's next
/// checkpoint — a body that returns the group's failures first ends with
/// them, as asyncio's task ends with the `ExceptionGroup` the group raises.
pub(crate) fn recancel_for_next_checkpoint(task: &super::AnyTask) {
    task.uncancel();
    task.cancel();
    defer_cancel(task.raw());
}

/// See [`Host::report_drop_panic`].
pub(crate) fn report_drop_panic(task: RawTask, panic: Panic) {
    host_of(&task).report_drop_panic(task, panic)
}

/// Runs `f` where `task`'s bookkeeping lives (see [`Host::post`]).
pub(crate) fn post_to(task: RawTask, f: impl FnOnce() + Send + 'static) {
    host_of(&task).post(Box::new(f))
}

/// See [`Host::is_idle_here`].
pub(crate) fn is_idle_here(task: RawTask) -> bool {
    host_of(&task).is_idle_here()
}

pub(crate) fn uncancel_task(task: RawTask) -> u32 {
    host_of(&task).uncancel(task)
}

/// Hard-cancels `task` (rule C7), from any thread: a state-word request and
/// a wake, so the loop drops the future at its next step.
pub(crate) fn abort_task(task: RawTask) {
    let (_, must_schedule) = task.state().request(super::state::ABORT);
    if must_schedule {
        // SAFETY: the transition added the queue's reference, which we hand
        // to the owner's scheduler (the owner and its vtable belong together).
        unsafe { (task.sched().schedule)(task.owner(), TaskRef::from_raw(task)) };
    }
}

/// See [`Host::add_done_callback`].
pub(crate) fn add_done_callback(task: RawTask, callback: DoneCallback) -> Result<(), WrongThread> {
    host_of(&task).add_done_callback(task, callback)
}

/// See [`Host::report_unretrieved_panic`].
pub(crate) fn report_unretrieved_panic(task: RawTask, panic: Panic) {
    host_of(&task).report_unretrieved_panic(task, panic)
}

/// `task`'s snapshot, if it is live and this thread may look.
pub(crate) fn task_snapshot(task: RawTask) -> Option<TaskSnapshot> {
    host_of(&task).snapshot(task)
}

/// Called from a thread that does not run the task's loop.
///
/// ```
/// use corio_core::task::WrongThread;
/// assert_eq!(WrongThread.to_string(), "this operation must be called on the task's event loop thread");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongThread;

impl std::fmt::Display for WrongThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("this operation must be called on the task's event loop thread")
    }
}

impl std::error::Error for WrongThread {}

// ----- the loop running on this thread ----------------------------------------

/// The loop running on this thread, as the task layer sees it: what
/// `spawn` and `dump` need.
pub(crate) trait Running {
    /// A new task's spawner (its host's index, with a strong count of the
    /// host taken for the task) and id.
    fn spawner(&self) -> (Spawner, u64);

    /// Registers a new task (`registry`) and queues it (`queued`), or runs
    /// its first step now if `eager`.
    fn adopt(&self, registry: TaskRef, queued: TaskRef, eager: bool);

    /// Every live task of the loop with its checkpoint (`task::dump`).
    fn dump(&self) -> TaskDump;
}

corio_thread_local! {
    /// The loop running on this thread, if any (set by [`RunningGuard`]).
    static RUNNING: Cell<Option<NonNull<dyn Running>>> = Cell::new(None);
}

/// What every "no loop running" panic says.
pub(crate) const NO_LOOP: &str = "corio: no event loop is running on this thread \
    (call this inside EventLoop::block_on, run_forever or corio::run)";

/// Panics with [`NO_LOOP`] at the caller's caller's ... location: every
/// function between the user's call and here is `#[track_caller]`.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn no_loop() -> ! {
    panic!("{NO_LOOP}")
}

/// Runs `f` with the loop running on this thread, if any.
#[inline]
pub(crate) fn with_running<R>(f: impl FnOnce(&dyn Running) -> R) -> Option<R> {
    // SAFETY: `RUNNING` is set by `RunningGuard` for exactly as long as the
    // loop it points to is borrowed by its run.
    RUNNING.with(Cell::get).map(|running| f(unsafe { running.as_ref() }))
}

/// Runs `f` with the loop running on this thread; panics at the caller's
/// location if none.
#[inline]
#[track_caller]
pub(crate) fn expect_running<R>(f: impl FnOnce(&dyn Running) -> R) -> R {
    match with_running(f) {
        Some(out) => out,
        None => no_loop(),
    }
}

/// Makes a loop the running one on this thread until dropped.
pub(crate) struct RunningGuard(Option<NonNull<dyn Running>>);

impl RunningGuard {
    /// # Safety
    ///
    /// `running` must outlive the guard, and the guard must be dropped on
    /// the thread that made it.
    pub(crate) unsafe fn enter(running: NonNull<dyn Running>) -> RunningGuard {
        RunningGuard(RUNNING.with(|r| r.replace(Some(running))))
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(self.0));
    }
}
