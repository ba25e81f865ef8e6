//! `Cancelled`: what a checkpoint returns when a cancel is delivered.
//!
//! asyncio raises `CancelledError` inside the coroutine; the coroutine may
//! catch it, clean up (even with more awaits), and re-raise or swallow it. A
//! task whose coroutine lets it escape ends *cancelled*; one that swallows it
//! and returns ends normally.
//!
//! corio's translation: every checkpoint returns `Err(Cancelled)`, which the
//! task's code propagates with `?` or handles like any error. A task ends
//! cancelled when its body returns while it still holds a `Cancelled` it was
//! given: the token is tracked, and if it (or a clone) is still alive when
//! the future returns — inside an `Err`, inside an `io::Error`, anywhere in
//! the output — the join reports `JoinError::Cancelled` and the output is
//! dropped. Dropping the token (swallowing) or converting it into another
//! error (`map_err(|_| MyError)`) ends the task normally, exactly as catching
//! `CancelledError` and returning or raising something else does in asyncio.
//! A request still pending when the body returns (none of its checkpoints
//! came after it) ends the task cancelled as well: asyncio's `_must_cancel`.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::sync::Arc;

/// The error a checkpoint returns when its task's cancellation is delivered.
///
/// Carries the message given to [`AnyTask::cancel_with`](super::AnyTask::cancel_with)
/// (the first one, when several cancels were requested before delivery).
///
/// ```
/// use corio_core::task::Cancelled;
/// use std::io;
///
/// // A cancellation travels inside an io::Error through I/O code...
/// let err: io::Error = Cancelled::with_message("shutdown").into();
/// // ...and can be recognised there.
/// assert_eq!(Cancelled::find(&err).unwrap().message(), Some("shutdown"));
/// ```
#[derive(Clone)]
pub struct Cancelled {
    inner: Arc<Inner>,
}

struct Inner {
    message: Option<Cow<'static, str>>,
}

impl Cancelled {
    pub(crate) fn new(message: Option<Cow<'static, str>>) -> Cancelled {
        Cancelled { inner: Arc::new(Inner { message }) }
    }

    /// A cancellation with a message, not attributed to any task. Tasks get
    /// theirs from checkpoints; this is for code that reports a cancellation
    /// of its own (and for tests).
    pub fn with_message(message: impl Into<Cow<'static, str>>) -> Cancelled {
        Cancelled::new(Some(message.into()))
    }

    /// The message given with the cancel request, if any.
    pub fn message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    pub(crate) fn message_cow(&self) -> Option<Cow<'static, str>> {
        self.inner.message.clone()
    }

    /// Whether a copy of this token exists besides `self`.
    pub(crate) fn is_shared(&self) -> bool {
        Arc::strong_count(&self.inner) > 1
    }

    /// The `Cancelled` inside an `io::Error`, if that error is a cancellation.
    pub fn find(err: &io::Error) -> Option<&Cancelled> {
        err.get_ref()?.downcast_ref::<Cancelled>()
    }
}

impl fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cancelled").field(&self.message()).finish()
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(message) => write!(f, "cancelled: {message}"),
            None => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for Cancelled {}

impl PartialEq for Cancelled {
    /// Two cancellations are equal when their messages are.
    fn eq(&self, other: &Cancelled) -> bool {
        self.message() == other.message()
    }
}

impl From<Cancelled> for io::Error {
    /// Wraps the token (kind `Interrupted`), keeping it alive, so an I/O
    /// error that carries a cancellation still ends the task cancelled.
    fn from(cancelled: Cancelled) -> io::Error {
        io::Error::new(io::ErrorKind::Interrupted, cancelled)
    }
}
