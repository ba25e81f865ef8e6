//! A runtime of N event loops on N threads, to use every core.
//!
//! asyncio has one loop per thread and leaves using several cores to
//! several processes; corio keeps that model — each loop is the ordinary
//! single-threaded [`EventLoop`], its tasks never migrate — and adds the
//! plumbing a server needs: a [`MultiLoop`] starts the loops, hands out
//! their [`LoopHandle`](crate::runtime::LoopHandle)s ([`Loops`]) so that any thread can
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
//!
//! # Files
//!
//! `builder.rs` starts the loops; `worker.rs` is one worker thread's life;
//! `loops.rs` the handles and what they do; `spawn.rs` the hand-off of a
//! future (or of the function that builds it) to another loop;
//! `listener.rs` the `SO_REUSEPORT` listener; `current.rs` which runtime
//! the running loop belongs to; `error.rs` the errors; `by_hand.rs` (loom
//! builds only) makes loops built on model threads one pool, for the loom
//! models.

mod builder;
#[cfg(corio_loom)]
mod by_hand;
mod current;
mod error;
mod listener;
mod loops;
mod spawn;
mod worker;

pub use builder::Builder;
#[cfg(corio_loom)]
#[doc(hidden)]
pub use by_hand::PoolOfLoops;
pub use current::current_loops;
pub use error::MultiLoopError;
pub use loops::{Loops, SpawnOnError};
pub use spawn::spawn_on;

use crate::clock::{Clock, SystemClock};
use crate::context::{ContextStore, CowContext};
use crate::executor::{Executor, Fifo};
use crate::reactor::Reactor;
use crate::runtime::{EventLoop, LoopClosed, LoopError};
use crate::task::Task;
use std::fmt;
use std::future::Future;
use std::time::Duration;
use worker::Worker;

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
        let mut workers = std::mem::take(&mut self.workers);
        // Ask every worker first, so that the loops tear down in parallel.
        for worker in &mut workers {
            worker.request_stop();
        }
        let mut first = self.main.shutdown(self.grace).err().map(|error| MultiLoopError::Loop { index: 0, error });
        for worker in workers {
            if let Err(error) = worker.join() {
                first.get_or_insert(error);
            }
        }
        // Every loop has stopped: end what is left of the pool's tasks here.
        if let Err(error) = self.main.close_pool() {
            first.get_or_insert(MultiLoopError::Loop { index: 0, error });
        }
        current::leave(&self.loops, self.previous.take());
        first.map_or(Ok(()), Err)
    }
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
