//! # corio
//!
//! An asyncio-style async runtime for Rust: an event loop with a ready queue,
//! timers and a reactor; tasks with asyncio's cancellation (counted,
//! edge-triggered, delivered at checkpoints); context variables copied into
//! every task; and a small trait-based core whose I/O, time, scheduling and
//! context layers are swappable backends.
//!
//! ```
//! use std::time::Duration;
//!
//! let answer = corio::run(async {
//!     let task = corio::spawn(async {
//!         corio::sleep(Duration::from_millis(1)).await?;
//!         Ok::<_, corio::Cancelled>(42)
//!     });
//!     task.await
//! });
//! assert_eq!(answer.unwrap().unwrap().unwrap(), 42);
//! ```
//!
//! # Backends
//!
//! Cargo features make reactor backends available — `native` (the default:
//! epoll on Linux, kqueue on macOS and the BSDs), `uring` (io_uring,
//! Linux), `portable` (the `polling` crate), `mock` (the deterministic
//! simulated network) — and never choose one: more features only add
//! choices. A loop runs the backend the program names
//! ([`Builder::backend`], `#[corio::main(backend = "uring")]`), else the
//! one `CORIO_BACKEND` names, else the platform's native one (else
//! `portable`, else `uring`). [`EventLoop::backend`](runtime::EventLoop::backend)
//! says which runs. See [`backend`] and `docs/backends.md`.
//!
//! ```
//! use corio::Backend;
//!
//! # #[cfg(target_os = "linux")] {
//! let lp = corio::builder().backend(Backend::Epoll).build().unwrap();
//! assert_eq!(lp.backend(), "epoll");
//! assert_eq!(lp.metrics().backend, "epoll");
//! # }
//! ```
//!
//! # The ecosystem
//!
//! Features, none on by default: `hyper` (`corio::hyper`: hyper's
//! runtime traits, an HTTP/1.1 + HTTP/2 server with graceful shutdown, a
//! client connector with `hyper-util`), `tls` (`corio::tls`: rustls acceptors and
//! connectors over corio streams) and `tokio-compat` (`corio::compat`:
//! tokio-only futures such as reqwest's inside corio tasks). See
//! `docs/ecosystem.md`.
//!
//! # Awaiting a task from several places
//!
//! A [`Task`] hands its output to its one owner. asyncio's tasks are
//! awaited by anyone: [`Task::shared`] makes a cloneable [`SharedTask`]
//! whose every await gets a copy (and `result()` reads it again);
//! [`AnyTask::wait`] waits for a task's end without its output; a gather's
//! [`GatherHandle`] reaches its children and cancels it from elsewhere.
//! `task.await?` works in functions returning `Result<_, Cancelled>`.
//!
//! ```
//! use corio::{Cancelled, GatherError};
//! use std::time::Duration;
//!
//! let lp = corio::builder().clock(corio::clock::VirtualClock::new()).build().unwrap();
//! lp.block_on(async {
//!     let config = corio::spawn(async { String::from("loaded") }).shared();
//!     let readers: Vec<_> = (0..3).map(|_| corio::spawn(config.clone())).collect();
//!     for reader in readers {
//!         assert_eq!(reader.await??, "loaded"); // JoinError -> Cancelled, twice
//!     }
//!     assert_eq!(config.result().unwrap()?, "loaded");
//!
//!     let slow = corio::spawn(corio::sleep(Duration::from_secs(5)));
//!     let watcher = corio::spawn(slow.wait()); // sees the end, leaves the output
//!     watcher.await??;
//!     slow.await??;
//!
//!     let gathering = corio::gather([1, 2].map(|s| async move {
//!         corio::sleep(Duration::from_secs(s)).await?;
//!         Ok::<_, Cancelled>(s)
//!     }));
//!     let gatherer = gathering.handle();
//!     let waiter = corio::spawn(async move { matches!(gathering.await, Err(GatherError::Cancelled(_))) });
//!     corio::yield_now().await?;
//!     gatherer.cancel(); // asyncio's gatherer.cancel()
//!     assert!(waiter.await?);
//!     Ok::<_, Cancelled>(())
//! })
//! .unwrap()
//! .unwrap();
//! ```
//!
//! # Debugging
//!
//! `CORIO_DEBUG=1` (or [`runtime::Builder::debug`]) reports polls and
//! callbacks slower than 100 ms with the task's name and where it resumed;
//! [`task::dump()`] lists every live task and the checkpoint it waits at;
//! the `tracing` feature gives each task a span. Reports go to the loop's
//! exception handler, which logs through the `log` crate. See
//! `docs/debugging.md`.
//!
//! # asyncio names
//!
//! `asyncio.run` → [`run`]; `create_task` → [`spawn`]; `loop.call_soon` →
//! [`call_soon`]; `asyncio.sleep` → [`sleep`]; `Task.cancel(msg)` →
//! [`AnyTask::cancel_with`]; `CancelledError` → [`Cancelled`]; `loop.create_future`
//! → [`Completion`]; `contextvars.ContextVar` → [`ContextVar`];
//! `loop.run_in_executor` → [`run_in_executor`]; `asyncio.to_thread` →
//! [`to_thread`]; `TaskGroup` → [`task_group`]; `asyncio.timeout` →
//! [`timeout()`]; `wait_for`, `shield`, `gather`, `wait`, `as_completed` →
//! the same names; trio's cancel scopes → [`CancelScope`]. The full map is
//! in `docs/semantics.md`.
//!
//! # tokio names
//!
//! tokio's everyday toolbox has the same names here: [`sync::Mutex`],
//! [`sync::RwLock`], [`sync::Notify`], [`sync::broadcast`], [`sync::watch`],
//! [`sync::mpsc`], [`sync::oneshot`], [`time::interval`],
//! [`select!`](macro@select), [`join!`](macro@join),
//! [`try_join!`](macro@try_join). Every wait among them is a checkpoint that
//! reports a cancel as an error (`lock().await?`), the one shape difference
//! from tokio.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private;
mod policy;
mod select_support;

use std::future::Future;
use std::io;

pub use corio_macros::{main, test};

/// Waits on several futures at once; the first to complete whose output
/// matches its pattern runs its handler, and the others are dropped
/// (tokio's `select!`).
///
/// ```text
/// corio::select! {
///     biased;                                      // optional: poll the branches in order
///     <pattern> = <future> [, if <precondition>] => <handler>,
///     ...
///     else => <handler>,                           // optional: when every branch is disabled
/// }
/// ```
///
/// 1. Every `, if` precondition is evaluated; a false one disables its
///    branch. Every future expression is evaluated (also a disabled
///    branch's: it is never polled).
/// 2. The enabled futures are polled in place, starting from a branch that
///    rotates with every `select!` on the thread (fair without randomness,
///    so runs are reproducible), or in order with `biased;`.
/// 3. When one completes, its output is matched against its pattern: a
///    match drops every other future, *then* runs the handler (so the
///    handler may use what the losers borrowed); a mismatch disables the
///    branch and the others go on.
/// 4. When every branch is disabled, the `else` handler runs. A `select!`
///    whose every branch *can* be disabled (a precondition, or a pattern
///    that may not match) must have an `else`: that is checked when it
///    compiles (tokio panics at run time instead).
///
/// `select!` itself is not a checkpoint: a cancel of the task reaches the
/// branches' own corio futures, whose `Err(Cancelled)` then wins like any
/// output. **A losing branch is dropped**: use futures whose docs say they
/// are cancel-safe (every corio wait says; see the table in
/// `docs/semantics.md`), or pass `&mut fut` to keep a future across
/// iterations.
///
/// ```
/// use corio::sync::mpsc;
/// use std::time::Duration;
///
/// # corio::builder().clock(corio::clock::VirtualClock::new()).build().unwrap().block_on(async {
/// let (tx, mut rx) = mpsc::channel(8).unwrap();
/// corio::spawn(async move {
///     for i in 0..3 {
///         tx.send(i).await.unwrap();
///     }
/// })
/// .detach();
/// let mut ticks = corio::time::interval(Duration::from_secs(1)).unwrap();
/// let (mut got, mut idle) = (Vec::new(), 0);
/// loop {
///     corio::select! {
///         biased;
///         Ok(Some(v)) = rx.recv() => got.push(v),  // disabled once the channel ends
///         _ = ticks.tick(), if idle < 2 => idle += 1,
///         else => break,
///     }
/// }
/// assert_eq!(got, [0, 1, 2]);
/// # }).unwrap();
/// ```
pub use corio_macros::select;

/// Waits for every future, polled concurrently in argument order, and
/// returns their outputs as a tuple (tokio's `join!`). Not a checkpoint
/// itself; cancellation reaches the futures' own checkpoints.
///
/// ```
/// use std::time::Duration;
/// # corio::builder().clock(corio::clock::VirtualClock::new()).build().unwrap().block_on(async {
/// let t0 = corio::time();
/// let (a, b) = corio::join!(
///     async { corio::sleep(Duration::from_secs(2)).await.map(|()| "a") },
///     async { corio::sleep(Duration::from_secs(1)).await.map(|()| 2) },
/// );
/// assert_eq!((a.unwrap(), b.unwrap()), ("a", 2));
/// assert_eq!(corio::time() - t0, Duration::from_secs(2)); // at the same time
/// # }).unwrap();
/// ```
pub use corio_macros::join;

/// Waits for every future returning `Result<T, E>` (one `E` for all):
/// `Ok` with the tuple of values, or the first `Err`, after which the
/// others are dropped (tokio's `try_join!`).
///
/// ```
/// # corio::builder().build().unwrap().block_on(async {
/// let both: Result<(u8, &str), String> = corio::try_join!(async { Ok(1) }, async { Ok("two") });
/// assert_eq!(both, Ok((1, "two")));
/// let failed: Result<(u8, u8), String> = corio::try_join!(async { Ok(1) }, async { Err("no".to_string()) });
/// assert_eq!(failed, Err("no".to_string()));
/// # }).unwrap();
/// ```
pub use corio_macros::try_join;
pub use policy::{get_event_loop, get_running_loop, set_event_loop, NoEventLoop, NoRunningLoop};

/// Files and directories on the loop's blocking pool (tokio's `tokio::fs`).
pub use corio_core::fs;
/// Child processes watched by the loop (tokio's `tokio::process`, asyncio's subprocesses).
pub use corio_core::process;
/// asyncio's streams API: `open_connection`, `start_server`, `StreamReader`, `StreamWriter`.
pub use corio_core::streams;
pub use corio_core::{blocking, clock, context, executor, reactor, runtime, signal, structured, sync, task};
pub use corio_core::{
    call_at, call_later, call_soon, cancellable, current_task, handle, sleep, sleep_until, spawn, stop, time,
    try_handle, yield_now, Cancellable, Completion, FutureError, FutureExt, Wait,
};

pub use corio_core::blocking::{run_in_executor, spawn_blocking, to_thread, Blocking, BlockingPool};

pub use corio_core::structured::{
    as_completed, fail_after, fail_at, gather, gather_settled, move_on_after, move_on_at, select, select_all, shield,
    task_group, timeout, timeout_at, wait, wait_for, CancelScope, Child, ChildError, Either, Elapsed, ErrorGroup,
    GatherError, GatherHandle, GroupError, ReturnWhen, SpawnError, TaskGroup,
};

pub use corio_core::context::{ContextVar, Token};
pub use corio_core::runtime::{Handle, LoopError, LoopHandle, TimerHandle};
pub use corio_core::task::{AnyTask, Cancelled, JoinError, SharedTask, Task};

/// Sockets on the loop's reactor: TCP, UDP and Unix domain sockets, owned
/// stream halves, and the accept loop that backs off on `EMFILE`.
pub mod net {
    pub use corio_core::io::{
        Incoming, Listener, OwnedReadHalf, OwnedWriteHalf, ReuniteError, Split, TcpListener, TcpStream, UdpSocket,
        UnixDatagram, UnixListener, UnixStream, ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_MIN,
    };
    // Name resolution off the loop's thread, and Happy Eyeballs.
    pub use corio_core::io::{lookup_host, HappyEyeballs, Resolver, ResolverBuilder, ToSocketAddrs};
}

pub mod multi_loop;

pub use corio_core::multi_loop::{spawn_on, MultiLoopError};
pub use multi_loop::MultiLoop;

/// A builder for a [`MultiLoop`]: one loop per core unless
/// [`loops`](multi_loop::Builder::loops) says otherwise, on the backend the
/// program, `CORIO_BACKEND` or the default order chooses.
///
/// ```
/// let rt = corio::multi_loop().loops(2).build().unwrap();
/// let loops = rt.loops();
/// let answer = rt
///     .run(async move { loops.spawn_on(1, async { 40 + 2 }).unwrap().await.unwrap() })
///     .unwrap();
/// assert_eq!(answer, 42);
/// ```
pub fn multi_loop() -> multi_loop::Builder {
    multi_loop::Builder::new()
}

#[cfg(feature = "tokio-compat")]
pub mod compat;
#[cfg(feature = "hyper")]
pub mod hyper;
#[cfg(feature = "tls")]
pub mod tls;

/// The generic I/O wrapper.
pub mod io_source {
    pub use corio_core::io::{Async, Direction};
}

pub mod backend;
mod builder;

pub use backend::Backend;
pub use builder::Builder;

/// The reactor of [`EventLoop`]: whichever backend was chosen when the loop
/// was built ([`backend::AnyReactor`]).
pub type DefaultReactor = backend::AnyReactor;

/// An event loop on the backend chosen at run time (see [`backend`]): the
/// system clock, FIFO order and the default context store unless
/// [`builder()`] chose others.
pub type EventLoop<C = clock::SystemClock, E = executor::Fifo, X = context::CowContext> =
    corio_core::runtime::EventLoop<backend::AnyReactor, C, E, X>;

/// A [`Builder`] for an event loop: choose the backend, clock, executor or
/// context store, then [`build`](Builder::build).
///
/// ```
/// use corio::clock::VirtualClock;
/// use std::time::Duration;
///
/// let lp = corio::builder().clock(VirtualClock::new()).build().unwrap();
/// lp.block_on(corio::sleep(Duration::from_secs(60))).unwrap().unwrap(); // instant
/// ```
pub fn builder() -> Builder {
    Builder::new()
}

/// A new event loop for this thread (asyncio's `new_event_loop`), on the
/// backend `CORIO_BACKEND` names, else the default order's.
///
/// ```
/// let lp = corio::new_event_loop().unwrap();
/// println!("running on {}", lp.backend()); // "epoll" on Linux by default
/// assert_eq!(lp.block_on(async { 6 * 7 }).unwrap(), 42);
/// ```
pub fn new_event_loop() -> io::Result<EventLoop> {
    Builder::new().build()
}

/// Runs `future` on a new event loop and tears the loop down (asyncio's
/// `asyncio.run`): once the future finishes, every task still alive is
/// cancelled and given [`DEFAULT_SHUTDOWN_GRACE`](runtime::DEFAULT_SHUTDOWN_GRACE)
/// to finish its cleanup; the rest are aborted and reported; then the loop
/// closes. The backend is the one `CORIO_BACKEND` names, else the default
/// order's; `#[corio::main(backend = "...")]` or [`builder()`] choose one
/// in the program.
///
/// Errors: no reactor (an unknown or missing backend, or one that cannot
/// start: [`LoopError::Reactor`]), another loop is running on this thread,
/// or the future panicked or ended cancelled.
#[track_caller]
pub fn run<F: Future>(future: F) -> Result<F::Output, LoopError> {
    let lp = new_event_loop().map_err(LoopError::Reactor)?;
    let output = lp.block_on(future);
    let teardown = lp.shutdown(runtime::DEFAULT_SHUTDOWN_GRACE);
    lp.close();
    let output = output?;
    teardown?;
    Ok(output)
}

/// The attribute macros' doctests, including the mistakes they refuse.
#[cfg(doctest)]
#[path = "macro_doctests.rs"]
pub mod macro_doctests;

/// The README's example, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
