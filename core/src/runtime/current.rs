//! The running loop, as seen from code running on it.
//!
//! Free functions (`spawn`, `sleep`, `call_soon`, ...) and handles reach the
//! loop through thread-locals: the loop running on this thread (set for the
//! duration of `run_forever`/`block_on`), the task it is polling, and every
//! loop created on this thread (so a handle can reach its loop between runs).
//! This is the one place with dynamic dispatch (`dyn Local`): one indirect
//! call per free-function call. The loop's own poll, wake and schedule paths
//! are statically dispatched.

use super::callback::{CallbackRef, Handle, TimerHandle};
use super::exception::ExceptionContext;
use super::handle::LoopHandle;
use super::registry::DoneCallback;
use super::shared::LoopId;
use super::timers::TimerKey;
use crate::io::{Direction, IoKey};
use crate::loom::corio_thread_local;
use crate::task::checkpoint::Suspension;
use crate::task::origin::Origin;
use crate::task::raw::{self, RawTask, Spawner, TaskRef};
use crate::task::{Cancelled, Panic, Task};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::panic::Location;
use std::ptr::NonNull;
use std::rc::Weak;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// The loop's services for code running on its thread.
pub(crate) trait Local {
    fn owner(&self) -> *const ();
    fn id(&self) -> LoopId;
    fn now(&self) -> Instant;
    fn stop(&self);
    fn handle(&self) -> LoopHandle;
    fn report(&self, context: ExceptionContext);

    // tasks
    fn spawner(&self) -> (Spawner, u64);
    /// Registers a new task (`registry`) and queues it (`queued`), or runs its
    /// first step now if `eager`.
    fn adopt(&self, registry: TaskRef, queued: TaskRef, eager: bool);
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

    // I/O
    fn io_register(&self, fd: RawFd) -> io::Result<IoKey>;
    fn io_poll_ready(&self, key: IoKey, direction: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn io_clear_ready(&self, key: IoKey, direction: Direction);
    fn io_deregister(&self, key: IoKey, fd: RawFd) -> io::Result<()>;

    // completion-based operations (`reactor::ops`)
    /// Whether the reactor runs completion-based operations.
    fn completions_available(&self) -> bool;
    /// Submits `op` to the reactor's completions (`Unsupported` without).
    fn submit_op(&self, op: crate::reactor::ops::OpRef) -> io::Result<()>;
    /// Asks the reactor to stop `op` early.
    fn cancel_op(&self, op: &crate::reactor::ops::Op);

    // blocking work
    /// The loop's default blocking pool, created on first use.
    fn default_executor(&self) -> crate::blocking::BlockingPool;
    /// The loop's counters.
    fn metrics(&self) -> super::metrics::Metrics;

    // debugging
    /// Every live task with its checkpoint (`task::dump`).
    fn dump_tasks(&self) -> crate::task::TaskDump;
    /// One live task's snapshot (`AnyTask::checkpoint`).
    fn task_snapshot(&self, task: RawTask) -> Option<crate::task::TaskSnapshot>;
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
    /// The task being polled, and the cancel scopes its poll is inside.
    static CURRENT: Cell<Current> = Cell::new(Current::NONE);
}
corio_thread_local! {
    /// Every loop created on this thread (normally one).
    static LOCAL_LOOPS: RefCell<Vec<Weak<dyn Local>>> = RefCell::new(Vec::new());
}

const NO_LOOP: &str = "corio: no event loop is running on this thread \
    (call this inside EventLoop::block_on, run_forever or corio::run)";

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
pub(crate) fn with_running<R>(f: impl FnOnce(&dyn Local) -> R) -> Option<R> {
    // SAFETY: `RUNNING` is set by `RunGuard` for exactly as long as the loop
    // core it points to is borrowed by `run_forever`/`block_on`.
    RUNNING.with(Cell::get).map(|local| f(unsafe { local.as_ref() }))
}

/// Runs `f` with the running loop; panics with a clear message if none.
#[track_caller]
pub(crate) fn expect_running<R>(f: impl FnOnce(&dyn Local) -> R) -> R {
    with_running(f).unwrap_or_else(|| panic!("{NO_LOOP}"))
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

/// Makes a loop the running one until dropped.
pub(crate) struct RunGuard {
    previous: Option<NonNull<dyn Local>>,
    previous_owner: *const (),
    previous_id: Option<LoopId>,
}

impl RunGuard {
    /// # Safety
    ///
    /// `local` must outlive the guard.
    pub(crate) unsafe fn enter(local: NonNull<dyn Local>, owner: *const ()) -> RunGuard {
        // SAFETY: `local` is live (the caller's contract).
        let id = unsafe { local.as_ref() }.id();
        RunGuard {
            previous: RUNNING.with(|r| r.replace(Some(local))),
            previous_owner: RUNNING_OWNER.with(|r| r.replace(owner)),
            previous_id: RUNNING_ID.with(|r| r.replace(Some(id))),
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

/// What this thread is polling: a task, and where inside its cancel scopes
/// (`structured::cancel_scope`). One `Copy` cell, so entering a task is one
/// thread-local swap, as it was before scopes existed.
#[derive(Clone, Copy)]
struct Current {
    task: Option<RawTask>,
    /// Inside a shielded scope: checkpoints hold the task's cancel back.
    shielded: bool,
    /// A shielded scope inside the scope being polled is suspended.
    shield_below: bool,
    /// Where the task last recorded a suspension during this poll
    /// (`task::checkpoint`).
    suspended: Option<Suspension>,
    /// The task yielded on its own waker during this poll ([`requeue`]): if
    /// the poll returns `Pending`, the loop queues it again.
    requeue: bool,
}

impl Current {
    const NONE: Current = Current { task: None, shielded: false, shield_below: false, suspended: None, requeue: false };
}

/// Marks `task` as the one being polled until dropped. A task starts outside
/// every scope, also when it runs inside another task's poll (an eager
/// spawn).
pub(crate) struct TaskGuard(Current);

impl TaskGuard {
    #[inline]
    pub(crate) fn enter(task: RawTask) -> TaskGuard {
        TaskGuard(CURRENT.with(|c| c.replace(Current { task: Some(task), ..Current::NONE })))
    }

    /// What the poll recorded: its last suspension, if any, and whether
    /// the task asked to be queued again ([`requeue`]).
    #[inline]
    pub(crate) fn recorded(&self) -> (Option<Suspension>, bool) {
        CURRENT.with(|c| {
            let current = c.get();
            (current.suspended, current.requeue)
        })
    }
}

/// Wakes `waker` for a yield. When it is the polled task's own waker, the
/// wake is a note to the loop instead ([`note_own_wake`]), taken here
/// without the call through the waker. A combinator's waker is woken as
/// usual, so the combinator learns which child to poll.
#[inline]
pub(crate) fn requeue(waker: &Waker) {
    match current_task() {
        Some(task) if task.owns_waker(waker) => {
            note_own_wake(task);
        }
        _ => waker.wake_by_ref(),
    }
}

/// A wake of `task` while this thread polls it (a yield, or a future that
/// wakes its own waker and returns `Pending`): noted, and the loop queues
/// the task again after this poll, with the state change it makes then
/// anyway, so the wake costs no atomic read-modify-write. Returns false,
/// noting nothing, if `task` is not the one being polled here; the caller
/// then wakes it through its state word.
///
/// Only the task's own thread can see itself as current (a task is polled
/// on its loop's thread, and an eager spawn's inner poll makes the child
/// current), so a note is never lost to another thread or another task.
#[inline]
pub(crate) fn note_own_wake(task: RawTask) -> bool {
    CURRENT.with(|c| {
        let current = c.get();
        // MUTANT (tests/rules_loop.rs): any task's wake during a poll is
        // taken for the polled task's own, so the woken task never runs.
        #[cfg(corio_mutant = "own_wake_takes_any_task")]
        let own = current.task.is_some();
        #[cfg(not(corio_mutant = "own_wake_takes_any_task"))]
        let own = current.task == Some(task);
        // MUTANT (tests/rules_loop.rs): the note is lost, so a task that
        // yields on its own waker is never polled again.
        #[cfg(not(corio_mutant = "requeue_lost"))]
        if own {
            c.set(Current { requeue: true, ..current });
        }
        own
    })
}

/// Records where the task being polled suspends (`task::checkpoint`).
#[inline]
pub(crate) fn set_suspension(at: Suspension) {
    CURRENT.with(|c| c.set(Current { suspended: Some(at), ..c.get() }));
}

impl Drop for TaskGuard {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

#[inline]
pub(crate) fn current_task() -> Option<RawTask> {
    CURRENT.with(|c| c.get().task)
}

// ----- cancel scopes -----------------------------------------------------------

/// Polls the body of a cancel scope (`poll`). With `shield`, checkpoints
/// inside it hold the task's cancel back (see [`cancel_pending`]). Returns
/// `poll`'s result and whether a shielded scope inside the body reported
/// itself suspended ([`report_suspended_shield`]). The thread's scope state
/// is restored afterwards, also if `poll` panics.
pub(crate) fn poll_in_scope<R>(shield: bool, poll: impl FnOnce() -> R) -> (R, bool) {
    struct Restore(Current);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let outer = CURRENT.with(|c| {
        let outer = c.get();
        c.set(Current { shielded: outer.shielded || shield, shield_below: false, ..outer });
        outer
    });
    let restore = Restore(outer);
    let result = poll();
    let inner = CURRENT.with(Cell::get);
    drop(restore);
    // A suspension, or a request to run again, recorded inside the scope
    // is the task's.
    if inner.suspended.is_some() || inner.requeue {
        CURRENT.with(|c| {
            let outer = c.get();
            c.set(Current {
                suspended: inner.suspended.or(outer.suspended),
                requeue: outer.requeue || inner.requeue,
                ..outer
            })
        });
    }
    (result, inner.shield_below)
}

/// Tells the scope being polled that a shielded scope inside it is
/// suspended, so that cancelling the outer scope waits for the shield.
pub(crate) fn report_suspended_shield() {
    CURRENT.with(|c| c.set(Current { shield_below: true, ..c.get() }));
}

/// Whether `task` (the one being polled) has a cancel to deliver here: a
/// request is pending and no shielded scope holds it back. The fast path
/// is the state word's one atomic load; the shield flag is read only when a
/// cancel is pending.
#[inline]
pub(crate) fn cancel_pending(task: RawTask) -> bool {
    task.state().load().has(crate::task::state::CANCEL) && !CURRENT.with(|c| c.get().shielded)
}

/// Whether the task being polled has a cancel its next checkpoint would
/// deliver (without delivering it): for operations that must not consume a
/// cancellation, such as a stream writer's immediate send.
#[inline]
pub(crate) fn current_cancel_pending() -> bool {
    current_task().is_some_and(cancel_pending)
}

/// How many cancellations have been delivered to `task` so far: a mark for
/// [`cancel_held_since`]. Loop thread.
#[inline]
pub(crate) fn cancel_mark(task: RawTask) -> u64 {
    // Never delivered one: the count is 0, no registry lookup (W9b).
    if !task.state().load().has(crate::task::state::DELIVERED) {
        return 0;
    }
    expect_running(|l| l.deliveries(task))
}

/// A cancellation delivered to `task` after `mark` that is still held
/// somewhere (typically: in the output a scope's body just returned). This
/// is how a scope asks whether its body "raised `CancelledError`" (token
/// liveness, see `task::cancel`). Loop thread.
pub(crate) fn cancel_held_since(task: RawTask, mark: u64) -> Option<Cancelled> {
    expect_running(|l| l.held_cancel_since(task, mark))
}

// ----- tasks -----------------------------------------------------------------

pub(crate) fn spawn_local<F>(
    future: F,
    name: Option<Cow<'static, str>>,
    eager: bool,
    location: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    expect_running(|local| {
        let (spawner, id) = local.spawner();
        let origin = Origin::new(location, name.map(Into::into));
        // SAFETY: `F` is 'static; three references: registry, queue, handle.
        let raw = RawTask::from_header(unsafe { raw::allocate(future, spawner, id, origin, 3) });
        // SAFETY: the three references just created are handed out once each.
        unsafe {
            local.adopt(TaskRef::from_raw(raw), TaskRef::from_raw(raw), eager);
            Task::from_raw(raw)
        }
    })
}

/// Requests a soft cancel of `task` from wherever we are.
pub(crate) fn cancel_task(task: RawTask, message: Option<Cow<'static, str>>) -> bool {
    if let Some(accepted) = with_local(task.owner(), |l| l.cancel_task(task, message.clone())) {
        return accepted;
    }
    // Whether the request is accepted is decided now, before it is posted:
    // once posted, the loop may deliver it and the task end cancelled before
    // this thread looks again, and a cancel that reports the task already
    // done must never come with a cancelled outcome (rule C8).
    let accepted = !task.is_complete();
    let task_ref = retain(task);
    post_to_owner(task, move || {
        with_running(|l| l.cancel_task(task_ref.raw(), message));
    });
    accepted
}

pub(crate) fn uncancel_task(task: RawTask) -> u32 {
    if let Some(n) = with_local(task.owner(), |l| l.uncancel_task(task)) {
        return n;
    }
    // As in `cancel_task`: read before the loop can act on the request.
    let remaining = task.cancel_requests().saturating_sub(1);
    let task_ref = retain(task);
    post_to_owner(task, move || {
        with_running(|l| l.uncancel_task(task_ref.raw()));
    });
    remaining
}

pub(crate) fn abort_task(task: RawTask) {
    let (_, must_schedule) = task.state().request(crate::task::state::ABORT);
    if must_schedule {
        // SAFETY: the transition added the queue's reference, which we hand
        // to the owner's scheduler (the owner and its vtable belong together).
        unsafe { (task.sched().schedule)(task.owner(), TaskRef::from_raw(task)) };
    }
}

pub(crate) fn add_done_callback(task: RawTask, callback: DoneCallback) -> Result<(), WrongThread> {
    with_local(task.owner(), |l| l.add_done_callback(task, callback)).ok_or(WrongThread)
}

/// A task reference for a closure sent to the task's loop.
fn retain(task: RawTask) -> TaskRef {
    task.state().ref_inc();
    // SAFETY: we just added the reference.
    unsafe { TaskRef::from_raw(task) }
}

/// Runs `f` on `task`'s loop at its next iteration (dropped unrun if that
/// loop has closed).
pub(crate) fn post_to(task: RawTask, f: impl FnOnce() + Send + 'static) {
    post_to_owner(task, f)
}

fn post_to_owner(task: RawTask, f: impl FnOnce() + Send + 'static) {
    // SAFETY: the owner pointer and its vtable belong together. A closed
    // loop refuses the closure; its tasks are complete by then, so there is
    // nothing left to cancel.
    unsafe { (task.sched().post)(task.owner(), Box::new(f)) };
}

/// The awaiting task's pending cancel, delivered at a checkpoint.
pub(crate) fn deliver_cancel(task: RawTask) -> Cancelled {
    expect_running(|l| l.deliver_cancel(task))
}

/// A task group's exit with failures, for its outer cancel (G5): requests
/// the cancel of `task` again, keeping its count, for the task's next
/// checkpoint — a body that returns the group's failures first ends with
/// them, as asyncio's task ends with the `ExceptionGroup` the group raises.
pub(crate) fn recancel_for_next_checkpoint(task: &crate::task::AnyTask) {
    task.uncancel();
    task.cancel();
    expect_running(|l| l.defer_cancel(task.raw()));
}

/// Takes the awaiting task's pending cancel to pass it on (C6).
pub(crate) fn forward_cancel(task: RawTask) -> Option<Cow<'static, str>> {
    expect_running(|l| l.forward_cancel(task))
}

/// Re-issues `cancelled` as a cancellation of the current task (asyncio:
/// awaiting a cancelled task raises `CancelledError` in the awaiter).
/// The token is handed over, not cloned, so that one nobody else holds can
/// become the task's own without a new allocation.
pub(crate) fn adopt_cancelled(cancelled: Cancelled) -> Cancelled {
    let Some(task) = current_task() else { return cancelled };
    let mut handed = Some(cancelled);
    let adopted = with_running(|l| l.adopt_cancelled(task, handed.take().expect("handed over once")));
    adopted.unwrap_or_else(|| handed.take().expect("not handed over: no running loop"))
}

/// If the current task has a pending cancel (not held back by a shield),
/// delivers it.
#[inline]
pub(crate) fn checkpoint() -> Result<(), Cancelled> {
    match current_task() {
        Some(task) if cancel_pending(task) => Err(deliver_cancel(task)),
        _ => Ok(()),
    }
}

pub(crate) fn report_unretrieved_panic(task: RawTask, panic: Panic) {
    report_for(task, ExceptionContext::unretrieved_panic(task, panic));
}

/// Reports a panic raised while `task`'s future or output was dropped
/// (`task::raw`'s drop paths): to the task's loop's handler if that loop
/// lives on this thread, else through the default handler.
pub(crate) fn report_drop_panic(task: RawTask, panic: Panic) {
    report_for(task, ExceptionContext::drop_panic(task, panic));
}

fn report_for(task: RawTask, context: ExceptionContext) {
    let mut context = Some(context);
    let reported = with_local(task.owner(), |l| l.report(context.take().expect("taken once")));
    if reported.is_none() {
        // Dropped on a thread without the task's loop: there is no handler
        // to reach synchronously, so use the default one.
        if let Some(context) = context {
            context.print_default();
        }
    }
}

/// `task`'s snapshot, if it is live and its loop lives on this thread.
pub(crate) fn task_snapshot(task: RawTask) -> Option<crate::task::TaskSnapshot> {
    with_local(task.owner(), |l| l.task_snapshot(task)).flatten()
}

pub(crate) fn timer_cancelled(id: LoopId, key: TimerKey) {
    with_loop(id, |l| l.timer_cancelled(key));
}

/// Called from a task that is not on its loop's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongThread;

impl std::fmt::Display for WrongThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("this operation must be called on the task's event loop thread")
    }
}

impl std::error::Error for WrongThread {}

// ----- public free functions -------------------------------------------------

/// Spawns `future` as a task on the running loop (asyncio's `create_task`).
///
/// The task first runs in a later loop iteration (rule T1) and is named
/// `Task-{id}`; use [`task::Builder`](crate::task::Builder) for a name or an
/// eager start. The future need not be `Send`: the loop is bound to its
/// thread. To spawn from another thread, use [`LoopHandle::spawn`].
///
/// # Panics
///
/// If no loop is running on this thread.
///
/// ```
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// # let lp = EventLoop::builder(ParkReactor::new()).build();
/// let out = lp.block_on(async {
///     let shared = std::rc::Rc::new(5); // not Send: fine on the loop's thread
///     let s = shared.clone();
///     corio_core::spawn(async move { *s * 2 }).await.unwrap()
/// });
/// assert_eq!(out.unwrap(), 10);
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_local(future, None, false, Location::caller())
}

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
pub(crate) fn reserve_timer() -> u64 {
    expect_running(|l| l.reserve_timer())
}

/// `call_at` in the tie order of a place taken with [`reserve_timer`].
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

/// The task being polled on this thread, if any (asyncio's `current_task()`).
pub fn current_task_handle() -> Option<crate::task::AnyTask> {
    current_task().map(task_handle)
}

/// An owned handle to a live task.
pub(crate) fn task_handle(raw: RawTask) -> crate::task::AnyTask {
    crate::task::AnyTask::from_ref(retain(raw))
}
