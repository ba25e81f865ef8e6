//! The pool: a bounded set of threads that take jobs from one queue.
//!
//! # Invariants
//!
//! * At most `max_threads` workers exist. A submission wakes an idle worker
//!   if one is waiting and not already woken for an earlier job; else it
//!   starts a worker if the bound allows; else the job waits in the queue
//!   for the next worker to finish.
//! * Each queued job is popped by exactly one worker (under the pool's
//!   mutex); whether it then runs is decided by its hand-off (`job.rs`), so a
//!   job withdrawn by its awaiter is popped and discarded, never run.
//! * A worker that has just finished a job may spin for the next one (at
//!   most one spinner at a time, for at most [`SPIN_FOR_NEXT_JOB`]) before
//!   it parks. A submission that finds the spinner *calls* it (under the
//!   mutex, plus a flag the spinner watches) instead of waking a parked
//!   worker, and a second submission does not count on the same spinner.
//!   Called or not, the spinner looks at the queue again under the mutex
//!   before it parks, so a call that lands after its last look at the flag
//!   still finds it: a job counted on a spinner is never stranded.
//! * A worker idle for `keep_alive` exits; one woken for a job never does
//!   (it takes the wake-up count under the mutex before looking at the
//!   clock). Spinning counts as idle (in [`PoolStats::idle`]) and a
//!   keep-alive of zero disables it.
//! * After shutdown no job is accepted or started: queued jobs are refused
//!   (their awaiters learn it at once), running ones finish on their threads,
//!   and every worker exits when it has nothing left to run. Shutdown waits
//!   for the workers up to a time limit.
//! * Workers run only jobs: no loop code. A job's result reaches its loop
//!   through the awaiting task's waker (the loop's cross-thread wake path).

use super::awaiter::Blocking;
use super::host::{self, KeepAlive};
use super::job::Handoff;
use crate::context;
use crate::loom::{thread, Arc, AtomicBool, Condvar, Mutex, MutexGuard, Ordering};
use crate::task::Panic;
use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// How long an idle worker waits for a job before it exits, by default
/// (tokio's figure).
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// How long a worker that has just finished a job spins for the next one
/// before it parks. A serial caller submits its next job about a
/// microsecond after the last result (W10), while waking a parked thread
/// costs 5–30 µs on a virtual machine; the loop spins as long for a result
/// (`SPIN_BEFORE_PARK` in the event loop). The cost is at most this much CPU
/// per job, on one worker at a time.
pub const SPIN_FOR_NEXT_JOB: Duration = Duration::from_micros(25);

/// A pool of threads for blocking work (asyncio's default executor, a
/// `ThreadPoolExecutor`): bounded, with idle threads exiting after a
/// keep-alive.
///
/// Every loop has one, created on first use; [`run_in_executor`],
/// [`to_thread`] and [`spawn_blocking`] submit to it. Build another to bound
/// a kind of work separately, and install it with
/// [`EventLoop::set_default_executor`](crate::runtime::EventLoop::set_default_executor)
/// or submit to it directly. Clones share the pool; dropping the last clone
/// shuts it down without waiting (see [`shutdown`](BlockingPool::shutdown)).
///
/// [`run_in_executor`]: super::run_in_executor
/// [`to_thread`]: super::to_thread
/// [`spawn_blocking`]: super::spawn_blocking
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::blocking::BlockingPool;
/// use corio::reactor::ParkReactor;
/// use corio::runtime::EventLoop;
/// use std::time::Duration;
///
/// let pool = BlockingPool::builder().max_threads(2).keep_alive(Duration::from_secs(1)).build();
/// let lp = EventLoop::new(ParkReactor::new());
/// let sum = lp.block_on(pool.run(|| (1..=10u64).sum::<u64>())).unwrap();
/// assert_eq!(sum.unwrap(), 55);
/// assert!(pool.shutdown(Duration::from_secs(5)).is_clean());
/// ```
#[derive(Clone)]
pub struct BlockingPool {
    owner: Arc<Owner>,
}

/// The users' share of the pool: when the last [`BlockingPool`] clone goes,
/// the pool shuts down. Workers hold only [`Shared`].
struct Owner {
    shared: Arc<Shared>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        // Nobody can submit any more; nobody is left to read a report.
        let _ = self.shared.shutdown(Duration::ZERO);
    }
}

/// What the workers and the submitters share.
struct Shared {
    state: Mutex<State>,
    /// Set when a submission calls the spinner (or at shutdown): what the
    /// spinner watches. Only a hint: the call itself is `State::spinner`,
    /// read under the mutex.
    spinner_called: AtomicBool,
    /// Idle workers wait here for a job or for shutdown.
    work: Condvar,
    /// `shutdown` waits here for the last worker to exit.
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
}

struct State {
    queue: VecDeque<Box<dyn Job>>,
    /// Live workers.
    threads: usize,
    /// Workers waiting for a job (a woken one counts until it wakes).
    idle: usize,
    /// Wake-ups sent to idle workers and not yet taken.
    woken: usize,
    /// Jobs being run.
    running: usize,
    /// The one worker allowed to spin for the next job, if any.
    spinner: Spinner,
    shutdown: bool,
}

/// The spinning worker, as the submitters see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spinner {
    /// Nobody is spinning.
    Absent,
    /// A worker spins and no job counts on it yet.
    Spinning,
    /// A submission counts on the spinner to take its job.
    Called,
}

/// A queued job, its closure's type erased.
trait Job: Send {
    /// Runs the job unless its awaiter withdrew it first.
    fn run(self: Box<Self>);
    /// The job will never run; tells its awaiter. `false` if it had already
    /// started or been withdrawn.
    fn refuse(self: Box<Self>) -> bool;
}

struct Submitted<F, T> {
    handoff: Arc<Handoff<T>>,
    f: F,
    /// The submitting loop, held until the job has ended: a loop on a
    /// virtual clock must not report a deadlock (rule L5) while a pool
    /// thread still owes it a wake-up.
    submitter: Option<KeepAlive>,
}

impl<F, T> Job for Submitted<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn run(self: Box<Self>) {
        let Submitted { handoff, f, submitter } = *self;
        if handoff.start() {
            // The worker survives a panicking job; the panic goes to the
            // awaiter, as a task's panic goes to its handle (T4).
            let output = panic::catch_unwind(AssertUnwindSafe(f)).map_err(Panic::new);
            handoff.finish(output);
        }
        drop(submitter); // after the wake-up is posted
    }

    fn refuse(self: Box<Self>) -> bool {
        self.handoff.refuse()
    }
}

/// Builds a [`BlockingPool`].
#[derive(Debug, Clone)]
pub struct PoolBuilder {
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
}

impl Default for PoolBuilder {
    fn default() -> Self {
        // asyncio's default executor: min(32, cpus + 4) threads.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        PoolBuilder {
            max_threads: (cpus + 4).min(32),
            keep_alive: DEFAULT_KEEP_ALIVE,
            thread_name: "corio-blocking".into(),
        }
    }
}

impl PoolBuilder {
    /// At most `n` threads (at least 1). Default: `min(32, cpus + 4)`, as
    /// asyncio's default executor.
    pub fn max_threads(mut self, n: usize) -> Self {
        self.max_threads = n.max(1);
        self
    }

    /// An idle thread exits after `keep_alive` without a job (default
    /// [`DEFAULT_KEEP_ALIVE`]); `Duration::ZERO` exits as soon as the queue
    /// is empty.
    pub fn keep_alive(mut self, keep_alive: Duration) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// The name of the pool's threads (default `corio-blocking`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Builds the pool. No thread starts until the first job.
    pub fn build(self) -> BlockingPool {
        let shared = Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                woken: 0,
                running: 0,
                spinner: Spinner::Absent,
                shutdown: false,
            }),
            spinner_called: AtomicBool::new(false),
            work: Condvar::new(),
            exited: Condvar::new(),
            max_threads: self.max_threads,
            keep_alive: self.keep_alive,
            thread_name: self.thread_name,
        };
        BlockingPool { owner: Arc::new(Owner { shared: Arc::new(shared) }) }
    }
}

/// A snapshot of a pool's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Live threads.
    pub threads: usize,
    /// Threads waiting for a job (parked, or spinning for the next one).
    pub idle: usize,
    /// Jobs being run.
    pub running: usize,
    /// Queue entries not yet taken by a thread (withdrawn jobs stay until a
    /// thread discards them).
    pub queued: usize,
}

/// What [`BlockingPool::shutdown`] left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[must_use]
pub struct ShutdownReport {
    /// Queued jobs refused: they never ran, and their awaiters got an error.
    pub refused: usize,
    /// Jobs still running when the time limit passed. Their threads finish
    /// them and exit; their results are dropped.
    pub still_running: usize,
}

impl ShutdownReport {
    /// Whether every thread had exited within the time limit.
    pub fn is_clean(&self) -> bool {
        self.still_running == 0
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "blocking pool shut down: {} queued job(s) refused, {} still running past the time limit",
            self.refused, self.still_running
        )
    }
}

impl Default for BlockingPool {
    fn default() -> Self {
        Self::new()
    }
}

impl BlockingPool {
    /// A pool with the default settings (see [`PoolBuilder`]).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Starts building a pool.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// Submits `f` to run on a pool thread; await the result (asyncio's
    /// `loop.run_in_executor(pool, f)`). `f` runs in an empty context: the
    /// caller's context variables are not carried (see
    /// [`to_thread`](BlockingPool::to_thread)).
    ///
    /// The job is queued at once, so it may start before the first await.
    /// Dropping the [`Blocking`] (or cancelling the task awaiting it)
    /// withdraws it if it has not started.
    pub fn run<F, T>(&self, f: F) -> Blocking<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(move || context::scope(Vec::new(), f), false)
    }

    /// Like [`run`](BlockingPool::run), but `f` runs in a copy of the
    /// caller's context (asyncio's `to_thread`, rule X5).
    pub fn to_thread<F, T>(&self, f: F) -> Blocking<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let entries = context::snapshot_entries();
        self.submit(move || context::scope(entries, f), false)
    }

    /// Like [`run`](BlockingPool::run), but dropping the handle detaches
    /// the job instead of withdrawing it (tokio's `spawn_blocking`).
    pub fn spawn<F, T>(&self, f: F) -> Blocking<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(move || context::scope(Vec::new(), f), true)
    }

    fn submit<F, T>(&self, f: F, detach_on_drop: bool) -> Blocking<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let handoff = Arc::new(Handoff::new());
        // One allocation for the hand-off, one for the queue entry (which
        // holds the closure); the awaiter keeps only the hand-off.
        let job = Submitted { handoff: handoff.clone(), f, submitter: host::with_running(|h| h.keep_alive()) };
        Shared::submit(&self.owner.shared, Box::new(job));
        Blocking::new(handoff, detach_on_drop)
    }

    /// Stops the pool: refuses every queued job (its awaiter gets
    /// `JoinError::Cancelled`), lets running jobs finish, and waits up to
    /// `timeout` for the threads to exit. Later submissions are refused.
    ///
    /// A thread cannot be stopped from outside: a job still running after
    /// `timeout` keeps its thread until it returns (the report counts it);
    /// the thread then exits and the result is dropped. Calling this from a
    /// job of the same pool waits the whole `timeout` for itself.
    pub fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        self.owner.shared.shutdown(timeout)
    }

    /// Whether the pool was shut down.
    pub fn is_shutdown(&self) -> bool {
        self.owner.shared.lock().shutdown
    }

    /// Whether a job is queued or running (a loop waiting for one spins
    /// briefly before it parks).
    pub(crate) fn has_pending_work(&self) -> bool {
        let state = self.owner.shared.lock();
        state.running > 0 || !state.queue.is_empty()
    }

    /// The pool's counters now.
    pub fn stats(&self) -> PoolStats {
        let state = self.owner.shared.lock();
        let spinning = usize::from(state.spinner != Spinner::Absent);
        PoolStats {
            threads: state.threads,
            idle: state.idle + spinning,
            running: state.running,
            queued: state.queue.len(),
        }
    }

    /// The thread bound.
    pub fn max_threads(&self) -> usize {
        self.owner.shared.max_threads
    }

    /// The idle keep-alive.
    pub fn keep_alive(&self) -> Duration {
        self.owner.shared.keep_alive
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPool")
            .field("max_threads", &self.max_threads())
            .field("keep_alive", &self.keep_alive())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn submit(this: &Arc<Self>, job: Box<dyn Job>) {
        let mut state = this.lock();
        if state.shutdown {
            drop(state);
            job.refuse();
            return;
        }
        state.queue.push_back(job);
        if state.spinner == Spinner::Spinning {
            // No syscall: the spinner sees the flag, or the call under the
            // mutex when it stops spinning.
            state.spinner = Spinner::Called;
            this.spinner_called.store(true, Ordering::Release);
        } else if state.idle > state.woken {
            {
                state.woken += 1;
            }
            drop(state);
            // The worker is inside `wait` (it counted itself idle under the
            // mutex we held), so this wake-up cannot be lost. A futex wake:
            // the one syscall of a hand-off to a sleeping thread.
            this.work.notify_one();
        } else if state.threads < this.max_threads {
            state.threads += 1;
            drop(state);
            Shared::start_worker(this);
        }
        // Else every thread is busy and the bound is reached: the job waits
        // for the next thread to finish.
    }

    fn start_worker(this: &Arc<Self>) {
        let shared = this.clone();
        let started = thread::Builder::new().name(this.thread_name.clone()).spawn(move || shared.work());
        if let Err(err) = started {
            let orphans = {
                let mut state = this.lock();
                state.threads -= 1;
                // With no thread left, nobody would ever take the queue.
                if state.threads == 0 {
                    std::mem::take(&mut state.queue)
                } else {
                    VecDeque::new()
                }
            };
            if !orphans.is_empty() {
                eprintln!("corio: the blocking pool could not start a thread ({err}); refusing its queued jobs");
            }
            orphans.into_iter().for_each(|job| {
                job.refuse();
            });
        }
    }

    /// A worker's life: run jobs until shut down or idle for `keep_alive`.
    fn work(&self) {
        let mut state = self.lock();
        // Whether the worker has run a job since it last spun: it spins once
        // after each job, then parks.
        let mut may_spin = false;
        loop {
            if let Some(job) = state.queue.pop_front() {
                state.running += 1;
                drop(state);
                // A job's own panic is caught inside `run`; this catches one
                // from a destructor (a withdrawn job's closure, an output
                // nobody awaits), so the worker outlives it and the pool's
                // thread count stays true.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| job.run()));
                state = self.lock();
                state.running -= 1;
                may_spin = true;
                continue;
            }
            if state.shutdown {
                break;
            }
            if may_spin {
                may_spin = false;
                let (guard, _seen) = self.spin_for_work(state);
                state = guard;
                // Called or not, the queue is looked at again before parking:
                // a submission that found the spinner woke nobody else.
                continue;
            }
            let (guard, woken) = self.wait_for_work(state);
            state = guard;
            if !woken {
                break; // idle for the whole keep-alive
            }
        }
        state.threads -= 1;
        if state.threads == 0 {
            self.exited.notify_all();
        }
    }

    /// Spins for a submission's call, up to [`SPIN_FOR_NEXT_JOB`] (never
    /// longer than the keep-alive), unless another worker is spinning.
    /// Returns with the mutex held, and whether the call was seen while
    /// spinning. The caller looks at the queue again either way: a call that
    /// lands after the last look at the flag is only in the queue.
    fn spin_for_work<'a>(&'a self, mut state: MutexGuard<'a, State>) -> (MutexGuard<'a, State>, bool) {
        let limit = self.keep_alive.min(SPIN_FOR_NEXT_JOB);
        if limit.is_zero() || state.spinner != Spinner::Absent {
            return (state, false);
        }
        state.spinner = Spinner::Spinning;
        drop(state);
        let seen = self.watch_for_call(limit);
        let mut state = self.lock();
        state.spinner = Spinner::Absent;
        self.spinner_called.store(false, Ordering::Relaxed);
        (state, seen)
    }

    /// The spin itself, `true` if the flag was seen.
    fn watch_for_call(&self, limit: Duration) -> bool {
        let called = || self.spinner_called.load(Ordering::Acquire);
        if cfg!(corio_loom) {
            // Loom explores the interleavings of one look; a timed spin
            // would be an unbounded loop to it.
            return called();
        }
        crate::spin::spin_until(limit, called)
    }

    /// Waits until woken for a job or shutdown (`true`), or until the
    /// keep-alive passes (`false`).
    fn wait_for_work<'a>(&'a self, mut state: MutexGuard<'a, State>) -> (MutexGuard<'a, State>, bool) {
        if self.keep_alive.is_zero() {
            return (state, false);
        }
        state.idle += 1;
        // `None`: a keep-alive too long to represent, i.e. forever.
        let deadline = Instant::now().checked_add(self.keep_alive);
        let woken = loop {
            state = match deadline {
                Some(deadline) => {
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    self.work.wait_timeout(state, remaining).unwrap_or_else(|e| e.into_inner()).0
                }
                None => self.work.wait(state).unwrap_or_else(|e| e.into_inner()),
            };
            // A wake-up sent for a job counts before the clock: a worker
            // someone is counting on never exits.
            if state.woken > 0 {
                state.woken -= 1;
                break true;
            }
            if state.shutdown {
                break true;
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                break false;
            }
            // A spurious wake-up: wait for the rest of the keep-alive.
        };
        state.idle -= 1;
        (state, woken)
    }

    fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        let queued = {
            let mut state = self.lock();
            state.shutdown = true;
            state.woken = 0;
            std::mem::take(&mut state.queue)
        };
        // Cuts a spin short; the spinner then sees the shutdown.
        self.spinner_called.store(true, Ordering::Release);
        self.work.notify_all();
        // Refused outside the mutex: refusing wakes awaiters (user wakers).
        let refused = queued.into_iter().map(|job| job.refuse()).filter(|&refused| refused).count();

        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.lock();
        while state.threads > 0 {
            let remaining = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if remaining.is_zero() {
                break;
            }
            state = self.exited.wait_timeout(state, remaining).unwrap_or_else(|e| e.into_inner()).0;
        }
        ShutdownReport { refused, still_running: state.running }
    }
}
