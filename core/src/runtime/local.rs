//! The loop's services for code running on its thread: `impl Local for
//! LoopCore`, reached through the thread-local in `current.rs`.

use super::callback::{CallbackRef, Runnable};
use super::current::Local;
use super::event_loop::{LoopCore, Timer};
use super::exception::ExceptionContext;
use super::handle::LoopHandle;
use super::shared::LoopId;
use super::timers::TimerKey;
use crate::clock::Clock;
use crate::context::ContextStore;
use crate::executor::Executor;
use crate::reactor::Reactor;
use crate::task::host::DoneCallback;
use crate::task::raw::{RawTask, TaskRef};
use crate::task::state::JOIN_WAKER;
use crate::task::{Cancelled, TaskInfo};
use std::borrow::Cow;
use std::task::Waker;
use std::time::Instant;

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> Local for LoopCore<R, C, E, X> {
    fn owner(&self) -> *const () {
        self.shared.as_owner()
    }

    fn id(&self) -> LoopId {
        self.shared.id
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn stop(&self) {
        self.stopping.set(true);
    }

    fn handle(&self) -> LoopHandle {
        LoopHandle::new(self.shared.clone())
    }

    fn metrics(&self) -> super::metrics::Metrics {
        LoopCore::metrics(self)
    }

    fn report(&self, context: ExceptionContext) {
        LoopCore::report(self, context)
    }

    // ----- tasks ------------------------------------------------------------

    fn cancel_task(&self, raw: RawTask, message: Option<Cow<'static, str>>) -> bool {
        let Some(must_schedule) = self.tasks.borrow_mut().request_cancel(raw, message) else {
            return false; // complete (or not this loop's)
        };
        if must_schedule {
            // SAFETY: the transition added the queue's reference.
            self.push(Runnable::Task(unsafe { TaskRef::from_raw(raw) }));
        }
        true
    }

    fn uncancel_task(&self, raw: RawTask) -> u32 {
        self.tasks.borrow_mut().uncancel(raw)
    }

    fn deliver_cancel(&self, raw: RawTask) -> Cancelled {
        self.tasks.borrow_mut().deliver_cancel(raw)
    }

    fn forward_cancel(&self, raw: RawTask) -> Option<Cow<'static, str>> {
        self.tasks.borrow_mut().forward_cancel(raw)
    }

    fn defer_cancel(&self, raw: RawTask) {
        self.tasks.borrow_mut().defer_cancel(raw)
    }

    fn adopt_cancelled(&self, raw: RawTask, cancelled: Cancelled) -> Cancelled {
        self.tasks.borrow_mut().adopt_cancelled(raw, cancelled)
    }

    fn deliveries(&self, raw: RawTask) -> u64 {
        self.tasks.borrow_mut().deliveries(raw)
    }

    fn held_cancel_since(&self, raw: RawTask, mark: u64) -> Option<Cancelled> {
        self.tasks.borrow_mut().holds_cancel_since(raw, mark).cloned()
    }

    fn add_done_callback(&self, raw: RawTask, callback: DoneCallback) {
        let context = self.spawn_context();
        let mut tasks = self.tasks.borrow_mut();
        match tasks.extras_mut(raw) {
            Some(extras) => extras.add_done_callback((callback, context), raw.state().load().has(JOIN_WAKER)),
            None => {
                drop(tasks);
                // Already complete: still through call_soon, never inline (F3).
                let info = TaskInfo::of(raw);
                self.push_callback(CallbackRef::local(move || callback(&info)), context);
            }
        }
    }

    // ----- callbacks and timers --------------------------------------------

    fn call_soon(&self, callback: CallbackRef) {
        self.push_callback(callback, self.spawn_context());
    }

    fn call_at(&self, when: Instant, callback: CallbackRef) -> TimerKey {
        let context = self.spawn_context();
        self.timers.borrow_mut().insert(when, Timer::callback(callback, context))
    }

    fn reserve_timer(&self) -> u64 {
        self.timers.borrow_mut().reserve()
    }

    fn call_at_reserved(&self, when: Instant, seq: u64, callback: CallbackRef) -> TimerKey {
        let context = self.spawn_context();
        self.timers.borrow_mut().insert_reserved(when, seq, Timer::callback(callback, context))
    }

    fn timer_cancelled(&self, key: TimerKey) {
        let removed = self.timers.borrow_mut().cancel(key);
        drop(removed); // user destructors run after the borrow ends
    }

    fn sleep_register(&self, when: Instant, waker: Waker) -> TimerKey {
        self.timers.borrow_mut().insert(when, Timer::Wake(waker))
    }

    fn sleep_update(&self, key: TimerKey, waker: &Waker) -> bool {
        match self.timers.borrow_mut().get_mut(key) {
            Some(Timer::Wake(current)) => {
                if !current.will_wake(waker) {
                    *current = waker.clone();
                }
                true
            }
            _ => false,
        }
    }

    fn sleep_cancel(&self, key: TimerKey) {
        let removed = self.timers.borrow_mut().cancel(key);
        drop(removed);
    }

    fn hold_callback(&self, callback: CallbackRef) -> u64 {
        let id = self.next_held.get();
        self.next_held.set(id + 1);
        let context = self.spawn_context();
        self.held.borrow_mut().insert(id, (callback, context));
        id
    }

    fn release_held(&self, id: u64, run: bool) {
        let held = self.held.borrow_mut().remove(&id);
        if let Some((callback, context)) = held {
            if run {
                self.push_callback(callback, context);
            }
        }
    }

    fn hold_done_callback(&self, callback: DoneCallback) -> u64 {
        let id = self.next_held.get();
        self.next_held.set(id + 1);
        let context = self.spawn_context();
        self.held_done.borrow_mut().insert(id, (callback, context));
        id
    }

    fn release_done_callback(&self, id: u64, info: TaskInfo) {
        let held = self.held_done.borrow_mut().remove(&id);
        if let Some((callback, context)) = held {
            self.push_callback(CallbackRef::local(move || callback(&info)), context);
        }
    }

    fn forward(&self, id: LoopId, f: Box<dyn FnOnce() + Send>) -> bool {
        LoopCore::forward(self, id, f)
    }

    fn task_snapshot(&self, task: RawTask) -> Option<crate::task::TaskSnapshot> {
        LoopCore::task_snapshot(self, task)
    }
}
