//! `CancelScope`: trio's cancel scope, with enforced cancellation.
//!
//! asyncio cancels *tasks*, cooperatively: the task sees `Cancelled` at a
//! checkpoint and may ignore it. A cancel scope cancels *a region of code*,
//! and the cancellation is enforced: once the scope is cancelled, what runs
//! inside it is dropped at its next suspension (its destructors run; it
//! gets no further poll) and the scope returns `None`. The cancellation is
//! level-triggered: it stays, so nothing inside can swallow it.
//!
//! # Invariants
//!
//! * The body is polled at least once: code before its first suspension
//!   runs even in a scope cancelled before entry (trio: until the first
//!   checkpoint).
//! * After a poll that returns `Pending` — and before any later poll — a
//!   cancelled scope drops its body, unless a shielded scope inside the body
//!   is suspended: a shield defers the enclosing scopes' cancellation until
//!   it ends (then the next suspension outside it drops the body).
//! * A shielded scope also holds the *task's* cancel (asyncio's kind)
//!   back: checkpoints inside it do not deliver it; the first checkpoint
//!   after the shield ends does. (This includes cancels requested by an
//!   asyncio-style `timeout` or task group *inside* the shield; inside a
//!   shield, bound waits with scope deadlines — `move_on_after`,
//!   `fail_after` — which a shield does not hold back.)
//! * The deadline is a loop timer that cancels the scope; a deadline at or
//!   before entry cancels it at once.

use super::timeout::Elapsed;
use crate::runtime::{current, TimerHandle};
use crate::task::current::{poll_in_scope, report_suspended_shield};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
enum Deadline {
    After(Duration),
    At(Instant),
}

struct Inner {
    cancel_called: Cell<bool>,
    cancelled_caught: Cell<bool>,
    shield: Cell<bool>,
    deadline: Cell<Option<Deadline>>,
    /// Bodies running in the scope (normally one).
    active: Cell<usize>,
    /// The tasks to wake when the scope is cancelled.
    wakers: RefCell<Vec<Waker>>,
    timer: RefCell<Option<TimerHandle>>,
}

impl Inner {
    fn cancel(&self) {
        if self.cancel_called.replace(true) {
            return;
        }
        if let Some(timer) = self.timer.borrow_mut().take() {
            timer.cancel();
        }
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Arms the deadline's timer (scope running): a deadline in the past
    /// cancels at once.
    fn arm(self: &Rc<Self>) {
        if let Some(timer) = self.timer.borrow_mut().take() {
            timer.cancel();
        }
        let when = match self.deadline.get() {
            Some(Deadline::At(when)) => when,
            _ => return,
        };
        if when <= current::time() {
            self.cancel();
        } else if !self.cancel_called.get() {
            let weak: Weak<Inner> = Rc::downgrade(self);
            let timer = current::call_at(when, move || {
                if let Some(inner) = weak.upgrade() {
                    inner.cancel();
                }
            });
            *self.timer.borrow_mut() = Some(timer);
        }
    }
}

/// A trio-style cancel scope: an optional deadline, a shield flag, and a
/// `cancel()` that drops whatever runs inside (see the module docs).
///
/// Clones share the scope, so a body can cancel the scope it runs in, or
/// move its deadline.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use corio::structured::CancelScope;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// # lp.block_on(async {
/// let scope = CancelScope::new();
/// let canceller = scope.clone();
/// corio::call_later(Duration::from_secs(1), move || canceller.cancel());
/// // A foreign future that ignores corio's cancellation is dropped anyway.
/// let out = scope.run(std::future::pending::<()>()).await;
/// assert_eq!(out, None);
/// assert!(scope.cancelled_caught());
/// # })
/// # .unwrap();
/// ```
#[derive(Clone)]
pub struct CancelScope {
    inner: Rc<Inner>,
}

impl Default for CancelScope {
    fn default() -> Self {
        CancelScope::new()
    }
}

impl CancelScope {
    /// A scope with no deadline and no shield.
    pub fn new() -> CancelScope {
        CancelScope {
            inner: Rc::new(Inner {
                cancel_called: Cell::new(false),
                cancelled_caught: Cell::new(false),
                shield: Cell::new(false),
                deadline: Cell::new(None),
                active: Cell::new(0),
                wakers: RefCell::new(Vec::new()),
                timer: RefCell::new(None),
            }),
        }
    }

    /// A scope cancelled at `deadline` on the loop's clock.
    pub fn with_deadline(deadline: Instant) -> CancelScope {
        let scope = CancelScope::new();
        scope.inner.deadline.set(Some(Deadline::At(deadline)));
        scope
    }

    /// A scope cancelled `delay` after it is entered.
    pub fn with_timeout(delay: Duration) -> CancelScope {
        let scope = CancelScope::new();
        scope.inner.deadline.set(Some(Deadline::After(delay)));
        scope
    }

    /// The deadline (`None`: none, or a relative one not yet entered).
    pub fn deadline(&self) -> Option<Instant> {
        match self.inner.deadline.get()? {
            Deadline::At(when) => Some(when),
            Deadline::After(_) => None,
        }
    }

    /// Moves the deadline (`None`: no deadline). While the scope runs, a
    /// deadline at or before now cancels it at once.
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        self.inner.deadline.set(deadline.map(Deadline::At));
        if self.inner.active.get() > 0 {
            self.inner.arm();
        }
    }

    /// Whether the scope shields what runs in it.
    pub fn shield(&self) -> bool {
        self.inner.shield.get()
    }

    /// Shields what runs in the scope (trio's `shield = True`): cancelling
    /// an enclosing scope waits until this one ends, and the task's cancel
    /// (asyncio's kind) is held back at checkpoints inside it. Takes effect
    /// at the scope's next poll; turning it off wakes the task, so a
    /// held-back cancel is delivered.
    pub fn set_shield(&self, shield: bool) {
        if self.inner.shield.replace(shield) && !shield {
            let wakers = self.inner.wakers.borrow().clone();
            wakers.into_iter().for_each(Waker::wake);
        }
    }

    /// Cancels the scope: its body is dropped at its next suspension (now,
    /// if it is suspended) and the scope returns `None`. Idempotent; the
    /// cancellation stays (level-triggered).
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether [`cancel`](CancelScope::cancel) was called or the deadline
    /// passed.
    pub fn cancel_called(&self) -> bool {
        self.inner.cancel_called.get()
    }

    /// Whether a body was dropped because of the cancellation (trio's
    /// `cancelled_caught`).
    pub fn cancelled_caught(&self) -> bool {
        self.inner.cancelled_caught.get()
    }

    /// Runs `body` in the scope: `Some(output)` if it finished, `None` if
    /// the scope was cancelled and the body dropped.
    ///
    /// **Cancel safety:** not cancel-safe: dropping it drops the body.
    pub fn run<F: Future>(&self, body: F) -> Scoped<F> {
        Scoped { inner: self.inner.clone(), body: Some(body), entered: false, shield_inside: false }
    }
}

impl fmt::Debug for CancelScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelScope")
            .field("cancel_called", &self.cancel_called())
            .field("cancelled_caught", &self.cancelled_caught())
            .field("shield", &self.shield())
            .field("deadline", &self.deadline())
            .finish()
    }
}

/// The future of [`CancelScope::run`].
#[must_use = "futures do nothing unless awaited"]
pub struct Scoped<F> {
    inner: Rc<Inner>,
    /// Structurally pinned; `None` once finished or dropped.
    body: Option<F>,
    entered: bool,
    /// A shielded scope inside the body was suspended at the last poll.
    shield_inside: bool,
}

impl<F> Scoped<F> {
    fn enter(&mut self) {
        self.entered = true;
        let inner = &self.inner;
        inner.active.set(inner.active.get() + 1);
        if let Some(Deadline::After(delay)) = inner.deadline.get() {
            // Beyond the clock's range: no deadline at all.
            inner.deadline.set(crate::time::deadline_after(current::time(), delay).map(Deadline::At));
        }
        inner.arm();
    }

    fn exit(&mut self) {
        let inner = &self.inner;
        if std::mem::replace(&mut self.entered, false) {
            inner.active.set(inner.active.get() - 1);
            if inner.active.get() == 0 {
                if let Some(timer) = inner.timer.borrow_mut().take() {
                    timer.cancel();
                }
            }
        }
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `body` is structurally pinned: it is polled in place and
        // dropped in place (set to `None`), never moved.
        let this = unsafe { self.get_unchecked_mut() };
        let first = !this.entered && this.body.is_some();
        if first {
            this.enter();
        }
        let inner = this.inner.clone();
        if !first && inner.cancel_called.get() && !this.shield_inside {
            return this.drop_body();
        }
        let Some(body) = this.body.as_mut() else {
            panic!("a CancelScope future polled after it returned");
        };
        // SAFETY: pinned in place, see above.
        let body = unsafe { Pin::new_unchecked(body) };
        let (poll, shield_inside) = poll_in_scope(inner.shield.get(), || body.poll(cx));
        match poll {
            Poll::Ready(output) => {
                this.body = None;
                this.exit();
                Poll::Ready(Some(output))
            }
            Poll::Pending => {
                this.shield_inside = shield_inside;
                if inner.cancel_called.get() && !shield_inside {
                    return this.drop_body();
                }
                let mut wakers = inner.wakers.borrow_mut();
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
                drop(wakers);
                if inner.shield.get() || shield_inside {
                    report_suspended_shield();
                }
                Poll::Pending
            }
        }
    }
}

impl<F: Future> Scoped<F> {
    /// Enforces the cancellation: the body is dropped in place.
    fn drop_body(&mut self) -> Poll<Option<F::Output>> {
        self.body = None;
        self.inner.cancelled_caught.set(true);
        self.exit();
        Poll::Ready(None)
    }
}

impl<F> Drop for Scoped<F> {
    fn drop(&mut self) {
        self.exit();
    }
}

impl<F> fmt::Debug for Scoped<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        CancelScope { inner: self.inner.clone() }.fmt(f)
    }
}

/// Runs `body` for at most `delay`: `None` if the time ran out and `body`
/// was dropped (trio's `move_on_after`).
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// # lp.block_on(async {
/// let out = corio::move_on_after(Duration::from_secs(1), corio::sleep(Duration::from_secs(5))).await;
/// assert!(out.is_none());
/// # })
/// # .unwrap();
/// ```
///
/// **Cancel safety:** not cancel-safe: dropping it drops the body.
pub fn move_on_after<F: Future>(delay: Duration, body: F) -> Scoped<F> {
    CancelScope::with_timeout(delay).run(body)
}

/// Runs `body` until `deadline`: `None` if it passed and `body` was dropped
/// (trio's `move_on_at`).
///
/// **Cancel safety:** not cancel-safe: dropping it drops the body.
pub fn move_on_at<F: Future>(deadline: Instant, body: F) -> Scoped<F> {
    CancelScope::with_deadline(deadline).run(body)
}

/// Runs `body` for at most `delay`: `Err(Elapsed)` if the time ran out and
/// `body` was dropped (trio's `fail_after`; tokio's `timeout(d, fut)`).
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// # lp.block_on(async {
/// // A future that knows nothing of corio's cancellation is dropped anyway.
/// let stuck = std::future::pending::<()>();
/// assert!(corio::fail_after(Duration::from_secs(1), stuck).await.is_err());
/// assert_eq!(corio::fail_after(Duration::from_secs(1), async { 7 }).await, Ok(7));
/// # })
/// # .unwrap();
/// ```
///
/// **Cancel safety:** not cancel-safe: dropping it drops the body.
pub fn fail_after<F: Future>(delay: Duration, body: F) -> FailAfter<F> {
    FailAfter { scoped: move_on_after(delay, body) }
}

/// Runs `body` until `deadline`: `Err(Elapsed)` if it passed and `body` was
/// dropped (trio's `fail_at`).
///
/// **Cancel safety:** not cancel-safe: dropping it drops the body.
pub fn fail_at<F: Future>(deadline: Instant, body: F) -> FailAfter<F> {
    FailAfter { scoped: move_on_at(deadline, body) }
}

/// The future of [`fail_after`] and [`fail_at`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct FailAfter<F> {
    scoped: Scoped<F>,
}

impl<F: Future> Future for FailAfter<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `scoped` is structurally pinned (never moved out).
        let scoped = unsafe { self.map_unchecked_mut(|this| &mut this.scoped) };
        scoped.poll(cx).map(|output| output.ok_or_else(Elapsed::new))
    }
}
