//! The event loop and what runs on it.
//!
//! * [`EventLoop`] — asyncio's loop, generic over [`Reactor`](crate::reactor::Reactor),
//!   [`Clock`](crate::clock::Clock), [`Executor`](crate::executor::Executor) and
//!   [`ContextStore`](crate::context::ContextStore); built with [`Builder`].
//! * [`Handle`], [`TimerHandle`] — cancellable callbacks.
//! * [`LoopHandle`] — the `Send` handle other threads use.
//! * [`Metrics`] — the loop's counters ([`EventLoop::metrics`], [`metrics()`]).
//! * [`timers`] — the timer queue (a timing wheel with an exactly ordered near
//!   level) and its purge rule.
//!
//! # Invariants
//!
//! * One loop per thread runs at a time; running a loop inside a running loop
//!   is an error, not a deadlock (L9).
//! * Work scheduled during an iteration runs in the next one (L2); the
//!   reactor is never polled with a non-zero timeout while work is ready
//!   (L5); a wake or timer on the loop's own thread makes no syscall, and a
//!   wake from another thread writes to the reactor only if the loop is parked
//!   (L7).
//! * Panics in callbacks and tasks never unwind through the loop (L8).
//! * Closing drops every task's future on the loop's thread and refuses work
//!   from handles; nothing queued is leaked.
//!
//! # Layers
//!
//! The runtime sits above tasks, the blocking pool and I/O's readiness
//! table, and implements the seams they define (`host.rs`): a loop is its
//! tasks' host, the running loop of its thread, its sources' I/O driver
//! and the blocking layer's host. Nothing below imports this module
//! (`docs/design.md`, "Layers"; `verify/layers.sh`).

mod book;
mod callback;
pub(crate) mod current;
mod debug;
mod error;
mod event_loop;
pub(crate) mod exception;
mod handle;
mod host;
mod local;
mod metrics;
pub(crate) mod pool;
pub(crate) mod registry;
pub(crate) mod shared;
pub mod timers;

pub use crate::task::owners::TooManyLoops;
pub use crate::task::WrongThread;
pub use callback::{Handle, TimerHandle};
pub use current::metrics;
pub use debug::{DEBUG_ENV, DEFAULT_SLOW_CALLBACK_DURATION};
pub use error::LoopError;
pub use event_loop::{Builder, EventLoop, LoopStats, DEFAULT_POLL_INTERVAL, DEFAULT_SHUTDOWN_GRACE};
pub use exception::{ExceptionContext, ExceptionKind};
pub use handle::LoopHandle;
pub use metrics::Metrics;
pub use shared::LoopClosed;

pub(crate) use callback::CallbackRef;
