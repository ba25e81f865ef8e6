//! `gather`: run futures as tasks, collect their results in argument order
//! (rule K1).
//!
//! * Every future is spawned as a task at once (asyncio's `ensure_future`).
//! * Results come back in argument order, whatever order the tasks end in.
//! * [`gather`] (asyncio's default): the first failure — an `Err`, a panic,
//!   a task that ended cancelled — is returned as soon as it is seen; the
//!   other tasks keep running, detached.
//! * [`gather_settled`] (asyncio's `return_exceptions=True`): waits for all
//!   and returns every outcome.
//! * The gather is a checkpoint: a cancel of the awaiting task cancels every
//!   child that is still running, waits for them to end, and the gather
//!   ends `Cancelled` — always, whatever the children did with the cancel.
//! * The gather is also an object (asyncio's `_GatheringFuture`): its
//!   [`GatherHandle`] reaches the children and cancels the gather from
//!   anywhere on the loop (`gatherer.cancel()`): every running child is
//!   cancelled, and the gather ends `Cancelled` — at the first child that
//!   ends cancelled ([`gather`]) or once all have ended (both), whatever
//!   they did with the cancel.

use crate::task::{current, host};
use crate::task::{AnyTask, Cancelled, JoinError, Panic, Task};
use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Why a [`gather`] produced no results.
#[derive(Debug)]
pub enum GatherError<E> {
    /// The child at `index` returned `Err(error)`.
    Failed {
        /// Its position among the arguments.
        index: usize,
        /// Its error.
        error: E,
    },
    /// The gather was cancelled, or a child ended cancelled. The token is
    /// the awaiting task's own: propagating it cancels that task.
    Cancelled(Cancelled),
    /// The child at `index` panicked.
    Panicked {
        /// Its position among the arguments.
        index: usize,
        /// The panic (resume it with `std::panic::resume_unwind`).
        panic: Panic,
    },
}

impl<E> GatherError<E> {
    /// Whether it is a cancellation.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, GatherError::Cancelled(_))
    }
}

impl<E: fmt::Display> fmt::Display for GatherError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatherError::Failed { index, error } => write!(f, "gathered future {index} failed: {error}"),
            GatherError::Cancelled(c) => write!(f, "gather {c}"),
            GatherError::Panicked { index, panic } => write!(f, "gathered future {index} panicked: {panic}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GatherError<E> {}

/// The children of a gather and what is known of them.
struct Children<T> {
    /// `None` once the child's outcome was taken.
    tasks: Vec<Option<Task<T>>>,
    running: usize,
    /// The gather's own cancellation, once delivered.
    cancelled: Option<Cancelled>,
    /// What a [`GatherHandle`] reaches.
    shared: std::rc::Rc<Shared>,
}

/// The part of a gather its handles share: the children, and a cancel
/// requested through a handle (with its message).
struct Shared {
    children: Vec<AnyTask>,
    cancel_requested: RefCell<Option<Option<Cow<'static, str>>>>,
}

/// A handle to a [`gather`] or [`gather_settled`] (asyncio's gathering
/// future, the object `gather()` returns): reach its children, or cancel
/// it from anywhere on its loop while it is awaited elsewhere.
///
/// ```
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// # use corio_core::clock::VirtualClock;
/// use corio_core::structured::GatherError;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// lp.block_on(async {
///     let gathering = corio_core::gather([1, 2].map(|s| async move {
///         corio_core::sleep(Duration::from_secs(s)).await?;
///         Ok::<_, corio_core::task::Cancelled>(s)
///     }));
///     let gatherer = gathering.handle();
///     let waiter = corio_core::spawn(async move { matches!(gathering.await, Err(GatherError::Cancelled(_))) });
///     corio_core::yield_now().await.unwrap();
///     assert_eq!(gatherer.children().len(), 2);
///     assert!(gatherer.cancel()); // asyncio's gatherer.cancel()
///     assert!(waiter.await.unwrap(), "the gather ended Cancelled");
///     assert!(gatherer.children().iter().all(|child| child.cancelled()));
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct GatherHandle {
    shared: std::rc::Rc<Shared>,
}

impl GatherHandle {
    /// The gathered tasks, in argument order (asyncio's `_children`).
    pub fn children(&self) -> &[AnyTask] {
        &self.shared.children
    }

    /// Whether every child has ended.
    pub fn done(&self) -> bool {
        self.shared.children.iter().all(AnyTask::done)
    }

    /// Cancels every child still running (asyncio's `gatherer.cancel()`);
    /// the gather then ends `Cancelled`, whatever the children do with the
    /// cancel. Returns `false` — and changes nothing — if no child was
    /// running.
    pub fn cancel(&self) -> bool {
        self.request_cancel(None)
    }

    /// [`cancel`](Self::cancel) with a message, which the children and
    /// the gather's `Cancelled` carry.
    pub fn cancel_with(&self, message: impl Into<Cow<'static, str>>) -> bool {
        self.request_cancel(Some(message.into()))
    }

    fn request_cancel(&self, message: Option<Cow<'static, str>>) -> bool {
        let mut any = false;
        for child in &self.shared.children {
            let accepted = match &message {
                Some(message) => child.cancel_with(message.clone()),
                None => child.cancel(),
            };
            any |= accepted;
        }
        if any {
            *self.shared.cancel_requested.borrow_mut() = Some(message);
        }
        any
    }
}

impl fmt::Debug for GatherHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherHandle").field("children", &self.shared.children).finish()
    }
}

impl<T> Children<T> {
    #[track_caller]
    fn spawn<I>(futures: I) -> Self
    where
        I: IntoIterator,
        I::Item: Future<Output = T> + 'static,
        T: 'static,
    {
        let location = Location::caller();
        let tasks: Vec<_> =
            futures.into_iter().map(|f| Some(crate::task::spawn_local(f, None, false, location))).collect();
        let children = tasks.iter().flatten().map(|task| AnyTask::clone(task)).collect();
        let shared = std::rc::Rc::new(Shared { children, cancel_requested: RefCell::new(None) });
        Children { running: tasks.len(), tasks, cancelled: None, shared }
    }

    /// Once every child has ended: the gather's cancellation if a handle
    /// requested one (asyncio: "if gather is being cancelled we must
    /// propagate the cancellation regardless", bpo-32684), as the awaiting
    /// task's own token.
    fn requested_cancel(&self) -> Option<Cancelled> {
        let message = self.shared.cancel_requested.borrow_mut().take()?;
        Some(current::adopt_cancelled(Cancelled::new(message)))
    }

    /// The gather's checkpoint: a cancel of the awaiting task is passed on
    /// to every running child (once).
    fn checkpoint(&mut self) {
        if self.cancelled.is_some() {
            return;
        }
        if let Err(cancelled) = current::checkpoint() {
            for task in self.tasks.iter().flatten() {
                host::cancel_task(task.raw_task(), cancelled.message_cow());
            }
            self.cancelled = Some(cancelled);
        }
    }

    /// Takes the outcome of every child that has ended, in argument order,
    /// until `f` says stop (returns `Some`).
    fn poll_ended<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(usize, Result<T, JoinError>) -> Option<R>,
    ) -> Option<R> {
        for (index, slot) in self.tasks.iter_mut().enumerate() {
            let Some(task) = slot else { continue };
            if task.poll_complete(cx).is_pending() {
                continue;
            }
            let outcome = task.take_output();
            *slot = None;
            self.running -= 1;
            if let Some(stop) = f(index, outcome) {
                return Some(stop);
            }
        }
        None
    }
}

/// Runs each future as a task and returns their values in argument order,
/// or the first failure (asyncio's `gather(*aws)`, rule K1).
///
/// The futures return `Result<T, E>`. The first child seen to fail (an
/// `Err`, a panic, or a cancellation of the child) ends the gather with that
/// failure at once; the other children keep running, detached. If the
/// awaiting task is cancelled, every running child is cancelled, the gather
/// waits for them and ends `Cancelled`.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// # lp.block_on(async {
/// let delays = [3, 1, 2];
/// let values = corio::gather(delays.map(|s| async move {
///     corio::sleep(Duration::from_secs(s)).await?;
///     Ok::<_, corio::task::Cancelled>(s)
/// }))
/// .await
/// .unwrap();
/// assert_eq!(values, [3, 1, 2]); // argument order, not completion order
/// # })
/// # .unwrap();
/// ```
///
/// **Cancel safety:** not cancel-safe: dropping it detaches the tasks it
/// spawned (they run on unobserved).
#[track_caller]
pub fn gather<I, F, T, E>(futures: I) -> Gather<T, E>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    let children = Children::spawn(futures);
    let values = children.tasks.iter().map(|_| None).collect();
    Gather { children, values }
}

/// The future of [`gather`].
#[must_use = "futures do nothing unless awaited"]
pub struct Gather<T, E> {
    children: Children<Result<T, E>>,
    values: Vec<Option<T>>,
}

impl<T, E> Unpin for Gather<T, E> {}

impl<T, E> Future for Gather<T, E> {
    type Output = Result<Vec<T>, GatherError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.children.checkpoint();
        let cancelling = this.children.cancelled.is_some();
        let values = &mut this.values;
        let failure = this.children.poll_ended(cx, |index, outcome| {
            if cancelling {
                return None; // the gather ends Cancelled whatever they did
            }
            match outcome {
                Ok(Ok(value)) => {
                    values[index] = Some(value);
                    None
                }
                Ok(Err(error)) => Some(GatherError::Failed { index, error }),
                Err(JoinError::Cancelled(c)) => Some(GatherError::Cancelled(current::adopt_cancelled(c))),
                Err(JoinError::Panicked(panic)) => Some(GatherError::Panicked { index, panic }),
            }
        });
        if let Some(failure) = failure {
            return Poll::Ready(Err(failure));
        }
        if this.children.running > 0 {
            return Poll::Pending;
        }
        if let Some(cancelled) = this.children.cancelled.take().or_else(|| this.children.requested_cancel()) {
            return Poll::Ready(Err(GatherError::Cancelled(cancelled)));
        }
        let values = std::mem::take(&mut this.values);
        Poll::Ready(Ok(values.into_iter().map(|v| v.expect("every child returned a value")).collect()))
    }
}

impl<T, E> Gather<T, E> {
    /// A handle to this gather: its children, and `cancel` from another
    /// task while this one is awaited (asyncio's gathering future).
    pub fn handle(&self) -> GatherHandle {
        GatherHandle { shared: self.children.shared.clone() }
    }
}

impl<T, E> fmt::Debug for Gather<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather").field("running", &self.children.running).finish()
    }
}

/// Runs each future as a task and returns every outcome in argument order
/// (asyncio's `gather(*aws, return_exceptions=True)`, rule K1).
///
/// Each outcome is the task's `Result<T, JoinError>`; a child's
/// `JoinError::Cancelled` keeps the child's own token, so holding it does
/// not cancel the awaiting task. If the awaiting task is cancelled, every
/// running child is cancelled, the gather waits for them and returns
/// `Err(Cancelled)`.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// corio::run(async {
///     let outcomes = corio::gather_settled([
///         Box::pin(async { 1 }) as std::pin::Pin<Box<dyn std::future::Future<Output = i32>>>,
///         Box::pin(async { panic!("boom") }),
///     ])
///     .await
///     .unwrap();
///     assert_eq!(*outcomes[0].as_ref().unwrap(), 1);
///     assert!(outcomes[1].as_ref().unwrap_err().is_panic());
/// })
/// .unwrap();
/// ```
///
/// **Cancel safety:** not cancel-safe: dropping it detaches the tasks it
/// spawned.
#[track_caller]
pub fn gather_settled<I, F>(futures: I) -> GatherSettled<F::Output>
where
    I: IntoIterator<Item = F>,
    F: Future + 'static,
    F::Output: 'static,
{
    let children = Children::spawn(futures);
    let outcomes = children.tasks.iter().map(|_| None).collect();
    GatherSettled { children, outcomes }
}

/// The future of [`gather_settled`].
#[must_use = "futures do nothing unless awaited"]
pub struct GatherSettled<T> {
    children: Children<T>,
    outcomes: Vec<Option<Result<T, JoinError>>>,
}

impl<T> Unpin for GatherSettled<T> {}

impl<T> Future for GatherSettled<T> {
    type Output = Result<Vec<Result<T, JoinError>>, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.children.checkpoint();
        let outcomes = &mut this.outcomes;
        this.children.poll_ended(cx, |index, outcome| {
            outcomes[index] = Some(outcome);
            None::<()>
        });
        if this.children.running > 0 {
            return Poll::Pending;
        }
        if let Some(cancelled) = this.children.cancelled.take().or_else(|| this.children.requested_cancel()) {
            return Poll::Ready(Err(cancelled));
        }
        let outcomes = std::mem::take(&mut this.outcomes);
        Poll::Ready(Ok(outcomes.into_iter().map(|o| o.expect("every child ended")).collect()))
    }
}

impl<T> GatherSettled<T> {
    /// A handle to this gather: its children, and `cancel` from another
    /// task while this one is awaited (asyncio's gathering future).
    pub fn handle(&self) -> GatherHandle {
        GatherHandle { shared: self.children.shared.clone() }
    }
}

impl<T> fmt::Debug for GatherSettled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherSettled").field("running", &self.children.running).finish()
    }
}
