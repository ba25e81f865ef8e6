//! Rule C8: a cancel racing a completion gives exactly one outcome and
//! never loses a wake-up — from the loop's thread (deterministic orders)
//! and from other threads (real races, repeated; every interleaving of the
//! same races is explored by loom model 4 in `verify/tests/loom_cancel.rs`).
//!
//! No test here sleeps or measures time: threads meet at barriers.

use corio::{Cancelled, Completion, JoinError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

mod common;
use common::{push, trace, vloop, Out};

const ROUNDS: usize = 200;

// ----- on the loop's thread --------------------------------------------------

/// A task that yields once and then returns; a callback cancels it in the
/// iteration where it would finish, queued before or after its last step.
fn same_iteration(cancel_first: bool) -> String {
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let slot: Rc<std::cell::RefCell<Option<corio::AnyTask>>> = Rc::default();
        let o3 = o.clone();
        let s = slot.clone();
        let cancel = move || {
            let target = s.borrow_mut().take().unwrap();
            push(&o3, format!("cancel()={}", target.cancel()));
        };
        let mut cancel = Some(cancel);
        if cancel_first {
            // Queued before the task is spawned, this runs first in the
            // task's first iteration and queues the cancel ahead of the
            // task's last step (which its yield queues later).
            let cancel = cancel.take().unwrap();
            corio::call_soon(move || {
                corio::call_soon(cancel);
            });
        }
        let o2 = o.clone();
        let task = corio::spawn(async move {
            corio::yield_now().await?; // the last checkpoint before finishing
            push(&o2, "body-finished");
            Ok::<_, Cancelled>(5)
        });
        *slot.borrow_mut() = Some(corio::AnyTask::clone(&task));
        if !cancel_first {
            corio::yield_now().await.unwrap();
            corio::yield_now().await.unwrap(); // the task has finished
            corio::call_soon(cancel.take().unwrap());
            corio::yield_now().await.unwrap();
        }
        match task.await {
            Ok(v) => push(&o, format!("value:{}", v.unwrap())),
            Err(JoinError::Cancelled(_)) => push(&o, "cancelled"),
            Err(e) => panic!("{e}"),
        }
    })
    .unwrap();
    trace(&out)
}

use std::rc::Rc;

#[test]
fn c8_cancel_before_the_last_step_wins() {
    // rule C8
    assert_eq!(same_iteration(true), "cancel()=true cancelled");
}

#[test]
fn c8_cancel_after_completion_is_refused_and_the_value_stands() {
    // rule C8
    assert_eq!(same_iteration(false), "body-finished cancel()=false value:5");
}

#[test]
fn c8_abort_of_a_finished_task_changes_nothing() {
    // rule C8 (abort is the hard cancel; a completion is final, F1)
    let lp = vloop();
    lp.block_on(async {
        let task = corio::spawn(async { 9 });
        corio::yield_now().await.unwrap();
        assert!(task.done());
        task.abort();
        assert!(!task.cancelled());
        assert_eq!(task.await.unwrap(), 9);
    })
    .unwrap();
}

// ----- from other threads ------------------------------------------------------

/// A task that meets `barrier`, then runs `checkpoints` yields (a soft
/// cancel is delivered at one of them), records that its body finished and
/// returns 42.
fn racer(
    lp: &corio::EventLoop,
    barrier: Arc<Barrier>,
    finished: Arc<AtomicBool>,
) -> corio::Task<Result<u32, Cancelled>> {
    lp.spawn(async move {
        barrier.wait(); // the other thread acts from here on, concurrently
        for _ in 0..3 {
            corio::yield_now().await?;
        }
        finished.store(true, Ordering::SeqCst);
        Ok(42)
    })
}

/// Joins `task` from the root task: `Some(value)` or `None` if it ended
/// cancelled (the token is dropped here, so the root itself goes on).
async fn join(task: corio::Task<Result<u32, Cancelled>>) -> Option<u32> {
    match task.await {
        Ok(Ok(value)) => Some(value),
        Err(JoinError::Cancelled(_)) => None,
        other => panic!("{other:?}"),
    }
}

#[test]
fn c8_cross_thread_soft_cancel_racing_completion() {
    // rule C8: the handle sees the value iff the body finished; a cancel()
    // that reports the task already done never comes with a cancelled
    // outcome; every round ends (no lost wake-up).
    for _ in 0..ROUNDS {
        let lp = corio::new_event_loop().unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let finished = Arc::new(AtomicBool::new(false));
        let task = racer(&lp, barrier.clone(), finished.clone());
        let target = corio::AnyTask::clone(&task);
        let canceller = std::thread::spawn(move || {
            barrier.wait();
            target.cancel()
        });
        let outcome = lp.block_on(join(task)).unwrap();
        let accepted = canceller.join().unwrap();
        match outcome {
            Some(42) => assert!(finished.load(Ordering::SeqCst)),
            None => {
                assert!(!finished.load(Ordering::SeqCst), "a cancelled task's body did not finish");
                assert!(accepted, "a refused cancel cannot cancel");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn c8_cross_thread_abort_racing_completion() {
    // rule C8, with the hard cancel: the future is dropped at the next
    // opportunity unless it has completed — then the value stands.
    for _ in 0..ROUNDS {
        let lp = corio::new_event_loop().unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let finished = Arc::new(AtomicBool::new(false));
        let task = racer(&lp, barrier.clone(), finished.clone());
        let target = corio::AnyTask::clone(&task);
        let aborter = std::thread::spawn(move || {
            barrier.wait();
            target.abort();
        });
        let outcome = lp.block_on(join(task)).unwrap();
        aborter.join().unwrap();
        match outcome {
            Some(42) => assert!(finished.load(Ordering::SeqCst)),
            None => assert!(!finished.load(Ordering::SeqCst)),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn c8_completion_cancel_racing_set_result_from_two_threads() {
    // rule C8 on asyncio's Future: exactly one of set_result and cancel
    // wins, and the awaiting task sees that one.
    for _ in 0..ROUNDS {
        let lp = corio::new_event_loop().unwrap();
        let fut: Completion<u32> = Completion::new();
        let barrier = Arc::new(Barrier::new(3));
        let (f1, b1, h1) = (fut.clone(), barrier.clone(), lp.handle());
        let setter = std::thread::spawn(move || {
            let _keep = h1;
            b1.wait();
            f1.set_result(7).is_ok()
        });
        let (f2, b2, h2) = (fut.clone(), barrier.clone(), lp.handle());
        let canceller = std::thread::spawn(move || {
            let _keep = h2;
            b2.wait();
            f2.cancel()
        });
        let seen = lp
            .block_on(async move {
                let waiting = fut.wait();
                barrier.wait();
                waiting.await.map_err(|c| c.message().map(str::to_string))
            })
            .unwrap();
        let (set, cancelled) = (setter.join().unwrap(), canceller.join().unwrap());
        assert!(set != cancelled, "exactly one finisher wins (set {set}, cancel {cancelled})");
        match seen {
            Ok(7) => assert!(set),
            Err(None) => assert!(cancelled),
            other => panic!("{other:?}"),
        }
    }
}
