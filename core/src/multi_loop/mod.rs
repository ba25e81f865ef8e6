//! A runtime of N event loops on N threads, to use every core.
//!
//! asyncio has one loop per thread and leaves using several cores to
//! several processes; corio keeps that model — each loop is the ordinary
//! single-threaded [`EventLoop`], its tasks never migrate — and adds the
//! plumbing a server needs: a [`MultiLoop`] starts the loops, hands out
//! their [`LoopHandle`]s ([`Loops`]) so that any thread can
//! [`spawn_on`] or [`call_soon_threadsafe`](Loops::call_soon_threadsafe) to
//! any loop, and shuts them all down like `asyncio.run` does one.
//!
//! * Loop 0 is the *main loop*: it runs on the thread that calls
//!   [`MultiLoop::block_on`] (so the main future need not be `Send`), the
//!   others each on a thread of their own (`worker.rs`).
//! * A server binds one listener per loop with
//!   [`TcpListener::bind_reuse_port`](crate::io::TcpListener::bind_reuse_port)
//!   (see [`MultiLoop::spawn_on_each`]); the kernel spreads connections over
//!   them.
//!
//! # Invariants
//!
//! * A task runs, and its future is dropped, on the thread of the loop it
//!   was spawned on (see `spawn.rs`); only `Send` values cross loops.
//! * A worker loop runs until the runtime shuts down: a `stop()` on it ends
//!   one `run_forever`, which the worker resumes.
//! * Shutdown stops every worker, then each loop — in parallel — cancels its
//!   remaining tasks, waits up to the grace period for their cleanup, and
//!   closes; the workers' threads are joined before [`MultiLoop::shutdown`]
//!   returns (also when the runtime is just dropped).

mod listener;
mod spawn;
mod worker;

pub use spawn::spawn_on;

use crate::clock::{Clock, SystemClock};
use crate::context::{ContextStore, CowContext};
use crate::executor::{Executor, Fifo};
use crate::reactor::Reactor;
use crate::runtime::{EventLoop, Handle, LoopClosed, LoopError, LoopHandle, DEFAULT_SHUTDOWN_GRACE};
use crate::task::Task;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use worker::{MakeLoop, Worker};

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
            loops: Loops { handles: Arc::from(vec![main.handle()]), next: Arc::new(AtomicUsize::new(0)) },
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
        rt.loops.handles = Arc::from(handles);
        // Tell every loop which runtime it belongs to (`current_loops`): the
        // workers first thing at their next iteration, before any task
        // spawned from now on.
        for worker in &rt.workers {
            let loops = rt.loops.clone();
            let _ = worker.handle().run_on_loop(move || CURRENT.with(|c| *c.borrow_mut() = Some(loops)));
        }
        rt.previous = CURRENT.with(|c| c.borrow_mut().replace(rt.loops.clone()));
        Ok(rt)
    }
}

impl<R> fmt::Debug for Builder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder").field("loops", &self.loops).field("grace", &self.grace).finish_non_exhaustive()
    }
}

/// N event loops on N threads: loop 0 on the caller's thread, the others on
/// worker threads. See the [module documentation](self).
///
/// ```
/// use corio_core::multi_loop::Builder;
/// use corio_core::reactor::ParkReactor;
///
/// let rt = Builder::new(|| Ok(ParkReactor::new())).loops(3).build().unwrap();
/// let loops = rt.loops();
/// let sum = rt
///     .run(async move {
///         // One task on every loop; each reports the thread it ran on.
///         let mut tasks = Vec::new();
///         for i in 0..loops.len() {
///             tasks.push(loops.spawn_on(i, async move { (i, std::thread::current().id()) }).unwrap());
///         }
///         let mut threads = std::collections::HashSet::new();
///         for task in tasks {
///             threads.insert(task.await.unwrap().1);
///         }
///         threads.len()
///     })
///     .unwrap();
/// assert_eq!(sum, 3);
/// ```
pub struct MultiLoop<R: Reactor, C: Clock = SystemClock, E: Executor = Fifo, X: ContextStore = CowContext> {
    main: EventLoop<R, C, E, X>,
    loops: Loops,
    workers: Vec<Worker>,
    grace: Duration,
    /// What [`current_loops`] said on this thread before this runtime.
    previous: Option<Loops>,
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> MultiLoop<R, C, E, X> {
    /// The loops' handles, for any thread (cheap to clone).
    pub fn loops(&self) -> Loops {
        self.loops.clone()
    }

    /// The main loop (loop 0), which runs on this thread.
    pub fn main_loop(&self) -> &EventLoop<R, C, E, X> {
        &self.main
    }

    /// Spawns a `Send` future on loop `index`; see [`Loops::spawn_on`].
    #[track_caller]
    pub fn spawn_on<F>(&self, index: usize, future: F) -> Result<Task<F::Output>, SpawnOnError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.loops.spawn_on(index, future)
    }

    /// Spawns `build(index)` on every loop; see [`Loops::spawn_on_each`].
    #[track_caller]
    pub fn spawn_on_each<B, F>(&self, build: B) -> Result<Vec<Task<F::Output>>, LoopClosed>
    where
        B: Fn(usize) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        self.loops.spawn_on_each(build)
    }

    /// Runs `future` on the main loop while the workers run theirs, and
    /// returns its output (the future need not be `Send`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> Result<F::Output, LoopError> {
        self.main.block_on(future)
    }

    /// `asyncio.run` for the whole runtime: [`block_on`](MultiLoop::block_on),
    /// then [`shutdown`](MultiLoop::shutdown). The future's error comes
    /// first, then the first loop's teardown error.
    #[track_caller]
    pub fn run<F: Future>(self, future: F) -> Result<F::Output, MultiLoopError> {
        let output = self.block_on(future).map_err(|error| MultiLoopError::Loop { index: 0, error });
        let teardown = self.shutdown();
        let output = output?;
        teardown?;
        Ok(output)
    }

    /// Shuts every loop down like `asyncio.run` does one: stops the
    /// workers, then each loop cancels its remaining tasks and gives them
    /// the grace period to clean up (the rest are aborted and reported to
    /// its exception handler), shuts down its blocking pool and closes.
    /// Returns once every worker thread has exited; reports the first
    /// failure (by loop index).
    pub fn shutdown(mut self) -> Result<(), MultiLoopError> {
        self.teardown()
    }

    fn teardown(&mut self) -> Result<(), MultiLoopError> {
        let workers = std::mem::take(&mut self.workers);
        // Ask every worker first, so that the loops tear down in parallel.
        for worker in &workers {
            worker.request_stop();
        }
        let mut first = self.main.shutdown(self.grace).err().map(|error| MultiLoopError::Loop { index: 0, error });
        for worker in workers {
            if let Err(error) = worker.join() {
                first.get_or_insert(error);
            }
        }
        // Put back what this thread saw before, unless a later runtime has
        // taken the slot since.
        CURRENT.with(|c| {
            let mut current = c.borrow_mut();
            if current.as_ref().is_some_and(|loops| Arc::ptr_eq(&loops.handles, &self.loops.handles)) {
                *current = self.previous.take();
            }
        });
        first.map_or(Ok(()), Err)
    }
}

thread_local! {
    /// The runtime whose loop runs on this thread (see [`current_loops`]).
    static CURRENT: RefCell<Option<Loops>> = const { RefCell::new(None) };
}

/// The loops of the multi-loop runtime whose loop is running on this
/// thread, if any: how code inside a runtime (`#[corio::main(loops = 4)]`)
/// reaches the other loops.
///
/// ```
/// use corio_core::multi_loop::{current_loops, Builder};
/// use corio_core::reactor::ParkReactor;
///
/// let rt = Builder::new(|| Ok(ParkReactor::new())).loops(2).build().unwrap();
/// let on_loop_1 = rt.block_on(async {
///     let loops = current_loops().unwrap();
///     loops.spawn_on(1, async move { current_loops().and_then(|l| l.current()) }).unwrap().await.unwrap()
/// });
/// assert_eq!(on_loop_1.unwrap(), Some(1));
/// assert!(current_loops().is_none()); // no loop runs here now
/// ```
pub fn current_loops() -> Option<Loops> {
    CURRENT.with(|c| c.borrow().clone()).filter(|loops| loops.current().is_some())
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> Drop for MultiLoop<R, C, E, X> {
    /// A runtime dropped without [`shutdown`](MultiLoop::shutdown) is shut
    /// down here; its errors have nowhere to go and are dropped.
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> fmt::Debug for MultiLoop<R, C, E, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiLoop").field("loops", &self.loops.len()).finish_non_exhaustive()
    }
}

/// The handles of a [`MultiLoop`]'s loops, indexed from 0 (the main loop);
/// `Send + Sync`, cheap to clone.
#[derive(Clone)]
pub struct Loops {
    handles: Arc<[LoopHandle]>,
    /// Round-robin cursor of [`Loops::spawn`].
    next: Arc<AtomicUsize>,
}

impl Loops {
    /// How many loops.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Never true: a runtime has at least one loop.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The handle of loop `index`.
    pub fn get(&self, index: usize) -> Option<&LoopHandle> {
        self.handles.get(index)
    }

    /// Every loop's handle, in index order.
    pub fn iter(&self) -> std::slice::Iter<'_, LoopHandle> {
        self.handles.iter()
    }

    /// The index of the loop running on this thread, if it is one of these.
    pub fn current(&self) -> Option<usize> {
        self.handles.iter().position(LoopHandle::is_current)
    }

    fn lookup(&self, index: usize) -> Result<&LoopHandle, SpawnOnError> {
        self.get(index).ok_or(SpawnOnError::NoSuchLoop { index, loops: self.len() })
    }

    /// Spawns a `Send` future on loop `index`, from any thread.
    ///
    /// Errors: no loop `index`, or that loop has closed.
    #[track_caller]
    pub fn spawn_on<F>(&self, index: usize, future: F) -> Result<Task<F::Output>, SpawnOnError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Ok(self.lookup(index)?.spawn(future)?)
    }

    /// Spawns a `Send` future on the next loop in turn (round robin).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Result<Task<F::Output>, LoopClosed>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Relaxed: the cursor only spreads work; no data hangs on it.
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.len();
        self.handles[index].spawn(future)
    }

    /// Spawns the future `build(index)` returns on every loop, building it
    /// on that loop's thread (so it need not be `Send`; see
    /// [`LoopHandle::spawn_with`]). This is how a server starts one accept
    /// loop per loop. Returns the tasks in loop order.
    #[track_caller]
    pub fn spawn_on_each<B, F>(&self, build: B) -> Result<Vec<Task<F::Output>>, LoopClosed>
    where
        B: Fn(usize) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let build = Arc::new(build);
        let mut tasks = Vec::with_capacity(self.len());
        for (index, handle) in self.handles.iter().enumerate() {
            let build = build.clone();
            tasks.push(handle.spawn_with(move || build(index))?);
        }
        Ok(tasks)
    }

    /// Schedules `callback` on loop `index` (asyncio's
    /// `call_soon_threadsafe`), from any thread.
    pub fn call_soon_threadsafe(
        &self,
        index: usize,
        callback: impl FnOnce() + Send + 'static,
    ) -> Result<Handle, SpawnOnError> {
        Ok(self.lookup(index)?.call_soon_threadsafe(callback)?)
    }
}

impl fmt::Debug for Loops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.handles.iter()).finish()
    }
}

/// Why [`Loops::spawn_on`] or [`Loops::call_soon_threadsafe`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnOnError {
    /// There is no loop with this index.
    NoSuchLoop {
        /// The index asked for.
        index: usize,
        /// How many loops there are.
        loops: usize,
    },
    /// The loop has closed.
    Closed,
}

impl From<LoopClosed> for SpawnOnError {
    fn from(_: LoopClosed) -> SpawnOnError {
        SpawnOnError::Closed
    }
}

impl fmt::Display for SpawnOnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnOnError::NoSuchLoop { index, loops } => {
                write!(f, "there is no loop {index}: the runtime has {loops} loops (0..{loops})")
            }
            SpawnOnError::Closed => LoopClosed.fmt(f),
        }
    }
}

impl std::error::Error for SpawnOnError {}

/// Why a [`MultiLoop`] failed to run or shut down.
#[derive(Debug)]
#[non_exhaustive]
pub enum MultiLoopError {
    /// Loop `index` failed (for loop 0, also: the main future panicked or
    /// ended cancelled).
    Loop {
        /// Which loop.
        index: usize,
        /// What happened.
        error: LoopError,
    },
    /// The thread of loop `index` panicked outside the loop (in the
    /// function that builds the loop).
    WorkerPanicked {
        /// Which loop.
        index: usize,
    },
}

impl fmt::Display for MultiLoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultiLoopError::Loop { index, error } => write!(f, "loop {index}: {error}"),
            MultiLoopError::WorkerPanicked { index } => write!(f, "the thread of loop {index} panicked"),
        }
    }
}

impl std::error::Error for MultiLoopError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MultiLoopError::Loop { error, .. } => Some(error),
            MultiLoopError::WorkerPanicked { .. } => None,
        }
    }
}
