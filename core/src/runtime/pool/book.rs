//! A pool task's bookkeeping, as a step on one of the pool's loops sees it
//! (`runtime/book.rs`): the pool's registry behind its mutex, the member's
//! run queue, and a context that travels between steps as entries.

use super::{PoolShared, Portable, Posted};
use crate::clock::Clock;
use crate::context::{self, ContextStore};
use crate::executor::Executor;
use crate::reactor::Reactor;
use crate::runtime::book::Book;
use crate::runtime::event_loop::{release, LoopCore};
use crate::runtime::registry::Removed;
use crate::task::raw::{RawTask, TaskRef};
use crate::task::{Cancelled, TaskInfo};
use std::task::RawWakerVTable;

/// Member `index` of `pool` stepping one of the pool's tasks.
pub(crate) struct PoolBook<'a> {
    pub(crate) pool: &'a PoolShared,
    pub(crate) index: usize,
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> Book<R, C, E, X> for PoolBook<'_> {
    fn waker(&self, _: &LoopCore<R, C, E, X>) -> &'static RawWakerVTable {
        &self.pool.sched_vtable().waker
    }

    /// Between steps the task's context slot holds its [`Portable`] entries;
    /// for the step it holds the loop's own current store (an `X`), as a
    /// loop task's does, while the task's entries, rebuilt as an `X`, are
    /// the current context.
    fn context_in(&self, core: &LoopCore<R, C, E, X>, raw: RawTask) {
        // SAFETY: the loop holds the task's step, and with it the slot, which
        // holds the task's `Portable` between steps.
        let portable: Portable = unsafe { raw.context().take() };
        let store: X = context::store_from_entries(portable.map_or_else(Vec::new, |entries| *entries));
        let outer = core.swap_current_store(store);
        // SAFETY: as above; the slot is empty now.
        unsafe { raw.context().put(outer) };
    }

    fn context_out(&self, core: &LoopCore<R, C, E, X>, raw: RawTask) {
        // SAFETY: as in `context_in`, which left the loop's store (an `X`).
        let outer: X = unsafe { raw.context().take() };
        let store = core.swap_current_store(outer);
        let entries = store.entries();
        drop(store);
        let portable: Portable = (!entries.is_empty()).then(|| Box::new(entries));
        // SAFETY: as above; the slot is empty now.
        unsafe { raw.context().put(portable) };
    }

    fn deliver_cancel(&self, _: &LoopCore<R, C, E, X>, raw: RawTask) -> Cancelled {
        self.pool.registry().deliver_cancel(raw)
    }

    fn cancelled_at_return(&self, _: &LoopCore<R, C, E, X>, raw: RawTask) -> Option<Cancelled> {
        self.pool.registry().cancelled_at_return(raw)
    }

    fn complete(&self, core: &LoopCore<R, C, E, X>, raw: RawTask, outcome: u64, queued: Option<TaskRef>) {
        let (entry, extras) = self.pool.remove(raw);
        let before = raw.state().transition_to_complete(outcome);
        let Some(Removed { task: registry_ref, context, .. }) = entry else {
            core.notify_joiner(raw, before);
            return;
        };
        match extras {
            None => core.notify_joiner(raw, before),
            Some(extras) => {
                let (callbacks, joiner_at) = extras.into_done_callbacks();
                let info = TaskInfo::of(raw);
                let mut callbacks = callbacks.into_iter();
                // The callbacks added before the joiner waited are posted
                // first, then the joiner is woken (F3's order, as far as
                // other loops' iterations allow).
                callbacks.by_ref().take(joiner_at.unwrap_or(usize::MAX)).for_each(|c: Posted| c.run(info.clone()));
                core.notify_joiner(raw, before);
                callbacks.for_each(|c| c.run(info.clone()));
            }
        }
        drop(context);
        release(registry_ref, queued);
    }

    fn requeue(&self, _: &LoopCore<R, C, E, X>, task: TaskRef) {
        if self.pool.members[self.index].queue.push(task) > 1 {
            self.pool.wake_idle(Some(self.index));
        }
    }
}
