//! The loop's registry of live tasks: what `asyncio.all_tasks()` sees.
//!
//! Each live task has one entry, a task reference (so a task whose wakers
//! were all dropped is still reachable for teardown and dumps). The entry's
//! index is stored in the task header, so every lookup is O(1). Entries
//! leave when the task completes. The task's context store lives in its
//! header while it is registered (`task::context_slot`): the registry puts
//! it there and takes it out, since it alone knows its type; a task's step
//! touches the header only, never the registry.
//!
//! What few tasks need — a pending cancel message, the cancellations
//! delivered to the task, done-callbacks — lives beside the entries, in a
//! map by slot ([`Extras`]), so it costs the other tasks nothing but a flag
//! in their header. A plain cancel's record is inline in the map; only the
//! rarer parts are boxed.
//!
//! # Invariants
//!
//! * A task's recorded deliveries (each alive when the next was recorded)
//!   are `first_delivered` followed by the boxed `more_delivered`, oldest
//!   first; `first_delivered` is empty only if both are.
//! * A task's `has_extras` flag is set iff the map holds extras under its
//!   slot; both are gone when its entry is removed.
//! * A registered task's header holds its context store (an `X`); removal
//!   (or the registry's drop) takes it out.
//! * Only the loop's thread touches the registry and the header fields it
//!   uses (the slot and the flag).
//!
//! The same registry, without the header flag (`FLAGGED = false`) and with
//! done-callbacks that are posted to the loop that registered them, keeps a
//! runtime pool's tasks (`runtime/pool/`), behind the pool's mutex: there
//! the flag's byte is the step owner's (`queued_running`), so the map alone
//! says which tasks have extras. The cancel bookkeeping below — a request,
//! taking one back, a delivery, passing one on, adopting a joined task's —
//! is the same code for both.

use crate::context::Context;
use crate::task::checkpoint::Suspension;
use crate::task::raw::{RawTask, TaskRef};
use crate::task::state::CANCEL;
use crate::task::Cancelled;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub(crate) use crate::task::host::DoneCallback;

/// A done-callback of a loop's own task: the callback and the context it
/// runs in.
pub(crate) type LocalDone<X> = (DoneCallback, Context<X>);

/// Per-task state few tasks need, created on first use and kept in the
/// registry's map by slot.
///
/// What a cancel and its delivery need is inline, so cancelling a task
/// allocates nothing but the cancellation itself (W12: a task cancelled
/// while it sleeps); the rest (a message, a second live delivery,
/// done-callbacks) is boxed on first use.
pub(crate) struct Extras<D> {
    /// The pending request found the task waiting: asyncio would have
    /// cancelled the future it waits on, with that request's message, so the
    /// message is fixed (first one wins, C1) and `uncancel` no longer
    /// withdraws it (C2). A request that found the task ready or running only
    /// sets asyncio's `_must_cancel`: later messages replace it, and
    /// `uncancel` to 0 withdraws it.
    pub(crate) cancel_latched: bool,
    /// The pending request was made again by a task group on its way out,
    /// with its failures (G5): it waits for the task's next checkpoint, and
    /// a body that returns meanwhile does not end cancelled (asyncio's
    /// `_must_cancel` yields to the `ExceptionGroup` the group raises; corio
    /// cannot tell a returned `Err` from a value). Any new request, delivery
    /// or withdrawal clears it.
    pub(crate) cancel_deferred: bool,
    /// Deliveries so far (the next delivery number).
    deliveries: u64,
    /// The oldest cancellation handed to this task that may still be alive,
    /// with its delivery number; later ones are in `rare`. If one is alive
    /// when the body returns, the task ends cancelled (and a scope asks the
    /// same about its body).
    first_delivered: Option<(u64, Cancelled)>,
    rare: Option<Box<RareExtras<D>>>,
}

/// The part of [`Extras`] that a plain cancel does not use.
struct RareExtras<D> {
    /// The message of the pending cancel request.
    cancel_message: Option<Cow<'static, str>>,
    /// Live deliveries after `first_delivered`, oldest first.
    more_delivered: Vec<(u64, Cancelled)>,
    /// What runs when the task ends, in order (for a loop's task, the
    /// callback and its context).
    done_callbacks: Vec<D>,
    /// How many done-callbacks were added before a joiner was seen waiting
    /// (it resumes between those and the later ones, F3).
    joiner_at: Option<usize>,
}

impl<D> Default for Extras<D> {
    fn default() -> Self {
        Extras { cancel_latched: false, cancel_deferred: false, deliveries: 0, first_delivered: None, rare: None }
    }
}

pub(crate) struct TaskEntry {
    pub(crate) task: TaskRef,
    #[cfg(feature = "tracing")]
    pub(crate) span: tracing::Span,
}

impl<D> Extras<D> {
    fn rare_mut(&mut self) -> &mut RareExtras<D> {
        self.rare.get_or_insert_with(|| {
            Box::new(RareExtras {
                cancel_message: None,
                more_delivered: Vec::new(),
                done_callbacks: Vec::new(),
                joiner_at: None,
            })
        })
    }

    /// Sets the pending request's message (`None` clears it, and boxes
    /// nothing).
    pub(crate) fn set_cancel_message(&mut self, message: Option<Cow<'static, str>>) {
        match (message, &mut self.rare) {
            (None, None) => {}
            (None, Some(rare)) => rare.cancel_message = None,
            (message, _) => self.rare_mut().cancel_message = message,
        }
    }

    /// Takes the pending request's message.
    pub(crate) fn take_cancel_message(&mut self) -> Option<Cow<'static, str>> {
        self.rare.as_mut()?.cancel_message.take()
    }

    /// Records a cancellation handed to the task `raw` (these are its
    /// extras), forgetting dead ones, and that there was one in its state
    /// word (`DELIVERED`).
    pub(crate) fn record_delivery(&mut self, raw: RawTask, cancelled: Cancelled) {
        raw.state().mark_delivered();
        if self.first_delivered.as_ref().is_some_and(|(_, c)| !c.is_shared()) {
            self.first_delivered = None;
        }
        if let Some(rare) = &mut self.rare {
            rare.more_delivered.retain(|(_, c)| c.is_shared());
            if self.first_delivered.is_none() && !rare.more_delivered.is_empty() {
                self.first_delivered = Some(rare.more_delivered.remove(0));
            }
        }
        let delivery = (self.deliveries, cancelled);
        match self.first_delivered {
            None => self.first_delivered = Some(delivery),
            Some(_) => self.rare_mut().more_delivered.push(delivery),
        }
        self.deliveries += 1;
    }

    /// A cancellation numbered `mark` or later that is still held somewhere
    /// besides here.
    fn holds_cancel_since(&self, mark: u64) -> Option<&Cancelled> {
        let more = self.rare.as_deref().map_or(&[][..], |rare| &rare.more_delivered[..]);
        self.first_delivered.iter().chain(more).find(|(n, c)| *n >= mark && c.is_shared()).map(|(_, c)| c)
    }

    /// Adds a done-callback; `joiner_waits`: a joiner is waiting already
    /// (the first time one is seen, the callbacks so far go before it).
    pub(crate) fn add_done_callback(&mut self, callback: D, joiner_waits: bool) {
        let rare = self.rare_mut();
        if rare.joiner_at.is_none() && joiner_waits {
            rare.joiner_at = Some(rare.done_callbacks.len());
        }
        rare.done_callbacks.push(callback);
    }

    /// The done-callbacks in order, and how many go before the joiner.
    pub(crate) fn into_done_callbacks(self) -> (Vec<D>, Option<usize>) {
        match self.rare {
            Some(rare) => (rare.done_callbacks, rare.joiner_at),
            None => (Vec::new(), None),
        }
    }
}

/// Hashes a slot number so that the map stays in slot order: the low bits
/// (which pick the bucket) are the slot itself, so tasks with neighbouring
/// slots have neighbouring extras, as they would in an array; the top seven
/// bits (the map's per-bucket tag) are mixed, so that a probe compares
/// against few false tags. Slots are small distinct integers chosen by the
/// loop, not by an attacker.
#[derive(Default)]
pub(crate) struct SlotHasher(u64);

impl Hasher for SlotHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u32(u32::from(byte) ^ (self.0 as u32).rotate_left(8));
        }
    }

    fn write_u32(&mut self, n: u32) {
        let n = u64::from(n);
        self.0 = n ^ (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) & (0x7F << 57));
    }
}

/// A removed task's entry and its context store.
pub(crate) struct Removed<X> {
    pub(crate) task: TaskRef,
    pub(crate) context: X,
    #[cfg(feature = "tracing")]
    _span: tracing::Span,
}

/// The live tasks of one host: their context stores are `X`s (kept in their
/// headers), their done-callbacks `D`s; with `FLAGGED`, a task's header says
/// whether it has extras (a loop's own tasks), without, only the map does (a
/// pool's, whose flag byte belongs to whichever loop runs the task).
pub(crate) struct TaskRegistry<X, D = LocalDone<X>, const FLAGGED: bool = true> {
    entries: Vec<Option<TaskEntry>>,
    free: Vec<u32>,
    len: usize,
    /// The extras of the tasks that have any, by slot. Inline: a cancel
    /// and its delivery then allocate no record (five words; what is
    /// larger and rarer is boxed inside).
    extras: HashMap<u32, Extras<D>, BuildHasherDefault<SlotHasher>>,
    _store: std::marker::PhantomData<fn(X) -> X>,
}

impl<X, D, const FLAGGED: bool> TaskRegistry<X, D, FLAGGED> {
    pub(crate) fn new() -> Self {
        TaskRegistry {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
            extras: HashMap::default(),
            _store: std::marker::PhantomData,
        }
    }

    /// Registers a task with its context store (kept in its header).
    pub(crate) fn insert(&mut self, entry: TaskEntry, context: X) {
        let raw = entry.task.raw();
        // SAFETY: the loop's thread; a task is registered once, so its slot
        // is empty, and every store this registry handles is an `X`.
        unsafe { raw.context().put(context) };
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

    pub(crate) fn get_mut(&mut self, raw: RawTask) -> Option<&mut TaskEntry> {
        let entry = self.entries.get_mut(raw.slot() as usize)?.as_mut()?;
        (entry.task.raw() == raw).then_some(entry)
    }

    /// Removes the task's entry and takes its context store out. Its
    /// extras, if any, are taken first ([`take_extras`](Self::take_extras)).
    pub(crate) fn remove(&mut self, raw: RawTask) -> Option<Removed<X>> {
        let slot = raw.slot();
        let cell = self.entries.get_mut(slot as usize)?;
        if cell.as_ref()?.task.raw() != raw {
            return None;
        }
        let entry = cell.take()?;
        self.free.push(slot);
        self.len -= 1;
        drop(self.take_extras(raw)); // any the caller did not take
        raw.set_slot(u32::MAX);
        // SAFETY: registered until now, so the slot holds this registry's `X`.
        let context = unsafe { raw.context().take() };
        Some(Removed {
            task: entry.task,
            context,
            #[cfg(feature = "tracing")]
            _span: entry.span,
        })
    }

    /// Takes the task's extras out, if it has any (its entry stays). Inline:
    /// most tasks have none, and then this is a check of their flag.
    #[inline]
    pub(crate) fn take_extras(&mut self, raw: RawTask) -> Option<Extras<D>> {
        if FLAGGED {
            if !raw.has_extras() {
                return None;
            }
            raw.set_has_extras(false);
        }
        self.extras.remove(&raw.slot())
    }

    /// The task's extras, created on first use; `None` if the task is not
    /// registered here.
    pub(crate) fn extras_mut(&mut self, raw: RawTask) -> Option<&mut Extras<D>> {
        self.get_mut(raw)?;
        if FLAGGED {
            raw.set_has_extras(true);
        }
        Some(self.extras.entry(raw.slot()).or_default())
    }

    /// The task's extras if it has any (and is registered here).
    pub(crate) fn existing_extras_mut(&mut self, raw: RawTask) -> Option<&mut Extras<D>> {
        // The flag first: most tasks have none, and then no map is hashed.
        if FLAGGED && !raw.has_extras() {
            return None;
        }
        self.get_mut(raw)?;
        self.extras.get_mut(&raw.slot())
    }

    /// Whether a task whose body just returned ends cancelled, and with
    /// which cancellation: one delivered to it that it still holds (see
    /// `task::Cancelled`), else a request still pending — asyncio's
    /// `_must_cancel`, which `Task.__step` turns into a cancellation when
    /// the coroutine returns. A task never asked to cancel has no extras, so
    /// for it this is the check of a header flag.
    #[inline]
    pub(crate) fn cancelled_at_return(&mut self, raw: RawTask) -> Option<Cancelled> {
        let extras = self.existing_extras_mut(raw)?;
        if let Some(held) = extras.holds_cancel_since(0) {
            return Some(held.clone());
        }
        (raw.state().load().has(CANCEL) && !extras.cancel_deferred)
            .then(|| Cancelled::new(extras.take_cancel_message()))
    }

    /// A cancellation delivered to the task as delivery number `mark` or
    /// later that is still held somewhere besides the registry.
    pub(crate) fn holds_cancel_since(&mut self, raw: RawTask, mark: u64) -> Option<&Cancelled> {
        self.existing_extras_mut(raw)?.holds_cancel_since(mark)
    }

    /// How many cancellations were delivered to the task so far.
    pub(crate) fn deliveries(&mut self, raw: RawTask) -> u64 {
        self.existing_extras_mut(raw).map_or(0, |x| x.deliveries)
    }

    // ----- cancel bookkeeping (asyncio's `Task.cancel`/`uncancel`) ----------

    /// Requests a soft cancel of `raw` (rules C1-C3). `None` if the task is
    /// not registered here or already complete; otherwise whether the
    /// request found it waiting, in which case the caller must queue it (the
    /// state word gave the queue's reference).
    pub(crate) fn request_cancel(&mut self, raw: RawTask, message: Option<Cow<'static, str>>) -> Option<bool> {
        self.get_mut(raw)?;
        let already_pending = raw.state().load().has(CANCEL);
        let (accepted, must_schedule) = raw.state().request(CANCEL);
        if !accepted {
            return None;
        }
        raw.set_cancel_requests(raw.cancel_requests().saturating_add(1));
        // As asyncio 3.13's `Task.cancel`: a request that finds the task
        // waiting (idle: this request schedules it) cancels what it waits
        // for, so its message wins over later ones (C1); one that finds
        // it ready or running sets `_must_cancel`, and the last message
        // wins until the task runs.
        let extras = self.extras_mut(raw).expect("registered (checked above)");
        extras.cancel_deferred = false;
        if !already_pending {
            extras.set_cancel_message(message);
            extras.cancel_latched = must_schedule;
        } else if !extras.cancel_latched {
            extras.set_cancel_message(message);
        }
        Some(must_schedule)
    }

    /// Takes one cancel request of `raw` back (C2); returns the remaining
    /// count.
    pub(crate) fn uncancel(&mut self, raw: RawTask) -> u32 {
        let remaining = raw.cancel_requests().saturating_sub(1);
        raw.set_cancel_requests(remaining);
        if remaining == 0 {
            // Rule C2 (3.13): at zero, a request not yet delivered is
            // withdrawn — unless it found the task waiting, where asyncio
            // has already cancelled the awaited future (see `cancel_latched`).
            let extras = self.existing_extras_mut(raw);
            if !extras.as_ref().is_some_and(|x| x.cancel_latched) {
                raw.state().take_cancel();
                if let Some(extras) = extras {
                    extras.set_cancel_message(None);
                    extras.cancel_deferred = false;
                }
            }
        }
        remaining
    }

    /// Delivers `raw`'s pending cancel (at a checkpoint, or before a first
    /// poll that will not happen: C4).
    pub(crate) fn deliver_cancel(&mut self, raw: RawTask) -> Cancelled {
        raw.state().take_cancel();
        let Some(extras) = self.extras_mut(raw) else {
            return Cancelled::new(None);
        };
        extras.cancel_deferred = false;
        let cancelled = Cancelled::new(extras.take_cancel_message());
        extras.record_delivery(raw, cancelled.clone());
        cancelled
    }

    /// Takes `raw`'s pending cancel to pass it on (C6), with its message.
    pub(crate) fn forward_cancel(&mut self, raw: RawTask) -> Option<Cow<'static, str>> {
        raw.state().take_cancel();
        let extras = self.existing_extras_mut(raw)?;
        extras.cancel_deferred = false;
        extras.take_cancel_message()
    }

    /// Marks `raw`'s pending cancel request as one for its next checkpoint
    /// only: a return before it does not end the task cancelled.
    pub(crate) fn defer_cancel(&mut self, raw: RawTask) {
        if !raw.state().load().has(CANCEL) {
            return;
        }
        if let Some(extras) = self.existing_extras_mut(raw) {
            extras.cancel_deferred = true;
        }
    }

    /// Makes `cancelled` (from a task `raw` awaited) a delivery to `raw`.
    pub(crate) fn adopt_cancelled(&mut self, raw: RawTask, cancelled: Cancelled) -> Cancelled {
        let Some(extras) = self.extras_mut(raw) else {
            return cancelled;
        };
        // A token nobody else holds becomes the task's own as it is: a
        // `Cancelled` has no identity beyond who holds it, so nothing can
        // tell it from a fresh one (the common case: a joined task's
        // cancellation, which the joiner now holds alone). A shared one is
        // re-issued, so that its other holders do not count as the task's.
        let own = if cancelled.is_shared() { Cancelled::new(cancelled.message_cow()) } else { cancelled };
        extras.record_delivery(raw, own.clone());
        own
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The live tasks with where each last suspended, in slot order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (RawTask, Option<Suspension>)> + '_ {
        self.entries.iter().flatten().map(|e| (e.task.raw(), e.task.raw().suspended()))
    }

    /// The live tasks, in slot order.
    pub(crate) fn tasks(&self) -> Vec<RawTask> {
        self.entries.iter().flatten().map(|e| e.task.raw()).collect()
    }
}

impl<X, D, const FLAGGED: bool> Drop for TaskRegistry<X, D, FLAGGED> {
    fn drop(&mut self) {
        // A loop dropped with tasks still registered: their stores live in
        // their headers, which do not know the type; take them out here.
        for entry in self.entries.iter().flatten() {
            // SAFETY: a registered task's slot holds this registry's `X`.
            drop(unsafe { entry.task.raw().context().take::<X>() });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    /// The per-task bookkeeping docs/benchmarks.md reports (task overhead
    /// excluding the future): the header in the task's allocation, plus
    /// this registry entry. A change to either shows here first.
    #[test]
    fn task_overhead_is_the_documented_size() {
        assert_eq!(size_of::<crate::task::raw::Header>(), 56);
        // With the `tracing` feature each entry also holds the task's span.
        #[cfg(not(feature = "tracing"))]
        assert_eq!(size_of::<Option<super::TaskEntry>>(), 8);
    }

    /// A cancelled task's record in the extras map: five words, inline
    /// (docs/design.md), whatever the context store type.
    #[test]
    fn a_cancel_record_is_five_words() {
        assert_eq!(size_of::<super::Extras<super::LocalDone<crate::context::CowContext>>>(), 40);
        assert_eq!(size_of::<super::Extras<[u8; 256]>>(), 40);
    }
}
