//! The join-waker slot: whoever waits for a task's end, in one word.
//!
//! A joiner is nearly always another corio task polling the handle with its
//! own waker, and such a waker is nothing but the joiner's header pointer
//! plus a vtable that header already names (through its owner). So the slot
//! keeps the pointer alone, and rebuilds the waker when it is used; any
//! other waker is boxed. The header is one word smaller than with an
//! `Option<Waker>` (two words), for every task.
//!
//! # Invariants
//!
//! * The word is 0 (empty), a task header pointer (low bit clear), or a
//!   `Box<Waker>` pointer with the low bit set. Both are at least 8-aligned.
//! * A stored task pointer owns one reference of that task, as the cloned
//!   waker it stands for would; a stored box owns its waker. Replacing or
//!   dropping the slot releases them.
//! * Who may touch the slot when is the join protocol's business
//!   (`state.rs`, loom model 1); this type only holds the word.

use super::raw::{Header, RawTask};
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, Waker};

const BOXED: usize = 1;

/// See the module documentation.
pub(crate) struct JoinWaker(usize);

/// What the word holds.
enum Held {
    Empty,
    Task(RawTask),
    Boxed(NonNull<Waker>),
}

impl JoinWaker {
    pub(crate) const fn empty() -> JoinWaker {
        JoinWaker(0)
    }

    fn held(&self) -> Held {
        if self.0 == 0 {
            Held::Empty
        } else if self.0 & BOXED == 0 {
            // SAFETY: a non-zero untagged word is a live header (invariants).
            Held::Task(RawTask::from_header(unsafe { NonNull::new_unchecked(self.0 as *mut Header) }))
        } else {
            // SAFETY: a tagged word is a live box with the tag added.
            Held::Boxed(unsafe { NonNull::new_unchecked((self.0 & !BOXED) as *mut Waker) })
        }
    }

    /// Stores a clone of `waker`, dropping what was held. `joiner` is the
    /// task being polled, if any: when `waker` is its own, only its header
    /// pointer is kept.
    pub(crate) fn set(&mut self, waker: &Waker, joiner: Option<RawTask>) {
        let word = match joiner {
            Some(task) if task.owns_waker(waker) => {
                // The reference a waker clone would have taken.
                task.state().ref_inc();
                task.as_ptr() as usize
            }
            _ => Box::into_raw(Box::new(waker.clone())) as usize | BOXED,
        };
        drop(std::mem::replace(self, JoinWaker(word)));
    }

    /// Drops what is held, leaving the slot empty.
    pub(crate) fn clear(&mut self) {
        drop(std::mem::replace(self, JoinWaker::empty()));
    }

    /// Runs `f` with the held waker, if any.
    pub(crate) fn with<R>(&self, f: impl FnOnce(Option<&Waker>) -> R) -> R {
        match self.held() {
            Held::Empty => f(None),
            Held::Task(task) => {
                let raw = RawWaker::new(task.as_ptr(), &task.sched().waker);
                // SAFETY: the vtable is the one the task's own wakers use, and
                // the waker is never dropped (ManuallyDrop): it borrows the
                // reference the slot holds.
                let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
                f(Some(&waker))
            }
            // SAFETY: the box lives until the slot lets go of it.
            Held::Boxed(waker) => f(Some(unsafe { waker.as_ref() })),
        }
    }
}

impl Drop for JoinWaker {
    fn drop(&mut self) {
        match self.held() {
            Held::Empty => {}
            // SAFETY: the slot owned one reference of the task (invariants).
            Held::Task(task) => unsafe { task.drop_ref() },
            // SAFETY: the slot owned the box (invariants).
            Held::Boxed(waker) => drop(unsafe { Box::from_raw(waker.as_ptr()) }),
        }
    }
}
