//! Why a channel operation failed; a value that was not sent comes back.

use crate::task::Cancelled;
use std::fmt;

/// Why a send failed; the value comes back.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::mpsc;
///
/// corio::run(async {
///     let (tx, rx) = mpsc::channel(4).unwrap();
///     drop(rx);
///     let err = tx.send("hello").await.unwrap_err();
///     assert!(err.is_closed());
///     assert_eq!(err.into_value(), "hello"); // nothing is lost
/// })
/// .unwrap();
/// ```
#[derive(PartialEq)]
pub enum SendError<T> {
    /// The receiver is gone or closed.
    Closed(T),
    /// The sending task's cancel was delivered while it waited.
    Cancelled(Cancelled, T),
}

impl<T> SendError<T> {
    /// The value that was not sent.
    pub fn into_value(self) -> T {
        match self {
            SendError::Closed(value) | SendError::Cancelled(_, value) => value,
        }
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        matches!(self, SendError::Closed(_))
    }

    /// Whether the wait was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, SendError::Cancelled(..))
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str("Closed(..)"),
            SendError::Cancelled(c, _) => f.debug_tuple("Cancelled").field(c).finish_non_exhaustive(),
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str("the channel is closed"),
            SendError::Cancelled(c, _) => c.fmt(f),
        }
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Sender::try_send`](super::Sender::try_send) failed; the value comes back.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::mpsc::{self, TrySendError};
///
/// let (tx, _rx) = mpsc::channel(1).unwrap();
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// ```
#[derive(PartialEq)]
pub enum TrySendError<T> {
    /// No free slot.
    Full(T),
    /// The receiver is gone or closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_value(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Closed(value) => value,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the channel is full"),
            TrySendError::Closed(_) => f.write_str("the channel is closed"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// Why [`Receiver::try_recv`](super::Receiver::try_recv) got no value.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::mpsc::{self, TryRecvError};
///
/// let (tx, mut rx) = mpsc::channel::<u8>(1).unwrap();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing buffered yet.
    Empty,
    /// Every sender is gone and the buffer is drained.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("the channel is empty"),
            TryRecvError::Closed => f.write_str("the channel is closed"),
        }
    }
}

impl std::error::Error for TryRecvError {}

/// [`channel`](super::channel) with a capacity of 0 (a bounded channel holds at least one
/// value).
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::mpsc::{self, ZeroCapacity};
///
/// assert_eq!(mpsc::channel::<u8>(0).unwrap_err(), ZeroCapacity); // an error, not a panic
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZeroCapacity;

impl fmt::Display for ZeroCapacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a bounded channel needs a capacity of at least 1")
    }
}

impl std::error::Error for ZeroCapacity {}
