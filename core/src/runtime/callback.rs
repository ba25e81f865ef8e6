//! Callbacks (`call_soon`, `call_later`) and their cancellable handles.
//!
//! A callback is one allocation: the closure plus a cancelled flag, shared
//! between the ready queue (or timer queue) and the user's [`Handle`]. A
//! cancelled callback stays where it is queued and is skipped when its turn
//! comes, as asyncio's `Handle._cancelled` is.

use super::timers::TimerKey;
use crate::context::Context;
use crate::task::raw::TaskRef;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Runnable<crate::context::CowContext>>() == 24);

/// Callbacks in the ready queue, each with the context it runs in, by index:
/// a slab whose slots are reused, so queueing a callback allocates nothing
/// once the loop has warmed up.
pub(crate) struct QueuedCallbacks<X> {
    slots: Vec<Option<(CallbackRef, Context<X>)>>,
    free: Vec<u32>,
}

impl<X> QueuedCallbacks<X> {
    pub(crate) fn new() -> Self {
        QueuedCallbacks { slots: Vec::new(), free: Vec::new() }
    }

    /// Stores a callback, returning the ready queue's entry for it.
    #[inline]
    pub(crate) fn insert(&mut self, callback: CallbackRef, context: Context<X>) -> Runnable<X> {
        let entry = Some((callback, context));
        let index = match self.free.pop() {
            Some(index) => {
                self.slots[index as usize] = entry;
                index
            }
            None => {
                self.slots.push(entry);
                u32::try_from(self.slots.len() - 1).expect("more than 2^32 queued callbacks")
            }
        };
        Runnable::Callback(index, PhantomData)
    }

    /// Takes the callback a ready-queue entry names.
    #[inline]
    pub(crate) fn take(&mut self, index: u32) -> Option<(CallbackRef, Context<X>)> {
        let taken = self.slots.get_mut(index as usize)?.take();
        if taken.is_some() {
            self.free.push(index);
        }
        taken
    }

    /// Removes every callback (loop teardown).
    pub(crate) fn clear(&mut self) -> Vec<Option<(CallbackRef, Context<X>)>> {
        self.free.clear();
        std::mem::take(&mut self.slots)
    }
}

/// A scheduled closure, type-erased.
pub(crate) trait Callback {
    /// Runs the closure if it has not run and was not cancelled.
    fn run(&self);
    fn cancel(&self);
    fn is_cancelled(&self) -> bool;
}

/// A callback scheduled on the loop's own thread.
struct LocalCallback<F> {
    cancelled: Cell<bool>,
    callback: Cell<Option<F>>,
}

impl<F: FnOnce()> Callback for LocalCallback<F> {
    fn run(&self) {
        if !self.cancelled.get() {
            if let Some(f) = self.callback.take() {
                f();
            }
        }
    }

    fn cancel(&self) {
        self.cancelled.set(true);
        // Drop the closure now, as asyncio drops the handle's references.
        drop(self.callback.take());
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }
}

/// A callback scheduled from another thread (`call_soon_threadsafe`).
struct SharedCallback<F> {
    cancelled: AtomicBool,
    /// Taken once, on the loop's thread; a `Mutex` because the handle that
    /// cancels it may be on another thread. Off every hot path.
    callback: Mutex<Option<F>>,
}

impl<F: FnOnce() + Send> Callback for SharedCallback<F> {
    fn run(&self) {
        if !self.cancelled.load(Ordering::Acquire) {
            let f = self.callback.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(f) = f {
                f();
            }
        }
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        let f = self.callback.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(f);
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

/// A reference to a scheduled callback.
#[derive(Clone)]
pub(crate) enum CallbackRef {
    Local(Rc<dyn Callback>),
    Shared(Arc<dyn Callback + Send + Sync>),
}

impl CallbackRef {
    pub(crate) fn local<F: FnOnce() + 'static>(f: F) -> CallbackRef {
        CallbackRef::Local(Rc::new(LocalCallback { cancelled: Cell::new(false), callback: Cell::new(Some(f)) }))
    }

    pub(crate) fn shared<F: FnOnce() + Send + 'static>(f: F) -> CallbackRef {
        CallbackRef::Shared(Arc::new(SharedCallback {
            cancelled: AtomicBool::new(false),
            callback: Mutex::new(Some(f)),
        }))
    }

    fn get(&self) -> &dyn Callback {
        match self {
            CallbackRef::Local(cb) => &**cb,
            CallbackRef::Shared(cb) => &**cb,
        }
    }

    pub(crate) fn run(&self) {
        self.get().run()
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.get().is_cancelled()
    }
}

/// One entry of a ready queue: 24 bytes, the size of the queue's hottest
/// path. A queued callback (three words with its context) waits in the
/// loop's [`QueuedCallbacks`] and the queue holds its index.
pub(crate) enum Runnable<X> {
    /// A task step; the entry owns one task reference.
    Task(TaskRef),
    /// A callback: its index in the loop's [`QueuedCallbacks`].
    Callback(u32, PhantomData<X>),
    /// A fired sleep: waking it queues the task for the *next* iteration, as
    /// asyncio's timer callback only resolves the sleep's future (rule L3's
    /// order of a sleeper and a callback due at the same time).
    Wake(std::task::Waker),
}

/// A callback scheduled with `call_soon`; asyncio's `Handle`.
///
/// ```
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// # let lp = EventLoop::builder(ParkReactor::new()).build();
/// let handle = lp.call_soon(|| unreachable!("cancelled before it ran"));
/// handle.cancel();
/// assert!(handle.cancelled());
/// lp.call_soon(|| corio_core::stop());
/// lp.run_forever().unwrap();
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) callback: CallbackRef,
}

impl Handle {
    /// Cancels the callback; it will not run. Idempotent.
    pub fn cancel(&self) {
        self.callback.get().cancel();
    }

    /// Whether [`cancel`](Handle::cancel) was called.
    pub fn cancelled(&self) -> bool {
        self.callback.is_cancelled()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").field("cancelled", &self.cancelled()).finish()
    }
}

/// A callback scheduled with `call_later`/`call_at`; asyncio's `TimerHandle`.
#[derive(Clone)]
pub struct TimerHandle {
    pub(crate) handle: Handle,
    pub(crate) when: Instant,
    /// `None` for a timer whose deadline never comes (beyond the clock's
    /// range, `time::deadline_after`): it was never scheduled.
    pub(crate) key: Option<TimerKey>,
    pub(crate) loop_id: super::shared::LoopId,
}

impl TimerHandle {
    /// Cancels the timer; it will not run. A cancelled timer leaves the heap
    /// at the loop's next purge (rule L6). Idempotent.
    pub fn cancel(&self) {
        if !self.handle.cancelled() {
            self.handle.cancel();
            if let Some(key) = self.key {
                super::current::timer_cancelled(self.loop_id, key);
            }
        }
    }

    /// Whether [`cancel`](TimerHandle::cancel) was called.
    pub fn cancelled(&self) -> bool {
        self.handle.cancelled()
    }

    /// When the callback is due (asyncio's `when()`). A delay beyond the
    /// clock's range (`Duration::MAX`) never comes: such a timer is not
    /// scheduled, and its `when` is the latest instant the clock can hold.
    pub fn when(&self) -> Instant {
        self.when
    }

    /// A timer that never fires: its delay lies beyond the clock's range.
    pub(crate) fn never(callback: CallbackRef, now: Instant, loop_id: super::shared::LoopId) -> TimerHandle {
        TimerHandle { handle: Handle { callback }, when: crate::time::end_of_time(now), key: None, loop_id }
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle").field("when", &self.when).field("cancelled", &self.cancelled()).finish()
    }
}
