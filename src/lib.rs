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
//! Pick the reactor with cargo features: `native` (the default: epoll on
//! Linux, kqueue on macOS and the BSDs), `uring` (io_uring, Linux), or
//! `mock` (deterministic: injected readiness or a simulated network,
//! virtual clock, seeded scheduling — see `corio::backend::mock`).
//! [`EventLoop`] and [`run`] use [`DefaultReactor`]; any combination of
//! reactor, clock, executor and context store can be built with
//! [`runtime::EventLoop::builder`].
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

#![warn(missing_docs)]

#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private;
mod policy;

use std::future::Future;
use std::io;

pub use corio_macros::{main, test};
pub use policy::{get_event_loop, get_running_loop, set_event_loop, NoEventLoop, NoRunningLoop};

pub use corio_core::{blocking, clock, context, executor, reactor, runtime, signal, structured, sync, task};
pub use corio_core::{
    call_at, call_later, call_soon, cancellable, current_task, handle, sleep, sleep_until, spawn, stop, time,
    try_handle, yield_now, Cancellable, Completion, FutureError, FutureExt, Wait,
};

pub use corio_core::blocking::{run_in_executor, spawn_blocking, to_thread, Blocking, BlockingPool};

pub use corio_core::structured::{
    as_completed, fail_after, fail_at, gather, gather_settled, move_on_after, move_on_at, select, select_all, shield,
    task_group, timeout, timeout_at, wait, wait_for, CancelScope, Child, ChildError, Either, Elapsed, ErrorGroup,
    GatherError, GroupError, ReturnWhen, SpawnError, TaskGroup,
};

pub use corio_core::context::{ContextVar, Token};
pub use corio_core::runtime::{Handle, LoopError, LoopHandle, TimerHandle};
pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task};

/// Sockets on the loop's reactor: TCP, UDP and Unix domain sockets, owned
/// stream halves, and the accept loop that backs off on `EMFILE`.
pub mod net {
    pub use corio_core::io::{
        Incoming, Listener, OwnedReadHalf, OwnedWriteHalf, ReuniteError, Split, TcpListener, TcpStream, UdpSocket,
        UnixDatagram, UnixListener, UnixStream, ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_MIN,
    };
}

/// N event loops on N threads (a server on every core); see
/// [`multi_loop()`](crate::multi_loop()) and `docs/multi_loop.md`.
pub mod multi_loop {
    pub use corio_core::multi_loop::{current_loops, spawn_on, Builder, Loops, MultiLoopError, SpawnOnError};
}

pub use corio_core::multi_loop::{spawn_on, MultiLoopError};

/// A multi-loop runtime over the [`DefaultReactor`].
pub type MultiLoop = corio_core::multi_loop::MultiLoop<DefaultReactor>;

/// A builder for a [`MultiLoop`] over the [`DefaultReactor`]: one loop per
/// core unless [`loops`](multi_loop::Builder::loops) says otherwise.
///
/// ```
/// let rt = corio::multi_loop().loops(2).build().unwrap();
/// let loops = rt.loops();
/// let answer = rt
///     .run(async move { loops.spawn_on(1, async { 40 + 2 }).unwrap().await.unwrap() })
///     .unwrap();
/// assert_eq!(answer, 42);
/// ```
pub fn multi_loop() -> multi_loop::Builder<DefaultReactor> {
    multi_loop::Builder::new(default_reactor)
}

/// The generic I/O wrapper.
pub mod io_source {
    pub use corio_core::io::{Async, Direction};
}

/// The reactor backends compiled into this build.
pub mod backend {
    #[cfg(all(feature = "epoll", any(target_os = "linux", target_os = "android")))]
    pub use corio_backends::epoll;
    #[cfg(feature = "kqueue")]
    pub use corio_backends::kqueue;
    #[cfg(feature = "mock")]
    pub use corio_backends::mock;
    #[cfg(feature = "portable")]
    pub use corio_backends::portable;
    #[cfg(all(feature = "uring", any(target_os = "linux", target_os = "android")))]
    pub use corio_backends::uring;
    pub use corio_core::reactor::ParkReactor;
}

// The default reactor, by feature and platform (see docs/backends.md): uring
// when enabled (Linux), else kqueue on macOS/BSD, else epoll, else the mock,
// else a reactor without I/O.
#[cfg(all(feature = "uring", any(target_os = "linux", target_os = "android")))]
mod default_backend {
    pub type Reactor = corio_backends::uring::UringReactor;
    pub fn new() -> std::io::Result<Reactor> {
        Reactor::new()
    }
}

#[cfg(all(
    feature = "kqueue",
    any(target_os = "macos", target_os = "ios", target_os = "freebsd", target_os = "netbsd", target_os = "dragonfly")
))]
mod default_backend {
    pub type Reactor = corio_backends::kqueue::KqueueReactor<corio_backends::kqueue::OsKqueue>;
    pub fn new() -> std::io::Result<Reactor> {
        Reactor::new()
    }
}

#[cfg(all(
    all(feature = "epoll", any(target_os = "linux", target_os = "android")),
    not(all(feature = "uring", any(target_os = "linux", target_os = "android"))),
    not(all(
        feature = "kqueue",
        any(
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "dragonfly"
        )
    ))
))]
mod default_backend {
    pub type Reactor = corio_backends::epoll::EpollReactor;
    pub fn new() -> std::io::Result<Reactor> {
        Reactor::new()
    }
}

#[cfg(all(
    feature = "mock",
    not(all(feature = "epoll", any(target_os = "linux", target_os = "android"))),
    not(all(feature = "uring", any(target_os = "linux", target_os = "android"))),
    not(all(
        feature = "kqueue",
        any(
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "dragonfly"
        )
    ))
))]
mod default_backend {
    pub type Reactor = corio_backends::mock::MockReactor;
    pub fn new() -> std::io::Result<Reactor> {
        Ok(Reactor::new())
    }
}

#[cfg(not(any(
    feature = "mock",
    all(feature = "epoll", any(target_os = "linux", target_os = "android")),
    all(feature = "uring", any(target_os = "linux", target_os = "android")),
    all(
        feature = "kqueue",
        any(
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "dragonfly"
        )
    )
)))]
mod default_backend {
    pub type Reactor = corio_core::reactor::ParkReactor;
    pub fn new() -> std::io::Result<Reactor> {
        Ok(Reactor::new())
    }
}

/// The reactor [`EventLoop`] and [`run`] use: io_uring when the `uring`
/// feature is on (Linux), kqueue on macOS/BSD and epoll on Linux (the
/// `native` default), else the mock when `mock` is on, else a reactor
/// without I/O. See `docs/backends.md`.
pub type DefaultReactor = default_backend::Reactor;

/// The default event loop: [`DefaultReactor`], the system clock, FIFO order.
pub type EventLoop = corio_core::runtime::EventLoop<DefaultReactor>;

fn default_reactor() -> io::Result<DefaultReactor> {
    default_backend::new()
}

/// A builder over a new [`DefaultReactor`], to choose the clock, executor
/// or context store.
///
/// ```
/// use corio::clock::VirtualClock;
/// use std::time::Duration;
///
/// let lp = corio::builder().unwrap().clock(VirtualClock::new()).build();
/// lp.block_on(corio::sleep(Duration::from_secs(60))).unwrap().unwrap(); // instant
/// ```
pub fn builder() -> io::Result<runtime::Builder<DefaultReactor>> {
    Ok(runtime::EventLoop::builder(default_reactor()?))
}

/// A new default event loop for this thread (asyncio's `new_event_loop`).
pub fn new_event_loop() -> io::Result<EventLoop> {
    Ok(runtime::EventLoop::new(default_reactor()?))
}

/// Runs `future` on a new default loop and tears the loop down (asyncio's
/// `asyncio.run`): once the future finishes, every task still alive is
/// cancelled and given [`DEFAULT_SHUTDOWN_GRACE`](runtime::DEFAULT_SHUTDOWN_GRACE)
/// to finish its cleanup; the rest are aborted and reported; then the loop
/// closes.
///
/// Errors: the reactor could not be created, another loop is running on
/// this thread, or the future panicked or ended cancelled ([`LoopError`]).
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
