//! Readiness-based I/O on the loop's reactor.
//!
//! * `registry`: the loop's table of registered sources — readiness flags
//!   and the wakers waiting for them.
//! * [`Async`]: wraps any non-blocking file descriptor and turns
//!   `WouldBlock` into waiting for readiness (smol's `Async<T>`).
//! * [`TcpListener`], [`TcpStream`]: TCP on top of `Async`.
//!
//! Every wait for readiness is a checkpoint: a pending cancel of the task
//! makes it return an `io::Error` carrying the [`Cancelled`](crate::task::Cancelled)
//! (kind `Interrupted`), so `?` propagates the cancellation and the task ends
//! cancelled.

pub(crate) mod registry;
mod source;
mod tcp;

pub use registry::{Direction, IoKey};
pub use source::Async;
pub use tcp::{TcpListener, TcpStream};
