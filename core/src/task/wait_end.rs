//! [`AnyTask::wait`]: waiting for a task's end without its output, from
//! any number of places (asyncio's `await asyncio.wait([task])`).
//!
//! The output belongs to the `Task` handle, and the task's join waker to
//! it too; an observer waits through a done-callback instead, which the
//! task's loop runs when the task ends (posted to that loop when it lives
//! on another thread). The callback only wakes: the end itself is read from
//! the task's state word, so a wait that is polled after the end returns at
//! once, whatever the callback's timing.
//!
//! # Invariants
//!
//! * The callback is registered once, on the first poll that finds the task
//!   running; the waker it wakes is the one of the latest poll (replaced
//!   under the slot's lock).
//! * The wait is a checkpoint that does not touch the task: a cancel of the
//!   awaiting task ends the wait with `Err(Cancelled)` and the task runs on,
//!   as asyncio's `wait` leaves the tasks it waits for alone.

use super::AnyTask;
use super::{current, host};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::Cancelled;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// The future of [`AnyTask::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct WaitEnd {
    task: AnyTask,
    /// The waker the done-callback wakes, once registered.
    slot: Option<Arc<Mutex<Option<Waker>>>>,
}

impl WaitEnd {
    pub(crate) fn new(task: AnyTask) -> WaitEnd {
        WaitEnd { task, slot: None }
    }

    /// Registers the done-callback that wakes `slot`'s waker: directly on
    /// this thread's loop of the task, else posted to the task's loop.
    fn register(&self, slot: Arc<Mutex<Option<Waker>>>) {
        let callback = move |_: &super::TaskInfo| {
            let waker = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(waker) = waker {
                waker.wake();
            }
        };
        if self.task.add_done_callback(callback.clone()).is_err() {
            // Another thread's loop: register it there. A closed loop
            // refuses the post, and its tasks have ended.
            let task = self.task.clone();
            host::post_to(task.raw(), move || {
                let _ = task.add_done_callback(callback);
            });
        }
    }
}

impl Future for WaitEnd {
    type Output = Result<(), Cancelled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        current::checkpoint()?;
        if self.task.done() {
            return Poll::Ready(Ok(()));
        }
        match &self.slot {
            Some(slot) => *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone()),
            None => {
                let slot = Arc::new(Mutex::new(Some(cx.waker().clone())));
                self.register(slot.clone());
                self.slot = Some(slot);
            }
        }
        // Ended while registering (another thread): the callback may have
        // found the slot before it was filled.
        if self.task.done() {
            return Poll::Ready(Ok(()));
        }
        suspend_at(WaitKind::Join, Some(self.task.location()));
        Poll::Pending
    }
}

impl fmt::Debug for WaitEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitEnd").field("task", &self.task).finish()
    }
}
