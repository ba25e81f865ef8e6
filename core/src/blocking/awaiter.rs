//! `Blocking<T>`: the awaitable a submitted job hands back.

use super::job::{Handoff, Outcome};
use crate::loom::Arc;
use crate::task::current;
use crate::task::{Cancelled, JoinError};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A blocking job's result, to await (asyncio's future returned by
/// `run_in_executor`).
///
/// Awaiting gives the job's value, `JoinError::Panicked` if it panicked, or
/// `JoinError::Cancelled` if it never ran. Awaiting is a checkpoint: when a
/// cancel is delivered there, a job that has not started is withdrawn and
/// never runs; a job that has started finishes on its thread and its result
/// is dropped (rule B2). Either way the awaiter returns `Err(Cancelled)` at
/// once, as asyncio's awaiting task does.
///
/// Dropping it behaves like that cancel — unless it came from
/// [`spawn_blocking`](super::spawn_blocking) or was [`detach`](Blocking::detach)ed,
/// in which case the job runs to its end unobserved.
///
/// **Cancel safety:** not cancel-safe unless detached (see above): a dropped
/// `Blocking` withdraws a job that has not started, and drops the result of one
/// that has.
#[must_use = "dropping a `Blocking` withdraws its job unless it has started; await it or `detach()` it"]
pub struct Blocking<T> {
    /// `None` once the outcome was returned or the job was let go.
    handoff: Option<Arc<Handoff<T>>>,
    detach_on_drop: bool,
}

impl<T> Blocking<T> {
    pub(super) fn new(handoff: Arc<Handoff<T>>, detach_on_drop: bool) -> Self {
        Blocking { handoff: Some(handoff), detach_on_drop }
    }

    /// Withdraws the job if it has not started (asyncio's `Future.cancel()`
    /// on an executor future): `true` if it will never run, and awaiting
    /// then gives `JoinError::Cancelled`; `false` if it started or ended.
    pub fn cancel(&self) -> bool {
        self.handoff.as_ref().is_some_and(|h| h.withdraw())
    }

    /// Whether the job has ended: it ran, or it will never run.
    pub fn done(&self) -> bool {
        self.handoff.as_ref().is_none_or(|h| h.is_done())
    }

    /// Lets the job run to its end without an awaiter; its result is
    /// dropped. (A job already withdrawn stays withdrawn.)
    pub fn detach(mut self) {
        self.handoff = None;
    }
}

impl<T> Blocking<T> {
    /// Polls for the outcome without the checkpoint `poll` makes, so a
    /// pending cancel neither ends the wait nor withdraws the job: for a
    /// caller that keeps the job across its own cancelled awaits and makes
    /// its own checkpoint (a file's write-behind must not be withdrawn).
    pub(crate) fn poll_unchecked(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        let Some(handoff) = self.handoff.as_ref() else {
            panic!("Blocking polled after it returned its result");
        };
        let outcome = std::task::ready!(handoff.poll(cx));
        self.handoff = None;
        Poll::Ready(match outcome {
            Outcome::Done(value) => Ok(value),
            Outcome::Panicked(panic) => Err(JoinError::Panicked(panic)),
            Outcome::Cancelled | Outcome::Refused => Err(JoinError::Cancelled(Cancelled::new(Some(
                "the blocking pool shut down before the job started".into(),
            )))),
        })
    }
}

impl<T> Future for Blocking<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(handoff) = self.handoff.as_ref() else {
            panic!("Blocking polled after it returned its result");
        };
        if let Err(cancelled) = current::checkpoint() {
            handoff.withdraw(); // B2: it never runs, or its result is dropped
            self.handoff = None;
            return Poll::Ready(Err(JoinError::Cancelled(cancelled)));
        }
        let outcome = std::task::ready!(handoff.poll(cx));
        self.handoff = None;
        Poll::Ready(match outcome {
            Outcome::Done(value) => Ok(value),
            Outcome::Panicked(panic) => Err(JoinError::Panicked(panic)),
            // As awaiting a cancelled future in asyncio: the awaiter gets a
            // cancellation of its own, so propagating it cancels the task.
            Outcome::Cancelled => Err(JoinError::Cancelled(current::adopt_cancelled(Cancelled::new(Some(
                "the blocking job was cancelled before it started".into(),
            ))))),
            Outcome::Refused => Err(JoinError::Cancelled(current::adopt_cancelled(Cancelled::new(Some(
                "the blocking pool shut down before the job started".into(),
            ))))),
        })
    }
}

impl<T> Drop for Blocking<T> {
    fn drop(&mut self) {
        if let Some(handoff) = self.handoff.take() {
            if !self.detach_on_drop {
                handoff.withdraw();
            }
        }
    }
}

impl<T> fmt::Debug for Blocking<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocking").field("done", &self.done()).finish()
    }
}
