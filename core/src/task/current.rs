//! The task this thread is polling, and what a poll records about it.
//!
//! One thread-local cell names the task being polled (asyncio's
//! `current_task()`), the cancel scopes its poll is inside, where it
//! recorded a suspension, and whether it asked to run again. The loop sets
//! it around each step ([`TaskGuard`]); everything below the loop reads it
//! without knowing which loop runs: checkpoints deliver a cancel through the
//! task's host (`host.rs`), waits record where they suspend, a yield notes
//! that the task wants to run again.
//!
//! # Invariants
//!
//! * Only the task's own thread can see it as current: a task is polled on
//!   one thread at a time, and an eager spawn's inner poll makes the child
//!   current (and the guard puts the parent back). So a note about the
//!   current task (a yield, a suspension) is never lost to another thread.
//! * Entering a task is one thread-local swap of one `Copy` cell; a
//!   checkpoint with no cancel pending is one atomic load of the state word.
//! * A task starts outside every cancel scope, also when it runs inside
//!   another task's poll.

use super::checkpoint::Suspension;
use super::host::host_of;
use super::raw::{RawTask, TaskRef};
use super::state::{CANCEL, DELIVERED};
use super::{AnyTask, Cancelled};
use crate::loom::corio_thread_local;
use std::borrow::Cow;
use std::cell::Cell;
use std::task::Waker;

corio_thread_local! {
    /// The task being polled, and the cancel scopes its poll is inside.
    static CURRENT: Cell<Current> = Cell::new(Current::NONE);
}

/// What this thread is polling: a task, and where inside its cancel scopes
/// (`structured::cancel_scope`). One `Copy` cell, so entering a task is one
/// thread-local swap.
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

impl Drop for TaskGuard {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// The task being polled on this thread, if any.
#[inline]
pub(crate) fn current_task() -> Option<RawTask> {
    CURRENT.with(|c| c.get().task)
}

/// The task being polled on this thread, if any (asyncio's `current_task()`).
///
/// ```
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// # let lp = EventLoop::new(ParkReactor::new());
/// assert!(corio_core::current_task().is_none()); // not inside a task
/// lp.block_on(async {
///     assert_eq!(corio_core::current_task().unwrap().name(), "Task-1");
/// })
/// .unwrap();
/// ```
pub fn current_task_handle() -> Option<AnyTask> {
    current_task().map(task_handle)
}

/// An owned handle to a live task.
pub(crate) fn task_handle(raw: RawTask) -> AnyTask {
    raw.state().ref_inc();
    // SAFETY: we just added the reference the handle owns.
    AnyTask::from_ref(unsafe { TaskRef::from_raw(raw) })
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
/// Only the task's own thread can see it as current (module invariants),
/// so a note is never lost to another thread or another task.
#[inline]
pub(crate) fn note_own_wake(task: RawTask) -> bool {
    CURRENT.with(|c| {
        let current = c.get();
        let own = current.task == Some(task);
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

// ----- cancellation at checkpoints ----------------------------------------------

/// Whether `task` (the one being polled) has a cancel to deliver here: a
/// request is pending and no shielded scope holds it back. The fast path
/// is the state word's one atomic load; the shield flag is read only when a
/// cancel is pending.
#[inline]
pub(crate) fn cancel_pending(task: RawTask) -> bool {
    task.state().load().has(CANCEL) && !CURRENT.with(|c| c.get().shielded)
}

/// Whether the task being polled has a cancel its next checkpoint would
/// deliver (without delivering it): for operations that must not consume a
/// cancellation, such as a stream writer's immediate send.
#[inline]
pub(crate) fn current_cancel_pending() -> bool {
    current_task().is_some_and(cancel_pending)
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

/// The awaiting task's pending cancel, delivered at a checkpoint.
pub(crate) fn deliver_cancel(task: RawTask) -> Cancelled {
    host_of(&task).deliver_cancel(task)
}

/// Takes the awaiting task's pending cancel to pass it on (C6).
pub(crate) fn forward_cancel(task: RawTask) -> Option<Cow<'static, str>> {
    host_of(&task).forward_cancel(task)
}

/// Re-issues `cancelled` as a cancellation of the current task (asyncio:
/// awaiting a cancelled task raises `CancelledError` in the awaiter).
/// The token is handed over, not cloned, so that one nobody else holds can
/// become the task's own without a new allocation. Outside a task it is
/// returned as it is.
pub(crate) fn adopt_cancelled(cancelled: Cancelled) -> Cancelled {
    match current_task() {
        Some(task) => host_of(&task).adopt_cancelled(task, cancelled),
        None => cancelled,
    }
}

/// How many cancellations have been delivered to `task` so far: a mark for
/// [`cancel_held_since`]. On the task's thread.
#[inline]
pub(crate) fn cancel_mark(task: RawTask) -> u64 {
    // Never delivered one: the count is 0, no lookup (W9b).
    if !task.state().load().has(DELIVERED) {
        return 0;
    }
    host_of(&task).deliveries(task)
}

/// A cancellation delivered to `task` after `mark` that is still held
/// somewhere (typically: in the output a scope's body just returned). This
/// is how a scope asks whether its body "raised `CancelledError`" (token
/// liveness, see `task::cancel`). On the task's thread.
pub(crate) fn cancel_held_since(task: RawTask, mark: u64) -> Option<Cancelled> {
    host_of(&task).held_cancel_since(task, mark)
}
