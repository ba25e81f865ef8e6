//! [`Builder`]: how many loops, how each is built, the shutdown grace.

use super::worker::{MakeLoop, Worker};
use super::{current, Loops, MultiLoop};
use crate::clock::Clock;
use crate::context::ContextStore;
use crate::executor::Executor;
use crate::reactor::Reactor;
use crate::runtime::pool::{Membership, PoolShared};
use crate::runtime::{EventLoop, DEFAULT_SHUTDOWN_GRACE};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Configures a [`MultiLoop`].
///
/// ```
/// use corio_core::multi_loop::Builder;
/// use corio_core::reactor::ParkReactor;
///
/// let rt = Builder::new(|| Ok(ParkReactor::new())).loops(2).build().unwrap();
/// assert_eq!(rt.loops().len(), 2);
/// rt.shutdown().unwrap();
/// ```
pub struct Builder<R> {
    loops: Option<usize>,
    grace: Duration,
    thread_name: String,
    reactor: fn() -> io::Result<R>,
}

impl<R: Reactor> Builder<R> {
    /// A builder whose loops each get a reactor from `reactor`.
    pub fn new(reactor: fn() -> io::Result<R>) -> Builder<R> {
        Builder { loops: None, grace: DEFAULT_SHUTDOWN_GRACE, thread_name: "corio-loop".into(), reactor }
    }

    /// How many loops (default: one per core, as
    /// `std::thread::available_parallelism` counts them). Zero is refused
    /// by [`build`](Builder::build).
    pub fn loops(mut self, loops: usize) -> Self {
        self.loops = Some(loops);
        self
    }

    /// How long each loop's tasks get for their cleanup at shutdown
    /// (default [`DEFAULT_SHUTDOWN_GRACE`]), on that loop's clock.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The worker threads' name prefix (default `corio-loop`; the threads
    /// are `corio-loop-1`, `corio-loop-2`, ...).
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = prefix.into();
        self
    }

    /// Starts the loops, each a default [`EventLoop`] on a new reactor.
    pub fn build(self) -> io::Result<MultiLoop<R>> {
        let reactor = self.reactor;
        self.build_with(move |_| Ok(EventLoop::new(reactor()?)))
    }

    /// Starts the loops, each built by `make(index)` on its own thread (to
    /// choose a clock, executor or context store per loop).
    ///
    /// Errors: zero loops, a failed `make`, or a thread that could not be
    /// started; the loops already started are shut down first.
    pub fn build_with<C, E, X>(
        self,
        make: impl Fn(usize) -> io::Result<EventLoop<R, C, E, X>> + Send + Sync + 'static,
    ) -> io::Result<MultiLoop<R, C, E, X>>
    where
        C: Clock,
        E: Executor,
        X: ContextStore,
    {
        let count = match self.loops {
            Some(0) => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "a multi-loop runtime needs at least one loop"))
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let make: MakeLoop<R, C, E, X> = Arc::new(make);
        let main = make(0)?;
        let mut rt = MultiLoop {
            loops: Loops::new(vec![main.handle()], None),
            main,
            workers: Vec::with_capacity(count - 1),
            grace: self.grace,
            previous: None,
        };
        let mut handles = vec![rt.main.handle()];
        for index in 1..count {
            // On error `rt` is dropped here, which shuts down the workers
            // already started.
            let worker = Worker::start(index, &self.thread_name, make.clone(), self.grace)?;
            handles.push(worker.handle().clone());
            rt.workers.push(worker);
        }
        // The pool of the loops, host of the tasks `Loops::spawn` makes
        // (runtime/pool/): every loop joins it, the workers first thing at
        // their next iteration, before any such task can reach them.
        let pool = PoolShared::new(handles.clone()).map_err(|err| io::Error::other(err.to_string()))?;
        rt.main.attach_pool(pool.clone(), 0);
        rt.loops = Loops::new(handles, Some(pool.clone()));
        // Tell every loop which runtime it belongs to (`current_loops`): the
        // workers first thing at their next iteration, before any task
        // spawned from now on.
        for (index, worker) in rt.workers.iter_mut().enumerate() {
            let loops = rt.loops.clone();
            let _ = worker.handle().run_on_loop(move || {
                current::enter(loops);
            });
            worker.join_pool(Membership { pool: pool.clone(), index: index + 1 });
        }
        rt.previous = current::enter(rt.loops.clone());
        Ok(rt)
    }
}

impl<R> fmt::Debug for Builder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder").field("loops", &self.loops).field("grace", &self.grace).finish_non_exhaustive()
    }
}
