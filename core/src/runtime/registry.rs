//! The loop's registry of live tasks: what `asyncio.all_tasks()` sees.
//!
//! Each live task has one entry, holding a task reference (so a task whose
//! wakers were all dropped is still reachable for teardown), the task's
//! context, and where it last suspended (`task::checkpoint`), which also says
//! whether it has started. The entry's index is stored in the task header,
//! so every lookup is O(1). Entries leave when the task completes.
//!
//! What few tasks need — a pending cancel message, the cancellations
//! delivered to the task, done-callbacks — lives beside the entries, in a
//! map by slot ([`Extras`]), so it costs the other tasks nothing but a flag
//! in their header.
//!
//! # Invariants
//!
//! * A task's `has_extras` flag is set iff the map holds extras under its
//!   slot; both are dropped when its entry is removed.
//! * Only the loop's thread touches the registry and the header fields it
//!   uses (the slot and the flag).

use crate::context::Context;
use crate::task::checkpoint::Suspension;
use crate::task::raw::{RawTask, TaskRef};
use crate::task::{Cancelled, TaskInfo};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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
    /// The task's context; its identity is the task's (see
    /// `context::task_context_id`).
    pub(crate) context: X,
    /// `None` until the task is first polled (a task cancelled before that
    /// never runs, C4); then where it last suspended, for dumps and slow-poll
    /// reports.
    pub(crate) suspended: Option<Suspension>,
    #[cfg(feature = "tracing")]
    pub(crate) span: tracing::Span,
}

impl<X> Extras<X> {
    /// Records a cancellation handed to the task, forgetting dead ones.
    fn record_delivery(&mut self, cancelled: Cancelled) {
        self.delivered.retain(|(_, c)| c.is_shared());
        self.delivered.push((self.deliveries, cancelled));
        self.deliveries += 1;
    }

    /// A cancellation numbered `mark` or later that is still held somewhere
    /// besides here.
    fn holds_cancel_since(&self, mark: u64) -> Option<&Cancelled> {
        self.delivered.iter().find(|(n, c)| *n >= mark && c.is_shared()).map(|(_, c)| c)
    }
}

/// Hashes a slot number: one multiplication (Fibonacci hashing), since the
/// keys are small distinct integers and need no protection from collisions
/// chosen by an attacker.
#[derive(Default)]
pub(crate) struct SlotHasher(u64);

impl Hasher for SlotHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A removed task's entry, and its extras if it had any.
pub(crate) type Removed<X> = (TaskEntry<X>, Option<Box<Extras<X>>>);

pub(crate) struct TaskRegistry<X> {
    entries: Vec<Option<TaskEntry<X>>>,
    free: Vec<u32>,
    len: usize,
    /// The extras of the tasks that have any, by slot.
    /// Boxed, so that a completion moves one word, not the whole record.
    extras: HashMap<u32, Box<Extras<X>>, BuildHasherDefault<SlotHasher>>,
}

impl<X> TaskRegistry<X> {
    pub(crate) fn new() -> Self {
        TaskRegistry { entries: Vec::new(), free: Vec::new(), len: 0, extras: HashMap::default() }
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

    /// Removes the task's entry, with its extras if it has any.
    pub(crate) fn remove(&mut self, raw: RawTask) -> Option<Removed<X>> {
        let slot = raw.slot();
        let cell = self.entries.get_mut(slot as usize)?;
        if cell.as_ref()?.task.raw() != raw {
            return None;
        }
        let entry = cell.take()?;
        self.free.push(slot);
        self.len -= 1;
        raw.set_slot(u32::MAX);
        let extras = if raw.has_extras() {
            raw.set_has_extras(false);
            self.extras.remove(&slot)
        } else {
            None
        };
        Some((entry, extras))
    }

    /// The task's extras, created on first use; `None` if the task is not
    /// registered here.
    pub(crate) fn extras_mut(&mut self, raw: RawTask) -> Option<&mut Extras<X>> {
        self.get_mut(raw)?;
        raw.set_has_extras(true);
        Some(self.extras.entry(raw.slot()).or_default())
    }

    /// The task's extras if it has any (and is registered here).
    pub(crate) fn existing_extras_mut(&mut self, raw: RawTask) -> Option<&mut Extras<X>> {
        // The flag first: most tasks have none, and then no map is hashed.
        if !raw.has_extras() {
            return None;
        }
        self.get_mut(raw)?;
        self.extras.get_mut(&raw.slot()).map(|x| &mut **x)
    }

    /// Records a cancellation handed to the task, and that there was one in
    /// its state word (`DELIVERED`).
    pub(crate) fn record_delivery(&mut self, raw: RawTask, cancelled: Cancelled) {
        if let Some(extras) = self.extras_mut(raw) {
            raw.state().mark_delivered();
            extras.record_delivery(cancelled);
        }
    }

    /// Whether a cancellation delivered to the task is still held somewhere
    /// besides the registry.
    pub(crate) fn holds_delivered_cancel(&mut self, raw: RawTask) -> Option<&Cancelled> {
        self.holds_cancel_since(raw, 0)
    }

    /// Like [`holds_delivered_cancel`](Self::holds_delivered_cancel), for
    /// deliveries numbered `mark` or later.
    pub(crate) fn holds_cancel_since(&mut self, raw: RawTask, mark: u64) -> Option<&Cancelled> {
        self.existing_extras_mut(raw)?.holds_cancel_since(mark)
    }

    /// How many cancellations were delivered to the task so far.
    pub(crate) fn deliveries(&mut self, raw: RawTask) -> u64 {
        self.existing_extras_mut(raw).map_or(0, |x| x.deliveries)
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
        assert_eq!(size_of::<crate::task::raw::Header>(), 56);
        assert_eq!(size_of::<Option<TaskEntry<CowContext>>>(), 24);
    }
}
