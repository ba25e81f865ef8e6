//! [`Builder`]: a [`corio::EventLoop`](crate::EventLoop) with its backend,
//! clock, executor and context store chosen; the reactor is made (and can
//! fail) in [`build`](Builder::build), as tokio's `Builder::build` does.

use crate::backend::{AnyReactor, Backend, ChosenBy};
use crate::clock::{Clock, SystemClock};
use crate::context::{ContextStore, CowContext};
use crate::executor::{Executor, Fifo};
use crate::runtime;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::time::Duration;

/// Configures an event loop; [`corio::builder()`](crate::builder()) starts
/// one.
///
/// ```
/// use corio::clock::VirtualClock;
/// use std::time::Duration;
///
/// let lp = corio::builder().clock(VirtualClock::new()).build().unwrap();
/// lp.block_on(corio::sleep(Duration::from_secs(60))).unwrap().unwrap(); // instant
/// ```
///
/// The backend, when the program chooses it (else `CORIO_BACKEND`, else
/// the default order; see [`corio::backend`](crate::backend)):
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// let lp = corio::builder().backend(corio::Backend::Epoll).build().unwrap();
/// assert_eq!(lp.backend(), "epoll");
/// # }
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder<C = SystemClock, E = Fifo, X = CowContext> {
    reactor: Reactor,
    clock: C,
    executor: E,
    poll_interval: Option<u32>,
    debug: Option<bool>,
    slow_callback_duration: Option<Duration>,
    _context: PhantomData<fn() -> X>,
}

/// Where the loop's reactor comes from.
enum Reactor {
    /// `Some`: this backend, chosen by that; `None`: `CORIO_BACKEND`, else
    /// the default order.
    Choose(Option<(Backend, ChosenBy)>),
    /// Made already (a multi-loop runtime's first loop, which settled the
    /// backend for all of them).
    Made(Box<AnyReactor>),
}

impl Builder {
    /// A builder with the system clock, FIFO order, the default context
    /// store, and the backend left to `CORIO_BACKEND` or the default order.
    pub fn new() -> Builder {
        Builder {
            reactor: Reactor::Choose(None),
            clock: SystemClock,
            executor: Fifo,
            poll_interval: None,
            debug: None,
            slow_callback_duration: None,
            _context: PhantomData,
        }
    }

    /// A builder over a reactor made already.
    pub(crate) fn with_reactor(reactor: AnyReactor) -> Builder {
        Builder { reactor: Reactor::Made(Box::new(reactor)), ..Builder::new() }
    }

    /// A builder for `backend`, which `chosen_by` settled for another loop.
    pub(crate) fn settled(backend: Backend, chosen_by: ChosenBy) -> Builder {
        Builder { reactor: Reactor::Choose(Some((backend, chosen_by))), ..Builder::new() }
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl<C: Clock, E: Executor, X: ContextStore> Builder<C, E, X> {
    /// Runs the loop on `backend`, whatever `CORIO_BACKEND` says; `build`
    /// fails, naming the cause, if this build lacks it or it cannot start
    /// (a chosen backend is never replaced by another).
    ///
    /// ```
    /// use corio::Backend;
    ///
    /// let lp = corio::builder().backend(Backend::Mock).build();
    /// # #[cfg(not(feature = "mock"))]
    /// assert!(lp.unwrap_err().to_string().contains("enable corio's `mock` feature"));
    /// ```
    pub fn backend(mut self, backend: Backend) -> Self {
        self.reactor = Reactor::Choose(Some((backend, ChosenBy::Program)));
        self
    }

    /// Uses `clock` (e.g. a [`VirtualClock`](crate::clock::VirtualClock)).
    pub fn clock<C2: Clock>(self, clock: C2) -> Builder<C2, E, X> {
        Builder {
            reactor: self.reactor,
            clock,
            executor: self.executor,
            poll_interval: self.poll_interval,
            debug: self.debug,
            slow_callback_duration: self.slow_callback_duration,
            _context: PhantomData,
        }
    }

    /// Uses `executor` (e.g. [`SeededRandom`](crate::executor::SeededRandom)).
    pub fn executor<E2: Executor>(self, executor: E2) -> Builder<C, E2, X> {
        Builder {
            reactor: self.reactor,
            clock: self.clock,
            executor,
            poll_interval: self.poll_interval,
            debug: self.debug,
            slow_callback_duration: self.slow_callback_duration,
            _context: PhantomData,
        }
    }

    /// Uses the context store `X2` (e.g. [`HamtContext`](crate::context::HamtContext)).
    pub fn context_store<X2: ContextStore>(self) -> Builder<C, E, X2> {
        Builder {
            reactor: self.reactor,
            clock: self.clock,
            executor: self.executor,
            poll_interval: self.poll_interval,
            debug: self.debug,
            slow_callback_duration: self.slow_callback_duration,
            _context: PhantomData,
        }
    }

    /// See [`runtime::Builder::poll_interval`].
    pub fn poll_interval(mut self, iterations: u32) -> Self {
        self.poll_interval = Some(iterations);
        self
    }

    /// See [`runtime::Builder::debug`]: overrides `CORIO_DEBUG`.
    pub fn debug(mut self, enabled: bool) -> Self {
        self.debug = Some(enabled);
        self
    }

    /// See [`runtime::Builder::slow_callback_duration`].
    pub fn slow_callback_duration(mut self, duration: Duration) -> Self {
        self.slow_callback_duration = Some(duration);
        self
    }

    /// Makes the reactor and builds the loop, bound to the calling thread.
    ///
    /// Errors: the backend named (by [`backend`](Builder::backend) or
    /// `CORIO_BACKEND`) is unknown, not compiled in, or cannot start; no
    /// backend of the default order can start (or the build has none); or
    /// 65 536 loops are alive already. The first ones carry a
    /// [`BackendError`](crate::backend::BackendError).
    pub fn build(self) -> io::Result<crate::EventLoop<C, E, X>> {
        let reactor = match self.reactor {
            Reactor::Choose(Some((backend, chosen_by))) => AnyReactor::start_as(backend, chosen_by)?,
            Reactor::Choose(None) => AnyReactor::open(None)?,
            Reactor::Made(reactor) => *reactor,
        };
        let mut builder =
            runtime::EventLoop::builder(reactor).clock(self.clock).executor(self.executor).context_store::<X>();
        if let Some(iterations) = self.poll_interval {
            builder = builder.poll_interval(iterations);
        }
        if let Some(enabled) = self.debug {
            builder = builder.debug(enabled);
        }
        if let Some(duration) = self.slow_callback_duration {
            builder = builder.slow_callback_duration(duration);
        }
        let lp = builder.try_build().map_err(io::Error::other)?;
        report_fallbacks(lp.reactor(), lp.get_debug());
        Ok(lp)
    }
}

/// Says that the default order skipped backends: a warning in debug mode,
/// a debug record otherwise (the `log` crate, target `corio::backend`).
fn report_fallbacks(reactor: &AnyReactor, debug: bool) {
    let level = if debug { log::Level::Warn } else { log::Level::Debug };
    for fallback in reactor.fallbacks() {
        log::log!(
            target: "corio::backend",
            level,
            "backend {} could not start ({}); the loop runs on {}, the next in the default order",
            fallback.backend,
            fallback.error,
            reactor.backend()
        );
    }
}

impl<C, E, X> fmt::Debug for Builder<C, E, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.reactor {
            Reactor::Choose(choice) => choice.map(|(backend, _)| backend),
            Reactor::Made(reactor) => Some(reactor.backend()),
        };
        f.debug_struct("Builder")
            .field("backend", &backend)
            .field("poll_interval", &self.poll_interval)
            .field("debug", &self.debug)
            .field("slow_callback_duration", &self.slow_callback_duration)
            .finish_non_exhaustive()
    }
}
