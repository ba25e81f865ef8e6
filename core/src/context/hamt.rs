//! A context store over a persistent hash trie (`rpds`).

use super::store::{ContextStore, ContextValue, VarKey};
use rpds::HashTrieMap;
use std::rc::Rc;

/// A persistent hash array mapped trie: O(1) copies and O(log n) writes that
/// share structure with earlier snapshots. Pick it over the default
/// [`CowContext`](super::CowContext) when programs bind many variables.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::context::{ContextStore, HamtContext};
/// # use corio::context::ContextVar;
/// # static A: ContextVar<u8> = ContextVar::new("a");
/// # let key = A.key();
/// let mut ctx = HamtContext::default();
/// let snapshot = ctx.clone();
/// ctx.insert(key, std::sync::Arc::new(5u8));
/// assert!(snapshot.get(key).is_none());
/// assert_eq!(ctx.entries().len(), 1);
/// ```
#[derive(Clone, Default)]
pub struct HamtContext {
    /// `None` while empty, so empty contexts cost no allocation. Behind an
    /// `Rc` so that the store is one word and a task keeps it in its header
    /// (`task::context_slot`); a write to a shared copy clones the trie's
    /// handle (its root is shared, so that is O(1)).
    map: Option<Rc<HashTrieMap<VarKey, ContextValue>>>,
}

impl std::fmt::Debug for HamtContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HamtContext").field("len", &self.map.as_ref().map_or(0, |m| m.size())).finish()
    }
}

impl ContextStore for HamtContext {
    fn get(&self, key: VarKey) -> Option<&ContextValue> {
        self.map.as_ref()?.get(&key)
    }

    fn insert(&mut self, key: VarKey, value: ContextValue) -> Option<ContextValue> {
        let map = Rc::make_mut(self.map.get_or_insert_with(|| Rc::new(HashTrieMap::new())));
        let old = map.get(&key).cloned();
        map.insert_mut(key, value);
        old
    }

    fn remove(&mut self, key: VarKey) -> Option<ContextValue> {
        let old = self.map.as_ref()?.get(&key).cloned()?;
        let map = Rc::make_mut(self.map.as_mut()?);
        map.remove_mut(&key);
        if map.is_empty() {
            self.map = None;
        }
        Some(old)
    }

    fn entries(&self) -> Vec<(VarKey, ContextValue)> {
        self.map.iter().flat_map(|m| m.iter().map(|(k, v)| (*k, v.clone()))).collect()
    }
}
