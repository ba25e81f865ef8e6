//! Misusing tasks gets a clear answer — never a hang, never a silent loss:
//! awaiting another loop's task, a panic in a destructor during teardown,
//! awaiting a task whose output was taken. Virtual clock.

use corio::clock::VirtualClock;
use corio::runtime::{EventLoop, ExceptionKind};
use corio::JoinError;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

mod common;
use common::vloop;

// ----- a task of another loop (defect 4) ------------------------------------

/// A second loop on this thread, not running while the first one runs.
fn two_loops() -> (EventLoop<corio::DefaultReactor, VirtualClock>, EventLoop<corio::DefaultReactor, VirtualClock>) {
    (vloop(), vloop())
}

#[test]
fn a_timeout_around_a_task_of_a_loop_that_is_not_running_expires() {
    let (lp, other) = two_loops();
    let task = other.spawn(corio::sleep(Duration::from_secs(60)));
    let out = lp.block_on(async { corio::timeout(Duration::from_secs(1)).run(task).await }).unwrap();
    assert!(matches!(out, Err(corio::Elapsed { .. })), "the timeout expires: {out:?}");
    assert_eq!(lp.clock().elapsed(), Duration::from_secs(1));
}

#[test]
fn wait_for_a_task_of_a_loop_that_is_not_running_expires() {
    let (lp, other) = two_loops();
    let task = other.spawn(async { 5 });
    let out = lp.block_on(async { corio::wait_for(Duration::from_secs(1), task).await }).unwrap();
    assert!(matches!(out, Err(corio::Elapsed { .. })), "{out:?}");
}

#[test]
fn a_task_of_a_loop_that_is_not_running_gets_the_cancel_when_its_loop_runs() {
    let (lp, other) = two_loops();
    let mut task = other.spawn(async {
        let err = corio::sleep(Duration::from_secs(60)).await.unwrap_err();
        Err::<(), _>(err)
    });
    let out = lp.block_on(async { corio::timeout(Duration::from_secs(1)).run(&mut task).await }).unwrap();
    assert!(matches!(out, Err(corio::Elapsed { .. })), "{out:?}");
    assert!(!task.done());
    // The expiry's cancel was passed on: the task sees it once its loop runs.
    let out = other.block_on(async move { matches!(task.await, Err(JoinError::Cancelled(_))) }).unwrap();
    assert!(out, "the task ended cancelled");
    assert_eq!(other.clock().elapsed(), Duration::ZERO, "the 60 s sleep was cut short");
}

// ----- a panic in a destructor during abort or teardown (defect 5) ------------

/// Panics when dropped (with a message the reports can be matched on).
struct PanicsOnDrop(&'static str);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

/// What an exception handler recorded: (kind, message) pairs.
type Seen = Rc<RefCell<Vec<(ExceptionKind, String)>>>;

/// A loop whose exception handler records what it is told.
fn reporting_loop() -> (EventLoop<corio::DefaultReactor, VirtualClock>, Seen) {
    let lp = vloop();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    lp.set_exception_handler(move |context| s.borrow_mut().push((context.kind, context.message)));
    (lp, seen)
}

fn reported(seen: &Seen, what: &str) -> bool {
    seen.borrow().iter().any(|(kind, message)| *kind == ExceptionKind::DropPanicked && message.contains(what))
}

#[test]
fn a_panic_while_an_aborted_tasks_future_is_dropped_is_reported() {
    let (lp, seen) = reporting_loop();
    lp.block_on(async {
        let guard = PanicsOnDrop("boom in abort");
        let task = corio::task::Builder::new().name("victim").spawn(async move {
            let _guard = guard;
            corio::sleep(Duration::from_secs(60)).await
        });
        corio::yield_now().await.unwrap();
        task.abort();
        assert!(matches!(task.await, Err(JoinError::Cancelled(_))));
    })
    .unwrap();
    assert!(reported(&seen, "boom in abort"), "{:?}", seen.borrow());
    assert!(seen.borrow().iter().any(|(_, m)| m.contains("victim")), "the report names the task");
}

#[test]
fn a_panic_while_a_task_cancelled_before_it_ran_is_dropped_is_reported() {
    // rule C4: the body never runs, its future is dropped unpolled.
    let (lp, seen) = reporting_loop();
    lp.block_on(async {
        let guard = PanicsOnDrop("boom before start");
        let task = corio::spawn(async move {
            let _guard = guard;
        });
        task.cancel();
        assert!(matches!(task.await, Err(JoinError::Cancelled(_))));
    })
    .unwrap();
    assert!(reported(&seen, "boom before start"), "{:?}", seen.borrow());
}

#[test]
fn a_panic_while_a_closing_loop_drops_a_task_is_reported() {
    let (lp, seen) = reporting_loop();
    let guard = PanicsOnDrop("boom at close");
    lp.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await
    })
    .detach();
    lp.block_on(corio::yield_now()).unwrap().unwrap();
    let seen_after = seen.clone();
    drop(lp); // closes: the task's future is dropped here
    assert!(reported(&seen_after, "boom at close"), "{:?}", seen_after.borrow());
}

#[test]
fn a_panic_while_a_detached_tasks_output_is_dropped_is_reported() {
    let (lp, seen) = reporting_loop();
    lp.block_on(async {
        corio::spawn(async { PanicsOnDrop("boom in output") }).detach();
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
    })
    .unwrap();
    assert!(reported(&seen, "boom in output"), "{:?}", seen.borrow());
}

#[test]
fn a_panic_while_a_handle_drops_an_unread_output_is_reported() {
    let (lp, seen) = reporting_loop();
    lp.block_on(async {
        let task = corio::spawn(async { PanicsOnDrop("boom in handle") });
        corio::yield_now().await.unwrap();
        assert!(task.done());
        drop(task); // the output was never read: the handle drops it
    })
    .unwrap();
    assert!(reported(&seen, "boom in handle"), "{:?}", seen.borrow());
}

#[test]
fn a_panic_at_shutdown_is_reported_and_teardown_goes_on() {
    let (lp, seen) = reporting_loop();
    let guard = PanicsOnDrop("boom at shutdown");
    lp.spawn(async move {
        let _guard = guard;
        // Ignores its cancellation: shutdown aborts it after the grace period.
        loop {
            let _ = corio::sleep(Duration::from_secs(1)).await;
        }
    })
    .detach();
    lp.block_on(corio::yield_now()).unwrap().unwrap();
    lp.shutdown(Duration::from_secs(5)).unwrap();
    assert!(reported(&seen, "boom at shutdown"), "{:?}", seen.borrow());
    assert_eq!(lp.task_count(), 0);
}

// ----- awaiting a task after its output was taken (defect 6) ----------------

#[test]
fn awaiting_a_task_again_after_its_output_was_taken_says_so() {
    let lp = vloop();
    let out = lp.block_on(async {
        let mut task = corio::spawn(async { 1 });
        assert_eq!((&mut task).await.unwrap(), 1);
        let _ = (&mut task).await; // the output is gone
    });
    match out {
        Err(corio::LoopError::Panicked(panic)) => {
            let message = panic.message().unwrap_or_default();
            assert!(message.contains("task awaited after its output was taken"), "{message}");
        }
        other => panic!("expected the misuse to be reported as a panic, got {other:?}"),
    }
}
