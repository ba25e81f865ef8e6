//! The hand-off between a blocking job's awaiter and the pool thread that
//! runs it: who gets to decide the job's fate, and how its output travels
//! back.
//!
//! # States
//!
//! ```text
//!            start (worker)             finish (worker)
//!   QUEUED ──────────────────▶ RUNNING ─────────────────▶ COMPLETE
//!     │
//!     ├── withdraw (awaiter: cancelled or dropped) ─────▶ CANCELLED
//!     └── refuse (pool shut down before it started) ───▶ REFUSED
//! ```
//!
//! # Invariants
//!
//! * **One decision.** `QUEUED` is left exactly once, by a compare-exchange:
//!   either a worker starts the job, or the awaiter withdraws it, or the pool
//!   refuses it. So a job whose awaiter withdrew it never runs, and a job that
//!   started is never also reported cancelled-before-start (rule B2; loom
//!   model `loom_blocking`).
//! * **The output is written once, read once.** Only the worker that won
//!   `start` writes the output, before it publishes `COMPLETE` (release);
//!   only the awaiter reads it, after it observed `COMPLETE` (acquire), and
//!   it takes it out. If the awaiter is gone, the output is dropped with the
//!   hand-off (a running job finishes and its result is discarded, B2).
//! * **No lost wakeup.** The awaiter stores its waker under the `waker`
//!   mutex and then re-reads the state; the worker (or the pool refusing the
//!   job) publishes the final state and then takes the waker under the same
//!   mutex. Whichever takes the mutex second sees the other's write.
//!
//! The waker sits behind a mutex rather than in an atomic cell: it is taken
//! at most twice per job (one registration, one wake), next to a thread
//! hand-off that costs microseconds, and the mutex keeps the protocol short
//! enough to read and to model-check.

use crate::loom::{AtomicUsize, Mutex, Ordering, UnsafeCell};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::Panic;
use std::task::{Context, Poll, Waker};

const QUEUED: usize = 0;
const RUNNING: usize = 1;
const COMPLETE: usize = 2;
const CANCELLED: usize = 3;
const REFUSED: usize = 4;

/// How a job ended, as its awaiter sees it.
#[derive(Debug)]
pub(crate) enum Outcome<T> {
    /// It ran and returned.
    Done(T),
    /// It ran and panicked.
    Panicked(Panic),
    /// The awaiter withdrew it before it started: it never ran.
    Cancelled,
    /// The pool shut down (or could not start a thread) before it started:
    /// it never ran.
    Refused,
}

/// The state shared by a job's awaiter and its worker.
pub(crate) struct Handoff<T> {
    state: AtomicUsize,
    /// Written by the worker before `COMPLETE`, taken by the awaiter after.
    output: UnsafeCell<Option<Result<T, Panic>>>,
    waker: Mutex<Option<Waker>>,
}

// SAFETY: the output cell is written by exactly one thread (the worker that
// won `start`) before the release store of `COMPLETE`, and read only after
// an acquire load observed `COMPLETE` (see the module invariants); `T: Send`
// lets it cross from the worker to the awaiter. Everything else is atomics
// and a mutex.
unsafe impl<T: Send> Send for Handoff<T> {}
// SAFETY: as above; shared access never touches the output outside that
// protocol.
unsafe impl<T: Send> Sync for Handoff<T> {}

impl<T> Default for Handoff<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Handoff<T> {
    /// A queued job's hand-off.
    pub(crate) fn new() -> Self {
        Handoff { state: AtomicUsize::new(QUEUED), output: UnsafeCell::new(None), waker: Mutex::new(None) }
    }

    /// Worker: claims the job. `false` if the awaiter withdrew it or the pool
    /// refused it first; the job must then not run.
    pub(crate) fn start(&self) -> bool {
        self.state.compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Worker, after a successful [`start`](Handoff::start): publishes the
    /// output and wakes the awaiter.
    pub(crate) fn finish(&self, output: Result<T, Panic>) {
        // SAFETY: we won `start`, so nobody else writes the cell, and the
        // awaiter reads it only after observing `COMPLETE`, stored below.
        self.output.with_mut(|cell| unsafe { *cell = Some(output) });
        self.state.store(COMPLETE, Ordering::Release);
        self.wake();
    }

    /// Awaiter: withdraws a job that has not started. `true` if it will
    /// never run; `false` if it started (or already ended).
    pub(crate) fn withdraw(&self) -> bool {
        self.leave_queue(CANCELLED)
    }

    /// Pool: the job will never run (shutdown). Wakes the awaiter. `false`
    /// if the job had already left the queue.
    pub(crate) fn refuse(&self) -> bool {
        let refused = self.leave_queue(REFUSED);
        if refused {
            self.wake();
        }
        refused
    }

    fn leave_queue(&self, to: usize) -> bool {
        self.state.compare_exchange(QUEUED, to, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Whether the job has ended (ran, or will never run).
    pub(crate) fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) >= COMPLETE
    }

    /// Awaiter: the outcome once the job has ended, else registers `cx`'s
    /// waker. Called by the one awaiter only; after it returns `Ready`, it
    /// must not be called again.
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        if let Some(outcome) = self.outcome() {
            return Poll::Ready(outcome);
        }
        {
            let mut slot = self.waker.lock().unwrap_or_else(|e| e.into_inner());
            match slot.as_mut() {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        let outcome = self.outcome();
        match outcome {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                suspend_at(WaitKind::Blocking, None);
                Poll::Pending
            }
        }
    }

    fn outcome(&self) -> Option<Outcome<T>> {
        match self.state.load(Ordering::Acquire) {
            QUEUED | RUNNING => None,
            COMPLETE => {
                // SAFETY: `COMPLETE` was published after the worker's last
                // write (acquire/release), and the one awaiter takes it once.
                let output = self.output.with_mut(|cell| unsafe { (*cell).take() });
                match output.expect("a completed job's output is taken once") {
                    Ok(value) => Some(Outcome::Done(value)),
                    Err(panic) => Some(Outcome::Panicked(panic)),
                }
            }
            CANCELLED => Some(Outcome::Cancelled),
            _ => Some(Outcome::Refused),
        }
    }

    fn wake(&self) {
        let waker = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}
