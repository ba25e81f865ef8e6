//! Per-loop counters a user can read cheaply: [`Metrics`], from
//! [`EventLoop::metrics`](super::EventLoop::metrics) or, inside a running
//! loop, [`metrics()`](super::current::metrics).
//!
//! # Invariants
//!
//! * Every counter the loop's own thread bumps is a plain `Cell<u64>` in
//!   [`Counters`]: one load, one add, one store, no atomic, no copy of the
//!   whole set. The loop is `!Send`, so nothing else can race them.
//! * Work other threads hand over is counted on the path that is already
//!   atomic (the remote queue's post), with one relaxed add there; the
//!   loop's thread never touches that counter except to read it.
//! * Time is read only around reactor waits that may block, which make a
//!   syscall anyway; a busy loop reads no clock for its metrics.

use std::cell::Cell;
use std::time::Duration;

/// A snapshot of one loop's counters, from its creation until now.
///
/// ```
/// use corio_core::reactor::ParkReactor;
/// use corio_core::runtime::EventLoop;
///
/// let lp = EventLoop::new(ParkReactor::new());
/// lp.block_on(async {
///     let task = corio_core::spawn(async { corio_core::yield_now().await });
///     task.await.unwrap().unwrap();
///     assert_eq!(corio_core::runtime::metrics().tasks_alive, 1); // the block_on task itself
/// })
/// .unwrap();
/// let m = lp.metrics();
/// assert_eq!(m.tasks_spawned, 2); // block_on's future and the child
/// assert_eq!(m.tasks_alive, 0);
/// assert!(m.task_polls >= 3); // the child twice (it yielded once), the root at least once
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Tasks spawned on this loop, from its thread or others (`block_on`'s
    /// future counts as one).
    pub tasks_spawned: u64,
    /// Tasks spawned and not yet finished.
    pub tasks_alive: u64,
    /// Task polls (steps).
    pub task_polls: u64,
    /// Callbacks run (`call_soon`, `call_later`, done-callbacks).
    pub callbacks: u64,
    /// Loop iterations (asyncio's `_run_once`).
    pub iterations: u64,
    /// Calls into the reactor, waiting or not.
    pub reactor_polls: u64,
    /// Reactor calls that could block (a non-zero timeout: the loop was idle).
    pub reactor_waits: u64,
    /// Total time spent in reactor calls that could block.
    pub reactor_wait_time: Duration,
    /// Timers scheduled and not yet fired or cancelled (`sleep`,
    /// `call_later`, timeouts).
    pub timers_pending: u64,
    /// Tasks woken from other threads (each went through the remote queue).
    pub cross_thread_wakes: u64,
    /// Of those, the wakes that found the loop parked and had to notify the
    /// reactor (a syscall).
    pub cross_thread_notifies: u64,
    /// Jobs this loop's tasks sent to the default blocking pool
    /// (`run_in_executor`, `to_thread`, `spawn_blocking`).
    pub blocking_jobs: u64,
    /// On a multi-loop runtime: tasks this loop took to run from the pool's
    /// injection queue or from another loop's queue (`corio::multi_loop`).
    /// Their polls count in this loop's `task_polls`.
    pub tasks_stolen: u64,
    /// The reactor backend the loop runs on ([`Reactor::name`](crate::reactor::Reactor::name):
    /// `"epoll"`, `"uring"`, `"kqueue"`, `"portable"`, `"mock"`, `"park"`).
    pub backend: &'static str,
}

/// The loop-thread counters behind [`Metrics`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) tasks_spawned: Cell<u64>,
    pub(crate) task_polls: Cell<u64>,
    pub(crate) callbacks: Cell<u64>,
    pub(crate) iterations: Cell<u64>,
    pub(crate) reactor_polls: Cell<u64>,
    pub(crate) reactor_waits: Cell<u64>,
    /// Nanoseconds.
    pub(crate) reactor_wait_nanos: Cell<u64>,
    pub(crate) blocking_jobs: Cell<u64>,
    pub(crate) tasks_stolen: Cell<u64>,
}

/// Adds one to a counter.
#[inline(always)]
pub(crate) fn bump(counter: &Cell<u64>) {
    counter.set(counter.get().wrapping_add(1));
}

impl Counters {
    /// The loop-thread half of a snapshot; the caller fills in what lives
    /// elsewhere (live tasks and timers, cross-thread counts).
    pub(crate) fn snapshot(&self) -> Metrics {
        Metrics {
            tasks_spawned: self.tasks_spawned.get(),
            task_polls: self.task_polls.get(),
            callbacks: self.callbacks.get(),
            iterations: self.iterations.get(),
            reactor_polls: self.reactor_polls.get(),
            reactor_waits: self.reactor_waits.get(),
            reactor_wait_time: Duration::from_nanos(self.reactor_wait_nanos.get()),
            blocking_jobs: self.blocking_jobs.get(),
            tasks_stolen: self.tasks_stolen.get(),
            ..Metrics::default()
        }
    }
}
