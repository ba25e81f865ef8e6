//! Which context is current on this thread.
//!
//! While a loop runs, the thread-local `CURRENT` points at the loop's
//! current-context slot, into which the loop swaps each task's or callback's
//! context before running it (an O(1) swap, no copy). Outside a loop, a
//! per-thread context is current.
//!
//! Access is through [`with_current`]/[`with_current_mut`], whose closures are
//! leaf operations: they run no user code, so the `&mut` they hand out is
//! never aliased. Values replaced by a write are returned out of the closure
//! and dropped after it, because a value's destructor is user code.

use super::store::{ContextStore, ContextValue, CowContext, VarKey};
use crate::loom::corio_thread_local;
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

/// A context as the rest of the crate sees it, whatever its store type.
pub(crate) trait DynContext {
    /// The identity of this copy (tokens remember it).
    fn id(&self) -> u64;
    fn get(&self, key: VarKey) -> Option<ContextValue>;
    fn insert(&mut self, key: VarKey, value: ContextValue) -> Option<ContextValue>;
    fn remove(&mut self, key: VarKey) -> Option<ContextValue>;
    fn entries(&self) -> Vec<(VarKey, ContextValue)>;
}

/// A store plus the identity of this particular copy.
#[derive(Debug)]
pub(crate) struct Context<X> {
    id: u64,
    store: X,
}

corio_thread_local! {
    static NEXT_ID: Cell<u64> = Cell::new(1);
}

#[inline]
fn next_id() -> u64 {
    // Identities only need to differ among contexts used on one thread:
    // tokens are `!Send`, and a context moved to another thread is rebuilt
    // there with a new identity.
    NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

impl<X: ContextStore> Context<X> {
    pub(crate) fn new() -> Self {
        Context { id: next_id(), store: X::default() }
    }

    pub(crate) fn from_entries(entries: Vec<(VarKey, ContextValue)>) -> Self {
        Context::from_store(store_from_entries(entries))
    }

    /// `store` under an identity of its own.
    pub(crate) fn from_store(store: X) -> Self {
        Context { id: next_id(), store }
    }

    /// An O(1) copy of the store alone, for a new task: a task's context is
    /// kept without an identity of its own, since the task names it while it
    /// runs ([`task_context_id`]).
    pub(crate) fn copy_store(&self) -> X {
        self.store.clone()
    }
}

/// A store holding `entries`: a task's context made on another thread.
pub(crate) fn store_from_entries<X: ContextStore>(entries: Vec<(VarKey, ContextValue)>) -> X {
    let mut store = X::default();
    for (key, value) in entries {
        store.insert(key, value);
    }
    store
}

/// The identity of a task's context: the task's id, mixed with its host's
/// index (ids count per host: a loop's tasks and a pool's may share one),
/// with the top bit set, so it never equals a counted one. A task's store is
/// kept without an identity (saving a word per task) and is current only
/// while the task runs, so the running task names it: tokens made in one
/// step of a task are valid in its later steps and nowhere else — as in
/// asyncio, where each task runs in its own `Context` object.
#[inline]
pub(crate) fn task_context_id(task_id: u64, host: u16) -> u64 {
    (task_id ^ u64::from(host) << 47) | 1 << 63
}

/// The identity of `ctx`, the current context: the running task's (see
/// [`task_context_id`]) while a task runs, since its store is then in the
/// loop's slot; the context's own otherwise (a callback's, the loop's, the
/// thread's).
pub(crate) fn identity(ctx: &dyn DynContext) -> u64 {
    match crate::task::current::current_task() {
        Some(task) => task_context_id(task.header().id, task.state().owner_index()),
        None => ctx.id(),
    }
}

impl<X> Context<X> {
    /// The store: the loop swaps a task's store into its current context
    /// for a step and out again after.
    #[inline]
    pub(crate) fn store_mut(&mut self) -> &mut X {
        &mut self.store
    }
}

impl<X: ContextStore> DynContext for Context<X> {
    fn id(&self) -> u64 {
        self.id
    }

    fn get(&self, key: VarKey) -> Option<ContextValue> {
        self.store.get(key).cloned()
    }

    fn insert(&mut self, key: VarKey, value: ContextValue) -> Option<ContextValue> {
        self.store.insert(key, value)
    }

    fn remove(&mut self, key: VarKey) -> Option<ContextValue> {
        self.store.remove(key)
    }

    fn entries(&self) -> Vec<(VarKey, ContextValue)> {
        self.store.entries()
    }
}

corio_thread_local! {
    /// The running loop's current-context slot, if a loop is running here.
    static CURRENT: Cell<Option<NonNull<dyn DynContext>>> = Cell::new(None);
}

corio_thread_local! {
    /// The thread's own context, used when no loop is running.
    static THREAD_CONTEXT: RefCell<Option<Context<CowContext>>> = RefCell::new(None);
}

/// Runs `f` on the current context.
pub(crate) fn with_current<R>(f: impl FnOnce(&dyn DynContext) -> R) -> R {
    match CURRENT.with(Cell::get) {
        // SAFETY: `CURRENT` is only set by an `InstallGuard`, whose creator
        // guarantees the slot outlives the guard and is not otherwise
        // borrowed while user code runs; `f` is a leaf operation.
        Some(slot) => f(unsafe { slot.as_ref() }),
        None => THREAD_CONTEXT.with(|t| f(t.borrow_mut().get_or_insert_with(Context::new))),
    }
}

/// Runs `f` on the current context, mutably.
pub(crate) fn with_current_mut<R>(f: impl FnOnce(&mut dyn DynContext) -> R) -> R {
    match CURRENT.with(Cell::get) {
        // SAFETY: as in `with_current`; `f` does not re-enter, so this is the
        // only reference to the slot while it runs.
        Some(mut slot) => f(unsafe { slot.as_mut() }),
        None => THREAD_CONTEXT.with(|t| f(t.borrow_mut().get_or_insert_with(Context::new))),
    }
}

/// Runs `f` with a context built from `entries` as this thread's own
/// context, then restores the thread's previous one (also if `f` panics).
///
/// For threads that run no loop: a blocking-pool thread runs `to_thread`'s
/// function in a copy of its caller's context this way (rule X5), and the
/// raw executor call in an empty one, so nothing leaks between jobs.
pub(crate) fn scope<R>(entries: Vec<(VarKey, ContextValue)>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Context<CowContext>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            let scoped = THREAD_CONTEXT.with(|t| std::mem::replace(&mut *t.borrow_mut(), previous));
            drop(scoped); // values' destructors run outside the borrow
        }
    }
    let scoped = Context::from_entries(entries);
    let _restore = Restore(THREAD_CONTEXT.with(|t| t.borrow_mut().replace(scoped)));
    f()
}

/// Makes a loop's context slot current until dropped.
pub(crate) struct InstallGuard {
    previous: Option<NonNull<dyn DynContext>>,
}

impl InstallGuard {
    /// # Safety
    ///
    /// `slot` must stay valid, and must not be accessed except through
    /// [`with_current`]/[`with_current_mut`] or between runnables, until the
    /// guard is dropped.
    pub(crate) unsafe fn install(slot: NonNull<dyn DynContext>) -> Self {
        let previous = CURRENT.with(|c| c.replace(Some(slot)));
        InstallGuard { previous }
    }
}

impl Drop for InstallGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}
