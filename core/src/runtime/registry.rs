//! The loop's registry of live tasks: what `asyncio.all_tasks()` sees.
//!
//! Each live task has one entry, holding a task reference (so a task whose
//! wakers were all dropped is still reachable for teardown), the task's
//! context, and the state that only the loop's thread touches: whether it has
//! started and where it last suspended (one word, `task::checkpoint`), its
//! pending cancel message, the cancellations delivered to it,
//! and its done-callbacks. The entry's index is stored in the task header, so
//! every lookup is O(1). Entries leave when the task completes.

use crate::context::Context;
use crate::task::checkpoint::Suspension;
use crate::task::raw::{RawTask, TaskRef};
use crate::task::{Cancelled, TaskInfo};
use std::borrow::Cow;

pub(crate) type DoneCallback = Box<dyn FnOnce(&TaskInfo)>;

/// Rarely used per-task state, allocated on first use.
pub(crate) struct Extras<X> {
    /// The message of the pending cancel request.
    pub(crate) cancel_message: Option<Cow<'static, str>>,
    /// The pending request found the task waiting: asyncio would have
    /// cancelled the future it waits on, with that request's message, so the
    /// message is fixed (first one wins, C1) and `uncancel` no longer
    /// withdraws it (C2). A request that found the task ready or running only
    /// sets asyncio's `_must_cancel`: later messages replace it, and
    /// `uncancel` to 0 withdraws it.
    pub(crate) cancel_latched: bool,
    /// Cancellations handed to this task that may still be alive, each with
    /// its delivery number; if one is alive when the body returns, the task
    /// ends cancelled (and a scope asks the same about its body).
    delivered: Vec<(u64, Cancelled)>,
    /// Deliveries so far (the next delivery number).
    deliveries: u64,
    pub(crate) done_callbacks: Vec<(DoneCallback, Context<X>)>,
    /// How many done-callbacks were added before a joiner was seen waiting
    /// (it resumes between those and the later ones, F3).
    pub(crate) joiner_at: Option<usize>,
}

impl<X> Default for Extras<X> {
    fn default() -> Self {
        Extras {
            cancel_message: None,
            cancel_latched: false,
            delivered: Vec::new(),
            deliveries: 0,
            done_callbacks: Vec::new(),
            joiner_at: None,
        }
    }
}

pub(crate) struct TaskEntry<X> {
    pub(crate) task: TaskRef,
    pub(crate) context: Context<X>,
    /// `None` until the task is first polled (a task cancelled before that
    /// never runs, C4); then where it last suspended, for dumps and slow-poll
    /// reports.
    pub(crate) suspended: Option<Suspension>,
    #[cfg(feature = "tracing")]
    pub(crate) span: tracing::Span,
    pub(crate) extras: Option<Box<Extras<X>>>,
}

impl<X> Extras<X> {
    /// Records a cancellation handed to the task, forgetting dead ones.
    pub(crate) fn record_delivery(&mut self, cancelled: Cancelled) {
        self.delivered.retain(|(_, c)| c.is_shared());
        self.delivered.push((self.deliveries, cancelled));
        self.deliveries += 1;
    }
}

impl<X> TaskEntry<X> {
    pub(crate) fn extras(&mut self) -> &mut Extras<X> {
        self.extras.get_or_insert_with(Default::default)
    }

    /// Records a cancellation handed to the task, and that there was one in
    /// its state word (`DELIVERED`).
    pub(crate) fn record_delivery(&mut self, cancelled: Cancelled) {
        self.task.raw().state().mark_delivered();
        self.extras().record_delivery(cancelled);
    }

    /// Whether a cancellation delivered to the task is still held somewhere
    /// besides this entry.
    pub(crate) fn holds_delivered_cancel(&self) -> Option<&Cancelled> {
        self.holds_cancel_since(0)
    }

    /// Like [`holds_delivered_cancel`](Self::holds_delivered_cancel), for
    /// deliveries numbered `mark` or later.
    pub(crate) fn holds_cancel_since(&self, mark: u64) -> Option<&Cancelled> {
        let extras = self.extras.as_ref()?;
        extras.delivered.iter().find(|(n, c)| *n >= mark && c.is_shared()).map(|(_, c)| c)
    }

    /// How many cancellations were delivered to the task so far.
    pub(crate) fn deliveries(&self) -> u64 {
        self.extras.as_ref().map_or(0, |x| x.deliveries)
    }
}

pub(crate) struct TaskRegistry<X> {
    entries: Vec<Option<TaskEntry<X>>>,
    free: Vec<u32>,
    len: usize,
}

impl<X> TaskRegistry<X> {
    pub(crate) fn new() -> Self {
        TaskRegistry { entries: Vec::new(), free: Vec::new(), len: 0 }
    }

    pub(crate) fn insert(&mut self, entry: TaskEntry<X>) {
        let raw = entry.task.raw();
        let slot = match self.free.pop() {
            Some(slot) => {
                self.entries[slot as usize] = Some(entry);
                slot
            }
            None => {
                self.entries.push(Some(entry));
                u32::try_from(self.entries.len() - 1).expect("more than 2^32 live tasks")
            }
        };
        raw.set_slot(slot);
        self.len += 1;
    }

    pub(crate) fn get_mut(&mut self, raw: RawTask) -> Option<&mut TaskEntry<X>> {
        let entry = self.entries.get_mut(raw.slot() as usize)?.as_mut()?;
        (entry.task.raw() == raw).then_some(entry)
    }

    pub(crate) fn remove(&mut self, raw: RawTask) -> Option<TaskEntry<X>> {
        let slot = raw.slot();
        let cell = self.entries.get_mut(slot as usize)?;
        if cell.as_ref()?.task.raw() != raw {
            return None;
        }
        let entry = cell.take();
        self.free.push(slot);
        self.len -= 1;
        raw.set_slot(u32::MAX);
        entry
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The live tasks with where each last suspended, in slot order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (RawTask, Option<Suspension>)> + '_ {
        self.entries.iter().flatten().map(|e| (e.task.raw(), e.suspended))
    }

    /// The live tasks, in slot order.
    pub(crate) fn tasks(&self) -> Vec<RawTask> {
        self.entries.iter().flatten().map(|e| e.task.raw()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::TaskEntry;
    use crate::context::CowContext;
    use std::mem::size_of;

    /// The per-task bookkeeping docs/benchmarks.md reports (task overhead
    /// excluding the future): the header in the task's allocation, plus
    /// this registry entry. A change to either shows here first.
    #[test]
    fn task_overhead_is_the_documented_size() {
        assert_eq!(size_of::<crate::task::raw::Header>(), 64);
        assert_eq!(size_of::<Option<TaskEntry<CowContext>>>(), 40);
    }
}
