//! Errors of running a loop.

use crate::task::{Cancelled, JoinError, Panic};
use std::fmt;
use std::io;

/// Why running the loop (or the future given to `block_on`) failed.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::LoopError;
///
/// let result = corio::run(async {
///     corio::current_task().expect("inside a task").cancel();
///     corio::yield_now().await?; // the cancel is delivered here
///     Ok::<_, corio::Cancelled>(())
/// });
/// // The future ended holding its cancel: `run` reports it as the loop's error.
/// assert!(matches!(result, Err(LoopError::Cancelled(_))));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum LoopError {
    /// The loop was closed.
    Closed,
    /// Another loop is already running on this thread (rule L9); running one
    /// inside another would deadlock.
    AlreadyRunning,
    /// `stop()` was called before the future given to `block_on` finished
    /// (asyncio: "Event loop stopped before Future completed").
    Stopped,
    /// On a virtual clock, nothing was ready, no timer was pending, no event
    /// could arrive and no other thread held a handle: the program can never
    /// make progress (rule L5). Lists the blocked tasks.
    Deadlock {
        /// Each blocked task: name and spawn location.
        tasks: Vec<String>,
    },
    /// The reactor failed.
    Reactor(io::Error),
    /// The future given to `block_on` ended cancelled.
    Cancelled(Cancelled),
    /// The future given to `block_on` panicked.
    Panicked(Panic),
}

impl From<JoinError> for LoopError {
    fn from(err: JoinError) -> LoopError {
        match err {
            JoinError::Cancelled(c) => LoopError::Cancelled(c),
            JoinError::Panicked(p) => LoopError::Panicked(p),
        }
    }
}

impl fmt::Display for LoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoopError::Closed => f.write_str("the event loop is closed"),
            LoopError::AlreadyRunning => {
                f.write_str("cannot run an event loop while another loop is running on this thread")
            }
            LoopError::Stopped => f.write_str("the event loop stopped before the future completed"),
            LoopError::Deadlock { tasks } => {
                write!(f, "deadlock: nothing can make progress; blocked tasks: {}", tasks.join(", "))
            }
            LoopError::Reactor(err) => write!(f, "the reactor failed: {err}"),
            LoopError::Cancelled(c) => write!(f, "the main future was {c}"),
            LoopError::Panicked(p) => write!(f, "the main future panicked: {p}"),
        }
    }
}

impl std::error::Error for LoopError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoopError::Reactor(err) => Some(err),
            LoopError::Cancelled(c) => Some(c),
            _ => None,
        }
    }
}
