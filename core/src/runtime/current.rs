//! The running loop, as seen from code running on it.
//!
//! Free functions (`call_soon`, `time`, `sleep`'s timer, ...) and handles
//! reach the loop through thread-locals: the loop running on this thread
//! (set for the duration of `run_forever`/`block_on`) and every loop created
//! on this thread (so a handle can reach its loop between runs). This is the
//! one place with dynamic dispatch (`dyn Local`): one indirect call per
//! free-function call. The loop's own poll, wake and schedule paths are
//! statically dispatched.
//!
//! The task layer below does not see this module: the loop reaches it
//! through the seams it defines (`task::host`, and `io::driver`,
//! `blocking::host` for those layers), which [`RunGuard`] installs beside
//! the thread-locals here. What this thread is polling (the current task,
//! its scopes, its checkpoints) is the task layer's (`task::current`).

use super::callback::{CallbackRef, Handle, TimerHandle};
use super::exception::ExceptionContext;
use super::handle::LoopHandle;
use super::shared::LoopId;
use super::timers::TimerKey;
use crate::loom::corio_thread_local;
/// The task layer's checkpoints, for the modules above the runtime that
/// reach both through this one path.
pub(crate) use crate::task::current::{checkpoint, current_cancel_pending};
use crate::task::host::{self as task_host, DoneCallback, RunningGuard};
use crate::task::raw::RawTask;
use crate::task::Cancelled;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::rc::Weak;
use std::task::Waker;
use std::time::Instant;

/// The loop's services for code running on its thread.
pub(crate) trait Local {
    fn owner(&self) -> *const ();
    fn id(&self) -> LoopId;
    fn now(&self) -> Instant;
    fn stop(&self);
    fn handle(&self) -> LoopHandle;
    fn report(&self, context: ExceptionContext);

    // tasks (the loop side of `task::host::Host`, on the loop's thread)
    fn cancel_task(&self, task: RawTask, message: Option<Cow<'static, str>>) -> bool;
    fn uncancel_task(&self, task: RawTask) -> u32;
    fn deliver_cancel(&self, task: RawTask) -> Cancelled;
    fn forward_cancel(&self, task: RawTask) -> Option<Cow<'static, str>>;
    /// Marks `task`'s pending cancel request as one for its next
    /// checkpoint only: a return before it does not end the task cancelled.
    fn defer_cancel(&self, task: RawTask);
    fn adopt_cancelled(&self, task: RawTask, cancelled: Cancelled) -> Cancelled;
    /// How many cancellations were delivered to `task` so far.
    fn deliveries(&self, task: RawTask) -> u64;
    /// A live cancellation delivered to `task` as delivery number `mark` or
    /// later.
    fn held_cancel_since(&self, task: RawTask, mark: u64) -> Option<Cancelled>;
    fn add_done_callback(&self, task: RawTask, callback: DoneCallback);
    /// One live task's snapshot (`AnyTask::checkpoint`).
    fn task_snapshot(&self, task: RawTask) -> Option<crate::task::TaskSnapshot>;

    // callbacks and timers
    fn call_soon(&self, callback: CallbackRef);
    fn call_at(&self, when: Instant, callback: CallbackRef) -> TimerKey;
    /// A place in the timers' tie order, for [`Local::call_at_reserved`].
    fn reserve_timer(&self) -> u64;
    fn call_at_reserved(&self, when: Instant, seq: u64, callback: CallbackRef) -> TimerKey;
    fn timer_cancelled(&self, key: TimerKey);
    fn sleep_register(&self, when: Instant, waker: Waker) -> TimerKey;
    /// Refreshes a sleep's waker; `false` if the timer already fired.
    fn sleep_update(&self, key: TimerKey, waker: &Waker) -> bool;
    fn sleep_cancel(&self, key: TimerKey);
    /// Keeps a callback on the loop until [`Local::release_held`] queues it.
    fn hold_callback(&self, callback: CallbackRef) -> u64;
    fn release_held(&self, id: u64, run: bool);
    /// Keeps a pool task's done-callback (with the current context) until
    /// [`Local::release_done_callback`] queues it.
    fn hold_done_callback(&self, callback: DoneCallback) -> u64;
    fn release_done_callback(&self, id: u64, info: crate::task::TaskInfo);
    /// Runs `f` on loop `id`, another loop of this loop's runtime, at its
    /// next iteration; `false` if `id` is no such loop.
    fn forward(&self, id: LoopId, f: Box<dyn FnOnce() + Send>) -> bool;

    /// The loop's counters.
    fn metrics(&self) -> super::metrics::Metrics;
}

/// Everything the loop installs on its thread while it runs: this module's
/// [`Local`] and the seams of the layers below (`task::host::Running`,
/// `io::driver::Driver`, `blocking::host::Host`).
pub(crate) trait Installed:
    Local + task_host::Running + crate::io::driver::Driver + crate::blocking::host::Host + 'static
{
}

impl<T: Local + task_host::Running + crate::io::driver::Driver + crate::blocking::host::Host + 'static> Installed
    for T
{
}

corio_thread_local! {
    static RUNNING: Cell<Option<NonNull<dyn Local>>> = Cell::new(None);
}
corio_thread_local! {
    /// The running loop's owner pointer, for the wake fast path.
    static RUNNING_OWNER: Cell<*const ()> = Cell::new(std::ptr::null());
}
corio_thread_local! {
    /// The running loop's id.
    static RUNNING_ID: Cell<Option<LoopId>> = Cell::new(None);
}
corio_thread_local! {
    /// Every loop created on this thread (normally one).
    static LOCAL_LOOPS: RefCell<Vec<Weak<dyn Local>>> = RefCell::new(Vec::new());
}

/// Whether the loop `owner` is the one running on this thread.
#[inline]
pub(crate) fn is_running(owner: *const ()) -> bool {
    RUNNING_OWNER.with(|r| r.get() == owner)
}

/// Whether the loop with `id` is the one running on this thread.
#[inline]
pub(crate) fn is_current(id: LoopId) -> bool {
    RUNNING_ID.with(|r| r.get() == Some(id))
}

/// Runs `f` with the loop `id` if it lives on this thread (running or not).
pub(crate) fn with_loop<R>(id: LoopId, f: impl FnOnce(&dyn Local) -> R) -> Option<R> {
    if is_current(id) {
        return with_running(f);
    }
    let local = LOCAL_LOOPS.with(|loops| loops.borrow().iter().filter_map(Weak::upgrade).find(|l| l.id() == id))?;
    Some(f(&*local))
}

/// Runs `f` with the running loop, if any.
#[inline]
pub(crate) fn with_running<R>(f: impl FnOnce(&dyn Local) -> R) -> Option<R> {
    // SAFETY: `RUNNING` is set by `RunGuard` for exactly as long as the loop
    // core it points to is borrowed by `run_forever`/`block_on`.
    RUNNING.with(Cell::get).map(|local| f(unsafe { local.as_ref() }))
}

/// Runs `f` with the running loop; panics with a clear message at the
/// caller's location if none (every public function on the way here is
/// `#[track_caller]` too).
#[inline]
#[track_caller]
pub(crate) fn expect_running<R>(f: impl FnOnce(&dyn Local) -> R) -> R {
    match with_running(f) {
        Some(out) => out,
        None => task_host::no_loop(),
    }
}

/// Runs `f` with the loop `owner` if it lives on this thread (running or
/// not).
pub(crate) fn with_local<R>(owner: *const (), f: impl FnOnce(&dyn Local) -> R) -> Option<R> {
    if is_running(owner) {
        return with_running(f);
    }
    let local =
        LOCAL_LOOPS.with(|loops| loops.borrow().iter().filter_map(Weak::upgrade).find(|l| l.owner() == owner))?;
    Some(f(&*local))
}

/// Whether the loop `owner` lives on this thread but is not the one
/// running: it cannot run until this thread's running loop returns, so a
/// task of it awaited from here cannot end meanwhile (asyncio refuses to
/// await a future of another loop).
pub(crate) fn is_idle_local(owner: *const ()) -> bool {
    !is_running(owner)
        && LOCAL_LOOPS.with(|loops| loops.borrow().iter().filter_map(Weak::upgrade).any(|l| l.owner() == owner))
}

pub(crate) fn register_local(local: Weak<dyn Local>) {
    LOCAL_LOOPS.with(|loops| {
        let mut loops = loops.borrow_mut();
        loops.retain(|l| l.strong_count() > 0);
        loops.push(local);
    });
}

/// Makes a loop the running one until dropped: here, and in the seams of
/// the layers below.
pub(crate) struct RunGuard {
    previous: Option<NonNull<dyn Local>>,
    previous_owner: *const (),
    previous_id: Option<LoopId>,
    _task: RunningGuard,
    _io: crate::io::driver::RunningGuard,
    _blocking: crate::blocking::host::RunningGuard,
}

impl RunGuard {
    /// # Safety
    ///
    /// `core` must outlive the guard, which must be dropped on this thread.
    pub(crate) unsafe fn enter<L: Installed>(core: &L, owner: *const ()) -> RunGuard {
        let local: &(dyn Local + 'static) = core;
        let id = local.id();
        RunGuard {
            previous: RUNNING.with(|r| r.replace(Some(NonNull::from(local)))),
            previous_owner: RUNNING_OWNER.with(|r| r.replace(owner)),
            previous_id: RUNNING_ID.with(|r| r.replace(Some(id))),
            // SAFETY (all three): the caller's contract.
            _task: unsafe { RunningGuard::enter(NonNull::from(core as &dyn task_host::Running)) },
            _io: unsafe {
                crate::io::driver::RunningGuard::enter(NonNull::from(core as &dyn crate::io::driver::Driver))
            },
            _blocking: unsafe {
                crate::blocking::host::RunningGuard::enter(NonNull::from(core as &dyn crate::blocking::host::Host))
            },
        }
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(self.previous));
        RUNNING_OWNER.with(|r| r.set(self.previous_owner));
        RUNNING_ID.with(|r| r.set(self.previous_id));
    }
}

/// Whether any loop is running on this thread.
pub(crate) fn any_running() -> bool {
    RUNNING.with(Cell::get).is_some()
}

/// Runs `f` on loop `id` if it is another loop of the running loop's
/// runtime (a pool task reaching the timer or socket it left there);
/// `false` otherwise, or with no loop running.
pub(crate) fn forward_to_loop(id: LoopId, f: impl FnOnce() + Send + 'static) -> bool {
    with_running(|l| l.forward(id, Box::new(f))).unwrap_or(false)
}

pub(crate) fn timer_cancelled(id: LoopId, key: TimerKey) {
    with_loop(id, |l| l.timer_cancelled(key));
}

// ----- public free functions -------------------------------------------------

/// Schedules `callback` to run in the next loop iteration (asyncio's
/// `call_soon`), in a copy of the current context (rule X2).
///
/// # Panics
///
/// If no loop is running on this thread.
#[track_caller]
pub fn call_soon(callback: impl FnOnce() + 'static) -> Handle {
    let callback = CallbackRef::local(callback);
    expect_running(|l| l.call_soon(callback.clone()));
    Handle { callback }
}

/// Schedules `callback` to run after `delay` (asyncio's `call_later`). A
/// delay beyond the clock's range (`Duration::MAX`) never comes: the
/// callback is not scheduled, and the handle's `when()` is the latest
/// instant the clock can hold.
///
/// # Panics
///
/// If no loop is running on this thread.
#[track_caller]
pub fn call_later(delay: std::time::Duration, callback: impl FnOnce() + 'static) -> TimerHandle {
    let now = time();
    match crate::time::deadline_after(now, delay) {
        Some(when) => call_at(when, callback),
        None => TimerHandle::never(CallbackRef::local(callback), now, expect_running(|l| l.id())),
    }
}

/// Schedules `callback` to run at `when` (asyncio's `call_at`). A time in the
/// past runs in the next iteration.
///
/// # Panics
///
/// If no loop is running on this thread.
#[track_caller]
pub fn call_at(when: Instant, callback: impl FnOnce() + 'static) -> TimerHandle {
    let callback = CallbackRef::local(callback);
    expect_running(|l| TimerHandle {
        key: Some(l.call_at(when, callback.clone())),
        handle: Handle { callback },
        when,
        loop_id: l.id(),
    })
}

/// Takes a place in the running loop's timer order now, for a timer that
/// [`call_at_reserved`] may schedule later (a timeout scope's expiry, armed
/// only if its body waits).
#[inline]
#[track_caller]
pub(crate) fn reserve_timer() -> u64 {
    expect_running(|l| l.reserve_timer())
}

/// `call_at` in the tie order of a place taken with [`reserve_timer`].
#[track_caller]
pub(crate) fn call_at_reserved(when: Instant, seq: u64, callback: impl FnOnce() + 'static) -> TimerHandle {
    let callback = CallbackRef::local(callback);
    expect_running(|l| TimerHandle {
        key: Some(l.call_at_reserved(when, seq, callback.clone())),
        handle: Handle { callback },
        when,
        loop_id: l.id(),
    })
}

/// The running loop's time (asyncio's `loop.time()`): its clock's `now`.
///
/// # Panics
///
/// If no loop is running on this thread.
#[track_caller]
#[inline]
pub fn time() -> Instant {
    expect_running(|l| l.now())
}

/// Stops the running loop after the current iteration (asyncio's
/// `loop.stop()`, rule L9).
///
/// # Panics
///
/// If no loop is running on this thread.
#[track_caller]
pub fn stop() {
    expect_running(|l| l.stop())
}

/// The running loop's counters ([`EventLoop::metrics`](super::EventLoop::metrics)
/// from inside it).
///
/// ```
/// # let lp = corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new());
/// # lp.block_on(async {
/// let before = corio_core::runtime::metrics().iterations;
/// corio_core::yield_now().await.unwrap();
/// assert_eq!(corio_core::runtime::metrics().iterations, before + 1);
/// # }).unwrap();
/// ```
///
/// # Panics
///
/// If no loop is running on this thread.
#[track_caller]
pub fn metrics() -> super::metrics::Metrics {
    expect_running(|l| l.metrics())
}

/// A `Send` handle to the running loop, for other threads.
///
/// # Panics
///
/// If no loop is running on this thread.
#[track_caller]
pub fn handle() -> LoopHandle {
    expect_running(|l| l.handle())
}

/// A handle to the loop running on this thread, if any (never panics).
pub fn try_handle() -> Option<LoopHandle> {
    with_running(|l| l.handle())
}
