//! The `Task<T>` handle and how a task's end is reported.

use super::checkpoint::{suspend_at, WaitKind};
use super::join_waker::JoinWaker;
use super::raw::{RawTask, TaskRef};
use super::state::{CANCELLED, COMPLETE, JOIN_WAKER, PANICKED};
use super::{current, host};
use super::{AnyTask, Cancelled};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Why a task produced no value.
#[derive(Debug)]
pub enum JoinError {
    /// The task was cancelled: its body returned the `Cancelled` it was
    /// given, it was cancelled before it first ran (rule C4), or it was
    /// aborted (C7). Also what awaiting a task returns when the *awaiting*
    /// task's cancellation is delivered there.
    Cancelled(Cancelled),
    /// The task panicked; the payload is kept (rule T4).
    Panicked(Panic),
}

impl JoinError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled(_))
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// The panic, if it was one.
    pub fn into_panic(self) -> Option<Panic> {
        match self {
            JoinError::Panicked(panic) => Some(panic),
            JoinError::Cancelled(_) => None,
        }
    }

    /// Resumes a panic here, where the task's end is observed (asyncio's
    /// `await task` re-raises the task's exception), or returns the
    /// cancellation. So `task.await.map_err(JoinError::resume)` is the
    /// task's value or a `Cancelled` — which `?` propagates; the
    /// `From<JoinError> for Cancelled` conversion does the same for `?`
    /// directly.
    ///
    /// ```
    /// # use corio_core::runtime::EventLoop;
    /// # use corio_core::reactor::ParkReactor;
    /// use corio_core::task::Cancelled;
    /// # let lp = EventLoop::new(ParkReactor::new());
    /// let out = lp.block_on(async {
    ///     let task = corio_core::spawn(async { 6 * 7 });
    ///     let value = task.await?; // JoinError -> Cancelled (a panic is resumed)
    ///     Ok::<_, Cancelled>(value)
    /// });
    /// assert_eq!(out.unwrap().unwrap(), 42);
    ///
    /// let panicked = lp.block_on(async {
    ///     let task = corio_core::spawn(async { panic!("boom") });
    ///     let _ = task.await.map_err(corio_core::task::JoinError::resume);
    /// });
    /// assert_eq!(panicked.unwrap_err().to_string(), "the main future panicked: boom");
    /// ```
    pub fn resume(self) -> Cancelled {
        match self {
            JoinError::Cancelled(cancelled) => cancelled,
            JoinError::Panicked(panic) => panic.resume(),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled(c) => write!(f, "task {c}"),
            JoinError::Panicked(p) => write!(f, "task panicked: {p}"),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<Cancelled> for JoinError {
    fn from(c: Cancelled) -> JoinError {
        JoinError::Cancelled(c)
    }
}

impl From<JoinError> for Cancelled {
    /// [`JoinError::resume`]: a cancellation stays one (so `task.await?`
    /// in a function returning `Result<_, Cancelled>` propagates it), and a
    /// panic is resumed in the awaiting task, as asyncio's `await task`
    /// re-raises the task's exception.
    fn from(err: JoinError) -> Cancelled {
        err.resume()
    }
}

impl From<JoinError> for std::io::Error {
    /// A cancellation becomes an `io::Error` carrying it (so the task still
    /// ends cancelled, see [`Cancelled::find`]); a panic is resumed, as for
    /// [`JoinError::resume`].
    fn from(err: JoinError) -> std::io::Error {
        err.resume().into()
    }
}

/// A caught panic: its payload, and its message when it had one.
pub struct Panic {
    payload: Option<Box<dyn Any + Send + 'static>>,
    message: Option<String>,
}

// SAFETY: the payload (`dyn Any + Send`, not `Sync`) is only reachable by
// value (`into_payload`) or through `&mut self` (`take`): no `&Panic` method
// touches it, so sharing a `&Panic` between threads shares nothing unsynced.
// (tokio's `JoinError` wraps its payload the same way.)
unsafe impl Sync for Panic {}

impl Panic {
    pub(crate) fn new(payload: Box<dyn Any + Send + 'static>) -> Panic {
        let message = payload
            .downcast_ref::<&'static str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        Panic { payload: Some(payload), message }
    }

    /// The panic message (`panic!("...")`), if the payload was a string.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The payload, to inspect or to resume the panic with
    /// `std::panic::resume_unwind`. `None` if it was already taken.
    pub fn into_payload(self) -> Option<Box<dyn Any + Send + 'static>> {
        self.payload
    }

    /// Resumes the panic on this thread (`std::panic::resume_unwind` with
    /// its payload; a panic whose payload is elsewhere — see
    /// [`SharedTask`](super::SharedTask) — panics with its message).
    pub fn resume(self) -> ! {
        match self.payload {
            Some(payload) => std::panic::resume_unwind(payload),
            None => std::panic::resume_unwind(Box::new(self.message.unwrap_or_else(|| "a task panicked".into()))),
        }
    }

    /// A copy with the message and without the payload (which cannot be
    /// shared): what every awaiter of a shared task receives.
    pub(crate) fn message_only(&self) -> Panic {
        Panic { payload: None, message: self.message.clone() }
    }

    /// Moves the payload into a new `Panic`, leaving this one with only the
    /// message.
    pub(crate) fn take(&mut self) -> Panic {
        Panic { payload: self.payload.take(), message: self.message.clone() }
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Panic").field("message", &self.message).finish_non_exhaustive()
    }
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message().unwrap_or("<non-string payload>"))
    }
}

/// A task's identity, unique within its loop. Task names default to
/// `Task-{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a done-callback learns about the task that finished.
#[derive(Debug, Clone)]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// The task's name.
    pub name: String,
    /// It ended cancelled.
    pub cancelled: bool,
    /// It panicked.
    pub panicked: bool,
}

impl TaskInfo {
    pub(crate) fn of(raw: RawTask) -> TaskInfo {
        let state = raw.state().load();
        TaskInfo {
            id: TaskId(raw.header().id),
            name: task_name(raw),
            cancelled: state.has(CANCELLED),
            panicked: state.has(PANICKED),
        }
    }

    /// asyncio's `Future.cancelled()`.
    pub fn cancelled(&self) -> bool {
        self.cancelled
    }
}

pub(crate) fn task_name(raw: RawTask) -> String {
    match raw.name() {
        Some(name) => name.to_string(),
        None => format!("Task-{}", raw.header().id),
    }
}

/// An owned handle to a spawned task.
///
/// Awaiting it gives `Result<T, JoinError>`, once (awaiting it again after
/// that panics, as a finished future may; for several awaiters, or to read
/// the result again, see [`Task::shared`]). Dropping it detaches the task,
/// which keeps running (rule T5). Awaiting it is a checkpoint: if the
/// awaiting task is cancelled meanwhile, the cancel is passed on to this task
/// (asyncio's `Task.cancel` of the future it waits on, rule C6) and the await
/// returns whatever this task then ends with.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # let lp = EventLoop::builder(ParkReactor::new()).build();
/// let answer = lp.block_on(async {
///     let task = corio::spawn(async { 6 * 7 });
///     assert_eq!(task.name(), "Task-2"); // Task-1 is the block_on future
///     task.await
/// });
/// assert_eq!(answer.unwrap().unwrap(), 42);
/// ```
///
/// **Cancel safety:** awaiting `&mut task` is cancel-safe when the await is
/// dropped: the task keeps running, and a later await gets its result. A cancel
/// *delivered* at the await is passed on to the task, and the await goes on
/// (rule C6).
#[must_use = "dropping a Task detaches it; await it or call .detach() to say so"]
pub struct Task<T> {
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle's operations are atomic or posted to the task's loop; it
// moves the output `T` to wherever it is awaited, so `T` must be `Send`.
unsafe impl<T: Send> Send for Task<T> {}
// SAFETY: as above; `&Task` offers no access to `T`.
unsafe impl<T: Send> Sync for Task<T> {}

impl<T> Unpin for Task<T> {}

impl<T> std::ops::Deref for Task<T> {
    type Target = AnyTask;

    /// The control half of the handle: `cancel`, `abort`, `name`, ...
    fn deref(&self) -> &AnyTask {
        AnyTask::borrowed(&self.raw)
    }
}

impl<T> Task<T> {
    /// # Safety
    ///
    /// `raw` is a task with output `T`, `JOIN_INTEREST` set, and the caller
    /// transfers one reference.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> Task<T> {
        Task { raw, _output: PhantomData }
    }

    /// Detaches the task explicitly: it keeps running (rule T5), and its
    /// output is dropped when it finishes. The same as dropping the handle,
    /// but says so.
    pub fn detach(self) {}

    pub(crate) fn raw_task(&self) -> RawTask {
        self.raw
    }

    fn take_result(&mut self) -> Result<T, JoinError> {
        match self.take_output() {
            Err(JoinError::Cancelled(c)) => {
                // A cancelled task's awaiter receives a cancellation of its
                // own, so letting it propagate cancels the awaiter too, as a
                // CancelledError escaping an `await` does in asyncio.
                Err(JoinError::Cancelled(current::adopt_cancelled(c)))
            }
            result => result,
        }
    }

    /// Moves the output out as the task left it: a `JoinError::Cancelled`
    /// keeps the task's own token (not adopted by the caller's task).
    /// Used by combinators that report outcomes as values (`gather_settled`,
    /// task groups) rather than propagate them.
    ///
    /// # Panics
    ///
    /// If the task is not complete, or the output was taken already (a
    /// handle awaited again after it returned: polling a finished future,
    /// which tokio's `JoinHandle` refuses the same way).
    pub(crate) fn take_output(&mut self) -> Result<T, JoinError> {
        assert!(self.done(), "the output of a running task was taken");
        // SAFETY: COMPLETE with JOIN_INTEREST (we are the handle): the
        // handle owns the stage and its tag.
        if unsafe { self.raw.stage_is_empty() } {
            panic!("task awaited after its output was taken ({}): a task's output is read once", self.name());
        }
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: the task is COMPLETE and this handle has JOIN_INTEREST, so
        // the handle owns the stage; `out` has the task's output type.
        unsafe { self.raw.take_output(&mut out as *mut _ as *mut ()) };
        match out {
            Poll::Ready(result) => result,
            Poll::Pending => unreachable!("take_output always fills the slot"),
        }
    }

    /// The output, left in place, if the task is complete and the output
    /// was not taken.
    pub(crate) fn peek_output(&self) -> Option<&Result<T, JoinError>> {
        if !self.done() {
            return None;
        }
        // SAFETY: COMPLETE with JOIN_INTEREST (we are the handle): the
        // handle owns the stage, and `&self` keeps it from being taken
        // while the reference lives. The output type is `T`.
        unsafe { self.raw.output_ref().cast::<Result<T, JoinError>>().as_ref() }
    }

    /// The join protocol (see `state.rs`): register the waker unless the
    /// task completed, and re-check through the compare-exchange. `Ready`
    /// once the task is complete; the output stays in the task.
    pub(crate) fn poll_complete(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let state = self.raw.state().load();
        if state.has(COMPLETE) {
            return Poll::Ready(());
        }
        if state.has(JOIN_WAKER) {
            // SAFETY: JOIN_WAKER is set and the task is not complete, so the
            // loop does not read the slot until it completes; reading it to
            // compare is a shared read the handle is allowed.
            let same = unsafe { self.raw.read_join_waker(|w| w.is_some_and(|w| w.will_wake(cx.waker()))) };
            if same {
                suspend_at(WaitKind::Join, Some(self.raw.location()));
                return Poll::Pending;
            }
            if self.raw.state().unset_join_waker().is_err() {
                return Poll::Ready(());
            }
        }
        // SAFETY: JOIN_WAKER is clear and the task not complete: the handle
        // owns the slot.
        unsafe { self.raw.with_join_waker(|w| w.set(cx.waker(), current::current_task())) };
        match self.raw.state().set_join_waker() {
            Ok(_) => {
                suspend_at(WaitKind::Join, Some(self.raw.location()));
                Poll::Pending
            }
            Err(_) => Poll::Ready(()),
        }
    }

    fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        self.poll_complete(cx).map(|()| self.take_result())
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(cancelled) = join_checkpoint(this.raw) {
            return Poll::Ready(Err(JoinError::Cancelled(cancelled)));
        }
        this.poll_join(cx)
    }
}

/// The checkpoint of awaiting the task `raw` (rule C6): if the awaiting task
/// has a cancel to deliver, it is passed on to `raw`, and the wait goes on
/// for `raw`'s end — unless `raw` has ended already, or cannot end while we
/// wait (below): then the awaiter's cancellation is returned, to end the
/// wait at once. Inline: it is on every join's poll (W2, W5, W6), and its
/// fast path is a thread-local read and a state-word load.
#[inline]
pub(crate) fn join_checkpoint(raw: RawTask) -> Option<Cancelled> {
    let awaiter = current::current_task()?;
    if awaiter == raw || !current::cancel_pending(awaiter) {
        return None;
    }
    deliver_or_forward(awaiter, raw)
}

/// [`join_checkpoint`] with a cancel to deliver: out of line, as it is rare.
#[cold]
#[inline(never)]
fn deliver_or_forward(awaiter: RawTask, raw: RawTask) -> Option<Cancelled> {
    if raw.is_complete() {
        return Some(current::deliver_cancel(awaiter));
    }
    if host::is_idle_here(raw) {
        // Its loop lives on this thread and is not running, so the task
        // cannot end while we wait: the awaiter takes its cancel at once, and
        // the task gets one too, for when its loop runs.
        let cancelled = current::deliver_cancel(awaiter);
        host::cancel_task(raw, cancelled.message_cow());
        return Some(cancelled);
    }
    // Pass the cancel on and keep waiting for the task's end.
    let message = current::forward_cancel(awaiter);
    host::cancel_task(raw, message);
    None
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        match self.raw.state().unset_join_interest() {
            Ok(_) => {
                // The loop drops the output when the task completes. The
                // slot is ours again (JOIN_WAKER cleared): free the waker.
                // SAFETY: JOIN_WAKER and JOIN_INTEREST are clear and the task
                // was not complete, so the loop never reads the slot.
                unsafe { self.raw.with_join_waker(JoinWaker::clear) };
            }
            // Complete, and the handle took the output (it was joined):
            // nothing is left to drop.
            // SAFETY: COMPLETE with JOIN_INTEREST: the handle owns the stage.
            Err(_) if unsafe { self.raw.stage_is_empty() } => {}
            Err(_) => {
                // Complete: the output is ours to drop. A panic nobody looked
                // at is reported, as asyncio reports "exception was never
                // retrieved".
                // SAFETY: as above.
                if let Some(panic) = unsafe { self.raw.take_panic() } {
                    host::report_unretrieved_panic(self.raw, panic);
                }
                // SAFETY: as above.
                unsafe { self.raw.discard() };
            }
        }
        // SAFETY: the handle owns one reference.
        drop(unsafe { TaskRef::from_raw(self.raw) });
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("state", &self.raw.state().load())
            .finish()
    }
}
