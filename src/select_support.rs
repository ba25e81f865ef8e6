//! What `select!`, `join!` and `try_join!` expand to call (through
//! `corio::__private`). Not public API: the macros are.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

thread_local! {
    /// Where the next unbiased `select!` on this thread starts polling.
    static NEXT_START: Cell<usize> = const { Cell::new(0) };
}

/// The branch an unbiased `select!` of `branches` branches polls first:
/// each `select!` on a thread starts one branch further than the last, so
/// no branch is always first (tokio picks at random; a rotation is as fair
/// and keeps runs reproducible).
pub fn select_start(branches: usize) -> usize {
    NEXT_START.with(|next| {
        let start = next.get();
        next.set(start.wrapping_add(1));
        start % branches
    })
}

/// A future of `join!`/`try_join!`, then its output once it finished.
pub enum MaybeDone<F: Future> {
    /// Still running (pinned in place).
    Future(F),
    /// Finished; the output waits to be taken (never pinned).
    Done(F::Output),
    /// The output was taken.
    Gone,
}

impl<F: Future> MaybeDone<F> {
    /// Wraps `future`.
    pub fn new(future: F) -> Self {
        MaybeDone::Future(future)
    }

    /// Polls the future if it still runs; `true` once it has finished.
    pub fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        // SAFETY: the future is polled in place and only ever dropped in
        // place (by `Pin::set` below or with the whole `MaybeDone`); the
        // reference does not escape this block.
        let output = match unsafe { self.as_mut().get_unchecked_mut() } {
            MaybeDone::Future(future) => match unsafe { Pin::new_unchecked(future) }.poll(cx) {
                Poll::Ready(output) => output,
                Poll::Pending => return false,
            },
            MaybeDone::Done(_) => return true,
            MaybeDone::Gone => panic!("a join! future was polled after it completed"),
        };
        self.set(MaybeDone::Done(output));
        true
    }

    /// The output of a finished future.
    pub fn take_output(self: Pin<&mut Self>) -> F::Output {
        // SAFETY: only the `Done` state is moved out of, and the output is
        // never pinned (`poll_done` pins only the future).
        let this = unsafe { self.get_unchecked_mut() };
        match std::mem::replace(this, MaybeDone::Gone) {
            MaybeDone::Done(output) => output,
            _ => panic!("join!: the output was taken before the future finished"),
        }
    }
}

impl<F: Future<Output = Result<T, E>>, T, E> MaybeDone<F> {
    /// The error of a future that finished with one (taken), else `None`.
    pub fn take_err(self: Pin<&mut Self>) -> Option<E> {
        // SAFETY: as in `take_output`: the future itself is not moved.
        let this = unsafe { self.get_unchecked_mut() };
        if !matches!(this, MaybeDone::Done(Err(_))) {
            return None;
        }
        match std::mem::replace(this, MaybeDone::Gone) {
            MaybeDone::Done(Err(error)) => Some(error),
            _ => unreachable!("checked above"),
        }
    }

    /// The value of a future that finished with `Ok`.
    pub fn take_ok(self: Pin<&mut Self>) -> T {
        match self.take_output() {
            Ok(value) => value,
            Err(_) => panic!("try_join!: an error was left behind"),
        }
    }
}
