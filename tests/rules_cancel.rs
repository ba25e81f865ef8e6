//! Cancellation rules C1–C5, C7, C9 (see `docs/semantics.md`), on the
//! virtual clock.

use corio::{Cancelled, FutureExt, JoinError};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

mod common;
use common::{push, trace, vloop, Out};

fn msg(c: &Cancelled) -> String {
    c.message().unwrap_or("<none>").to_string()
}

// ----- C1 ----------------------------------------------------------------------

#[test]
fn c1_cancel_with_message_is_returned_by_the_suspended_checkpoint() {
    // rule C1
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            let err = corio::sleep(Duration::from_secs(100)).await.unwrap_err();
            push(&o2, format!("sleep-returned:{}", msg(&err)));
            Err::<(), _>(err)
        });
        corio::yield_now().await.unwrap();
        assert!(t.cancel_with("go away"));
        push(&o, "cancel-requested");
        match t.await {
            Err(JoinError::Cancelled(c)) => push(&o, format!("joined-cancelled:{}", msg(&c))),
            other => panic!("{other:?}"),
        }
    })
    .unwrap();
    assert_eq!(trace(&out), "cancel-requested sleep-returned:go away joined-cancelled:go away");
    assert_eq!(lp.clock().elapsed(), Duration::ZERO, "the 100 s sleep was cut short");
}

#[test]
fn c1_first_message_wins_when_several_requests_are_pending() {
    // rule C1 (CPython 3.13: for a task suspended on a future, the first
    // cancel cancels that future with its message; later ones only set
    // _must_cancel, and the exception already carries the first message)
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            let err = corio::sleep(Duration::from_secs(100)).await.unwrap_err();
            (msg(&err), corio::current_task().unwrap().cancelling())
        });
        corio::yield_now().await.unwrap();
        assert!(t.cancel_with("first"));
        assert!(t.cancel_with("second"));
        assert!(t.cancel());
        assert_eq!(t.cancelling(), 3);
        assert_eq!(t.await.unwrap(), ("first".to_string(), 3));

        // A message-less first request wins too: the delivery has no message.
        let t = corio::spawn(async { msg(&corio::sleep(Duration::from_secs(100)).await.unwrap_err()) });
        corio::yield_now().await.unwrap();
        t.cancel();
        t.cancel_with("late");
        assert_eq!(t.await.unwrap(), "<none>");
    })
    .unwrap();
}

#[test]
fn c1_task_that_is_ready_takes_the_last_message() {
    // rule C1, as CPython 3.13 does it: a task that is ready to run (here:
    // re-queued by its own yield) is not waiting on a future, so cancel()
    // only sets _must_cancel and _cancel_message, and the last message wins.
    // (Checked against CPython: "ready-task:second".)
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            match corio::yield_now().await {
                Ok(()) => "yield-ok".to_string(),
                Err(e) => format!("ready-task:{}", msg(&e)),
            }
        });
        corio::yield_now().await.unwrap(); // t ran, yielded, and is queued again
        t.cancel_with("first");
        t.cancel_with("second");
        assert_eq!(t.await.unwrap(), "ready-task:second");
    })
    .unwrap();
}

#[test]
fn c1_task_cancelling_itself_sees_it_at_its_next_checkpoint() {
    // rule C1 (asyncio: current_task().cancel() raises at the next await)
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            let me = corio::current_task().unwrap();
            assert!(me.cancel_with("self"));
            let err = corio::sleep(Duration::from_secs(5)).await.unwrap_err();
            (msg(&err), me.cancelling())
        });
        assert_eq!(t.await.unwrap(), ("self".to_string(), 1));
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}

#[test]
fn c1_cancel_on_a_done_task_returns_false() {
    // rule C1 (asyncio: Task.cancel() on a done task returns False)
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async { 1 });
        corio::yield_now().await.unwrap();
        assert!(t.done());
        assert!(!t.cancel());
        assert!(!t.cancel_with("too late"));
        assert_eq!(t.cancelling(), 0);
        assert_eq!(t.await.unwrap(), 1);
    })
    .unwrap();
}

// ----- C2 ----------------------------------------------------------------------

#[test]
fn c2_cancelling_counts_requests_and_uncancel_decrements() {
    // rule C2
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let mut t = corio::spawn(async move {
            let me = corio::current_task().unwrap();
            let err = corio::sleep(Duration::from_secs(100)).await.unwrap_err();
            push(&o2, format!("caught cancelling={}", me.cancelling()));
            drop(err); // swallow it, as a timeout scope would...
            let left = me.uncancel(); // ...and take the requests back
            push(&o2, format!("uncancel->{left}"));
            push(&o2, format!("uncancel->{}", me.uncancel()));
            push(&o2, format!("uncancel->{}", me.uncancel())); // never below 0
            corio::sleep(Duration::from_secs(1)).await.unwrap(); // proceeds
            push(&o2, "slept");
            "survived"
        });
        corio::yield_now().await.unwrap();
        assert_eq!(t.cancelling(), 0);
        t.cancel();
        assert_eq!(t.cancelling(), 1);
        t.cancel();
        assert_eq!(t.cancelling(), 2);
        assert_eq!((&mut t).await.unwrap(), "survived");
        assert_eq!(t.cancelling(), 0);
    })
    .unwrap();
    assert_eq!(trace(&out), "caught cancelling=2 uncancel->1 uncancel->0 uncancel->0 slept");
}

#[test]
fn c2_uncancel_to_zero_withdraws_an_undelivered_request() {
    // rule C2 (3.13: uncancel() reaching 0 clears _must_cancel). The request
    // here is made before the task's first step, where CPython keeps it in
    // _must_cancel too.
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let mut t = corio::spawn(async move {
            push(&o2, "body-runs");
            corio::sleep(Duration::from_secs(1)).await.unwrap();
            push(&o2, "slept");
            5
        });
        t.cancel();
        t.cancel();
        assert_eq!(t.uncancel(), 1);
        assert_eq!(t.uncancel(), 0); // withdrawn
        assert_eq!((&mut t).await.unwrap(), 5);
        assert!(!t.cancelled());

        // Not withdrawn while a request remains.
        let o3 = o.clone();
        let u = corio::spawn(async move {
            push(&o3, "never");
        });
        u.cancel();
        u.cancel();
        assert_eq!(u.uncancel(), 1);
        assert!(u.await.unwrap_err().is_cancelled());
    })
    .unwrap();
    assert_eq!(trace(&out), "body-runs slept");
    assert_eq!(lp.clock().elapsed(), Duration::from_secs(1));
}

#[test]
fn c2_uncancel_does_not_withdraw_a_request_that_found_the_task_waiting() {
    // rule C2, as CPython 3.13 does it: cancelling a task that waits on a
    // future cancels that future at once, so uncancel() back to 0 does not
    // take the cancellation back; it arrives with cancelling() == 0.
    // (Checked against CPython: "uncancel->0 uncancel->0
    // waiting-task:x:cancelling=0".)
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            match corio::sleep(Duration::from_secs(10)).await {
                Ok(()) => push(&o2, "slept"),
                Err(e) => push(
                    &o2,
                    format!("waiting-task:{}:cancelling={}", msg(&e), corio::current_task().unwrap().cancelling()),
                ),
            }
        });
        corio::yield_now().await.unwrap(); // t waits in its sleep
        t.cancel_with("x");
        push(&o, format!("uncancel->{}", t.uncancel()));
        t.cancel_with("y");
        push(&o, format!("uncancel->{}", t.uncancel()));
        t.await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "uncancel->0 uncancel->0 waiting-task:x:cancelling=0");
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}

// ----- C3 ----------------------------------------------------------------------

#[test]
fn c3_delivery_is_edge_triggered() {
    // rule C3
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            for round in 1..=2 {
                match corio::sleep(Duration::from_secs(10)).await {
                    Ok(()) => push(&o2, format!("round{round}-slept")),
                    Err(c) => push(&o2, format!("round{round}-cancelled:{}", msg(&c))),
                }
                // After one delivery, later awaits proceed normally.
                corio::yield_now().await.unwrap();
                corio::sleep(Duration::from_secs(1)).await.unwrap();
                push(&o2, format!("round{round}-after"));
            }
            let r = corio::sleep(Duration::from_secs(5)).await;
            push(&o2, format!("final:{}", if r.is_ok() { "ok" } else { "cancelled" }));
        });
        corio::yield_now().await.unwrap();
        t.cancel_with("one");
        t.cancel_with("one-again"); // one delivery for both
        corio::sleep(Duration::from_secs(3)).await.unwrap();
        // t is now in round 2's sleep: cancel again.
        t.cancel_with("two");
        t.await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "round1-cancelled:one round1-after round2-cancelled:two round2-after final:ok");
}

// ----- C4 ----------------------------------------------------------------------

#[test]
fn c4_cancelled_before_first_poll_never_runs_its_body() {
    // rule C4
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let mut t = corio::spawn(async move {
            push(&o2, "body-ran");
            1
        });
        let o3 = o.clone();
        t.add_done_callback(move |info| push(&o3, format!("done cancelled={}", info.cancelled()))).unwrap();
        assert!(t.cancel_with("early"));
        match (&mut t).await {
            Err(JoinError::Cancelled(c)) => push(&o, format!("joined:{}", msg(&c))),
            other => panic!("{other:?}"),
        }
        assert!(t.done() && t.cancelled());
        assert_eq!(t.cancelling(), 1);
    })
    .unwrap();
    assert_eq!(trace(&out), "done cancelled=true joined:early");
}

// ----- C5 ----------------------------------------------------------------------

#[test]
fn c5_cancelled_task_cleans_up_with_further_awaits() {
    // rule C5
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            let t0 = corio::time();
            let err = corio::sleep(Duration::from_secs(60)).await.unwrap_err();
            push(&o2, "cleanup-start");
            corio::sleep(Duration::from_secs(5)).await.unwrap();
            corio::yield_now().await.unwrap();
            let inner = corio::spawn(async { 9 });
            let v = inner.await.unwrap();
            push(&o2, format!("cleanup-done:{v}:{}s", (corio::time() - t0).as_secs()));
            Err::<(), _>(err) // re-raise: the task ends cancelled
        });
        corio::sleep(Duration::from_secs(2)).await.unwrap();
        t.cancel();
        let joined = t.await;
        push(&o, format!("joined-cancelled={}", joined.unwrap_err().is_cancelled()));
    })
    .unwrap();
    assert_eq!(trace(&out), "cleanup-start cleanup-done:9:7s joined-cancelled=true");
    assert_eq!(lp.clock().elapsed(), Duration::from_secs(7));
}

#[test]
fn c5_swallowing_the_cancel_ends_the_task_normally() {
    // rule C5's corollary (asyncio: catching CancelledError and returning)
    let lp = vloop();
    lp.block_on(async {
        let mut t = corio::spawn(async {
            let swallowed = corio::sleep(Duration::from_secs(60)).await.is_err();
            corio::sleep(Duration::from_secs(1)).await.unwrap();
            swallowed
        });
        corio::yield_now().await.unwrap();
        t.cancel();
        assert!((&mut t).await.unwrap());
        assert!(!t.cancelled());
    })
    .unwrap();
}

#[test]
fn awaiting_a_cancelled_task_is_the_awaiters_own_cancellation_and_only_its_own() {
    // asyncio: awaiting a cancelled task raises CancelledError in the
    // awaiter; an awaiter that returns it ends cancelled, one that drops it
    // ends normally. The awaiter's token is the awaited task's when nobody
    // else holds that (core/src/runtime/local.rs, `adopt_cancelled`), and a
    // fresh one when somebody does: here one awaited task stashed a copy,
    // which must not make its awaiter, which dropped its own, end cancelled.
    let lp = vloop();
    lp.block_on(async {
        let stash: Rc<std::cell::RefCell<Option<Cancelled>>> = Rc::default();
        let s = stash.clone();
        let stashing = corio::spawn(async move {
            corio::current_task().unwrap().cancel_with("stashed");
            let c = corio::sleep(Duration::from_secs(60)).await.unwrap_err();
            *s.borrow_mut() = Some(c.clone());
            Err::<(), _>(c)
        });
        let plain = corio::spawn(async {
            corio::current_task().unwrap().cancel_with("plain");
            corio::sleep(Duration::from_secs(60)).await
        });
        let dropper = corio::spawn(async move { stashing.await.is_err() });
        let returner = corio::spawn(async move { plain.await.map(|_| ()) });
        assert!(dropper.await.unwrap(), "the awaited task ended cancelled");
        match returner.await {
            Err(JoinError::Cancelled(c)) => assert_eq!(msg(&c), "plain"),
            other => panic!("an awaiter returning the cancellation ends cancelled, not {other:?}"),
        }
        assert_eq!(stash.borrow().as_ref().and_then(Cancelled::message), Some("stashed"));
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}

// ----- C7 ----------------------------------------------------------------------

/// Records the thread its destructor runs on.
struct DropProbe {
    dropped_on: Arc<Mutex<Option<std::thread::ThreadId>>>,
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        *self.dropped_on.lock().unwrap() = Some(std::thread::current().id());
    }
}

#[test]
fn c7_abort_from_another_thread_drops_the_future_on_the_loop_thread() {
    // rule C7
    let lp = vloop();
    let dropped_on = Arc::new(Mutex::new(None));
    let probe = DropProbe { dropped_on: dropped_on.clone() };
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let mut t = corio::spawn(async move {
            let _probe = probe;
            // Even a body that swallows cancels cannot outlive an abort.
            loop {
                let _ = corio::sleep(Duration::from_secs(3600)).await;
                push(&o2, "woke");
            }
        });
        corio::yield_now().await.unwrap();
        std::thread::scope(|s| {
            s.spawn(|| t.abort()).join().unwrap();
        });
        // Not dropped inside abort(): at the loop's next opportunity.
        assert_eq!(*dropped_on.lock().unwrap(), None);
        match (&mut t).await {
            Err(JoinError::Cancelled(_)) => {}
            other => panic!("{other:?}"),
        }
        assert!(t.done() && t.cancelled());
        assert_eq!(*dropped_on.lock().unwrap(), Some(std::thread::current().id()));
    })
    .unwrap();
    assert_eq!(trace(&out), "");
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}

#[test]
fn c7_abort_on_the_loop_thread_drops_at_the_next_iteration() {
    // rule C7
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let dropped_on = Arc::new(Mutex::new(None));
        let probe = DropProbe { dropped_on: dropped_on.clone() };
        let o2 = o.clone();
        let t = corio::spawn(async move {
            let _probe = probe;
            push(&o2, "started");
            corio::sleep(Duration::from_secs(10)).await.unwrap();
            push(&o2, "never");
        });
        corio::yield_now().await.unwrap();
        t.abort();
        t.abort(); // idempotent
        assert!(!t.done());
        assert_eq!(*dropped_on.lock().unwrap(), None);
        push(&o, "aborted");
        assert!(t.await.unwrap_err().is_cancelled());
        assert_eq!(*dropped_on.lock().unwrap(), Some(std::thread::current().id()));

        // Abort before the first poll: the body never runs.
        let o3 = o.clone();
        let u = corio::spawn(async move { push(&o3, "u-never") });
        u.abort();
        assert!(u.await.unwrap_err().is_cancelled());
    })
    .unwrap();
    assert_eq!(trace(&out), "started aborted");
}

// ----- C9 ----------------------------------------------------------------------

/// A foreign future (not a corio checkpoint) that never completes and
/// records its drop.
struct Foreign {
    out: Out,
}

impl Future for Foreign {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<u32> {
        push(&self.out, "foreign-polled");
        Poll::Pending
    }
}

impl Drop for Foreign {
    fn drop(&mut self) {
        push(&self.out, "foreign-dropped");
    }
}

#[test]
fn c9_cancellable_drops_the_wrapped_foreign_future_on_delivery() {
    // rule C9
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            let r = Foreign { out: o2.clone() }.cancellable().await;
            match r {
                Err(c) => push(&o2, format!("task-got:{}", msg(&c))),
                Ok(v) => push(&o2, format!("value {v}")),
            }
            corio::sleep(Duration::from_secs(1)).await.unwrap(); // edge-triggered
            push(&o2, "task-end");
        });
        corio::yield_now().await.unwrap();
        t.cancel_with("stop-foreign");
        t.await.unwrap();

        // A completed foreign future passes its value through.
        let v = std::future::ready(3).cancellable().await.unwrap();
        push(&o, format!("ready:{v}"));
    })
    .unwrap();
    assert_eq!(trace(&out), "foreign-polled foreign-dropped task-got:stop-foreign task-end ready:3");
}

/// Yields once without being a corio checkpoint (like most foreign futures).
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn c9_pending_cancel_drops_the_foreign_future_before_its_first_poll() {
    // rule C9: a cancel already pending when the wrapper is first polled is
    // delivered there; the foreign future is dropped without running
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            YieldOnce(false).await; // not a checkpoint: the cancel stays pending
            let r = Foreign { out: o2.clone() }.cancellable().await;
            push(&o2, format!("cancelled={}", r.is_err()));
            r.map(|_| ())
        });
        corio::yield_now().await.unwrap(); // t is suspended in YieldOnce, already re-queued
        t.cancel();
        assert!(t.await.unwrap_err().is_cancelled());
    })
    .unwrap();
    assert_eq!(trace(&out), "foreign-dropped cancelled=true");
}

#[test]
fn a_second_request_while_one_is_pending_keeps_it_pending() {
    // rules C1, C3: requests are counted, not toggled. The task resumes from
    // a wait that is no checkpoint (a plain future) with a cancel pending,
    // asks for its own cancellation again before its next checkpoint, and
    // that checkpoint still delivers one cancellation.
    let lp = vloop();
    lp.block_on(async {
        let slot: Rc<std::cell::RefCell<Option<std::task::Waker>>> = Rc::default();
        let keep = slot.clone();
        let t = corio::spawn(async move {
            let mut polled = false;
            std::future::poll_fn(|cx| {
                if polled {
                    return Poll::Ready(());
                }
                polled = true;
                *keep.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            })
            .await;
            let me = corio::current_task().unwrap();
            assert_eq!(me.cancelling(), 1, "the pending request");
            me.cancel();
            assert_eq!(me.cancelling(), 2);
            corio::sleep(Duration::from_secs(1)).await
        });
        corio::yield_now().await.unwrap();
        slot.borrow_mut().take().unwrap().wake();
        t.cancel();
        // The sleep returns the delivered cancellation; the task, returning it, ends cancelled.
        assert!(t.await.unwrap_err().is_cancelled(), "the checkpoint after the second request delivers the cancel");

        // The same with the second request arriving while the task waits,
        // cancel still pending, on a second plain future.
        let slots: Rc<std::cell::RefCell<Vec<std::task::Waker>>> = Rc::default();
        let keep = slots.clone();
        let t = corio::spawn(async move {
            for _ in 0..2 {
                let mut polled = false;
                std::future::poll_fn(|cx| {
                    if polled {
                        return Poll::Ready(());
                    }
                    polled = true;
                    keep.borrow_mut().push(cx.waker().clone());
                    Poll::Pending
                })
                .await;
            }
            corio::sleep(Duration::from_secs(1)).await
        });
        corio::yield_now().await.unwrap();
        slots.borrow_mut().pop().unwrap().wake();
        t.cancel();
        corio::yield_now().await.unwrap(); // it runs on into the second plain wait, the cancel still pending
        assert_eq!(slots.borrow().len(), 1);
        t.cancel();
        corio::yield_now().await.unwrap();
        slots.borrow_mut().pop().unwrap().wake();
        assert!(t.await.unwrap_err().is_cancelled(), "two requests, one delivery");
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}
