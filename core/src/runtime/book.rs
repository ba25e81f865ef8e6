//! Where a task's bookkeeping lives, as one of its steps sees it.
//!
//! A step (`LoopCore::run_task_in`) is the same for every task; what differs
//! is who keeps the task's registry entry, extras and context between steps
//! (docs/design.md, "Where a task's bookkeeping lives"): the loop itself for
//! its own tasks ([`Own`]), the pool for a pool's tasks
//! (`pool::PoolBook`). The step is generic over the book, so the loop's own
//! tasks pay nothing for the pool's.

use super::callback::Runnable;
use super::event_loop::LoopCore;
use crate::clock::Clock;
use crate::context::ContextStore;
use crate::executor::Executor;
use crate::reactor::Reactor;
use crate::task::raw::{RawTask, TaskRef};
use crate::task::Cancelled;
use std::task::RawWakerVTable;

/// A task's bookkeeping, for one step on `core`.
pub(crate) trait Book<R: Reactor, C: Clock, E: Executor, X: ContextStore> {
    /// The waker vtable the task's host published.
    fn waker(&self, core: &LoopCore<R, C, E, X>) -> &'static RawWakerVTable;

    /// Makes the task's context the current one, for its step.
    fn context_in(&self, core: &LoopCore<R, C, E, X>, raw: RawTask);

    /// Takes the task's context back after its step.
    fn context_out(&self, core: &LoopCore<R, C, E, X>, raw: RawTask);

    /// Delivers the task's pending cancel (C4: before a first poll that
    /// will not happen).
    fn deliver_cancel(&self, core: &LoopCore<R, C, E, X>, raw: RawTask) -> Cancelled;

    /// Whether a task whose body just returned ends cancelled, and with
    /// which cancellation: one delivered to it that it still holds, else a
    /// request still pending (asyncio's `_must_cancel`).
    fn cancelled_at_return(&self, core: &LoopCore<R, C, E, X>, raw: RawTask) -> Option<Cancelled>;

    /// Publishes the task's end with `outcome` (0, `CANCELLED` or
    /// `PANICKED`): done-callbacks, the joiner, the registry. `queued` is
    /// its queue entry's reference when it ends in its own step.
    fn complete(&self, core: &LoopCore<R, C, E, X>, raw: RawTask, outcome: u64, queued: Option<TaskRef>);

    /// Queues the task again (it yielded, or was woken while it ran).
    fn requeue(&self, core: &LoopCore<R, C, E, X>, task: TaskRef);
}

/// The loop's own tasks: its registry, its ready queue.
pub(crate) struct Own;

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> Book<R, C, E, X> for Own {
    #[inline]
    fn waker(&self, core: &LoopCore<R, C, E, X>) -> &'static RawWakerVTable {
        &core.shared.sched_vtable().waker
    }

    #[inline]
    fn context_in(&self, core: &LoopCore<R, C, E, X>, raw: RawTask) {
        core.swap_task_context(raw);
    }

    #[inline]
    fn context_out(&self, core: &LoopCore<R, C, E, X>, raw: RawTask) {
        core.swap_task_context(raw);
    }

    fn deliver_cancel(&self, core: &LoopCore<R, C, E, X>, raw: RawTask) -> Cancelled {
        core.deliver_cancel(raw)
    }

    #[inline]
    fn cancelled_at_return(&self, core: &LoopCore<R, C, E, X>, raw: RawTask) -> Option<Cancelled> {
        core.tasks.borrow_mut().cancelled_at_return(raw)
    }

    #[inline]
    fn complete(&self, core: &LoopCore<R, C, E, X>, raw: RawTask, outcome: u64, queued: Option<TaskRef>) {
        core.complete(raw, outcome, queued)
    }

    #[inline]
    fn requeue(&self, core: &LoopCore<R, C, E, X>, task: TaskRef) {
        core.push(Runnable::Task(task))
    }
}
