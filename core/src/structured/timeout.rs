//! `timeout` / `timeout_at`: asyncio's timeout scopes, and `wait_for`.
//!
//! A scope runs its body inside the current task. At the deadline it
//! cancels the *task* (one counted request), so the body sees `Cancelled` at
//! its next checkpoint and may clean up; when the body returns, the scope
//! converts that cancellation into [`Elapsed`] — but only its own. CPython
//! 3.13's `timeouts.py`, with its accounting:
//!
//! * on entry, remember the task's `cancelling()` count and its cancel
//!   deliveries (a mark);
//! * on expiry, `task.cancel()` and note that it expired;
//! * on exit after an expiry, `uncancel()`; if the count is back to (or
//!   below) its value at entry — no other cancel was requested meanwhile —
//!   and the body returned holding a cancellation delivered since the mark,
//!   the result is `Err(Elapsed)` (TO1). Otherwise the body's output is
//!   returned as it is: an outer expiry (TO2) or an outer cancel (TO3) passes
//!   through as the body's `Cancelled`.
//!
//! A deadline at or before "now" schedules the expiry for the next
//! iteration (`call_soon`), so a body that never waits finishes first and
//! leaves no error and no pending cancel (TO4). The deadline can be moved
//! while the scope runs (TO6).
//!
//! A future deadline's expiry takes its place in the loop's timer order on
//! entry but is scheduled only when the body first waits: a body that
//! finishes in its first poll (W9, a timeout around a ready future) costs no
//! timer, and one that waits fires exactly as if scheduled on entry.

use crate::runtime::{current, Handle, TimerHandle};
use crate::task::current::{cancel_held_since, cancel_mark, current_task, task_handle};
use crate::task::raw::RawTask;
use crate::task::AnyTask;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A deadline passed (asyncio's `TimeoutError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Elapsed(());

impl Elapsed {
    pub(crate) fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(elapsed: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, elapsed)
    }
}

/// A timeout scope that expires `delay` after it is entered (asyncio's
/// `asyncio.timeout(delay)`). Run a body in it with [`Timeout::run`].
///
/// The deadline is fixed when the scope is entered (first polled), as
/// corio's `sleep` fixes its own.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use corio::structured::Elapsed;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// # lp.block_on(async {
/// let slow = corio::sleep(Duration::from_secs(60));
/// let result = corio::timeout(Duration::from_secs(1)).run(slow).await;
/// assert_eq!(result, Err(Elapsed::default()));
/// # })
/// # .unwrap();
/// ```
pub fn timeout(delay: Duration) -> Timeout {
    Timeout::new(Deadline::After(delay))
}

/// A timeout scope that expires at `deadline` on the loop's clock
/// (asyncio's `asyncio.timeout_at(when)`).
pub fn timeout_at(deadline: Instant) -> Timeout {
    Timeout::new(Deadline::At(deadline))
}

/// Waits for `future` for at most `timeout` (asyncio's `wait_for`):
/// `timeout(timeout).run(future)`.
///
/// On expiry the task is cancelled; `future` sees `Cancelled` at its next
/// checkpoint and may clean up, and `wait_for` returns when it has. If
/// `future` is a [`Task`](crate::task::Task), the cancel is passed on to it
/// and `wait_for` waits for its cleanup (TO5); a task that swallows the
/// cancel and returns a value makes `wait_for` return that value.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// # lp.block_on(async {
/// let stubborn = corio::spawn(async {
///     let _ = corio::sleep(Duration::from_secs(60)).await; // swallows the cancel
///     7
/// });
/// let result = corio::wait_for(Duration::from_secs(1), stubborn).await;
/// assert_eq!(result.unwrap().unwrap(), 7);
/// # })
/// # .unwrap();
/// ```
///
/// **Cancel safety:** not cancel-safe: dropping it drops `future`.
pub fn wait_for<F: Future>(timeout: Duration, future: F) -> TimeoutScope<F> {
    // No handle can exist: the scope's state starts inline, and moves to
    // an `Rc` only if an expiry has to be scheduled (the body waits).
    TimeoutScope { inner: ScopeState::Inline(Core::new(Some(Deadline::After(timeout)))), body: future }
}

#[derive(Debug, Clone, Copy)]
enum Deadline {
    /// `delay` after entry; not entered yet.
    After(Duration),
    /// Entered at `.0` with a delay of `.1`: the deadline is their sum,
    /// taken only when it is needed (a scope whose body finishes in its
    /// first poll never needs it).
    Since(Instant, Duration),
    At(Instant),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Created,
    Entered,
    /// Expired; the exit has not run yet.
    Expiring,
    Expired,
    Exited,
}

/// A scope's state once something shares it: its [`Core`], plus what only
/// a scheduled expiry needs.
struct Inner {
    core: Core,
    /// An owned handle to the scope's task, taken when an expiry is
    /// scheduled (a body that finishes in its first poll never pays for one).
    task: RefCell<Option<AnyTask>>,
    /// The expiry callback, while scheduled.
    timer: RefCell<Option<Expiry>>,
}

impl std::ops::Deref for Inner {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

/// The state every scope has, inline in the future until the body waits
/// (small: creating, moving and dropping it is most of a `wait_for`
/// around a ready future, W9b).
struct Core {
    state: Cell<State>,
    deadline: Cell<Option<Deadline>>,
    /// The task the scope runs in, from entry. Not a reference: while the
    /// scope is entered its future is alive, so its task is.
    entered_in: Cell<Option<RawTask>>,
    /// The task's `cancelling()` at entry.
    cancelling: Cell<u32>,
    /// The task's cancel deliveries at entry.
    mark: Cell<u64>,
    /// A future deadline's expiry not yet scheduled: its place in the timer
    /// order, taken on entry. It is scheduled only if the body waits, so a
    /// body that finishes in its first poll costs no timer (W9).
    deferred: Cell<Option<u64>>,
}

enum Expiry {
    Soon(Handle),
    At(TimerHandle),
}

impl Expiry {
    fn cancel(&self) {
        match self {
            Expiry::Soon(handle) => handle.cancel(),
            Expiry::At(timer) => timer.cancel(),
        }
    }
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout").field("state", &self.state.get()).field("when", &self.when()).finish()
    }
}

impl Core {
    fn new(deadline: Option<Deadline>) -> Core {
        Core {
            state: Cell::new(State::Created),
            deadline: Cell::new(deadline),
            entered_in: Cell::new(None),
            cancelling: Cell::new(0),
            mark: Cell::new(0),
            deferred: Cell::new(None),
        }
    }

    fn when(&self) -> Option<Instant> {
        match self.deadline.get()? {
            Deadline::At(when) => Some(when),
            // Beyond the clock's range: it never comes.
            Deadline::Since(entered, delay) => crate::time::deadline_after(entered, delay),
            Deadline::After(_) => None, // not entered yet
        }
    }
}

impl Inner {
    fn new(core: Core) -> Inner {
        Inner { core, task: RefCell::new(None), timer: RefCell::new(None) }
    }

    /// Takes an owned handle to the scope's task, once: an expiry is about
    /// to be scheduled, and it cancels that task.
    fn hold_task(&self) {
        let mut task = self.task.borrow_mut();
        if task.is_none() {
            *task = self.entered_in.get().map(task_handle);
        }
    }

    /// asyncio's `Timeout.reschedule`, once entered.
    fn schedule(self: &Rc<Self>) {
        self.hold_task();
        self.deferred.set(None);
        if let Some(timer) = self.timer.borrow_mut().take() {
            timer.cancel();
        }
        let Some(when) = self.when() else { return };
        let on_timeout = self.on_timeout();
        let expiry = if when <= current::time() {
            Expiry::Soon(current::call_soon(on_timeout))
        } else {
            Expiry::At(current::call_at(when, on_timeout))
        };
        *self.timer.borrow_mut() = Some(expiry);
    }

    /// Schedules a deferred expiry (the body is about to wait), in the place
    /// it took on entry, so that it fires exactly as if scheduled then.
    fn schedule_deferred(self: &Rc<Self>) {
        let (Some(seq), Some(when)) = (self.deferred.take(), self.when()) else { return };
        self.hold_task();
        let timer = current::call_at_reserved(when, seq, self.on_timeout());
        *self.timer.borrow_mut() = Some(Expiry::At(timer));
    }

    fn on_timeout(self: &Rc<Self>) -> impl FnOnce() + 'static {
        let weak = Rc::downgrade(self);
        move || {
            if let Some(inner) = weak.upgrade() {
                inner.expire();
            }
        }
    }

    /// asyncio's `_on_timeout`.
    fn expire(&self) {
        debug_assert_eq!(self.state.get(), State::Entered);
        self.timer.borrow_mut().take();
        if let Some(task) = &*self.task.borrow() {
            task.cancel();
        }
        self.state.set(State::Expiring);
    }
}

/// A timeout scope not yet run; see [`timeout`]. [`handle`](Timeout::handle)
/// gives a [`TimeoutHandle`] to move the deadline from inside the body.
pub struct Timeout {
    inner: Rc<Inner>,
}

impl Timeout {
    fn new(deadline: Deadline) -> Timeout {
        Timeout { inner: Rc::new(Inner::new(Core::new(Some(deadline)))) }
    }

    /// A scope with no deadline (asyncio's `timeout(None)`), to be given one
    /// later with [`TimeoutHandle::reschedule`].
    pub fn never() -> Timeout {
        let timeout = Timeout::new(Deadline::After(Duration::ZERO));
        timeout.inner.deadline.set(None);
        timeout
    }

    /// A handle to the scope: its deadline, whether it expired, and
    /// `reschedule` (TO6).
    pub fn handle(&self) -> TimeoutHandle {
        TimeoutHandle { inner: self.inner.clone() }
    }

    /// Runs `body` in the scope (asyncio's `async with timeout(..):`).
    ///
    /// Output: `Err(Elapsed)` if this scope expired and the body returned
    /// the cancellation that caused (TO1); otherwise `Ok` with whatever the
    /// body returned — a value, its own error, or a cancellation that is not
    /// this scope's (TO2, TO3), which propagates as usual.
    ///
    /// # Panics
    ///
    /// When first polled outside a corio task.
    ///
    /// **Cancel safety:** not cancel-safe: dropping it drops the body.
    pub fn run<F: Future>(self, body: F) -> TimeoutScope<F> {
        TimeoutScope { inner: ScopeState::Shared(self.inner), body }
    }
}

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.handle().fmt(f)
    }
}

/// A handle to a timeout scope (asyncio's `Timeout` object inside the
/// `async with` block).
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// # lp.block_on(async {
/// let scope = corio::timeout(Duration::from_secs(1));
/// let handle = scope.handle();
/// let out = scope
///     .run(async {
///         // Needs longer than planned: move the deadline (TO6).
///         handle.reschedule(Some(corio::time() + Duration::from_secs(10))).unwrap();
///         corio::sleep(Duration::from_secs(5)).await
///     })
///     .await;
/// assert!(out.unwrap().is_ok());
/// assert!(!handle.expired());
/// # })
/// # .unwrap();
/// ```
#[derive(Clone)]
pub struct TimeoutHandle {
    inner: Rc<Inner>,
}

/// [`TimeoutHandle::reschedule`] on a scope that can no longer move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutStateError {
    expired: bool,
}

impl fmt::Display for TimeoutStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.expired {
            "cannot reschedule a timeout that has expired"
        } else {
            "cannot reschedule a timeout that has exited"
        })
    }
}

impl std::error::Error for TimeoutStateError {}

impl TimeoutHandle {
    /// The deadline: `None` before the scope is entered (for a relative
    /// one) and when it has none.
    pub fn when(&self) -> Option<Instant> {
        self.inner.when()
    }

    /// Moves the deadline (`None`: no deadline) (rule TO6). Before the scope
    /// is entered this just sets it; while it runs, the expiry is
    /// rescheduled (a deadline in the past expires at the next iteration).
    /// Errors once the scope has expired or exited (asyncio's
    /// `RuntimeError`).
    pub fn reschedule(&self, when: Option<Instant>) -> Result<(), TimeoutStateError> {
        match self.inner.state.get() {
            State::Created => {
                self.inner.deadline.set(when.map(Deadline::At));
                Ok(())
            }
            State::Entered => {
                self.inner.deadline.set(when.map(Deadline::At));
                self.inner.schedule();
                Ok(())
            }
            State::Expiring | State::Expired => Err(TimeoutStateError { expired: true }),
            State::Exited => Err(TimeoutStateError { expired: false }),
        }
    }

    /// Whether the scope expired (asyncio's `expired()`), also when the body
    /// swallowed the cancel and the scope returned a value.
    pub fn expired(&self) -> bool {
        matches!(self.inner.state.get(), State::Expiring | State::Expired)
    }
}

impl fmt::Debug for TimeoutHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// The future of [`Timeout::run`] and [`wait_for`].
#[must_use = "futures do nothing unless awaited"]
pub struct TimeoutScope<F> {
    inner: ScopeState,
    body: F,
}

/// A scope's state: inline until something must share it (an expiry
/// callback), then in an `Rc` (which `Timeout::run` starts with, as its
/// handles share it from the start).
enum ScopeState {
    Inline(Core),
    Shared(Rc<Inner>),
}

impl ScopeState {
    fn get(&self) -> &Core {
        match self {
            ScopeState::Inline(core) => core,
            ScopeState::Shared(inner) => inner,
        }
    }

    /// The shared state, if there is one (only it can hold an expiry).
    fn if_shared(&self) -> Option<&Inner> {
        match self {
            ScopeState::Inline(_) => None,
            ScopeState::Shared(inner) => Some(inner),
        }
    }

    /// The state as an `Rc`, moving it there if it is inline (nothing
    /// borrows it between polls, so it can move).
    fn shared(&mut self) -> &Rc<Inner> {
        if let ScopeState::Inline(core) = self {
            let core = std::mem::replace(core, Core::new(None));
            *self = ScopeState::Shared(Rc::new(Inner::new(core)));
        }
        match self {
            ScopeState::Shared(inner) => inner,
            ScopeState::Inline(_) => unreachable!("just moved to an Rc"),
        }
    }
}

const NOT_IN_A_TASK: &str =
    "corio: a timeout scope must run inside a corio task (EventLoop::block_on, spawn or corio::run)";

impl<F: Future> TimeoutScope<F> {
    /// asyncio's `__aenter__`.
    fn enter(&mut self) {
        let inner = self.inner.get();
        let task = current_task().unwrap_or_else(|| panic!("{NOT_IN_A_TASK}"));
        inner.cancelling.set(task.cancel_requests());
        inner.mark.set(cancel_mark(task));
        inner.entered_in.set(Some(task));
        let now = current::time();
        // Whether the deadline lies ahead; `None`: there is none, or it is
        // beyond the clock's range.
        let future = match inner.deadline.get() {
            Some(Deadline::After(delay)) => {
                inner.deadline.set(Some(Deadline::Since(now, delay)));
                Some(!delay.is_zero())
            }
            _ => inner.when().map(|when| when > now),
        };
        inner.state.set(State::Entered);
        match future {
            // A future deadline: take the expiry's place in the timer order
            // now, schedule it only if the body waits (`schedule_deferred`).
            Some(true) => inner.deferred.set(Some(current::reserve_timer())),
            // A past deadline expires next iteration (TO4); no deadline, never.
            Some(false) => self.inner.shared().schedule(),
            None => {}
        }
    }

    /// asyncio's `__aexit__`: converts this scope's own cancellation.
    fn exit(&self, output: F::Output) -> Result<F::Output, Elapsed> {
        let core = self.inner.get();
        core.deferred.set(None); // finished in its first poll: never scheduled
        let Some(inner) = self.inner.if_shared() else {
            // Never shared, so no expiry was ever scheduled.
            core.state.set(State::Exited);
            return Ok(output);
        };
        if let Some(timer) = inner.timer.borrow_mut().take() {
            timer.cancel();
        }
        if inner.state.get() != State::Expiring {
            inner.state.set(State::Exited);
            return Ok(output);
        }
        inner.state.set(State::Expired);
        let task = inner.task.borrow().clone().expect("entered");
        let ours = task.uncancel() <= inner.cancelling.get();
        if ours && cancel_held_since(task.raw(), inner.mark.get()).is_some() {
            drop(output); // the cancellation it held ends here
            return Err(Elapsed::new());
        }
        Ok(output)
    }
}

impl<F: Future> Future for TimeoutScope<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `body` is structurally pinned: never moved out of the
        // scope; `inner` is not pinned (an `Rc`, only read through).
        let this = unsafe { self.get_unchecked_mut() };
        match this.inner.get().state.get() {
            State::Created => this.enter(),
            State::Entered | State::Expiring => {}
            State::Expired | State::Exited => panic!("a timeout scope polled after it returned"),
        }
        // SAFETY: pinned in place, see above.
        let body = unsafe { Pin::new_unchecked(&mut this.body) };
        match body.poll(cx) {
            Poll::Pending => {
                if this.inner.get().deferred.get().is_some() {
                    this.inner.shared().schedule_deferred();
                }
                Poll::Pending
            }
            Poll::Ready(output) => Poll::Ready(this.exit(output)),
        }
    }
}

impl<F> Drop for TimeoutScope<F> {
    /// A scope dropped before its body finished (its task aborted, or the
    /// scope raced in a `select`) takes its cancel request back.
    fn drop(&mut self) {
        let core = self.inner.get();
        // Only a shared state can hold an expiry or the task's handle.
        let shared = self.inner.if_shared();
        if let Some(timer) = shared.and_then(|inner| inner.timer.borrow_mut().take()) {
            timer.cancel();
        }
        match core.state.get() {
            State::Expiring => {
                core.state.set(State::Expired);
                let task = shared.map(|inner| inner.task.borrow());
                if let Some(task) = task.as_deref().and_then(Option::as_ref).filter(|task| !task.done()) {
                    task.uncancel();
                }
            }
            // Gone before expiring: a later `reschedule` must not arm it.
            State::Entered => core.state.set(State::Exited),
            State::Created | State::Expired | State::Exited => {}
        }
    }
}

impl<F> fmt::Debug for TimeoutScope<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get().fmt(f)
    }
}
