//! The loops that own tasks, by index: a task names its loop with 16 bits of
//! its state word instead of a pointer in its header.
//!
//! # Invariants
//!
//! * An index names one loop's shared state from [`OwnerIndex::claim`] until
//!   that state is dropped (the `OwnerIndex` is one of its fields). Only then
//!   is the index free for a later loop.
//! * Every task holds a strong count of its loop's shared state, so while a
//!   task exists its index names its own loop: a lookup never sees a
//!   reused or cleared entry.
//! * The entry is published before the loop can spawn (`Builder::build`
//!   publishes right after allocating the shared state), and every thread
//!   that reaches a task got it through a chain that starts at its spawn,
//!   so a lookup's `Acquire` load sees the pointer.
//! * At most [`CAPACITY`] loops are alive at once. Claiming beyond that is
//!   an error (`Builder::try_build` returns it), not a reuse.
//!
//! A wake loads the entry where it loaded the header's pointer before (the
//! index comes with the state word the wake changes anyway). The entry also
//! keeps the loop's schedule vtable, so finding it costs no second
//! dependent load. The table is 1 MiB of zeroed static memory, of which a
//! process touches one page per 256 live loops.

use super::host::SchedVTable;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

/// Bits of a task's state word that hold its owner's index.
pub(crate) const BITS: u32 = 16;

/// How many loops can be alive at once.
pub(crate) const CAPACITY: usize = 1 << BITS;

/// Written at a loop's creation and drop; read on every wake. Not one of
/// loom's atomics: it is written before the loop's first task exists, so no
/// interleaving of a model can reach it unordered.
static TABLE: [Entry; CAPACITY] =
    [const { Entry { owner: AtomicPtr::new(ptr::null_mut()), sched: AtomicPtr::new(ptr::null_mut()) } }; CAPACITY];

/// A loop's shared state, and the vtable its tasks schedule through (kept
/// beside it, not read through it, to save a dependent load).
struct Entry {
    owner: AtomicPtr<()>,
    sched: AtomicPtr<SchedVTable>,
}

/// Indices never handed out start at `next`; released ones wait in `free`.
/// Taken only when a loop is built or dropped.
static FREE: Mutex<FreeIndices> = Mutex::new(FreeIndices { next: 0, free: Vec::new() });

struct FreeIndices {
    next: usize,
    free: Vec<u16>,
}

impl FreeIndices {
    fn take(&mut self) -> Result<u16, TooManyLoops> {
        if let Some(index) = self.free.pop() {
            return Ok(index);
        }
        let index = u16::try_from(self.next).map_err(|_| TooManyLoops)?;
        self.next += 1;
        Ok(index)
    }
}

/// 65 536 event loops are alive in this process, the most whose tasks can
/// name them (see
/// `runtime::Builder::try_build`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyLoops;

impl std::fmt::Display for TooManyLoops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{CAPACITY} event loops are already alive in this process")
    }
}

impl std::error::Error for TooManyLoops {}

/// A loop's index in the table, held by its shared state; dropping it
/// clears the entry and frees the index.
#[derive(Debug)]
pub(crate) struct OwnerIndex(u16);

impl OwnerIndex {
    /// Reserves an index (its entry still empty; see [`publish`](Self::publish)).
    pub(crate) fn claim() -> Result<OwnerIndex, TooManyLoops> {
        FREE.lock().unwrap_or_else(|e| e.into_inner()).take().map(OwnerIndex)
    }

    /// Points the entry at the loop's shared state and its vtable, before
    /// the loop's first spawn.
    pub(crate) fn publish(&self, owner: *const (), sched: &'static SchedVTable) {
        let entry = &TABLE[usize::from(self.0)];
        entry.sched.store(ptr::from_ref(sched).cast_mut(), Ordering::Release);
        entry.owner.store(owner.cast_mut(), Ordering::Release);
    }

    pub(crate) fn get(&self) -> u16 {
        self.0
    }
}

impl Drop for OwnerIndex {
    fn drop(&mut self) {
        let entry = &TABLE[usize::from(self.0)];
        entry.owner.store(ptr::null_mut(), Ordering::Release);
        entry.sched.store(ptr::null_mut(), Ordering::Release);
        FREE.lock().unwrap_or_else(|e| e.into_inner()).free.push(self.0);
    }
}

/// The shared state of the loop at `index`.
///
/// Only for the index of a live task (see the module invariants): then the
/// pointer is that task's owner, never null.
#[inline]
pub(crate) fn owner(index: u16) -> *const () {
    let owner = TABLE[usize::from(index)].owner.load(Ordering::Acquire);
    debug_assert!(!owner.is_null(), "a task's loop index {index} names no loop");
    owner
}

/// The schedule vtable of the loop at `index`; the same conditions as
/// [`owner`].
#[inline]
pub(crate) fn sched(index: u16) -> &'static SchedVTable {
    let sched = TABLE[usize::from(index)].sched.load(Ordering::Acquire);
    // SAFETY: the index is a live task's, so its entry was published with a
    // `&'static SchedVTable` and is not cleared while the task lives.
    unsafe { &*sched }
}

#[cfg(all(test, not(corio_loom)))]
mod tests {
    use super::{owner, sched, FreeIndices, OwnerIndex, TooManyLoops, CAPACITY};
    use crate::task::host::{DoneCallback, Host, SchedVTable, VTables, WrongThread};
    use crate::task::raw::{RawTask, TaskRef};
    use crate::task::{Cancelled, Panic, TaskSnapshot};
    use std::borrow::Cow;

    /// Two host types that are never called: only their vtables' addresses
    /// matter here.
    struct TestHost<const N: u8>;
    impl<const N: u8> Host for TestHost<N> {
        fn schedule(&self, _: TaskRef) {}
        fn cancel(&self, _: RawTask, _: Option<Cow<'static, str>>) -> bool {
            unreachable!()
        }
        fn uncancel(&self, _: RawTask) -> u32 {
            unreachable!()
        }
        fn deliver_cancel(&self, _: RawTask) -> Cancelled {
            unreachable!()
        }
        fn forward_cancel(&self, _: RawTask) -> Option<Cow<'static, str>> {
            unreachable!()
        }
        fn adopt_cancelled(&self, _: RawTask, _: Cancelled) -> Cancelled {
            unreachable!()
        }
        fn deliveries(&self, _: RawTask) -> u64 {
            unreachable!()
        }
        fn held_cancel_since(&self, _: RawTask, _: u64) -> Option<Cancelled> {
            unreachable!()
        }
        fn add_done_callback(&self, _: RawTask, _: DoneCallback) -> Result<(), WrongThread> {
            unreachable!()
        }
        fn report_unretrieved_panic(&self, _: RawTask, _: Panic) {
            unreachable!()
        }
        fn snapshot(&self, _: RawTask) -> Option<TaskSnapshot> {
            unreachable!()
        }
        fn defer_cancel(&self, _: RawTask) {
            unreachable!()
        }
        fn report_drop_panic(&self, _: RawTask, _: crate::task::Panic) {
            unreachable!()
        }
        fn post(&self, _: Box<dyn FnOnce() + Send>) {
            unreachable!()
        }
    }
    #[test]
    fn an_index_names_its_loop_while_claimed() {
        let (vtable_a, vtable_b) = (VTables::<TestHost<0>>::get(), VTables::<TestHost<1>>::get());
        let (loop_a, loop_b) = (0xa0_usize as *const (), 0xb0_usize as *const ());
        let a = OwnerIndex::claim().expect("an index is free");
        let b = OwnerIndex::claim().expect("an index is free");
        assert_ne!(a.get(), b.get());
        a.publish(loop_a, vtable_a);
        b.publish(loop_b, vtable_b);
        assert_eq!((owner(a.get()), owner(b.get())), (loop_a, loop_b));
        let same = |x: &SchedVTable, y: &SchedVTable| std::ptr::eq(x, y);
        assert!(same(sched(a.get()), vtable_a) && same(sched(b.get()), vtable_b));
    }

    #[test]
    fn indices_are_reused_once_freed_and_run_out_beyond_capacity() {
        let mut indices = FreeIndices { next: 0, free: Vec::new() };
        let all: Vec<u16> = (0..CAPACITY).map(|_| indices.take().expect("below capacity")).collect();
        assert_eq!(all.first().zip(all.last()), Some((&0, &u16::MAX)));
        assert_eq!(indices.take(), Err(TooManyLoops));
        indices.free.push(7);
        assert_eq!(indices.take(), Ok(7));
        assert_eq!(indices.take(), Err(TooManyLoops));
    }
}
