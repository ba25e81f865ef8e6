//! Task wakers: a raw vtable over the task header, monomorphized per loop
//! type so that a wake calls the loop's `schedule` directly.
//!
//! # Invariants
//!
//! * A `Waker` owns one task reference; `clone` adds one, `drop` removes one,
//!   `wake` consumes one. The waker handed to a poll borrows the reference of
//!   the step that polls (it is never dropped), so a poll that does not clone
//!   its waker costs no reference-count traffic.
//! * A wake pushes the task to a queue only on the transition to
//!   `SCHEDULED`, with a fresh reference for the queue entry; `schedule` owns
//!   that reference from then on. Waking a running, scheduled or complete task
//!   changes at most a bit.
//! * A wake from inside the task's own poll, on its thread, changes no bit:
//!   it is a note to the loop (`current::note_own_wake`), which re-queues
//!   the task when the poll returns `Pending`, as if `SCHEDULED` had been
//!   set while it ran.
//! * Wakers are `Send + Sync`: `schedule` itself decides between the loop's
//!   own queue (same thread, no atomics beyond the state word) and the
//!   cross-thread queue.

use super::owners;
use super::raw::{Header, RawTask, TaskRef};
use crate::runtime::current;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable};

/// The loop side of a task: how to queue it and how to let go of the loop.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// Queues `task`, taking ownership of its reference. If the loop can no
    /// longer run it (closed), the reference is simply dropped.
    fn schedule(&self, task: TaskRef);

    /// Runs `f` on the loop's thread at its next iteration; `false` if the
    /// loop is closed.
    fn post(&self, f: Box<dyn FnOnce() + Send>) -> bool;
}

/// Operations that depend on the loop's type. Each takes the task's owner
/// pointer, which must be the `S` this table was made for.
pub(crate) struct SchedVTable {
    pub(crate) waker: RawWakerVTable,
    /// Queues a task (see [`Schedule::schedule`]).
    pub(crate) schedule: unsafe fn(*const (), TaskRef),
    /// Runs a closure on the loop's thread at its next iteration; `false` if
    /// the loop is closed.
    pub(crate) post: unsafe fn(*const (), Box<dyn FnOnce() + Send>) -> bool,
    /// Drops the task's strong count of its owner (`Arc<S>`).
    pub(crate) release_owner: unsafe fn(*const ()),
}

/// The vtables for loop type `S`.
pub(crate) struct VTables<S>(PhantomData<S>);

impl<S: Schedule> VTables<S> {
    pub(crate) const SCHED: SchedVTable = SchedVTable {
        waker: RawWakerVTable::new(clone::<S>, wake::<S>, wake_by_ref::<S>, drop_waker),
        schedule: schedule::<S>,
        post: post::<S>,
        release_owner: release_owner::<S>,
    };

    pub(crate) fn get() -> &'static SchedVTable {
        &Self::SCHED
    }
}

fn raw(ptr: *const ()) -> RawTask {
    // SAFETY (for every caller): a waker's data pointer is a task header.
    RawTask::from_header(unsafe { NonNull::new_unchecked(ptr as *mut Header) })
}

unsafe fn clone<S: Schedule>(ptr: *const ()) -> RawWaker {
    raw(ptr).state().ref_inc();
    RawWaker::new(ptr, &VTables::<S>::SCHED.waker)
}

unsafe fn wake<S: Schedule>(ptr: *const ()) {
    // SAFETY: the waker owns a reference, which `drop_waker` releases after.
    unsafe {
        wake_by_ref::<S>(ptr);
        drop_waker(ptr);
    }
}

unsafe fn wake_by_ref<S: Schedule>(ptr: *const ()) {
    let task = raw(ptr);
    // Woken by its own poll (W1): a note to the loop, no atomic.
    if current::note_own_wake(task) {
        return;
    }
    if let Some(before) = task.state().transition_to_notified() {
        // SAFETY: the owner of a task is the `S` whose vtable made this waker
        // (the task holds a strong count on it), and the transition just
        // added the reference we hand over.
        unsafe {
            let owner = &*(owners::owner(before.owner_index()) as *const S);
            owner.schedule(TaskRef::from_raw(task));
        }
    }
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: the waker owns the reference it drops.
    unsafe { raw(ptr).drop_ref() }
}

unsafe fn schedule<S: Schedule>(owner: *const (), task: TaskRef) {
    // SAFETY: per `SchedVTable`, `owner` is an `S` kept alive by the task.
    unsafe { &*(owner as *const S) }.schedule(task)
}

unsafe fn post<S: Schedule>(owner: *const (), f: Box<dyn FnOnce() + Send>) -> bool {
    // SAFETY: as in `schedule`.
    unsafe { &*(owner as *const S) }.post(f)
}

unsafe fn release_owner<S: Schedule>(owner: *const ()) {
    // SAFETY: the task was given one strong count (`Arc::into_raw`).
    drop(unsafe { crate::loom::Arc::from_raw(owner as *const S) });
}
