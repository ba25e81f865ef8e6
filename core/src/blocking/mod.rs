//! Blocking work on a thread pool: asyncio's `run_in_executor` and
//! `to_thread`, tokio's `spawn_blocking` (rules B1, B2, X5).
//!
//! A loop must never block: a blocking call (a file read, a DNS lookup, a
//! long computation) goes to a pool thread, and the task awaits its result.
//!
//! * [`run_in_executor`] — asyncio's `loop.run_in_executor(None, f)`: the
//!   raw call. `f` runs in an empty context.
//! * [`to_thread`] — asyncio's `asyncio.to_thread(f)`: `f` runs in a copy of
//!   the caller's context (X5).
//! * [`spawn_blocking`] — tokio's name for the raw call; dropping its handle
//!   lets the job run (as dropping a [`Task`](crate::task::Task) detaches).
//!
//! # Invariants
//!
//! * **Bounded** (B1): each loop's default pool ([`BlockingPool`], created on
//!   first use) runs at most `max_threads` jobs at once; more wait in its
//!   queue. A thread idle for the keep-alive exits. A thread that has just
//!   finished a job spins for up to [`SPIN_FOR_NEXT_JOB`] for the next one
//!   before it parks (one at a time), so a caller's next job usually starts
//!   without a thread wake-up.
//! * **Cancel before start means never** (B2): awaiting a job is a
//!   checkpoint; a cancel delivered there (or dropping the awaitable)
//!   withdraws a job that has not started, and it never runs. A job that has
//!   started cannot be stopped: it finishes and its result is dropped. The
//!   decision is one compare-exchange (`job.rs`; loom model `loom_blocking`).
//! * **Threads never run loop code**: a pool thread runs the job and wakes
//!   the awaiting task through its waker, the loop's cross-thread wake path.
//! * **The loop, through a seam** (`host.rs`): submitting reaches the
//!   running loop's default pool and a handle that keeps it from reporting a
//!   deadlock while a job is in flight; the runtime implements it.
//! * **Teardown**: `EventLoop::shutdown` (and so `corio::run`) shuts the
//!   default pool down after the tasks, waiting for running jobs up to the
//!   grace period; `close` does it without waiting. Queued jobs are refused
//!   then, never started.
//!
//! ```
//! # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
//! use corio::reactor::ParkReactor;
//! use corio::runtime::EventLoop;
//!
//! let lp = EventLoop::new(ParkReactor::new());
//! let length = lp.block_on(async {
//!     // Blocking I/O off the loop's thread.
//!     let text = corio::blocking::to_thread(|| std::fs::read_to_string("Cargo.toml")).await.unwrap();
//!     text.map(|t| t.len())
//! });
//! assert!(length.unwrap().unwrap() > 0);
//! ```

mod awaiter;
pub(crate) mod host;
mod job;
mod pool;

pub use awaiter::Blocking;
pub use pool::{BlockingPool, PoolBuilder, PoolStats, ShutdownReport, DEFAULT_KEEP_ALIVE, SPIN_FOR_NEXT_JOB};

/// Runs `f` on the running loop's default pool and returns an awaitable for
/// its result (asyncio's `loop.run_in_executor(None, f)`).
///
/// `f` runs in an empty context: context variables are not carried (use
/// [`to_thread`] for that, asyncio's rule X5). The job is queued at once;
/// awaiting is a checkpoint (see [`Blocking`]).
///
/// # Panics
///
/// If no loop is running on this thread (as [`spawn`](crate::spawn)).
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// corio::run(async {
///     let digest = corio::blocking::run_in_executor(|| (0..1_000u64).map(|i| i * i).sum::<u64>());
///     assert_eq!(digest.await.unwrap(), 332_833_500);
/// })
/// .unwrap();
/// ```
///
/// **Cancel safety:** not cancel-safe: a dropped [`Blocking`] withdraws or
/// abandons its job (rule B2).
#[track_caller]
pub fn run_in_executor<F, T>(f: F) -> Blocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    host::default_pool().run(f)
}

/// Runs `f` on the running loop's default pool in a copy of the caller's
/// context (asyncio's `asyncio.to_thread(f)`, rule X5): `f` sees the
/// caller's context variables, and its own writes stay on its side.
///
/// # Panics
///
/// If no loop is running on this thread.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::context::ContextVar;
///
/// static USER: ContextVar<&'static str> = ContextVar::new("user");
/// corio::run(async {
///     USER.set("ada");
///     let seen = corio::blocking::to_thread(|| USER.get()).await.unwrap();
///     assert_eq!(seen, Some("ada"));
/// })
/// .unwrap();
/// ```
///
/// **Cancel safety:** not cancel-safe: a dropped [`Blocking`] withdraws or
/// abandons its job (rule B2).
#[track_caller]
pub fn to_thread<F, T>(f: F) -> Blocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    host::default_pool().to_thread(f)
}

/// Runs `f` on the running loop's default pool (tokio's `spawn_blocking`):
/// as [`run_in_executor`], except that dropping the returned handle lets
/// the job run to its end instead of withdrawing it.
///
/// # Panics
///
/// If no loop is running on this thread.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// let (tx, rx) = std::sync::mpsc::channel();
/// corio::run(async move {
///     // Detached: the job runs on the pool while the loop goes on.
///     drop(corio::blocking::spawn_blocking(move || tx.send("ran anyway").unwrap()));
///     let got = corio::blocking::spawn_blocking(move || rx.recv().unwrap()).await.unwrap();
///     assert_eq!(got, "ran anyway");
/// })
/// .unwrap();
/// ```
///
/// A job still queued when its loop's pool shuts down (the loop ended) never
/// starts, as tokio's `spawn_blocking` at runtime shutdown.
///
/// **Cancel safety:** cancel-safe: dropping the [`Blocking`] lets the job run
/// to its end unobserved.
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> Blocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    host::default_pool().spawn(f)
}
