//! Task wakers: a raw vtable over the task header, monomorphized per host
//! type (`host.rs`) so that a wake calls the host's `schedule` directly.
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

use super::current;
use super::host::Host;
use super::owners;
use super::raw::{Header, RawTask, TaskRef};
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable};

/// The waker vtable of tasks hosted by `H` (placed in its
/// [`SchedVTable`](super::host::SchedVTable)).
pub(crate) const fn vtable<H: Host>() -> RawWakerVTable {
    RawWakerVTable::new(clone, wake::<H>, wake_by_ref::<H>, drop_waker)
}

fn raw(ptr: *const ()) -> RawTask {
    // SAFETY (for every caller): a waker's data pointer is a task header.
    RawTask::from_header(unsafe { NonNull::new_unchecked(ptr as *mut Header) })
}

unsafe fn clone(ptr: *const ()) -> RawWaker {
    let task = raw(ptr);
    task.state().ref_inc();
    // The vtable published in the owner table, not `&VTables::<H>::SCHED`:
    // a constant's address may differ between uses, and wakers are told
    // apart by their vtable's address (`will_wake`, `owns_waker`), so every
    // waker of a task must carry the one address its host published.
    RawWaker::new(ptr, &task.sched().waker)
}

unsafe fn wake<H: Host>(ptr: *const ()) {
    // SAFETY: the waker owns a reference, which `drop_waker` releases after.
    unsafe {
        wake_by_ref::<H>(ptr);
        drop_waker(ptr);
    }
}

unsafe fn wake_by_ref<H: Host>(ptr: *const ()) {
    let task = raw(ptr);
    // Woken by its own poll (W1): a note to the loop, no atomic.
    if current::note_own_wake(task) {
        return;
    }
    if let Some(before) = task.state().transition_to_notified() {
        // SAFETY: the owner of a task is the `H` whose vtable made this waker
        // (the task holds a strong count on it), and the transition just
        // added the reference we hand over.
        unsafe {
            let owner = &*(owners::owner(before.owner_index()) as *const H);
            owner.schedule(TaskRef::from_raw(task));
        }
    }
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: the waker owns the reference it drops.
    unsafe { raw(ptr).drop_ref() }
}
