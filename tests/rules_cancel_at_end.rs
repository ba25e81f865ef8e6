//! A cancel request that reaches a task after its last checkpoint still ends
//! it cancelled (asyncio's `_must_cancel`: `Task.__step` checks it when the
//! coroutine returns; CPython test_tasks `test_cancel_at_end`,
//! test_locks `test_wait_cancel_after_notify`, bpo-32841). Virtual clock.

use corio::sync::Condition;
use corio::JoinError;
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::vloop;

#[test]
fn a_task_that_cancels_itself_and_returns_ends_cancelled() {
    // rule C1 with asyncio's `_must_cancel` (test_tasks test_cancel_at_end)
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            assert!(corio::current_task().unwrap().cancel());
            12
        });
        let out = t.await;
        assert!(matches!(out, Err(JoinError::Cancelled(_))), "{out:?}");
    })
    .unwrap();
}

#[test]
fn the_message_of_a_request_pending_at_the_end_is_kept() {
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            corio::current_task().unwrap().cancel_with("late");
            "value"
        });
        corio::yield_now().await.unwrap();
        assert!(t.done() && t.cancelled(), "done and cancelled once it returned");
        match t.await {
            Err(JoinError::Cancelled(c)) => assert_eq!(c.message(), Some("late")),
            other => panic!("{other:?}"),
        }
    })
    .unwrap();
}

/// A future that is not a corio checkpoint: it wakes itself once and
/// returns `Pending`, then `Ready` (a foreign future, rule C9).
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            return std::task::Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

#[test]
fn a_request_that_finds_the_task_ready_ends_it_cancelled() {
    // The request finds the task ready (queued after a yield, not waiting),
    // so it only sets asyncio's `_must_cancel`. The task resumes in a
    // foreign future, not a checkpoint, and returns: its last step saw no
    // checkpoint, and it still ends cancelled.
    let lp = vloop();
    lp.block_on(async {
        let u = corio::spawn(async {
            YieldOnce(false).await;
            2
        });
        corio::yield_now().await.unwrap(); // u runs to its yield
        assert!(u.cancel());
        let out = u.await;
        assert!(matches!(out, Err(JoinError::Cancelled(_))), "{out:?}");
    })
    .unwrap();
}

#[test]
fn uncancel_to_zero_before_returning_withdraws_the_request() {
    // rule C2 (3.13): uncancel() reaching 0 clears `_must_cancel`.
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            let me = corio::current_task().unwrap();
            me.cancel();
            assert_eq!(me.uncancel(), 0);
            12
        });
        assert_eq!(t.await.unwrap(), 12);
    })
    .unwrap();
}

#[test]
fn a_cancel_during_a_condition_wait_reacquire_ends_the_task_cancelled() {
    // test_locks test_wait_cancel_after_notify (bpo-32841)
    let lp = vloop();
    lp.block_on(async {
        let cond = Arc::new(Condition::new());
        let waited = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (c, w) = (cond.clone(), waited.clone());
        let waiter = corio::spawn(async move {
            let mut guard = c.acquire().await?;
            w.store(true, std::sync::atomic::Ordering::SeqCst);
            guard.wait().await
        });
        corio::sleep(Duration::from_secs(1)).await.unwrap(); // start waiting

        let guard = cond.acquire().await.unwrap();
        guard.notify(1);
        corio::yield_now().await.unwrap(); // the waiter gets to acquire()
        waiter.cancel();
        corio::yield_now().await.unwrap(); // activate the cancellation
        drop(guard);
        corio::yield_now().await.unwrap(); // the cancellation occurs

        assert!(waiter.cancelled(), "done: {}, cancelling: {}", waiter.done(), waiter.cancelling());
        assert!(waited.load(std::sync::atomic::Ordering::SeqCst));
    })
    .unwrap();
}
