//! N event loops on N threads (a server on every core); see
//! [`multi_loop()`](crate::multi_loop()) and `docs/multi_loop.md`.
//!
//! Every loop of a runtime runs the same backend: the first loop settles it
//! (the program's choice, else `CORIO_BACKEND`, else the default order,
//! as for one loop) and the others are built on it.

pub use corio_core::multi_loop::{current_loops, spawn_on, Loops, MultiLoopError, SpawnOnError};

use crate::backend::{AnyReactor, Backend};
use crate::clock::{Clock, SystemClock};
use crate::context::{ContextStore, CowContext};
use crate::executor::{Executor, Fifo};
use std::io;
use std::sync::Mutex;
use std::time::Duration;

/// A multi-loop runtime over [`AnyReactor`]: its loops are
/// [`corio::EventLoop`](crate::EventLoop)s.
pub type MultiLoop<C = SystemClock, E = Fifo, X = CowContext> = corio_core::multi_loop::MultiLoop<AnyReactor, C, E, X>;

/// Configures a [`MultiLoop`]; [`corio::multi_loop()`](crate::multi_loop())
/// starts one. One loop per core unless [`loops`](Builder::loops) says
/// otherwise.
///
/// ```
/// let rt = corio::multi_loop().loops(2).build().unwrap();
/// let loops = rt.loops();
/// let answer = rt
///     .run(async move { loops.spawn_on(1, async { 40 + 2 }).unwrap().await.unwrap() })
///     .unwrap();
/// assert_eq!(answer, 42);
/// ```
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    backend: Option<Backend>,
    loops: Option<usize>,
    grace: Option<Duration>,
    thread_name: Option<String>,
}

impl Builder {
    /// A builder with every default: one loop per core, the backend left to
    /// `CORIO_BACKEND` or the default order.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Runs every loop on `backend` (see [`crate::Builder::backend`]).
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// let rt = corio::multi_loop().loops(2).backend(corio::Backend::Epoll).build().unwrap();
    /// assert_eq!(rt.main_loop().backend(), "epoll");
    /// # }
    /// ```
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// How many loops (default: one per core, as
    /// `std::thread::available_parallelism` counts them). Zero is refused
    /// by [`build`](Builder::build).
    pub fn loops(mut self, loops: usize) -> Self {
        self.loops = Some(loops);
        self
    }

    /// How long each loop's tasks get for their cleanup at shutdown
    /// (default [`DEFAULT_SHUTDOWN_GRACE`](crate::runtime::DEFAULT_SHUTDOWN_GRACE)),
    /// on that loop's clock.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = Some(grace);
        self
    }

    /// The worker threads' name prefix (default `corio-loop`; the threads
    /// are `corio-loop-1`, `corio-loop-2`, ...).
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = Some(prefix.into());
        self
    }

    /// Starts the loops, each a default [`corio::EventLoop`](crate::EventLoop).
    ///
    /// Errors: zero loops, no reactor (as [`crate::Builder::build`]), or a
    /// thread that could not be started.
    pub fn build(self) -> io::Result<MultiLoop> {
        self.build_with(|_, builder| builder.build())
    }

    /// Starts the loops, each built by `make(index, builder)` on its own
    /// thread from a [`crate::Builder`] set to the runtime's backend (to
    /// choose a clock, executor or context store per loop).
    ///
    /// ```
    /// use corio::clock::VirtualClock;
    ///
    /// let rt = corio::multi_loop()
    ///     .loops(2)
    ///     .build_with(|_index, builder| builder.clock(VirtualClock::new()).build())
    ///     .unwrap();
    /// rt.shutdown().unwrap();
    /// ```
    ///
    /// Errors: as [`build`](Builder::build), or a failed `make`; the loops
    /// already started are shut down first.
    pub fn build_with<C, E, X>(
        self,
        make: impl Fn(usize, crate::Builder) -> io::Result<crate::EventLoop<C, E, X>> + Send + Sync + 'static,
    ) -> io::Result<MultiLoop<C, E, X>>
    where
        C: Clock,
        E: Executor,
        X: ContextStore,
    {
        if self.loops == Some(0) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a multi-loop runtime needs at least one loop"));
        }
        // The first loop's reactor settles the backend of all of them.
        let first = AnyReactor::open(self.backend)?;
        let (backend, chosen_by) = (first.backend(), first.chosen_by());
        let first = Mutex::new(Some(first));
        // The core builder's reactor function is never called: `build_with`
        // makes every loop.
        let mut core = corio_core::multi_loop::Builder::new(AnyReactor::choose);
        if let Some(loops) = self.loops {
            core = core.loops(loops);
        }
        if let Some(grace) = self.grace {
            core = core.shutdown_grace(grace);
        }
        if let Some(prefix) = self.thread_name {
            core = core.thread_name(prefix);
        }
        core.build_with(move |index| {
            let made = if index == 0 { first.lock().unwrap_or_else(|e| e.into_inner()).take() } else { None };
            let builder = match made {
                Some(reactor) => crate::Builder::with_reactor(reactor),
                None => crate::Builder::settled(backend, chosen_by),
            };
            make(index, builder)
        })
    }
}
