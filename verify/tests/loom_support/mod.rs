//! Shared pieces of the loom models (`loom_*.rs`), included with `mod loom_support;`.
//!
//! * [`check`] runs a model with the CI bounds as defaults (preemption bound 2, 10 000 branches) unless
//!   `LOOM_MAX_PREEMPTIONS` / `LOOM_MAX_BRANCHES` say otherwise, counts the executions loom explores and prints
//!   `<name>: N iterations in T` (run the test with `-- --nocapture` to see it).
//! * [`Counter`]/[`Counted`] count drops. They use `std` atomics on purpose: loom runs its threads one at a time on
//!   one OS thread, so a `std` counter is exact, and keeping the instrumentation out of the model keeps the state space
//!   to the runtime's own synchronization. The counters are created inside the model, fresh for each execution.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// Runs `model` under loom with the suite's default bounds and reports how many executions were explored.
pub fn check(name: &str, model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = Some(2);
    }
    if std::env::var_os("LOOM_MAX_BRANCHES").is_none() {
        builder.max_branches = 10_000;
    }
    let iterations = Arc::new(AtomicUsize::new(0));
    let counted = iterations.clone();
    let start = Instant::now();
    builder.check(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        model();
    });
    eprintln!(
        "{name}: {} iterations in {:.2?} (preemption bound {:?}, max branches {})",
        iterations.load(Ordering::Relaxed),
        start.elapsed(),
        builder.preemption_bound,
        builder.max_branches,
    );
}

/// A shared drop counter (see the module documentation for why it is a `std` atomic).
#[derive(Clone, Default, Debug)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    pub fn new() -> Counter {
        Counter::default()
    }

    /// A value whose drop increments this counter.
    pub fn token(&self) -> Counted {
        Counted(self.0.clone())
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Increments its [`Counter`] when dropped.
#[derive(Debug)]
pub struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `future` once with a no-op waker.
pub fn poll_noop<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// Returns `Pending` once (waking itself), then `Ready`: one trip through the ready queue.
pub async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// A one-shot signal from a model thread to a task: `set` from any thread, `wait` in a task. Built on loom's `Mutex`
/// (unlike the counters above) because the hand-off itself is part of the model: a lost wake-up must show up as a
/// deadlock.
#[derive(Clone)]
pub struct Signal(loom::sync::Arc<loom::sync::Mutex<(bool, Option<Waker>)>>);

impl Signal {
    pub fn new() -> Signal {
        Signal(loom::sync::Arc::new(loom::sync::Mutex::new((false, None))))
    }

    pub fn set(&self) {
        let waker = {
            let mut state = self.0.lock().unwrap();
            state.0 = true;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Ready once `set` was called. Not a corio checkpoint.
    pub async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.0.lock().unwrap();
            if state.0 {
                Poll::Ready(())
            } else {
                state.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}
