//! The event loop: asyncio's `BaseEventLoop`, generic over the four traits.
//!
//! One iteration ([`LoopCore::run_once`], asyncio's `_run_once`):
//!
//! 1. take work handed over by other threads;
//! 2. purge cancelled timers (rule L6);
//! 3. poll the reactor — with timeout 0 while anything is ready (and then
//!    only every `poll_interval` iterations, and never without I/O sources),
//!    otherwise until the next deadline, or indefinitely (L5); on a virtual
//!    clock, jump to the deadline instead of waiting;
//! 4. move due timers to the ready queue (L3, L4);
//! 5. run exactly the runnables that were ready when this step began (L1,
//!    L2), in the order the executor picks.
//!
//! A loop belongs to the thread that built it (`EventLoop` is `!Send`);
//! other threads reach it through a [`LoopHandle`].

use super::book::{Book, Own};
use super::callback::{CallbackRef, Handle, QueuedCallbacks, Runnable, TimerHandle};
use super::current::{self, RunGuard};
use super::debug::{debug_from_env, DebugMode, DEFAULT_SLOW_CALLBACK_DURATION};
use super::error::LoopError;
use super::exception::ExceptionContext;
use super::handle::LoopHandle;
use super::metrics::{self, Counters, Metrics};
use super::pool::{MemberGuard, Membership, PoolBook};
use super::registry::{Removed, TaskEntry, TaskRegistry};
use super::shared::{self, LoopId, LoopShared, Remote};
use super::timers::TimerQueue;
use crate::blocking::{BlockingPool, ShutdownReport};
use crate::clock::{Clock, SystemClock};
use crate::context::{self, Context, ContextStore, CowContext, DynContext, InstallGuard};
use crate::executor::{Executor, Fifo};
use crate::io::registry::IoRegistry;
use crate::loom::Arc;
use crate::reactor::{Event, Reactor};
use crate::task::checkpoint::Suspension;
use crate::task::current::TaskGuard;
use crate::task::dump::TaskDump;
use crate::task::host::DoneCallback;
use crate::task::origin::Origin;
use crate::task::owners::TooManyLoops;
use crate::task::raw::{self, RawTask, Spawner, Step, TaskRef};
use crate::task::state::{RunDecision, ABORT, CANCEL, CANCELLED, JOIN_INTEREST, JOIN_WAKER, PANICKED};
use crate::task::{Cancelled, JoinError, Panic, Task, TaskInfo};
use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::VecDeque;
use std::future::Future;
use std::mem;
use std::panic::{self, AssertUnwindSafe, Location};
use std::ptr::NonNull;
use std::rc::Rc;
use std::task::Waker;
use std::time::{Duration, Instant};

/// How often a busy loop still polls the reactor for I/O, in iterations.
pub const DEFAULT_POLL_INTERVAL: u32 = 32;

/// How long an idle loop with blocking work in flight spins for its result
/// before it parks (see `LoopCore::spin_for_remote_work`).
const SPIN_BEFORE_PARK: Duration = Duration::from_micros(25);

/// How many task ids a loop reserves at once for spawns on its own thread.
const LOCAL_ID_BLOCK: u64 = 64;

/// How long [`EventLoop::shutdown`] waits for cancelled tasks by default.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What a timer does when it fires.
///
/// Two words: the common kind, a sleep's waker, is stored inline; a
/// `call_later` callback and its context are boxed (one allocation beside the
/// callback's own, on a path that allocates anyway), which keeps every timer
/// slot 16 bytes smaller — 16 MB for a million sleeping tasks.
pub(crate) enum Timer<X> {
    /// `call_later`/`call_at`: queue the callback.
    Callback(Box<(CallbackRef, Context<X>)>),
    /// `sleep`: wake the sleeping task.
    Wake(Waker),
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Timer<crate::context::CowContext>>() == 16);

impl<X> Timer<X> {
    pub(crate) fn callback(callback: CallbackRef, context: Context<X>) -> Timer<X> {
        Timer::Callback(Box::new((callback, context)))
    }
}

/// The loop's exception handler (rule L8).
type ExceptionHandler = Box<dyn FnMut(ExceptionContext)>;

/// The loop's first counters, kept for code that reads them; [`Metrics`]
/// (from [`EventLoop::metrics`]) has these and more.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoopStats {
    /// Loop iterations run.
    pub iterations: u64,
    /// Calls to `Reactor::poll`.
    pub reactor_polls: u64,
    /// Calls to `Reactor::poll` that could block (non-zero timeout).
    pub reactor_waits: u64,
    /// Task polls.
    pub task_polls: u64,
    /// Callbacks run.
    pub callbacks: u64,
    /// Times another thread had to wake this loop with `Reactor::notify`.
    pub notifies: u64,
}

/// Builds an [`EventLoop`] from a reactor, then optionally a clock, an
/// executor and a context store.
///
/// ```
/// use corio_core::clock::VirtualClock;
/// use corio_core::executor::SeededRandom;
/// use corio_core::reactor::ParkReactor;
/// use corio_core::runtime::EventLoop;
/// use std::time::Duration;
///
/// let clock = VirtualClock::new();
/// let lp = EventLoop::builder(ParkReactor::new())
///     .clock(clock.clone())
///     .executor(SeededRandom::new(7))
///     .build();
/// lp.block_on(corio_core::sleep(Duration::from_secs(3600))).unwrap().unwrap();
/// assert_eq!(clock.elapsed(), Duration::from_secs(3600)); // instantly
/// ```
pub struct Builder<R, C = SystemClock, E = Fifo, X = CowContext> {
    reactor: R,
    clock: C,
    executor: E,
    poll_interval: u32,
    /// `None`: ask `CORIO_DEBUG` at `build`.
    debug: Option<bool>,
    slow_callback_duration: Duration,
    _context: std::marker::PhantomData<X>,
}

impl<R: Reactor> Builder<R> {
    fn new(reactor: R) -> Self {
        Builder {
            reactor,
            clock: SystemClock,
            executor: Fifo,
            poll_interval: DEFAULT_POLL_INTERVAL,
            debug: None,
            slow_callback_duration: DEFAULT_SLOW_CALLBACK_DURATION,
            _context: std::marker::PhantomData,
        }
    }
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> Builder<R, C, E, X> {
    /// Uses `clock` (e.g. a [`VirtualClock`](crate::clock::VirtualClock)).
    pub fn clock<C2: Clock>(self, clock: C2) -> Builder<R, C2, E, X> {
        Builder {
            reactor: self.reactor,
            clock,
            executor: self.executor,
            poll_interval: self.poll_interval,
            debug: self.debug,
            slow_callback_duration: self.slow_callback_duration,
            _context: self._context,
        }
    }

    /// Uses `executor` (e.g. [`SeededRandom`](crate::executor::SeededRandom)).
    pub fn executor<E2: Executor>(self, executor: E2) -> Builder<R, C, E2, X> {
        Builder {
            reactor: self.reactor,
            clock: self.clock,
            executor,
            poll_interval: self.poll_interval,
            debug: self.debug,
            slow_callback_duration: self.slow_callback_duration,
            _context: self._context,
        }
    }

    /// Uses the context store `X2` (e.g. [`HamtContext`](crate::context::HamtContext)).
    pub fn context_store<X2: ContextStore>(self) -> Builder<R, C, E, X2> {
        Builder {
            reactor: self.reactor,
            clock: self.clock,
            executor: self.executor,
            poll_interval: self.poll_interval,
            debug: self.debug,
            slow_callback_duration: self.slow_callback_duration,
            _context: std::marker::PhantomData,
        }
    }

    /// While work is ready, poll the reactor (with timeout 0) only every
    /// `iterations` iterations (default [`DEFAULT_POLL_INTERVAL`]); 1 polls
    /// every iteration, as asyncio does.
    pub fn poll_interval(mut self, iterations: u32) -> Self {
        self.poll_interval = iterations.max(1);
        self
    }

    /// Switches debug mode on or off (asyncio's `debug=True`), overriding
    /// `CORIO_DEBUG`: polls and callbacks slower than
    /// [`slow_callback_duration`](Builder::slow_callback_duration) are
    /// reported to the exception handler. See `docs/debugging.md`.
    ///
    /// ```
    /// use corio_core::clock::VirtualClock;
    /// use corio_core::reactor::ParkReactor;
    /// use corio_core::runtime::{EventLoop, ExceptionKind};
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    ///
    /// let clock = VirtualClock::new();
    /// let lp = EventLoop::builder(ParkReactor::new()).clock(clock.clone()).debug(true).build();
    /// let reports = Rc::new(RefCell::new(Vec::new()));
    /// let r = reports.clone();
    /// lp.set_exception_handler(move |context| r.borrow_mut().push(context.kind));
    /// // A poll that takes 250 ms of (virtual) time: reported.
    /// lp.block_on(async move { clock.advance(Duration::from_millis(250)) }).unwrap();
    /// assert_eq!(*reports.borrow(), [ExceptionKind::SlowPoll]);
    /// ```
    pub fn debug(mut self, enabled: bool) -> Self {
        self.debug = Some(enabled);
        self
    }

    /// How long a poll or callback may take before debug mode reports it
    /// (asyncio's `slow_callback_duration`; default 100 ms).
    pub fn slow_callback_duration(mut self, duration: Duration) -> Self {
        self.slow_callback_duration = duration;
        self
    }

    /// Builds the loop, bound to the calling thread.
    ///
    /// # Panics
    ///
    /// If 65 536 loops are already alive in the process (their tasks name
    /// them by a 16-bit index); [`try_build`](Self::try_build) returns that
    /// as an error instead.
    pub fn build(self) -> EventLoop<R, C, E, X> {
        match self.try_build() {
            Ok(lp) => lp,
            Err(err) => panic!("cannot build an event loop: {err}"),
        }
    }

    /// Builds the loop, bound to the calling thread, or fails if 65 536 loops
    /// are already alive in the process.
    ///
    /// ```
    /// use corio_core::reactor::ParkReactor;
    /// use corio_core::runtime::EventLoop;
    ///
    /// let lp = EventLoop::builder(ParkReactor::new()).try_build().expect("few loops are alive");
    /// assert_eq!(lp.block_on(async { 7 }).unwrap(), 7);
    /// ```
    pub fn try_build(self) -> Result<EventLoop<R, C, E, X>, TooManyLoops> {
        let shared = Arc::new(LoopShared::new(self.reactor)?);
        LoopShared::publish(&shared);
        let core = Rc::new(LoopCore {
            shared,
            clock: self.clock,
            executor: RefCell::new(self.executor),
            timers: RefCell::new(TimerQueue::new()),
            tasks: RefCell::new(TaskRegistry::new()),
            io: RefCell::new(IoRegistry::default()),
            held: RefCell::new(Default::default()),
            next_held: Cell::new(0),
            context: UnsafeCell::new(Context::new()),
            batch: RefCell::new(VecDeque::new()),
            events: RefCell::new(Vec::new()),
            wake_buf: RefCell::new(Vec::new()),
            remote_buf: RefCell::new(Vec::new()),
            running: Cell::new(false),
            stopping: Cell::new(false),
            closed: Cell::new(false),
            busy_iterations: Cell::new(0),
            local_ids: Cell::new((0, 0)),
            queued: RefCell::new(QueuedCallbacks::new()),
            poll_interval: self.poll_interval,
            exception_handler: RefCell::new(None),
            counters: Counters::default(),
            blocking: RefCell::new(None),
            debug: DebugMode::new(self.debug.unwrap_or_else(debug_from_env), self.slow_callback_duration),
            pool: std::cell::OnceCell::new(),
            held_done: RefCell::new(Default::default()),
        });
        let weak: std::rc::Weak<dyn current::Local> = Rc::downgrade(&(core.clone() as Rc<dyn current::Local>));
        current::register_local(weak);
        let driver: std::rc::Weak<dyn crate::io::driver::Driver> =
            Rc::downgrade(&(core.clone() as Rc<dyn crate::io::driver::Driver>));
        crate::io::driver::register_local(driver);
        Ok(EventLoop { core })
    }
}

/// An event loop: a ready queue, a timer queue and a reactor, run on one
/// thread (asyncio's event loop).
///
/// ```
/// use corio_core::reactor::ParkReactor;
/// use corio_core::runtime::EventLoop;
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use std::time::Duration;
///
/// let lp = EventLoop::builder(ParkReactor::new()).build();
/// let out = Rc::new(RefCell::new(Vec::new()));
/// let o = out.clone();
/// lp.call_later(Duration::from_millis(1), move || o.borrow_mut().push("later"));
/// let o = out.clone();
/// lp.call_soon(move || o.borrow_mut().push("soon"));
/// lp.call_later(Duration::from_millis(2), corio_core::stop);
/// lp.run_forever().unwrap();
/// assert_eq!(*out.borrow(), ["soon", "later"]);
/// ```
pub struct EventLoop<R: Reactor, C: Clock = SystemClock, E: Executor = Fifo, X: ContextStore = CowContext> {
    core: Rc<LoopCore<R, C, E, X>>,
}

impl<R: Reactor> EventLoop<R> {
    /// Starts building a loop over `reactor`.
    pub fn builder(reactor: R) -> Builder<R> {
        Builder::new(reactor)
    }

    /// A loop over `reactor` with the system clock, FIFO order and the
    /// default context store.
    pub fn new(reactor: R) -> Self {
        Builder::new(reactor).build()
    }
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> EventLoop<R, C, E, X> {
    /// Schedules `callback` for the next iteration (rule L1).
    pub fn call_soon(&self, callback: impl FnOnce() + 'static) -> Handle {
        let callback = CallbackRef::local(callback);
        self.core.push_callback(callback.clone(), self.core.spawn_context());
        Handle { callback }
    }

    /// Schedules `callback` after `delay`. A delay beyond the clock's range
    /// (`Duration::MAX`) never comes: the callback is not scheduled.
    pub fn call_later(&self, delay: Duration, callback: impl FnOnce() + 'static) -> TimerHandle {
        let now = self.time();
        match crate::time::deadline_after(now, delay) {
            Some(when) => self.call_at(when, callback),
            None => TimerHandle::never(CallbackRef::local(callback), now, self.core.shared.id),
        }
    }

    /// Schedules `callback` at `when`; a time in the past runs next
    /// iteration.
    pub fn call_at(&self, when: Instant, callback: impl FnOnce() + 'static) -> TimerHandle {
        let callback = CallbackRef::local(callback);
        let key =
            self.core.timers.borrow_mut().insert(when, Timer::callback(callback.clone(), self.core.spawn_context()));
        TimerHandle { handle: Handle { callback }, when, key: Some(key), loop_id: self.core.shared.id }
    }

    /// The loop's time.
    pub fn time(&self) -> Instant {
        self.core.clock.now()
    }

    /// Spawns a task; it first runs when the loop runs. The future need not
    /// be `Send`.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // SAFETY: 'static future.
        unsafe { self.core.spawn_unchecked(future, Location::caller()) }
    }

    /// A handle for other threads: `call_soon_threadsafe`, `spawn`, `stop`.
    pub fn handle(&self) -> LoopHandle {
        LoopHandle::new(self.core.shared.clone())
    }

    /// Stops the loop after the current iteration (rule L9). Called before
    /// `run_forever`, the loop runs one iteration and stops.
    pub fn stop(&self) {
        self.core.stopping.set(true);
    }

    /// Runs until [`stop`](EventLoop::stop) (asyncio's `run_forever`).
    ///
    /// Fails if a loop is already running on this thread (rule L9), and, on
    /// a virtual clock, if nothing can ever happen again (deadlock, L5).
    pub fn run_forever(&self) -> Result<(), LoopError> {
        let _running = self.core.enter()?;
        loop {
            self.core.run_once()?;
            if self.core.stopping.replace(false) {
                return Ok(());
            }
        }
    }

    /// Runs `future` to completion as the loop's first task and returns its
    /// output (asyncio's `run_until_complete`). The future may borrow: it is
    /// dropped before this returns, whatever happens.
    ///
    /// Errors: another loop running on this thread, a `stop()` before the
    /// future finished, a deadlock on a virtual clock, a reactor failure, or
    /// the future itself panicking or ending cancelled.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> Result<F::Output, LoopError> {
        let location = Location::caller();
        let _running = self.core.enter()?;
        // SAFETY: `RootGuard` drops the future's stage before we return, even
        // when unwinding, so borrows inside it never dangle.
        let root = RootGuard { core: &self.core, task: unsafe { self.core.spawn_unchecked(future, location) } };
        while !root.task.done() {
            self.core.run_once()?;
            if self.core.stopping.replace(false) && !root.task.done() {
                return Err(LoopError::Stopped);
            }
        }
        root.into_output()
    }

    /// `block_on` under asyncio's name.
    #[track_caller]
    pub fn run_until_complete<F: Future>(&self, future: F) -> Result<F::Output, LoopError> {
        self.block_on(future)
    }

    /// asyncio.run's teardown: cancel every remaining task, run until they
    /// finish or `grace` passes (on the loop's clock), then abort the rest,
    /// reporting each to the exception handler. Tasks the cancelled tasks'
    /// cleanup spawns and leaves behind are cancelled once every cancelled
    /// task has finished (helpers the cleanup awaits run uncancelled).
    ///
    /// Then the default blocking pool is shut down: queued jobs are refused,
    /// and running ones get up to `grace` (real time) to finish; any still
    /// running after that are reported and left to their threads. A grace
    /// beyond the clock's range (`Duration::MAX`) waits without a limit.
    pub fn shutdown(&self, grace: Duration) -> Result<(), LoopError> {
        let _running = self.core.enter()?;
        self.core.shutdown(grace)
    }

    /// The loop's default blocking pool (asyncio's default executor), which
    /// [`run_in_executor`](crate::blocking::run_in_executor),
    /// [`to_thread`](crate::blocking::to_thread) and
    /// [`spawn_blocking`](crate::blocking::spawn_blocking) use; created on
    /// first use.
    pub fn default_executor(&self) -> BlockingPool {
        self.core.default_executor()
    }

    /// Makes `pool` the default blocking pool (asyncio's
    /// `set_default_executor`). The previous one is released: if nothing
    /// else holds it, it shuts down without waiting (running jobs finish,
    /// queued ones are refused). A pool shared by several loops is shut
    /// down by the first of them to be torn down.
    ///
    /// ```
    /// use corio_core::blocking::BlockingPool;
    /// use corio_core::reactor::ParkReactor;
    /// use corio_core::runtime::EventLoop;
    ///
    /// let lp = EventLoop::new(ParkReactor::new());
    /// lp.set_default_executor(BlockingPool::builder().max_threads(1).build());
    /// assert_eq!(lp.default_executor().max_threads(), 1);
    /// ```
    pub fn set_default_executor(&self, pool: BlockingPool) {
        let previous = self.core.blocking.replace(Some(pool));
        drop(previous);
    }

    /// Shuts the default blocking pool down (asyncio's
    /// `shutdown_default_executor`): refuses queued jobs and waits up to
    /// `timeout` for running ones. Later submissions are refused. See
    /// [`BlockingPool::shutdown`].
    pub fn shutdown_default_executor(&self, timeout: Duration) -> ShutdownReport {
        self.core.shutdown_default_executor(timeout)
    }

    /// Installs the exception handler (rule L8); the default prints to
    /// standard error.
    pub fn set_exception_handler(&self, handler: impl FnMut(ExceptionContext) + 'static) {
        *self.core.exception_handler.borrow_mut() = Some(Box::new(handler));
    }

    /// Whether the loop is running.
    pub fn is_running(&self) -> bool {
        self.core.running.get()
    }

    /// Live tasks.
    pub fn task_count(&self) -> usize {
        self.core.tasks.borrow().len()
    }

    /// Live timers.
    pub fn timer_count(&self) -> usize {
        self.core.timers.borrow().len()
    }

    /// Timer-queue entries, including cancelled ones awaiting purge (L6).
    pub fn timer_heap_len(&self) -> usize {
        self.core.timers.borrow().heap_len()
    }

    /// Switches debug mode on or off (asyncio's `loop.set_debug`).
    pub fn set_debug(&self, enabled: bool) {
        self.core.debug.set_enabled(enabled);
    }

    /// Whether debug mode is on (asyncio's `loop.get_debug`).
    pub fn get_debug(&self) -> bool {
        self.core.debug.enabled()
    }

    /// Sets how long a poll or callback may take before debug mode reports
    /// it (asyncio's `loop.slow_callback_duration`).
    pub fn set_slow_callback_duration(&self, duration: Duration) {
        self.core.debug.set_slow(duration);
    }

    /// How long a poll or callback may take before debug mode reports it.
    pub fn slow_callback_duration(&self) -> Duration {
        self.core.debug.slow()
    }

    /// Every live task with its state, spawn location and checkpoint (rule
    /// D3); also callable between runs. Inside a task,
    /// [`task::dump`](fn@crate::task::dump) does the same.
    pub fn dump_tasks(&self) -> TaskDump {
        self.core.dump_tasks()
    }

    /// The loop's counters: tasks, polls, iterations, reactor calls and
    /// waits, timers, cross-thread wakes, blocking jobs (see [`Metrics`]).
    /// Cheap: a copy of a few integers.
    ///
    /// ```
    /// use corio_core::reactor::ParkReactor;
    /// use corio_core::runtime::EventLoop;
    /// use std::time::Duration;
    ///
    /// let lp = EventLoop::new(ParkReactor::new());
    /// lp.block_on(corio_core::sleep(Duration::from_millis(1))).unwrap().unwrap();
    /// let m = lp.metrics();
    /// assert_eq!((m.tasks_spawned, m.timers_pending), (1, 0));
    /// assert!(m.reactor_waits >= 1 && m.reactor_wait_time > Duration::ZERO); // it slept in the reactor
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.core.metrics()
    }

    /// The loop's first counters (a subset of [`metrics`](EventLoop::metrics)).
    pub fn stats(&self) -> LoopStats {
        let m = self.core.metrics();
        LoopStats {
            iterations: m.iterations,
            reactor_polls: m.reactor_polls,
            reactor_waits: m.reactor_waits,
            task_polls: m.task_polls,
            callbacks: m.callbacks,
            notifies: m.cross_thread_notifies,
        }
    }

    /// The loop's clock.
    pub fn clock(&self) -> &C {
        &self.core.clock
    }

    /// The loop's reactor.
    pub fn reactor(&self) -> &R {
        &self.core.shared.reactor
    }

    /// Ends the pool this loop is a member of, once every member has stopped
    /// (a multi-loop runtime's teardown): drains the pool's queues, and ends
    /// every pool task still live as cancelled, reporting each to this
    /// loop's exception handler (it ignored its cancellation for the whole
    /// grace period); their futures are dropped here.
    pub(crate) fn close_pool(&self) -> Result<(), LoopError> {
        let Some(member) = self.core.membership() else { return Ok(()) };
        let _running = self.core.enter()?;
        let (queued, live) = member.pool.close();
        drop(queued);
        let book = PoolBook { pool: &member.pool, index: member.index };
        for task in live {
            self.core.report(ExceptionContext::ignored_cancellation(task.raw()));
            let cancelled = Cancelled::new(Some("aborted at shutdown".into()));
            self.core.end_cancelled_in(&book, task.raw(), cancelled, None);
        }
        Ok(())
    }

    /// Joins `pool` as member `index` (a multi-loop runtime, as it starts).
    pub(crate) fn attach_pool(&self, pool: Arc<super::pool::PoolShared>, index: usize) {
        self.core.attach_pool(Membership { pool, index });
    }

    /// The name of the reactor backend the loop runs on
    /// ([`Reactor::name`]: `"epoll"`, `"uring"`, `"kqueue"`, `"portable"`,
    /// `"mock"`, `"park"`).
    ///
    /// ```
    /// use corio_core::reactor::ParkReactor;
    /// use corio_core::runtime::EventLoop;
    ///
    /// assert_eq!(EventLoop::new(ParkReactor::new()).backend(), "park");
    /// ```
    pub fn backend(&self) -> &'static str {
        self.core.shared.reactor.name()
    }

    /// Closes the loop: aborts every task (dropping its future here), drops
    /// pending callbacks and timers, and refuses work from handles.
    /// Dropping the loop does the same.
    pub fn close(self) {}
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> Drop for EventLoop<R, C, E, X> {
    fn drop(&mut self) {
        self.core.close();
    }
}

/// The backend and what the loop holds: `EventLoop { backend: "epoll",
/// running: false, tasks: 0, timers: 0, .. }`.
impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> std::fmt::Debug for EventLoop<R, C, E, X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("backend", &self.backend())
            .field("running", &self.is_running())
            .field("tasks", &self.task_count())
            .field("timers", &self.timer_count())
            .finish_non_exhaustive()
    }
}

/// Keeps `block_on`'s future from outliving the call.
struct RootGuard<'a, R: Reactor, C: Clock, E: Executor, X: ContextStore, T> {
    core: &'a LoopCore<R, C, E, X>,
    task: Task<T>,
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore, T> RootGuard<'_, R, C, E, X, T> {
    fn into_output(self) -> Result<T, LoopError> {
        let this = mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the task is moved out once.
        let mut task = unsafe { std::ptr::read(&this.task) };
        let waker = Waker::noop();
        let result = match std::pin::Pin::new(&mut task).poll(&mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(result) => result,
            std::task::Poll::Pending => unreachable!("the root task is done"),
        };
        result.map_err(LoopError::from)
    }
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore, T> Drop for RootGuard<'_, R, C, E, X, T> {
    fn drop(&mut self) {
        if !self.task.done() {
            let raw = self.task_raw();
            self.core
                .finish_cancelled(raw, Cancelled::new(Some("block_on returned before the future finished".into())));
        }
    }
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore, T> RootGuard<'_, R, C, E, X, T> {
    fn task_raw(&self) -> RawTask {
        self.task.raw_task()
    }
}

/// Restores the loop's "not running" state.
pub(crate) struct Running<'a, R: Reactor, C: Clock, E: Executor, X: ContextStore> {
    core: &'a LoopCore<R, C, E, X>,
    _run: RunGuard,
    _context: InstallGuard,
    _member: Option<MemberGuard>,
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> Drop for Running<'_, R, C, E, X> {
    fn drop(&mut self) {
        self.core.running.set(false);
        // A member of a pool that stops running hands its queued pool
        // tasks to the loops that run.
        if let Some(member) = self.core.membership() {
            member.pool.hand_off(member.index);
        }
    }
}

/// The loop's state; lives in an `Rc` so the thread-local can point at it.
pub(crate) struct LoopCore<R, C, E, X> {
    pub(crate) shared: Arc<LoopShared<R, X>>,
    pub(crate) clock: C,
    executor: RefCell<E>,
    pub(crate) timers: RefCell<TimerQueue<Timer<X>>>,
    pub(crate) tasks: RefCell<TaskRegistry<X>>,
    pub(crate) io: RefCell<IoRegistry>,
    /// Callbacks waiting for a completion future (asyncio's done-callbacks).
    pub(crate) held: RefCell<std::collections::HashMap<u64, (CallbackRef, Context<X>)>>,
    pub(crate) next_held: Cell<u64>,
    /// The context of whatever runs now. Installed as the thread's current
    /// context while the loop runs; each runnable's context is swapped in
    /// and out around it (an O(1) swap).
    context: UnsafeCell<Context<X>>,
    batch: RefCell<VecDeque<Runnable<X>>>,
    /// The callbacks the ready queue names by index.
    queued: RefCell<QueuedCallbacks<X>>,
    events: RefCell<Vec<Event>>,
    pub(crate) wake_buf: RefCell<Vec<Waker>>,
    remote_buf: RefCell<Vec<Remote>>,
    pub(crate) running: Cell<bool>,
    pub(crate) stopping: Cell<bool>,
    pub(crate) closed: Cell<bool>,
    busy_iterations: Cell<u32>,
    /// Task ids reserved for local spawns: the next, and the end of the block.
    local_ids: Cell<(u64, u64)>,
    poll_interval: u32,
    exception_handler: RefCell<Option<ExceptionHandler>>,
    pub(crate) counters: Counters,
    /// The default blocking pool (asyncio's default executor), created on
    /// first use; shut down at teardown.
    blocking: RefCell<Option<BlockingPool>>,
    pub(crate) debug: DebugMode,
    /// The pool this loop is a member of, on a multi-loop runtime
    /// (`pool/`): whose tasks it runs beside its own.
    pool: std::cell::OnceCell<Membership>,
    /// Done-callbacks this loop's code added to pool tasks, until the pool
    /// says the task has ended (`pool::Posted`).
    pub(crate) held_done: RefCell<std::collections::HashMap<u64, (DoneCallback, Context<X>)>>,
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> LoopCore<R, C, E, X> {
    // ----- running ----------------------------------------------------------

    /// Makes this the running loop of the thread.
    fn enter(&self) -> Result<Running<'_, R, C, E, X>, LoopError> {
        if self.closed.get() {
            return Err(LoopError::Closed);
        }
        if current::any_running() {
            return Err(LoopError::AlreadyRunning);
        }
        // The loop's base context starts as a copy of the calling thread's,
        // so the first task (block_on's future) sees the thread's values, as
        // asyncio.run's task does (X1).
        let base = Context::from_entries(context::snapshot_entries());
        // SAFETY: not running yet, so nothing borrows the slot.
        let old = unsafe { mem::replace(&mut *self.context.get(), base) };
        drop(old);
        self.running.set(true);
        // SAFETY: the guard lives inside `Running`, which borrows `self`.
        let run = unsafe { RunGuard::enter(self, self.shared.as_owner()) };
        let slot: NonNull<dyn DynContext> = NonNull::new(self.context.get() as *mut dyn DynContext).expect("non-null");
        // SAFETY: the slot lives in `self`, which outlives the guard; the
        // loop swaps it only between runnables.
        let context = unsafe { InstallGuard::install(slot) };
        // SAFETY: the pool outlives the guard (the loop holds it).
        let member = self.pool.get().map(|m| unsafe { MemberGuard::enter(&m.pool, m.index) });
        Ok(Running { core: self, _run: run, _context: context, _member: member })
    }

    pub(crate) fn metrics(&self) -> Metrics {
        Metrics {
            tasks_alive: self.tasks.borrow().len() as u64,
            timers_pending: self.timers.borrow().len() as u64,
            cross_thread_wakes: self.shared.remote_wakes.load(std::sync::atomic::Ordering::Relaxed),
            cross_thread_notifies: self.shared.notifies.load(crate::loom::Ordering::Relaxed) as u64,
            backend: self.shared.reactor.name(),
            ..self.counters.snapshot()
        }
    }

    /// One iteration; see the module documentation.
    pub(crate) fn run_once(&self) -> Result<(), LoopError> {
        metrics::bump(&self.counters.iterations);
        self.take_remote_work();
        self.timers.borrow_mut().purge();

        if self.has_ready() || self.stopping.get() || self.find_pool_work() {
            // Busy. I/O still gets a look every `poll_interval` iterations, so
            // a loop that always has work cannot starve its sockets; a loop
            // without sources never enters the reactor at all.
            let busy = self.busy_iterations.get() + 1;
            let due = busy >= self.poll_interval && (self.io.borrow().len() > 0 || self.ops_in_flight());
            if due {
                self.busy_iterations.set(0);
                self.poll_reactor(Some(Duration::ZERO))?;
            } else {
                self.busy_iterations.set(busy);
            }
        } else {
            self.busy_iterations.set(0);
            match self.idle_timeout()? {
                Some(Duration::ZERO) => self.poll_reactor(Some(Duration::ZERO))?,
                timeout => {
                    if !self.spin_for_remote_work(timeout) && self.pool_go_idle() && self.shared.park() {
                        let polled = self.poll_reactor(timeout);
                        self.shared.unpark_self();
                        self.pool_wake_up();
                        polled?;
                    } else {
                        self.pool_wake_up();
                    }
                }
            }
        }

        self.fire_due_timers();
        self.run_ready_batch();
        Ok(())
    }

    /// Before an idle loop parks while its blocking pool has a job queued or
    /// running: spins (up to [`SPIN_BEFORE_PARK`], never past `timeout`)
    /// for work from another thread; `true` if some arrived. A job's result
    /// typically comes back within microseconds, and a parked thread costs
    /// more than that to wake (an eventfd write, the kernel's wake-up and a
    /// reschedule: 5–30 µs on a virtual machine), so a short spin makes a
    /// round trip to the pool cheaper (W10). No spin otherwise: an idle loop
    /// with nothing in flight parks at once.
    fn spin_for_remote_work(&self, timeout: Option<Duration>) -> bool {
        if cfg!(corio_loom) || self.clock.is_virtual() {
            return false;
        }
        let expecting = self.blocking.borrow().as_ref().is_some_and(BlockingPool::has_pending_work);
        if !expecting {
            return false;
        }
        let limit = timeout.map_or(SPIN_BEFORE_PARK, |t| t.min(SPIN_BEFORE_PARK));
        crate::spin::spin_until(limit, || self.shared.has_remote())
    }

    /// Whether completion-based operations are in flight (their results
    /// come through the reactor, so a busy loop still polls it).
    fn ops_in_flight(&self) -> bool {
        self.shared.reactor.completions().is_some_and(|c| c.in_flight() > 0)
    }

    /// How long an idle loop may wait: until the next timer, forever, or —
    /// on a virtual clock — not at all (time jumps), or it is a deadlock.
    fn idle_timeout(&self) -> Result<Option<Duration>, LoopError> {
        // A real clock may wake at a lower bound and ask again; a virtual one
        // jumps straight to the exact deadline.
        let next = match self.clock.is_virtual() {
            false => self.timers.borrow_mut().next_deadline(),
            true => self.timers.borrow_mut().next_deadline_exact(),
        };
        match next {
            Some(deadline) => {
                let now = self.clock.now();
                if deadline <= now || self.clock.advance_to(deadline) {
                    Ok(Some(Duration::ZERO))
                } else {
                    Ok(Some(deadline - now))
                }
            }
            None if self.clock.is_virtual()
                && self.shared.handles.load(crate::loom::Ordering::SeqCst) == 0
                && !self.shared.has_remote()
                && self.shared.reactor.is_quiescent() =>
            {
                Err(LoopError::Deadlock { tasks: self.describe_tasks() })
            }
            None => Ok(None),
        }
    }

    /// One line per blocked task for `LoopError::Deadlock`: name, spawn
    /// location, and where it waits.
    fn describe_tasks(&self) -> Vec<String> {
        let dump = self.dump_tasks();
        dump.tasks
            .into_iter()
            .map(|t| match t.checkpoint {
                Some(at) => format!("{} (spawned at {}): {at}", t.name, t.spawned_at),
                None => format!("{} (spawned at {})", t.name, t.spawned_at),
            })
            .collect()
    }

    fn poll_reactor(&self, timeout: Option<Duration>) -> Result<(), LoopError> {
        metrics::bump(&self.counters.reactor_polls);
        // Only a wait that may block is timed: it makes a syscall anyway, and
        // a busy loop's zero-timeout polls stay free of clock reads.
        let waited_from = (timeout != Some(Duration::ZERO)).then(Instant::now);
        let mut events = mem::take(&mut *self.events.borrow_mut());
        events.clear();
        let polled = self.shared.reactor.poll(&mut events, timeout);
        if let Some(from) = waited_from {
            metrics::bump(&self.counters.reactor_waits);
            let waited = u64::try_from(from.elapsed().as_nanos()).unwrap_or(u64::MAX);
            let total = &self.counters.reactor_wait_nanos;
            total.set(total.get().saturating_add(waited));
        }
        match polled {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(LoopError::Reactor(err)),
        }
        if !events.is_empty() {
            let mut wake = mem::take(&mut *self.wake_buf.borrow_mut());
            {
                let mut io = self.io.borrow_mut();
                for event in &events {
                    io.dispatch(event, &mut wake);
                }
            }
            wake.drain(..).for_each(Waker::wake);
            *self.wake_buf.borrow_mut() = wake;
        }
        *self.events.borrow_mut() = events;
        Ok(())
    }

    fn fire_due_timers(&self) {
        if self.timers.borrow().is_empty() {
            return; // no clock read without timers
        }
        let now = self.clock.now();
        // One pass; the queue stays borrowed, as pushing touches only the
        // ready queue and the queued callbacks.
        self.timers.borrow_mut().fire_due(now, |timer| match timer {
            Timer::Callback(entry) => {
                let (callback, context) = *entry;
                self.push_callback(callback, context)
            }
            Timer::Wake(waker) => self.push(Runnable::Wake(waker)),
        });
    }

    /// Runs exactly what was ready when this step began (rules L1, L2).
    fn run_ready_batch(&self) {
        // The batch's buffer is reused from iteration to iteration, swapped
        // with the ready queue in place. It stays borrowed while the batch
        // runs: nothing a runnable does reaches it (only `close`, outside any
        // iteration, takes it). Should a foreign waker's `wake` unwind out of
        // here, what the batch still holds runs in the next iteration.
        let mut batch = self.batch.borrow_mut();
        // SAFETY: loop thread, no other borrow of the queue.
        unsafe { self.shared.with_ready(|ready| mem::swap(ready, &mut *batch)) };
        // The pool's tasks queued here now run after the batch (`pool/`).
        let pool_batch = self.pool.get().map_or(0, |m| m.pool.queued(m.index));
        // Only the batch uses the executor: borrowed once, not per runnable.
        let mut executor = self.executor.borrow_mut();
        loop {
            let next = executor.next(&mut batch);
            match next {
                None => break,
                Some(Runnable::Task(task)) => self.run_task(task),
                Some(Runnable::Callback(index, _)) => {
                    let queued = self.queued.borrow_mut().take(index);
                    if let Some((callback, context)) = queued {
                        self.run_callback(callback, context);
                    }
                }
                Some(Runnable::Wake(waker)) => waker.wake(),
            }
        }
        drop(executor);
        drop(batch);
        self.run_pool_batch(pool_batch);
    }

    // ----- the pool's tasks (`pool/`) ---------------------------------------

    /// Joins `pool` as member `index` (once; on a multi-loop runtime, before
    /// any of the pool's tasks can reach this loop).
    pub(crate) fn attach_pool(&self, membership: Membership) {
        self.shared.share_task_ids(membership.pool.task_ids());
        let _ = self.pool.set(membership);
    }

    /// Runs (up to) the `count` pool tasks queued for this loop when the
    /// step began, after its own batch (L2 for the pool's tasks too: one
    /// woken meanwhile runs in the next iteration, here or on a loop that
    /// steals it).
    fn run_pool_batch(&self, count: usize) {
        let Some(member) = self.pool.get() else { return };
        let book = PoolBook { pool: &member.pool, index: member.index };
        for _ in 0..count {
            match member.pool.pop(member.index) {
                Some(task) => self.run_task_in(task, &book),
                None => break, // stolen meanwhile
            }
        }
    }

    /// Whether this loop has pool tasks to run: its own queue, or — when it
    /// has nothing else to do — work it takes from the injection queue or
    /// steals from another loop.
    fn find_pool_work(&self) -> bool {
        let Some(member) = self.pool.get() else { return false };
        if member.pool.queued(member.index) > 0 {
            return true;
        }
        let taken = member.pool.find_work(member.index);
        let stolen = &self.counters.tasks_stolen;
        stolen.set(stolen.get() + taken as u64);
        taken > 0
    }

    /// About to park: tells the pool, which may still have work (then the
    /// loop must not park).
    fn pool_go_idle(&self) -> bool {
        self.pool.get().is_none_or(|m| m.pool.go_idle(m.index))
    }

    /// Running again after (not) parking.
    fn pool_wake_up(&self) {
        if let Some(m) = self.pool.get() {
            m.pool.wake_up(m.index);
        }
    }

    /// Runs `f` on loop `id`, another member of this loop's pool, at its
    /// next iteration; `false` if there is no such loop (or no pool).
    pub(crate) fn forward(&self, id: LoopId, f: Box<dyn FnOnce() + Send>) -> bool {
        self.membership().is_some_and(|m| m.pool.post_to(id, f))
    }

    /// The pool this loop belongs to, if any.
    pub(crate) fn membership(&self) -> Option<&Membership> {
        self.pool.get()
    }

    /// Replaces the current context's store, returning the previous one (a
    /// pool task's step, `pool/book.rs`).
    pub(crate) fn swap_current_store(&self, store: X) -> X {
        // SAFETY: between runnables nobody holds a reference to the slot
        // (context accesses are leaf operations).
        unsafe { mem::replace((*self.context.get()).store_mut(), store) }
    }

    fn has_ready(&self) -> bool {
        // SAFETY: loop thread, no other borrow of the queue.
        unsafe { self.shared.with_ready(|ready| !ready.is_empty()) }
    }

    /// Queues a runnable (loop thread; running or not).
    pub(crate) fn push(&self, runnable: Runnable<X>) {
        // SAFETY: `EventLoop` is `!Send` and `Local` is only reachable on its
        // thread, so this is the loop's thread; pushes are leaf operations.
        unsafe { self.shared.push_local(runnable) }
    }

    /// Queues a callback to run in `context`.
    #[inline]
    pub(crate) fn push_callback(&self, callback: CallbackRef, context: Context<X>) {
        let runnable = self.queued.borrow_mut().insert(callback, context);
        self.push(runnable);
    }

    fn take_remote_work(&self) {
        if !self.shared.has_remote() {
            return;
        }
        let mut items = mem::take(&mut *self.remote_buf.borrow_mut());
        self.shared.drain_remote(&mut items);
        for item in items.drain(..) {
            match item {
                Remote::Wake(task) => self.push(Runnable::Task(task)),
                Remote::Spawn { registry, queued, context } => {
                    self.register(registry, context::store_from_entries(context));
                    self.push(Runnable::Task(queued));
                }
                Remote::Callback(callback, context) => self.push_callback(callback, Context::from_entries(context)),
                Remote::Run(f) => f(),
            }
        }
        *self.remote_buf.borrow_mut() = items;
    }

    // ----- contexts ---------------------------------------------------------

    /// Swaps `context` in as the current one, returning the previous.
    fn swap_context(&self, context: Context<X>) -> Context<X> {
        // SAFETY: between runnables nobody holds a reference to the slot
        // (context accesses are leaf operations).
        unsafe { mem::replace(&mut *self.context.get(), context) }
    }

    /// A copy of the current context's store for a new task (X1).
    fn spawn_store(&self) -> X {
        if self.running.get() {
            // SAFETY: a shared read between context operations.
            unsafe { (*self.context.get()).copy_store() }
        } else {
            // Not running: the caller's context is the thread's own.
            context::store_from_entries(context::snapshot_entries())
        }
    }

    /// A copy of the current context for a callback (X2): the store a
    /// task would get, with an identity of its own.
    pub(crate) fn spawn_context(&self) -> Context<X> {
        Context::from_store(self.spawn_store())
    }

    // ----- tasks ------------------------------------------------------------

    pub(crate) fn spawner(&self) -> (Spawner, u64) {
        let id = self.next_local_task_id();
        (shared::spawner(&self.shared), id)
    }

    /// A task id for a spawn on the loop's thread. Ids are shared with other
    /// threads' spawns (an atomic counter); the loop reserves them a block at
    /// a time, so a local spawn pays an atomic read-modify-write once per
    /// [`LOCAL_ID_BLOCK`] spawns. Local spawns are numbered in order; a spawn
    /// from another thread meanwhile takes a number after the block.
    fn next_local_task_id(&self) -> u64 {
        let (mut next, mut end) = self.local_ids.get();
        if next == end {
            next = self.shared.next_task_ids(LOCAL_ID_BLOCK);
            end = next + LOCAL_ID_BLOCK;
        }
        self.local_ids.set((next + 1, end));
        next
    }

    /// Allocates and registers a task; it runs at the next iteration.
    ///
    /// # Safety
    ///
    /// If `F` is not 'static, the task's stage must be dropped before its
    /// borrows end (see `RootGuard`).
    unsafe fn spawn_unchecked<F: Future>(&self, future: F, location: &'static Location<'static>) -> Task<F::Output> {
        let (spawner, id) = self.spawner();
        // SAFETY: forwarded; three references: registry, queue, handle.
        let raw = RawTask::from_header(unsafe { raw::allocate(future, spawner, id, Origin::new(location, None), 3) });
        // SAFETY: each of the three references is handed out once.
        unsafe {
            self.adopt_task(TaskRef::from_raw(raw), TaskRef::from_raw(raw), false);
            Task::from_raw(raw)
        }
    }

    fn register(&self, task: TaskRef, context: X) {
        metrics::bump(&self.counters.tasks_spawned);
        #[cfg(feature = "tracing")]
        let span = tracing::info_span!("task", task.name = %crate::task::task_name(task.raw()), task.id = task.raw().header().id);
        self.tasks.borrow_mut().insert(
            TaskEntry {
                task,
                #[cfg(feature = "tracing")]
                span,
            },
            context,
        );
    }

    pub(crate) fn adopt_task(&self, registry: TaskRef, queued: TaskRef, eager: bool) {
        let raw = registry.raw();
        self.register(registry, self.spawn_store());
        if self.closed.get() {
            // A destructor spawned during close: it will never run.
            self.finish_cancelled(raw, Cancelled::new(Some("the event loop is closed".into())));
        } else if eager {
            self.run_task(queued);
        } else {
            self.push(Runnable::Task(queued));
        }
    }

    /// Swaps a task's context store with the current context's: in before
    /// a step, out after it.
    ///
    /// The task must be registered: a task that is not complete is (it is
    /// removed when it completes), and it completes only between its steps —
    /// which the swap after a step checks, since the swap relies on it.
    pub(crate) fn swap_task_context(&self, raw: RawTask) {
        // SAFETY: between runnables (see `swap_context`); a task of this
        // loop, registered (above), so its header holds an `X`.
        unsafe { raw.context().swap((*self.context.get()).store_mut()) };
    }

    /// The task's tracing span, entered for one poll.
    #[cfg(feature = "tracing")]
    fn enter_span(&self, raw: RawTask) -> tracing::span::EnteredSpan {
        let span = self.tasks.borrow_mut().get_mut(raw).map(|e| e.span.clone()).unwrap_or_else(tracing::Span::none);
        span.entered()
    }

    /// Runs one step of one of the loop's own tasks (the queue's reference
    /// is `task`).
    #[inline]
    fn run_task(&self, task: TaskRef) {
        self.run_task_in(task, &Own)
    }

    /// Runs one step of a task whose bookkeeping `book` keeps (`book.rs`).
    pub(crate) fn run_task_in<B: Book<R, C, E, X>>(&self, task: TaskRef, book: &B) {
        let raw = task.raw();
        let decision = if raw.queued_running() {
            raw.set_queued_running(false);
            raw.state().resume()
        } else {
            raw.state().transition_to_running()
        };
        let before = match decision {
            RunDecision::Skip => return,
            RunDecision::Poll(before) => before,
        };
        // The header alone says whether the task has started (where it
        // suspended is known) and holds its context: no registry lookup.
        let resumed_from = raw.suspended();
        let started = resumed_from.is_some();
        if !started {
            // Started from now on; where it suspends is written after the poll.
            raw.set_suspended(Suspension::unknown());
        }
        let ends_here = before.has(ABORT) || (!started && before.has(CANCEL));
        if !ends_here {
            book.context_in(self, raw);
        }
        if before.has(ABORT) {
            return self.end_cancelled_in(book, raw, Cancelled::new(None), Some(task));
        }
        if !started && before.has(CANCEL) {
            // Rule C4: cancelled before it ever ran; the body never runs.
            let cancelled = book.deliver_cancel(self, raw);
            return self.end_cancelled_in(book, raw, cancelled, Some(task));
        }

        metrics::bump(&self.counters.task_polls);
        let start = self.debug.start(&self.clock);
        let (step, (suspended, requeue)) = {
            let current = TaskGuard::enter(raw);
            #[cfg(feature = "tracing")]
            let _span = self.enter_span(raw);
            // SAFETY: loop thread, task RUNNING (we hold its step), and the
            // book is its host's, so the vtable is the one its host published.
            let step = unsafe { raw.poll(book.waker(self)) };
            (step, current.recorded())
        };
        // MUTANT (tests/rules_context.rs): the task's context stays current
        // after its step, so the next runnable sees (and writes) its values.
        assert!(raw.slot() != u32::MAX, "a task was removed from the registry during its own step");
        book.context_out(self, raw);
        if step == Step::Pending {
            raw.set_suspended(suspended.unwrap_or_else(Suspension::unknown));
        }
        if let Some(start) = start {
            if let Some(elapsed) = self.debug.too_slow(&self.clock, start) {
                self.report_slow_poll(raw, elapsed, resumed_from);
            }
        }

        match step {
            Step::Pending => {
                // It yielded on its own waker (`current::requeue`), or was
                // woken while running.
                // A yield leaves the word as it is (`RUNNING`, see
                // `state.rs`): the queue entry takes the step's reference and
                // the next step starts with a load.
                if requeue {
                    raw.set_queued_running(true);
                    book.requeue(self, task);
                } else if raw.state().transition_to_idle() {
                    book.requeue(self, task);
                }
            }
            Step::Ready => {
                let cancelled = book.cancelled_at_return(self, raw);
                match cancelled {
                    // The body returned holding the cancellation it was given,
                    // or with a request still pending: it ends cancelled (see
                    // `task::Cancelled`).
                    Some(cancelled) => self.end_cancelled_in(book, raw, cancelled, Some(task)),
                    None => book.complete(self, raw, 0, Some(task)),
                }
            }
            Step::Panicked => book.complete(self, raw, PANICKED, Some(task)),
        }
    }

    /// Ends one of the loop's tasks that will not run again as cancelled,
    /// dropping its future.
    pub(crate) fn finish_cancelled(&self, raw: RawTask, cancelled: Cancelled) {
        self.end_cancelled_in(&Own, raw, cancelled, None);
    }

    /// Ends a task as cancelled, dropping its future; `queued` is the
    /// reference its queue entry held when this is the task's own step.
    pub(crate) fn end_cancelled_in<B: Book<R, C, E, X>>(
        &self,
        book: &B,
        raw: RawTask,
        cancelled: Cancelled,
        queued: Option<TaskRef>,
    ) {
        // SAFETY: the loop holds the task's step, and with it the stage,
        // until completion.
        unsafe { raw.set_error(JoinError::Cancelled(cancelled)) };
        book.complete(self, raw, CANCELLED, queued);
    }

    /// Publishes the end of one of the loop's tasks: done-callbacks (F3),
    /// the joiner, the registry. `queued` is the queue entry's reference
    /// when the task ends in its own step; it is released together with the
    /// registry's.
    pub(crate) fn complete(&self, raw: RawTask, outcome: u64, queued: Option<TaskRef>) {
        // The registry's reference keeps the task alive until the end here.
        let (entry, extras) = {
            let mut tasks = self.tasks.borrow_mut();
            let extras = tasks.take_extras(raw);
            (tasks.remove(raw), extras)
        };
        let before = raw.state().transition_to_complete(outcome);
        let Some(Removed { task: registry_ref, context, .. }) = entry else {
            self.notify_joiner(raw, before);
            return;
        };
        let Some(extras) = extras else {
            // The common case: no done-callbacks (nor anything else rare), so
            // only the joiner is told; no empty callback list is walked.
            self.notify_joiner(raw, before);
            drop(context);
            release(registry_ref, queued);
            return;
        };
        let (callbacks, joiner_at) = extras.into_done_callbacks();
        let info = (!callbacks.is_empty()).then(|| TaskInfo::of(raw));
        let mut callbacks = callbacks.into_iter();
        let mut schedule = |(callback, context): (crate::runtime::registry::DoneCallback, Context<X>)| {
            let info = info.clone().expect("computed when there are callbacks");
            self.push_callback(CallbackRef::local(move || callback(&info)), context);
        };
        // A joiner resumes as asyncio's awaiting task does, through a
        // done-callback of its own: after the callbacks added before it
        // started waiting, before the ones added later (F3).
        callbacks.by_ref().take(joiner_at.unwrap_or(usize::MAX)).for_each(&mut schedule);
        self.notify_joiner(raw, before);
        callbacks.for_each(schedule);
        drop(context);
        release(registry_ref, queued);
    }

    pub(crate) fn notify_joiner(&self, raw: RawTask, before: crate::task::state::Snapshot) {
        if !before.has(JOIN_INTEREST) {
            // Nobody can read the output: report a panic (L8), drop the rest.
            // SAFETY: no handle, so the loop owns the stage.
            if let Some(panic) = unsafe { raw.take_panic() } {
                self.report(ExceptionContext::task_panic(raw, panic));
            }
            // SAFETY: as above.
            unsafe { raw.discard() };
        } else if before.has(JOIN_WAKER) {
            // SAFETY: COMPLETE with JOIN_WAKER: the handle no longer writes
            // the slot; reading it is ours.
            unsafe { raw.read_join_waker(|waker| waker.map(Waker::wake_by_ref)) };
        }
    }

    pub(crate) fn report(&self, context: ExceptionContext) {
        let handler = self.exception_handler.borrow_mut().take();
        match handler {
            Some(mut handler) => {
                let result = panic::catch_unwind(AssertUnwindSafe(|| handler(context)));
                let mut slot = self.exception_handler.borrow_mut();
                if slot.is_none() {
                    *slot = Some(handler);
                }
                if result.is_err() {
                    eprintln!("corio: the exception handler panicked");
                }
            }
            None => context.print_default(),
        }
    }

    fn run_callback(&self, callback: CallbackRef, context: Context<X>) {
        if callback.is_cancelled() {
            return;
        }
        metrics::bump(&self.counters.callbacks);
        let outer = self.swap_context(context);
        let start = self.debug.start(&self.clock);
        let result = panic::catch_unwind(AssertUnwindSafe(|| callback.run()));
        let context = self.swap_context(outer);
        drop(context);
        if let Some(elapsed) = start.and_then(|start| self.debug.too_slow(&self.clock, start)) {
            self.report(ExceptionContext::slow_callback(elapsed));
        }
        if let Err(payload) = result {
            self.report(ExceptionContext::callback_panic(Panic::new(payload)));
        }
    }

    // ----- cancellation -----------------------------------------------------

    pub(crate) fn deliver_cancel(&self, raw: RawTask) -> Cancelled {
        self.tasks.borrow_mut().deliver_cancel(raw)
    }

    // ----- teardown ---------------------------------------------------------

    /// Cancels the live tasks, runs until they have finished or `grace`
    /// has passed, then aborts and reports the rest.
    ///
    /// As asyncio.run, it waits for the tasks it cancelled — and so for any
    /// helper their cleanup spawns and awaits, which runs uncancelled. Tasks
    /// spawned during the cleanup that are still alive when every cancelled
    /// task has finished (nobody awaits them; asyncio would destroy them at
    /// close) are cancelled in turn, in the same grace period.
    fn shutdown(&self, grace: Duration) -> Result<(), LoopError> {
        let mut cancelled = std::collections::HashSet::new();
        self.cancel_all_but(&mut cancelled);
        // A grace beyond the clock's range has no deadline: wait for them all.
        let deadline = crate::time::deadline_after(self.clock.now(), grace);
        // A timer at the deadline bounds how long an idle loop waits.
        let wake_up = deadline.map(|deadline| {
            self.timers.borrow_mut().insert(deadline, Timer::callback(CallbackRef::local(|| {}), Context::new()))
        });
        // A pool's tasks (a multi-loop runtime) are cancelled and awaited
        // the same way, by every member at once (`PoolShared::shutdown_step`).
        let pool_live = || self.pool.get().is_some_and(|m| m.pool.shutdown_step());
        while (!self.tasks.borrow().is_empty() || pool_live())
            && deadline.is_none_or(|deadline| self.clock.now() < deadline)
        {
            let waiting = self.tasks.borrow().tasks().iter().any(|t| cancelled.contains(&t.header().id));
            if !waiting {
                self.cancel_all_but(&mut cancelled);
            }
            self.run_once()?;
        }
        if let Some(wake_up) = wake_up {
            self.timers.borrow_mut().cancel(wake_up);
        }
        let tasks = self.tasks.borrow().tasks();
        for task in tasks {
            self.report(ExceptionContext::ignored_cancellation(task));
            self.finish_cancelled(task, Cancelled::new(Some("aborted at shutdown".into())));
        }
        // asyncio.run's order: the tasks, then the default executor.
        let report = self.shutdown_default_executor(grace);
        if !report.is_clean() {
            self.report(ExceptionContext::blocking_jobs_still_running(report.still_running, grace));
        }
        Ok(())
    }

    /// Cancels every live task whose id is not in `cancelled`, adding it.
    fn cancel_all_but(&self, cancelled: &mut std::collections::HashSet<u64>) {
        // Collect first: the registry must not stay borrowed while tasks are
        // cancelled or completed (both borrow it mutably).
        let tasks = self.tasks.borrow().tasks();
        for task in tasks {
            if cancelled.insert(task.header().id) {
                crate::task::host::cancel_task(task, None);
            }
        }
    }

    // ----- blocking work ----------------------------------------------------

    pub(crate) fn default_executor(&self) -> BlockingPool {
        self.blocking.borrow_mut().get_or_insert_with(BlockingPool::new).clone()
    }

    fn shutdown_default_executor(&self, timeout: Duration) -> ShutdownReport {
        let pool = self.blocking.borrow().clone();
        pool.map(|pool| pool.shutdown(timeout)).unwrap_or_default()
    }

    fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        // Run destructors as if the loop were running, so futures that touch
        // the loop while being dropped (timers, sockets) find it.
        let entered = self.enter_for_close();
        let remote = self.shared.close();
        for item in remote {
            if let Remote::Spawn { registry, queued, context } = item {
                let raw = registry.raw();
                self.register(registry, context::store_from_entries(context));
                drop(queued);
                self.finish_cancelled(raw, Cancelled::new(Some("the event loop is closed".into())));
            }
        }
        loop {
            let tasks = self.tasks.borrow().tasks();
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                self.finish_cancelled(task, Cancelled::new(Some("the event loop is closed".into())));
            }
        }
        // Every awaiter is gone (their jobs withdrawn if not started): stop
        // the pool without waiting, as asyncio's close does.
        let pool = self.blocking.borrow_mut().take();
        if let Some(pool) = pool {
            let _ = pool.shutdown(Duration::ZERO);
        }
        let timers = self.timers.borrow_mut().drain();
        drop(timers);
        let held = mem::take(&mut *self.held.borrow_mut());
        drop(held);
        let wakers = self.io.borrow_mut().clear();
        drop(wakers);
        // SAFETY: loop thread; the queue must be empty before the shared
        // state can be dropped on another thread.
        let ready = unsafe { self.shared.with_ready(mem::take) };
        drop(ready);
        let queued = self.queued.borrow_mut().clear();
        drop(queued);
        let batch = mem::take(&mut *self.batch.borrow_mut());
        drop(batch);
        drop(entered);
    }

    fn enter_for_close(&self) -> Option<(RunGuard, InstallGuard)> {
        if current::any_running() {
            return None; // closing from inside another loop: its guards stay
        }
        // SAFETY: dropped at the end of `close`, while `self` lives.
        let run = unsafe { RunGuard::enter(self, self.shared.as_owner()) };
        let slot: NonNull<dyn DynContext> = NonNull::new(self.context.get() as *mut dyn DynContext).expect("non-null");
        // SAFETY: as above.
        let context = unsafe { InstallGuard::install(slot) };
        Some((run, context))
    }
}

/// Drops a completed task's registry reference, with its queue entry's when
/// it ended in its own step: one atomic operation for both.
pub(crate) fn release(registry_ref: TaskRef, queued: Option<TaskRef>) {
    match queued {
        Some(queued) => registry_ref.drop_with(queued),
        None => drop(registry_ref),
    }
}
