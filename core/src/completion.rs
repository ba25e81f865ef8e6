//! `Completion<T>`: asyncio's `Future` — a value that callbacks and threads
//! can set, and tasks can await.
//!
//! # Invariants (rules F1–F3)
//!
//! * It is pending, then exactly one of done (with a value) or cancelled;
//!   both are final. Setting or cancelling a finished completion changes
//!   nothing and says so.
//! * Done-callbacks run through the loop's ready queue in the order they
//!   were added, never inline — also when added after completion — each in
//!   the context current when it was added.
//! * Awaiting is a checkpoint: a cancel delivered to the awaiting task also
//!   cancels the completion (asyncio's `Task.cancel` cancels the future it
//!   waits on).
//!
//! The state sits behind a `Mutex` because any thread may complete it; a
//! completion is a rendezvous, not a hot path (channels are). The first
//! finisher wins: checking for "pending" and storing the outcome happen
//! under one lock, so a cancel racing `set_result` from another thread
//! leaves exactly one outcome, and the waiters taken with it are woken
//! (rule C8; loom model 4).

use crate::loom::{Arc, Mutex, MutexGuard};
use crate::runtime::current;
use crate::runtime::{CallbackRef, LoopHandle};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current::{adopt_cancelled, checkpoint};
use crate::task::Cancelled;
use std::borrow::Cow;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Why [`Completion::result`] or a setter refused.
#[derive(Debug, Clone, PartialEq)]
pub enum FutureError {
    /// Read before it finished, or set after it finished (asyncio's
    /// `InvalidStateError`).
    InvalidState,
    /// It was cancelled.
    Cancelled(Cancelled),
}

impl fmt::Display for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FutureError::InvalidState => {
                f.write_str("invalid state: the future is not in the state this operation needs")
            }
            FutureError::Cancelled(c) => c.fmt(f),
        }
    }
}

impl std::error::Error for FutureError {}

enum Outcome<T> {
    Pending,
    Done(T),
    Cancelled(Cancelled),
}

struct State<T> {
    outcome: Outcome<T>,
    /// Awaiters and done-callbacks share one sequence: an awaiter is resumed
    /// by a done-callback of its own in asyncio, so both are released in the
    /// one order they were added in (F3).
    next_seq: u64,
    /// Awaiters, by the sequence number each `Wait` remembers. A `Wait` that
    /// goes away removes its entry, so the list holds live awaiters only.
    waiters: Vec<(u64, Waker)>,
    /// Done-callbacks held by their loop until release.
    callbacks: Vec<(u64, LoopHandle, u64)>,
}

/// A settable future (asyncio's `loop.create_future()`).
///
/// Clones share the same state. Awaiting needs `T: Clone` (every awaiter gets
/// the value); wrap large values in an `Arc`.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// use corio::Completion;
/// # let lp = EventLoop::builder(ParkReactor::new()).build();
/// let value = lp.block_on(async {
///     let fut = Completion::new();
///     let setter = fut.clone();
///     corio::call_soon(move || setter.set_result(7).unwrap());
///     fut.wait().await
/// });
/// assert_eq!(value.unwrap().unwrap(), 7);
/// ```
pub struct Completion<T> {
    inner: Arc<Mutex<State<T>>>,
}

impl<T> Clone for Completion<T> {
    fn clone(&self) -> Self {
        Completion { inner: self.inner.clone() }
    }
}

impl<T> Default for Completion<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Completion<T> {
    /// A pending completion.
    pub fn new() -> Self {
        Completion {
            inner: Arc::new(Mutex::new(State {
                outcome: Outcome::Pending,
                next_seq: 0,
                waiters: Vec::new(),
                callbacks: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Finishes with `value`; `Err(InvalidState)` if already finished (F2).
    pub fn set_result(&self, value: T) -> Result<(), FutureError> {
        self.finish(Outcome::Done(value))
    }

    /// Cancels; `false` if already finished (F2).
    pub fn cancel(&self) -> bool {
        self.finish(Outcome::Cancelled(Cancelled::new(None))).is_ok()
    }

    /// Cancels with a message; `false` if already finished.
    pub fn cancel_with(&self, message: impl Into<Cow<'static, str>>) -> bool {
        self.finish(Outcome::Cancelled(Cancelled::new(Some(message.into())))).is_ok()
    }

    fn finish(&self, outcome: Outcome<T>) -> Result<(), FutureError> {
        let (waiters, callbacks) = {
            let mut state = self.lock();
            if !matches!(state.outcome, Outcome::Pending) {
                return Err(FutureError::InvalidState);
            }
            state.outcome = outcome;
            (std::mem::take(&mut state.waiters), std::mem::take(&mut state.callbacks))
        };
        let mut callbacks = callbacks.into_iter().peekable();
        for (seq, waker) in waiters {
            while let Some((_, handle, id)) = callbacks.next_if(|(added, ..)| *added < seq) {
                release_callback(&handle, id);
            }
            waker.wake();
        }
        for (_, handle, id) in callbacks {
            release_callback(&handle, id);
        }
        Ok(())
    }

    /// Whether it finished (done or cancelled).
    pub fn done(&self) -> bool {
        !matches!(self.lock().outcome, Outcome::Pending)
    }

    /// Whether it was cancelled.
    pub fn cancelled(&self) -> bool {
        matches!(self.lock().outcome, Outcome::Cancelled(_))
    }

    /// The value: `Err(InvalidState)` while pending, `Err(Cancelled)` if
    /// cancelled (F2).
    pub fn result(&self) -> Result<T, FutureError>
    where
        T: Clone,
    {
        match &self.lock().outcome {
            Outcome::Pending => Err(FutureError::InvalidState),
            Outcome::Done(value) => Ok(value.clone()),
            Outcome::Cancelled(c) => Err(FutureError::Cancelled(c.clone())),
        }
    }

    /// Schedules `callback` on the running loop when this finishes — with
    /// `call_soon`, never inline, also if it already has (F3).
    ///
    /// # Panics
    ///
    /// If no loop is running on this thread (asyncio futures belong to a
    /// loop).
    #[track_caller]
    pub fn add_done_callback(&self, callback: impl FnOnce(&Completion<T>) + 'static)
    where
        T: 'static,
    {
        let this = self.clone();
        let callback = CallbackRef::local(move || callback(&this));
        let (id, handle) = current::expect_running(|l| (l.hold_callback(callback), l.handle()));
        let mut state = self.lock();
        if matches!(state.outcome, Outcome::Pending) {
            let seq = state.next_seq;
            state.next_seq += 1;
            state.callbacks.push((seq, handle, id));
        } else {
            drop(state);
            release_callback(&handle, id);
        }
    }

    /// Waits for the value (a checkpoint); see [`Wait`].
    ///
    /// **Cancel safety:** cancel-safe when dropped: the completion stays
    /// pending. A cancel *delivered* at the wait also cancels the completion
    /// (asyncio's rule).
    #[track_caller]
    pub fn wait(&self) -> Wait<T>
    where
        T: Clone,
    {
        Wait { completion: self.clone(), seq: None, at: Location::caller() }
    }
}

fn release_callback(handle: &LoopHandle, id: u64) {
    if handle.is_current() {
        current::with_running(|l| l.release_held(id, true));
    } else {
        // From another thread (or a stopped loop): hand it to the loop. A
        // closed loop has dropped its held callbacks already.
        let _ = handle.run_on_loop(move || {
            current::with_running(|l| l.release_held(id, true));
        });
    }
}

impl<T: Clone> IntoFuture for &Completion<T> {
    type Output = Result<T, Cancelled>;
    type IntoFuture = Wait<T>;

    #[track_caller]
    fn into_future(self) -> Wait<T> {
        self.wait()
    }
}

impl<T> fmt::Debug for Completion<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.lock().outcome {
            Outcome::Pending => "pending",
            Outcome::Done(_) => "done",
            Outcome::Cancelled(_) => "cancelled",
        };
        f.debug_struct("Completion").field("state", &state).finish()
    }
}

/// The future returned by [`Completion::wait`]: the value, or
/// `Err(Cancelled)` if the completion was cancelled or the awaiting task's
/// cancel was delivered here (which cancels the completion too).
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<T> {
    completion: Completion<T>,
    /// This awaiter's place in the completion's sequence, once registered.
    seq: Option<u64>,
    /// Where it was created: the checkpoint a task dump shows.
    at: &'static Location<'static>,
}

impl<T: Clone> Future for Wait<T> {
    type Output = Result<T, Cancelled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Err(cancelled) = checkpoint() {
            // A token of its own: the task's token must not stay alive in
            // the completion, or a task that swallows it would end cancelled.
            self.completion.finish(Outcome::Cancelled(Cancelled::new(cancelled.message_cow()))).ok();
            self.forget();
            return Poll::Ready(Err(cancelled));
        }
        let mut state = self.completion.lock();
        match &state.outcome {
            Outcome::Done(value) => {
                let value = value.clone();
                drop(state);
                self.forget();
                Poll::Ready(Ok(value))
            }
            Outcome::Cancelled(c) => {
                let c = adopt_cancelled(c.clone());
                drop(state);
                self.forget();
                Poll::Ready(Err(c))
            }
            Outcome::Pending => {
                let registered = self.seq.and_then(|seq| state.waiters.iter_mut().find(|(s, _)| *s == seq));
                match registered {
                    Some((_, waker)) => {
                        if !waker.will_wake(cx.waker()) {
                            *waker = cx.waker().clone();
                        }
                    }
                    None => {
                        let seq = state.next_seq;
                        state.next_seq += 1;
                        state.waiters.push((seq, cx.waker().clone()));
                        drop(state);
                        self.seq = Some(seq);
                    }
                }
                suspend_at(WaitKind::Completion, Some(self.at));
                Poll::Pending
            }
        }
    }
}

impl<T> Wait<T> {
    fn forget(&mut self) {
        if let Some(seq) = self.seq.take() {
            self.completion.lock().waiters.retain(|(s, _)| *s != seq);
        }
    }
}

impl<T> Drop for Wait<T> {
    fn drop(&mut self) {
        self.forget();
    }
}
