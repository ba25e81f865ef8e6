//! A run queue of a pool's tasks that other loops can steal from.
//!
//! # Invariants
//!
//! * Every entry owns one task reference: the queue reference the task's
//!   state word gave when it was scheduled (or the step's, for a task that
//!   yielded or was just spawned).
//! * `len` is the number of entries, updated under the mutex with `SeqCst`:
//!   a loop going idle reads it after announcing itself idle, and a pusher
//!   reads the idle set after updating it (`idle.rs`), so one of the two
//!   sees the other.
//! * A steal takes the older half (rounded down: a lone task stays for its
//!   owner, which is about to run it; the loop that woke a task keeps it)
//!   from the front, the end the owner pops from: the tasks that have waited
//!   longest move, and a thief never holds two queues' locks at once. The
//!   injection queue has no owner: from it a taker takes half rounded up.

use crate::loom::{AtomicUsize, Mutex, Ordering};
use crate::task::raw::TaskRef;
use std::collections::VecDeque;

pub(crate) struct RunQueue {
    tasks: Mutex<VecDeque<TaskRef>>,
    len: AtomicUsize,
}

impl RunQueue {
    pub(crate) fn new() -> RunQueue {
        RunQueue { tasks: Mutex::new(VecDeque::new()), len: AtomicUsize::new(0) }
    }

    fn lock(&self) -> crate::loom::MutexGuard<'_, VecDeque<TaskRef>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `task` at the back; returns the new length.
    pub(crate) fn push(&self, task: TaskRef) -> usize {
        let mut tasks = self.lock();
        tasks.push_back(task);
        let len = tasks.len();
        self.len.store(len, Ordering::SeqCst);
        len
    }

    /// Takes the task at the front.
    pub(crate) fn pop(&self) -> Option<TaskRef> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut tasks = self.lock();
        let task = tasks.pop_front();
        self.len.store(tasks.len(), Ordering::SeqCst);
        task
    }

    /// Moves the older half of the entries into `into`: rounded down from a
    /// loop's queue (`leave_one`), up from the injection queue.
    pub(crate) fn steal_half(&self, into: &mut Vec<TaskRef>, leave_one: bool) {
        let least = if leave_one { 2 } else { 1 };
        if self.len.load(Ordering::Relaxed) < least {
            return;
        }
        let mut tasks = self.lock();
        let take = if leave_one { tasks.len() / 2 } else { tasks.len().div_ceil(2) };
        into.extend(tasks.drain(..take));
        self.len.store(tasks.len(), Ordering::SeqCst);
    }

    /// Takes every entry (closing the pool).
    pub(crate) fn drain(&self) -> Vec<TaskRef> {
        let mut tasks = self.lock();
        self.len.store(0, Ordering::SeqCst);
        tasks.drain(..).collect()
    }

    /// How many entries there are (exact under the lock, a hint outside it).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::SeqCst)
    }
}
