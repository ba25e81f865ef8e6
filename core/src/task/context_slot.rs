//! A task's context store, kept in its header in one word, without its type.
//!
//! The loop swaps a task's store into its current-context slot for every
//! step and out again after. Keeping the store in the header, next to the
//! state word the step touches anyway, makes a step independent of the
//! loop's task registry: no lookup, no borrow, no second cache line.
//!
//! # Invariants
//!
//! * Only the owning loop's thread touches the slot, and always with the
//!   loop's store type `X`: the registry puts the store when it registers
//!   the task and takes it when it removes the task, and the loop swaps it
//!   in between. So the slot holds an `X` exactly while the task is
//!   registered, and a freed task never holds one (nothing else drops it).
//! * An `X` that fits a word (size and alignment) is kept in place; a larger
//!   one is boxed. The stores corio ships fit (a test checks).

use crate::loom::UnsafeCell;
use std::mem::{align_of, size_of, MaybeUninit};

/// See the module documentation.
pub(crate) struct ContextSlot(UnsafeCell<MaybeUninit<usize>>);

/// Whether an `X` is kept in place (else boxed).
pub(crate) const fn fits<X>() -> bool {
    size_of::<X>() <= size_of::<usize>() && align_of::<X>() <= align_of::<usize>()
}

impl ContextSlot {
    pub(crate) fn empty() -> ContextSlot {
        ContextSlot(UnsafeCell::new(MaybeUninit::uninit()))
    }

    /// Stores `store` in the empty slot.
    ///
    /// # Safety
    ///
    /// The owning loop's thread; the slot is empty (the task is not
    /// registered yet).
    pub(crate) unsafe fn put<X>(&self, store: X) {
        self.0.with_mut(|word| {
            // SAFETY: the word is ours (loop thread) and empty; `fits`
            // guarantees an in-place `X` has room and alignment.
            unsafe {
                if fits::<X>() {
                    word.cast::<X>().write(store)
                } else {
                    word.cast::<*mut X>().write(Box::into_raw(Box::new(store)))
                }
            }
        })
    }

    /// Takes the store out, leaving the slot empty.
    ///
    /// # Safety
    ///
    /// The owning loop's thread; the slot holds an `X` (put, not yet taken).
    pub(crate) unsafe fn take<X>(&self) -> X {
        self.0.with_mut(|word| {
            // SAFETY: per the caller, the word holds an `X` in the form
            // `put` chose for it, which is read out once.
            unsafe {
                if fits::<X>() {
                    word.cast::<X>().read()
                } else {
                    *Box::from_raw(word.cast::<*mut X>().read())
                }
            }
        })
    }

    /// Exchanges the held store with `other`.
    ///
    /// # Safety
    ///
    /// As for [`take`](Self::take).
    #[inline]
    pub(crate) unsafe fn swap<X>(&self, other: &mut X) {
        self.0.with_mut(|word| {
            // SAFETY: as in `take`; the store stays in the form `put` chose.
            unsafe {
                if fits::<X>() {
                    std::ptr::swap(word.cast::<X>(), other)
                } else {
                    std::ptr::swap(word.cast::<*mut X>().read(), other)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ContextSlot;

    #[test]
    fn a_store_too_big_for_a_word_round_trips_through_a_box() {
        let slot = ContextSlot::empty();
        // SAFETY: one thread; put, swap, take in order, one type.
        unsafe {
            slot.put([1u64, 2, 3]);
            let mut other = [4u64, 5, 6];
            slot.swap(&mut other);
            assert_eq!(other, [1, 2, 3]);
            assert_eq!(slot.take::<[u64; 3]>(), [4, 5, 6]);
        }
        // SAFETY: as above, with a store that fits.
        unsafe {
            slot.put(7u32);
            let mut other = 8u32;
            slot.swap(&mut other);
            assert_eq!((other, slot.take::<u32>()), (7, 8));
        }
    }
}
