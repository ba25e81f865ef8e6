//! `ContextVar<T>` and its reset `Token`.

use super::current::{identity, with_current, with_current_mut};
use super::store::{ContextValue, VarKey};
use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A variable whose value depends on the context it is read in.
///
/// Declare variables as `static`s (asyncio's advice: at module level); each
/// gets a process-wide key the first time it is used.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::context::ContextVar;
///
/// static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
/// static MODE: ContextVar<&'static str> = ContextVar::with_default("mode", "normal");
///
/// assert_eq!(REQUEST_ID.get(), None); // unset, no default
/// assert_eq!(REQUEST_ID.get_or(0), 0); // the caller's default
/// assert_eq!(MODE.get(), Some("normal")); // the variable's default
///
/// let token = REQUEST_ID.set(7);
/// assert_eq!(REQUEST_ID.get(), Some(7));
/// REQUEST_ID.reset(token).unwrap();
/// assert_eq!(REQUEST_ID.get(), None);
/// ```
pub struct ContextVar<T: 'static> {
    name: &'static str,
    default: Option<T>,
    /// 0 until first use, then the variable's key.
    key: AtomicU64,
}

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

impl<T: 'static> ContextVar<T> {
    /// A variable without a default.
    pub const fn new(name: &'static str) -> Self {
        ContextVar { name, default: None, key: AtomicU64::new(0) }
    }

    /// A variable whose value is `default` where it was never set.
    pub const fn with_default(name: &'static str, default: T) -> Self {
        ContextVar { name, default: Some(default), key: AtomicU64::new(0) }
    }

    /// The variable's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The variable's process-wide key.
    pub fn key(&self) -> VarKey {
        let key = self.key.load(Ordering::Acquire);
        let key = if key != 0 {
            key
        } else {
            let fresh = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
            match self.key.compare_exchange(0, fresh, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => fresh,
                Err(winner) => winner,
            }
        };
        VarKey(NonZeroU64::new(key).expect("keys start at 1"))
    }
}

impl<T: Clone + Send + Sync + 'static> ContextVar<T> {
    /// The value in the current context, else the variable's default, else
    /// `None` (asyncio raises `LookupError`) — rule X4.
    pub fn get(&self) -> Option<T> {
        self.lookup().or_else(|| self.default.clone())
    }

    /// The value in the current context, else `default` (asyncio's
    /// `var.get(default)`: the caller's default wins over the variable's).
    pub fn get_or(&self, default: T) -> T {
        self.lookup().unwrap_or(default)
    }

    fn lookup(&self) -> Option<T> {
        let key = self.key();
        let value = with_current(|ctx| ctx.get(key))?;
        value.downcast_ref::<T>().cloned()
    }

    /// Sets the value in the current context and returns a token that can
    /// restore the previous state with [`reset`](ContextVar::reset).
    pub fn set(&self, value: T) -> Token<T> {
        let key = self.key();
        let value: ContextValue = Arc::new(value);
        let (context_id, old) = with_current_mut(|ctx| (identity(ctx), ctx.insert(key, value)));
        Token { key, context_id, old, _marker: PhantomData }
    }

    /// Restores the variable to what it was before the `set` that produced
    /// `token`: the old value, or unset (rule X3).
    ///
    /// A token can be used once — `reset` takes it by value, so a second reset
    /// does not compile. A token of another variable, or one created in
    /// another context, is refused with an error and changes nothing.
    pub fn reset(&self, token: Token<T>) -> Result<(), TokenError> {
        let key = self.key();
        if token.key != key {
            return Err(TokenError::WrongVariable { variable: self.name });
        }
        let replaced = with_current_mut(|ctx| {
            if identity(ctx) != token.context_id {
                return Err(TokenError::WrongContext { variable: self.name });
            }
            Ok(match token.old {
                Some(old) => ctx.insert(key, old),
                None => ctx.remove(key),
            })
        })?;
        drop(replaced); // outside the context borrow: a destructor is user code
        Ok(())
    }
}

impl<T: 'static> fmt::Debug for ContextVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextVar").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Returned by [`ContextVar::set`]; restores the previous value when passed
/// to [`ContextVar::reset`]. Bound to the thread (and context) it was made in.
pub struct Token<T> {
    key: VarKey,
    context_id: u64,
    old: Option<ContextValue>,
    /// `!Send`: a token belongs to the context (and thread) that made it.
    _marker: PhantomData<(*const (), T)>,
}

impl<T: Clone + 'static> Token<T> {
    /// The value the variable had before the `set`, or `None` if it was unset.
    pub fn old_value(&self) -> Option<T> {
        self.old.as_ref()?.downcast_ref::<T>().cloned()
    }
}

impl<T> fmt::Debug for Token<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token").field("key", &self.key).field("context_id", &self.context_id).finish_non_exhaustive()
    }
}

/// Why [`ContextVar::reset`] refused a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The token was created by another variable's `set`.
    WrongVariable {
        /// The variable `reset` was called on.
        variable: &'static str,
    },
    /// The token was created in another context (e.g. another task).
    WrongContext {
        /// The variable `reset` was called on.
        variable: &'static str,
    },
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::WrongVariable { variable } => {
                write!(f, "token was created by a different ContextVar than {variable:?}")
            }
            TokenError::WrongContext { variable } => {
                write!(f, "token for {variable:?} was created in a different context")
            }
        }
    }
}

impl std::error::Error for TokenError {}
