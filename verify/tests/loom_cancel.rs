//! Loom model 4: a cancel racing a completion gives exactly one outcome, and no wake-up is lost (rule C8).
//!
//! Three races, each with the loop on the model's main thread:
//!
//! * `abort_racing_completion` — another thread aborts a task (`ABORT` in the state word, `core/src/task/state.rs`)
//!   while the loop polls it to completion. The handle sees the value iff the body reached its end, and `cancelled()`
//!   agrees with what the join returned; a completion is final, so an abort that lands during the last poll changes
//!   nothing (`abort_during_the_final_poll_keeps_the_value` starts the aborter from inside that poll). Caught mutant:
//!   `abort_overrides_completion`.
//! * `soft_cancel_racing_completion` — another thread cancels (asyncio's kind: posted to the loop, which sets `CANCEL`
//!   and wakes the task if it waits) a task that waits for a signal, then sends the signal. The task sees the signal
//!   before the loop takes the cancel (it returns its value), or the cancel first (it ends cancelled); never both,
//!   and the wake-ups are not lost. Caught mutant: `cancel_request_no_wake` (the cancel sets the bit, and the
//!   `SCHEDULED` bit with it, without queueing the waiting task: the signal's wake then finds it "scheduled" and the
//!   task never runs again — a deadlock).
//! * `completion_cancel_racing_set_result` — asyncio's `Future` (`Completion`, `core/src/completion.rs`) is cancelled
//!   and set from two threads while a task awaits it: exactly one finisher wins and the awaiter sees that one. Caught
//!   mutant: `completion_finish_two_step`.
//!
//! Each model asserts that both outcomes occur across its executions (a coverage check, as tokio's
//! `abort_all_during_completion`): a model that never reaches one of them checks less than it claims.
#![cfg(corio_loom)]

mod loom_support;

use corio_core::reactor::ParkReactor;
use corio_core::runtime::{EventLoop, LoopError};
use corio_core::task::{AnyTask, Cancelled, JoinError, Task};
use corio_core::{Completion, FutureExt};
use loom_support::{check, yield_once, Counter, Signal};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Joins `task` from the root: `Some(value)`, or `None` if it ended cancelled (the token is dropped here, so the root
/// itself ends normally).
async fn join<T>(task: Task<T>) -> Option<T> {
    match task.await {
        Ok(value) => Some(value),
        Err(JoinError::Cancelled(_)) => None,
        Err(JoinError::Panicked(p)) => panic!("the task panicked: {p}"),
    }
}

#[test]
fn abort_racing_completion() {
    static VALUE: AtomicUsize = AtomicUsize::new(0);
    static CANCELLED: AtomicUsize = AtomicUsize::new(0);

    check("loom_cancel::abort_racing_completion", || {
        let lp = EventLoop::new(ParkReactor::new());
        let finished = Counter::new();
        let f = finished.clone();
        let task = lp.spawn(async move {
            yield_once().await;
            f.bump(); // the body reached its end
            42usize
        });
        let target = AnyTask::clone(&task);
        let handle = AnyTask::clone(&task);
        let aborter = loom::thread::spawn(move || target.abort());

        let outcome = lp.block_on(join(task)).unwrap();
        aborter.join().unwrap();
        assert_eq!(handle.cancelled(), outcome.is_none(), "exactly one outcome, reported the same everywhere");
        match outcome {
            Some(42) => {
                assert_eq!(finished.get(), 1);
                VALUE.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                assert_eq!(finished.get(), 0, "the body finished, yet the handle reports cancelled");
                CANCELLED.fetch_add(1, Ordering::Relaxed);
            }
            Some(other) => panic!("unexpected value {other}"),
        }
        drop(lp);
    });

    let (value, cancelled) = (VALUE.load(Ordering::Relaxed), CANCELLED.load(Ordering::Relaxed));
    eprintln!("loom_cancel::abort_racing_completion: value {value}, cancelled {cancelled}");
    assert!(value > 0 && cancelled > 0, "both outcomes of the race must be reachable");
}

/// The abort arrives while the loop polls the task for the last time: the value the body returns stands (a
/// completion is final). The aborter is started from inside that poll, so the race is with the poll's end.
#[test]
fn abort_during_the_final_poll_keeps_the_value() {
    check("loom_cancel::abort_during_the_final_poll_keeps_the_value", || {
        let lp = EventLoop::new(ParkReactor::new());
        let aborter = Rc::new(RefCell::new(None));
        let slot = aborter.clone();
        let task = lp.spawn(async move {
            yield_once().await;
            let me = corio_core::current_task().unwrap();
            *slot.borrow_mut() = Some(loom::thread::spawn(move || me.abort()));
            42usize
        });
        let handle = AnyTask::clone(&task);
        let outcome = lp.block_on(join(task)).unwrap();
        aborter.borrow_mut().take().unwrap().join().unwrap();
        assert_eq!(outcome, Some(42), "the body returned 42; an abort during that poll must not override it");
        assert!(!handle.cancelled(), "the handle reports both outcomes: a value, and cancelled()");
        drop(lp);
    });
}

#[test]
fn soft_cancel_racing_completion() {
    static VALUE: AtomicUsize = AtomicUsize::new(0);
    static CANCELLED: AtomicUsize = AtomicUsize::new(0);

    check("loom_cancel::soft_cancel_racing_completion", || {
        let lp = EventLoop::new(ParkReactor::new());
        let threads = Rc::new(RefCell::new(Vec::new()));
        let t = threads.clone();
        // The task is the root itself (one task fewer to explore). It starts the two racers, then waits for the
        // signal in a checkpoint (`cancellable`): a delivered cancel drops the wait.
        let outcome = lp.block_on(async move {
            let me = corio_core::current_task().unwrap();
            let signal = Signal::new();
            let s = signal.clone();
            // One thread cancels, then signals. The cancel is posted to the loop; the signal may still win: the
            // task finds it set before the loop has taken the cancel.
            t.borrow_mut().push(loom::thread::spawn(move || {
                me.cancel();
                s.set();
            }));
            signal.wait().cancellable().await?;
            Ok::<_, Cancelled>(7usize)
        });
        for thread in threads.borrow_mut().drain(..) {
            thread.join().unwrap();
        }
        match outcome {
            Ok(Ok(7)) => VALUE.fetch_add(1, Ordering::Relaxed),
            Err(LoopError::Cancelled(_)) => CANCELLED.fetch_add(1, Ordering::Relaxed),
            other => panic!("unexpected outcome {other:?}"),
        };
        drop(lp);
    });

    let (value, cancelled) = (VALUE.load(Ordering::Relaxed), CANCELLED.load(Ordering::Relaxed));
    eprintln!("loom_cancel::soft_cancel_racing_completion: value {value}, cancelled {cancelled}");
    assert!(value > 0 && cancelled > 0, "both outcomes of the race must be reachable");
}

#[test]
fn completion_cancel_racing_set_result() {
    static VALUE: AtomicUsize = AtomicUsize::new(0);
    static CANCELLED: AtomicUsize = AtomicUsize::new(0);

    check("loom_cancel::completion_cancel_racing_set_result", || {
        let lp = EventLoop::new(ParkReactor::new());
        let fut: Completion<usize> = Completion::new();
        let f = fut.clone();
        let setter = loom::thread::spawn(move || f.set_result(5).is_ok());
        let f = fut.clone();
        let canceller = loom::thread::spawn(move || f.cancel());

        let seen = lp.block_on(async move { fut.wait().await.ok() }).unwrap();
        let (set, cancelled) = (setter.join().unwrap(), canceller.join().unwrap());
        assert!(set != cancelled, "exactly one finisher wins (set {set}, cancel {cancelled})");
        match seen {
            Some(5) => {
                assert!(set);
                VALUE.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                assert!(cancelled);
                CANCELLED.fetch_add(1, Ordering::Relaxed);
            }
            Some(other) => panic!("unexpected value {other}"),
        }
        drop(lp);
    });

    let (value, cancelled) = (VALUE.load(Ordering::Relaxed), CANCELLED.load(Ordering::Relaxed));
    eprintln!("loom_cancel::completion_cancel_racing_set_result: value {value}, cancelled {cancelled}");
    assert!(value > 0 && cancelled > 0, "both outcomes of the race must be reachable");
}
