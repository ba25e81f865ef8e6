//! Context variables (PEP 567): values that follow the logical flow of a
//! program — a task, a callback — rather than a thread.
//!
//! # Model
//!
//! A *context* is an immutable-by-copy map from [`ContextVar`] to value. Every
//! task runs in its own context, created when the task is spawned as a copy of
//! the spawner's context; every `call_soon`/`call_later` callback runs in a
//! copy captured when it was scheduled (rules X1, X2). Writes inside a task
//! change only that task's context, so a child never sees its parent's later
//! writes and the parent never sees the child's.
//!
//! # Invariants
//!
//! * Copying a context is O(1): the store is a persistent map or an
//!   `Rc`-shared vector with copy-on-write ([`ContextStore`]), so spawning a
//!   task with ten variables set costs a reference-count increment.
//! * Every copy has its own identity, so a [`Token`] from one context cannot
//!   reset a variable in another (rule X3).
//! * Outside a running loop each thread has its own context; a loop's first
//!   task starts from a copy of the context of the thread that runs the loop,
//!   as `asyncio.run` does.

mod current;
mod hamt;
mod store;
mod var;

pub(crate) use current::{scope, store_from_entries, with_current, Context, DynContext, InstallGuard};
pub use hamt::HamtContext;
pub use store::{ContextStore, ContextValue, CowContext, VarKey};
pub use var::{ContextVar, Token, TokenError};

/// A copy of the calling thread's current context, as key/value pairs.
///
/// This is how a context crosses threads (e.g. a task spawned onto a loop from
/// another thread): the receiving loop rebuilds it in its own store type.
pub(crate) fn snapshot_entries() -> Vec<(VarKey, ContextValue)> {
    with_current(|ctx| ctx.entries())
}
