//! Loom model 1: no lost wake-up when a task's completion races with its join handle registering a waker.
//!
//! The `JOIN_WAKER` protocol (`core/src/task/state.rs`, `join.rs`): the handle writes its waker into the task's slot
//! and publishes it with a compare-exchange that fails once `COMPLETE` is set; the loop sets `COMPLETE` and wakes the
//! slot's waker only if `JOIN_WAKER` was set. Either the handle sees the completion or the loop sees the waker.
//!
//! The loop runs on the model's main thread; a second thread awaits the `Task` with `loom::future::block_on`, whose
//! waker parks that thread on a loom primitive. A lost wake-up leaves it parked forever, which loom reports as a
//! deadlock. Caught mutant: `join_waker_unchecked`.
#![cfg(corio_loom)]

mod loom_support;

use corio_core::reactor::ParkReactor;
use corio_core::runtime::EventLoop;
use loom_support::{check, poll_noop};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

/// The handle registers the `block_on` waker while the loop completes the task. Across executions, both outcomes of
/// the race must occur: the first poll finds the task complete, or the handle waits and is woken.
#[test]
fn join_sees_completion_or_is_woken() {
    static FOUND_COMPLETE: AtomicUsize = AtomicUsize::new(0);
    static WOKEN: AtomicUsize = AtomicUsize::new(0);

    check("loom_join::join_sees_completion_or_is_woken", || {
        let lp = EventLoop::new(ParkReactor::new());
        let mut task = lp.spawn(async { 42usize });
        let joiner = loom::thread::spawn(move || {
            let mut polls = 0;
            let result = loom::future::block_on(std::future::poll_fn(|cx| {
                polls += 1;
                Pin::new(&mut task).poll(cx)
            }));
            let outcome = if polls == 1 { &FOUND_COMPLETE } else { &WOKEN };
            outcome.fetch_add(1, Ordering::Relaxed);
            result
        });
        // One iteration runs the spawned task (queued first) and the empty root future.
        lp.block_on(async {}).unwrap();
        assert_eq!(joiner.join().unwrap().unwrap(), 42);
        drop(lp);
    });

    let (found, woken) = (FOUND_COMPLETE.load(Ordering::Relaxed), WOKEN.load(Ordering::Relaxed));
    eprintln!("loom_join: found complete at first poll {found}, woken {woken}");
    assert!(found > 0 && woken > 0, "both outcomes of the race must be reachable");
}

/// As above, but the handle is first polled with a different waker, so the second poll replaces the registered waker
/// (`unset_join_waker`, rewrite, `set_join_waker`) while the loop completes the task.
#[test]
fn join_waker_replaced_during_completion() {
    check("loom_join::join_waker_replaced_during_completion", || {
        let lp = EventLoop::new(ParkReactor::new());
        let mut task = lp.spawn(async { 7usize });
        let joiner = loom::thread::spawn(move || match poll_noop(&mut task) {
            Poll::Ready(result) => result,
            Poll::Pending => loom::future::block_on(task),
        });
        lp.block_on(async {}).unwrap();
        assert_eq!(joiner.join().unwrap().unwrap(), 7);
        drop(lp);
    });
}
