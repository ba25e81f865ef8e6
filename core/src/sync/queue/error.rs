//! Why a queue operation failed (asyncio's `QueueFull`, `QueueEmpty`,
//! `QueueShutDown`, and the `ValueError` of `task_done`).

use crate::task::Cancelled;
use std::fmt;

/// Why a put failed; the item comes back (asyncio's `QueueFull`,
/// `QueueShutDown`, `CancelledError`).
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::{PutError, Queue};
///
/// let queue = Queue::new(1);
/// queue.put_nowait("first").unwrap();
/// let err = queue.put_nowait("second").unwrap_err();
/// assert!(matches!(err, PutError::Full("second")));
/// assert_eq!(err.into_item(), "second"); // nothing is lost
/// queue.shutdown(false);
/// assert!(matches!(queue.put_nowait("third"), Err(PutError::ShutDown("third"))));
/// ```
#[derive(PartialEq)]
pub enum PutError<T> {
    /// [`put_nowait`](super::Queue::put_nowait) found no free slot (`QueueFull`).
    Full(T),
    /// The queue is shut down (`QueueShutDown`).
    ShutDown(T),
    /// The putting task's cancel was delivered while it waited.
    Cancelled(Cancelled, T),
}

impl<T> PutError<T> {
    /// The item that was not put.
    pub fn into_item(self) -> T {
        match self {
            PutError::Full(item) | PutError::ShutDown(item) | PutError::Cancelled(_, item) => item,
        }
    }

    /// Whether the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, PutError::Full(_))
    }

    /// Whether the queue is shut down.
    pub fn is_shut_down(&self) -> bool {
        matches!(self, PutError::ShutDown(_))
    }

    /// Whether the wait was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, PutError::Cancelled(..))
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("Full(..)"),
            PutError::ShutDown(_) => f.write_str("ShutDown(..)"),
            PutError::Cancelled(c, _) => f.debug_tuple("Cancelled").field(c).finish_non_exhaustive(),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("the queue is full"),
            PutError::ShutDown(_) => f.write_str("the queue is shut down"),
            PutError::Cancelled(c, _) => c.fmt(f),
        }
    }
}

impl<T> std::error::Error for PutError<T> {}

/// Why a get failed (asyncio's `QueueEmpty`, `QueueShutDown`,
/// `CancelledError`).
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::{GetError, Queue};
///
/// let queue = Queue::new(0);
/// assert_eq!(queue.get_nowait(), Err(GetError::Empty));
/// queue.put_nowait(1).unwrap();
/// queue.shutdown(false); // gets drain what is left, then fail
/// assert_eq!(queue.get_nowait(), Ok(1));
/// assert_eq!(queue.get_nowait(), Err(GetError::ShutDown));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum GetError {
    /// [`get_nowait`](super::Queue::get_nowait) found no item (`QueueEmpty`).
    Empty,
    /// The queue is shut down and has nothing left (`QueueShutDown`).
    ShutDown,
    /// The getting task's cancel was delivered while it waited.
    Cancelled(Cancelled),
}

impl GetError {
    /// Whether the queue was empty.
    pub fn is_empty(&self) -> bool {
        matches!(self, GetError::Empty)
    }

    /// Whether the queue is shut down.
    pub fn is_shut_down(&self) -> bool {
        matches!(self, GetError::ShutDown)
    }

    /// Whether the wait was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, GetError::Cancelled(_))
    }
}

impl From<Cancelled> for GetError {
    fn from(cancelled: Cancelled) -> Self {
        GetError::Cancelled(cancelled)
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::Empty => f.write_str("the queue is empty"),
            GetError::ShutDown => f.write_str("the queue is shut down"),
            GetError::Cancelled(c) => c.fmt(f),
        }
    }
}

impl std::error::Error for GetError {}

/// [`Queue::task_done`](super::Queue::task_done) called more often than items were put (asyncio's
/// `ValueError('task_done() called too many times')`).
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::{Queue, TaskDoneError};
///
/// let queue = Queue::new(0);
/// queue.put_nowait("job").unwrap();
/// queue.get_nowait().unwrap();
/// assert_eq!(queue.task_done(), Ok(()));
/// assert_eq!(queue.task_done(), Err(TaskDoneError)); // one more than was put
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}
