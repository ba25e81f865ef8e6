//! Loom model 3: dropping a task's handle races with the task completing; the output is dropped exactly once, and
//! at the right time.
//!
//! `unset_join_interest` (`core/src/task/state.rs`) clears `JOIN_INTEREST` with a compare-exchange that fails once
//! `COMPLETE` is set: if it succeeds, the loop drops the output when the task completes; if it fails, the handle drops
//! it. The model checks the output was dropped exactly once by the time both sides are done *while the task is still
//! alive* (a waker clone the future stashed keeps it allocated), because a task's last reference also drops whatever
//! its stage holds: an output that neither side dropped would otherwise show up late, at deallocation, and still
//! count once.
//!
//! The handle is on another thread and is polled once (with a no-op waker, so it may register a join waker) before it
//! is dropped: the drop then also races the loop reading that waker at completion, which loom checks through the
//! slot's `UnsafeCell`. Caught mutant: `handle_drop_nonatomic`.
#![cfg(corio_loom)]

mod loom_support;

use corio_core::reactor::ParkReactor;
use corio_core::runtime::EventLoop;
use loom_support::{check, poll_noop, Counter};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Poll, Waker};

/// Across executions, all three ways the output can go must occur: the handle's poll takes it, the handle's drop
/// drops it (the task completed first), or the loop drops it at completion (the handle went first).
#[test]
fn output_dropped_once_when_handle_drop_races_completion() {
    static TAKEN: AtomicUsize = AtomicUsize::new(0);
    static HANDLE_DROPPED: AtomicUsize = AtomicUsize::new(0);
    static LOOP_DROPS: AtomicUsize = AtomicUsize::new(0);

    check("loom_handle_drop::output_dropped_once_when_handle_drop_races_completion", || {
        let lp = EventLoop::new(ParkReactor::new());
        let drops = Counter::new();
        let stash: Rc<RefCell<Option<Waker>>> = Rc::default();

        let output = drops.clone();
        let keep = stash.clone();
        let mut task = lp.spawn(std::future::poll_fn(move |cx| {
            // Keep the task allocated past both sides' decisions.
            *keep.borrow_mut() = Some(cx.waker().clone());
            Poll::Ready(output.token())
        }));
        let seen = drops.clone();
        let dropper = loom::thread::spawn(move || {
            if let Poll::Ready(result) = poll_noop(&mut task) {
                drop(result.expect("the task returns normally"));
                TAKEN.fetch_add(1, Ordering::Relaxed);
                return;
            }
            drop_handle_and_record(task, &seen, [&HANDLE_DROPPED, &LOOP_DROPS]);
        });

        // One iteration completes the task.
        lp.block_on(async {}).unwrap();
        dropper.join().unwrap();

        assert_eq!(drops.get(), 1, "the output must be dropped once by the handle or the loop, not left behind");
        drop(stash.borrow_mut().take()); // the last task reference
        assert_eq!(drops.get(), 1);
        drop(lp);
        assert_eq!(drops.get(), 1);
    });

    let (taken, handle, by_loop) =
        (TAKEN.load(Ordering::Relaxed), HANDLE_DROPPED.load(Ordering::Relaxed), LOOP_DROPS.load(Ordering::Relaxed));
    eprintln!("loom_handle_drop: output taken by poll {taken}, dropped by the handle {handle}, by the loop {by_loop}");
    assert!(taken > 0 && handle > 0 && by_loop > 0, "every outcome of the race must be reachable");
}

/// A handle dropped without ever being polled (a detached spawn), racing the task's completion on the loop, with
/// nothing else keeping the task allocated: the output is dropped exactly once, by the handle (the task completed
/// first) or by the loop (the handle went first), and the task is freed exactly once (loom's leak tracking of the
/// task allocation).
#[test]
fn unpolled_handle_drop_races_completion() {
    static HANDLE_DROPPED: AtomicUsize = AtomicUsize::new(0);
    static LOOP_DROPS: AtomicUsize = AtomicUsize::new(0);

    check("loom_handle_drop::unpolled_handle_drop_races_completion", || {
        let lp = EventLoop::new(ParkReactor::new());
        let drops = Counter::new();
        let output = drops.clone();
        let task = lp.spawn(async move { output.token() });
        let seen = drops.clone();
        let dropper = loom::thread::spawn(move || drop_handle_and_record(task, &seen, [&HANDLE_DROPPED, &LOOP_DROPS]));

        lp.block_on(async {}).unwrap();
        dropper.join().unwrap();
        assert_eq!(drops.get(), 1, "the output must be dropped once by the handle or the loop, not left behind");
        drop(lp);
        assert_eq!(drops.get(), 1);
    });

    let (handle, by_loop) = (HANDLE_DROPPED.load(Ordering::Relaxed), LOOP_DROPS.load(Ordering::Relaxed));
    eprintln!("loom_handle_drop (unpolled): output dropped by the handle {handle}, by the loop {by_loop}");
    assert!(handle > 0 && by_loop > 0, "both orders of the race must be reachable");
}

/// Drops the handle and counts who dropped the output: the handle (`by[0]`: the drop itself dropped it, the task
/// having completed first) or the loop (`by[1]`: not yet, so the loop does at completion).
fn drop_handle_and_record<T>(task: T, output_drops: &Counter, by: [&AtomicUsize; 2]) {
    let before = output_drops.get();
    drop(task);
    let outcome = if output_drops.get() > before { by[0] } else { by[1] };
    outcome.fetch_add(1, Ordering::Relaxed);
}
