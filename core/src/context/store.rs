//! The `ContextStore` trait and the default copy-on-write store.

use std::any::Any;
use std::num::NonZeroU64;
use std::rc::Rc;
use std::sync::Arc;

/// Identifies one [`ContextVar`](super::ContextVar) for the lifetime of the
/// process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarKey(pub(crate) NonZeroU64);

impl VarKey {
    /// The key's number (unique per variable in this process).
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

/// A value stored in a context: shared, immutable, and sendable, so contexts
/// can be copied in O(1) and rebuilt on another thread.
pub type ContextValue = Arc<dyn Any + Send + Sync>;

/// A map from variable to value whose `clone` is an O(1) snapshot.
///
/// # Contract
///
/// * `clone` is O(1) and the clone is independent: inserting into one never
///   changes the other.
/// * `get` after `insert(k, v)` returns `v`; after `remove(k)` returns `None`.
/// * `entries` lists every binding exactly once (order unspecified).
///
/// Implementations: [`CowContext`] (the default; an `Rc`-shared vector, fast
/// for the handful of variables programs usually have) and
/// [`HamtContext`](super::HamtContext) (a persistent hash trie, for programs
/// with many variables).
pub trait ContextStore: Clone + Default + 'static {
    /// The value bound to `key`, if any.
    fn get(&self, key: VarKey) -> Option<&ContextValue>;
    /// Binds `key` to `value`, returning the previous value.
    fn insert(&mut self, key: VarKey, value: ContextValue) -> Option<ContextValue>;
    /// Unbinds `key`, returning the previous value.
    fn remove(&mut self, key: VarKey) -> Option<ContextValue>;
    /// Every binding, for copying a context into another store or thread.
    fn entries(&self) -> Vec<(VarKey, ContextValue)>;
}

/// The default store: an `Rc`-shared vector copied on the first write after a
/// snapshot. Empty contexts allocate nothing.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::context::{ContextStore, CowContext};
/// # use corio::context::ContextVar;
/// # static A: ContextVar<u8> = ContextVar::new("a");
/// # let key = A.key();
/// let mut parent = CowContext::default();
/// parent.insert(key, std::sync::Arc::new(1u8));
/// let snapshot = parent.clone(); // O(1)
/// parent.insert(key, std::sync::Arc::new(2u8));
/// assert_eq!(snapshot.get(key).unwrap().downcast_ref::<u8>(), Some(&1));
/// ```
#[derive(Clone, Default)]
pub struct CowContext {
    entries: Option<Rc<Vec<(VarKey, ContextValue)>>>,
}

impl std::fmt::Debug for CowContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CowContext").field("len", &self.entries.as_ref().map_or(0, |e| e.len())).finish()
    }
}

impl ContextStore for CowContext {
    fn get(&self, key: VarKey) -> Option<&ContextValue> {
        let entries = self.entries.as_deref()?;
        entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn insert(&mut self, key: VarKey, value: ContextValue) -> Option<ContextValue> {
        let entries = Rc::make_mut(self.entries.get_or_insert_with(Default::default));
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => Some(std::mem::replace(slot, value)),
            None => {
                entries.push((key, value));
                None
            }
        }
    }

    fn remove(&mut self, key: VarKey) -> Option<ContextValue> {
        let shared = self.entries.as_mut()?;
        let position = shared.iter().position(|(k, _)| *k == key)?;
        let (_, old) = Rc::make_mut(shared).swap_remove(position);
        if shared.is_empty() {
            self.entries = None;
        }
        Some(old)
    }

    fn entries(&self) -> Vec<(VarKey, ContextValue)> {
        self.entries.as_deref().cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::CowContext;
    use crate::context::HamtContext;
    use crate::task::context_slot::fits;

    /// A task keeps its store in one word of its header
    /// (`task::context_slot`); the stores corio ships fit there without a box.
    #[test]
    fn the_shipped_stores_fit_in_a_task_header() {
        assert!(fits::<CowContext>());
        assert!(fits::<HamtContext>());
    }
}
