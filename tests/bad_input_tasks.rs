//! Misusing tasks gets a clear answer — never a hang, never a silent loss:
//! awaiting another loop's task, a panic in a destructor during teardown,
//! awaiting a task whose output was taken. Virtual clock.

use corio::clock::VirtualClock;
use corio::runtime::EventLoop;
use corio::JoinError;
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
