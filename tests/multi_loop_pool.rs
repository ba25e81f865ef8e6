//! Tasks that move between loops (issue 27): `Loops::spawn` makes a task of
//! the runtime's pool, which an idle loop steals from a busy one and which
//! runs on the loop that wakes it. Each test forces the move it needs (a
//! loop kept busy, a wake from the other loop) and then checks that
//! cancellation, task groups, context variables, task dumps, metrics and
//! teardown still work for the task that moved.
//!
//! No timing is asserted; threads meet through channels, events and spins
//! on shared flags.

use corio::multi_loop::Loops;
use corio::sync::Event;
use corio::task::Cancelled;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn runtime(loops: usize) -> corio::MultiLoop {
    corio::multi_loop().loops(loops).shutdown_grace(Duration::from_secs(5)).build().unwrap()
}

/// The loop index this thread runs (0 is the caller's thread).
fn here(loops: &Loops) -> usize {
    loops.current().expect("on one of the runtime's loops")
}

/// Blocks the calling loop's thread until `flag` is set (a loop kept busy,
/// so that its queued pool tasks are there for another loop to steal).
fn hold_until(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
}

#[test]
fn pool_tasks_spawned_on_a_busy_loop_are_stolen_by_the_idle_one() {
    let rt = runtime(2);
    let loops = rt.loops();
    let ran_on = rt
        .run(async move {
            // Spawned from loop 0, which then stays busy: only loop 1 can
            // run them, by stealing them from loop 0's queue.
            let release = Arc::new(AtomicBool::new(false));
            let done = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let (release, done, l) = (release.clone(), done.clone(), loops.clone());
                    loops
                        .spawn(async move {
                            let at = here(&l);
                            if done.fetch_add(1, Ordering::SeqCst) + 1 == 8 {
                                release.store(true, Ordering::SeqCst);
                            }
                            at
                        })
                        .unwrap()
                })
                .collect();
            hold_until(&release);
            let mut ran_on = HashSet::new();
            for task in tasks {
                ran_on.insert(task.await.unwrap());
            }
            let stolen = corio::runtime::metrics().tasks_stolen;
            (ran_on, stolen)
        })
        .unwrap();
    assert_eq!(ran_on.0, HashSet::from([1]), "every task ran on the loop that stole it");
    assert_eq!(ran_on.1, 0, "loop 0 stole nothing");
}

#[test]
fn a_woken_pool_task_runs_on_the_loop_that_woke_it() {
    let rt = runtime(2);
    let loops = rt.loops();
    let seen = rt
        .run(async move {
            let event = Arc::new(Event::new());
            let (e, l) = (event.clone(), loops.clone());
            let waiter = loops
                .spawn(async move {
                    let before = here(&l);
                    e.wait().await?;
                    Ok::<_, Cancelled>((before, here(&l)))
                })
                .unwrap();
            // Let it start (wherever) and wait; then set the event from a
            // task pinned to loop 1: the waiter resumes on loop 1.
            while waiter.checkpoint().is_none() && !waiter.done() {
                corio::sleep(Duration::from_millis(1)).await.unwrap();
            }
            let e = event.clone();
            loops.spawn_on(1, async move { e.set() }).unwrap().await.unwrap();
            waiter.await.unwrap().unwrap()
        })
        .unwrap();
    assert_eq!(seen.1, 1, "resumed on the loop that set the event (it started on loop {})", seen.0);
}

#[test]
fn a_moved_task_can_be_cancelled_from_anywhere_and_uncancelled() {
    let rt = runtime(2);
    let loops = rt.loops();
    let (message, counts) = rt
        .run(async move {
            let started = Arc::new(Event::new());
            let s = started.clone();
            let task = loops
                .spawn(async move {
                    s.set();
                    // Each sleep's wake comes from the loop whose timer fired.
                    loop {
                        if let Err(cancelled) = corio::sleep(Duration::from_millis(1)).await {
                            return cancelled.message().map(str::to_string);
                        }
                    }
                })
                .unwrap();
            started.wait().await.unwrap();
            // From a plain thread: requests are counted at once (C2), and
            // one is taken back.
            let counts = std::thread::scope(|s| {
                s.spawn(|| {
                    assert!(task.cancel_with("from a thread"));
                    assert!(task.cancel());
                    let two = task.cancelling();
                    (two, task.uncancel())
                })
                .join()
                .unwrap()
            });
            (task.await.unwrap(), counts)
        })
        .unwrap();
    assert_eq!(counts, (2, 1));
    assert_eq!(message.as_deref(), Some("from a thread"), "the first message wins (C1)");
}

#[test]
fn a_pool_task_spawned_from_a_plain_thread_runs_on_a_loop() {
    let rt = runtime(2);
    let loops = rt.loops();
    let from_thread = loops.clone();
    let task = std::thread::spawn(move || {
        let probe = from_thread.clone();
        from_thread.spawn(async move { probe.current().is_some() }).unwrap()
    })
    .join()
    .unwrap();
    assert!(rt.block_on(task).unwrap().unwrap(), "it ran on one of the loops");
    rt.shutdown().unwrap();
    // After shutdown the pool refuses spawns.
    assert!(loops.spawn(async {}).is_err());
}

#[test]
fn pool_tasks_left_queued_on_a_loop_that_stops_run_on_another() {
    let rt = runtime(2);
    let loops = rt.loops();
    let (tx, rx) = std::sync::mpsc::channel();
    rt.block_on(async move {
        let probe = loops.clone();
        // Queued on loop 0, to run in its next iteration; but `block_on`
        // returns first, and loop 0 stops running.
        loops.spawn(async move { tx.send(probe.current()).unwrap() }).unwrap().detach();
    })
    .unwrap();
    // A hang guard, not a timing check: loop 0 never runs again before the
    // answer comes, so only loop 1 can run the task.
    let ran_on = rx.recv_timeout(Duration::from_secs(60)).expect("the task ran");
    assert_eq!(ran_on, Some(1));
    rt.shutdown().unwrap();
}
