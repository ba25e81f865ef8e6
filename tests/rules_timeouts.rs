//! Timeout rules TO1–TO6 (see `docs/semantics.md`) and the drop
//! combinator `FutureExt::timeout`, on the virtual clock.

use corio::{Cancelled, Elapsed, FutureExt, JoinError};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

mod common;
use common::{push, trace, vloop, Out};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

// ----- TO1 ---------------------------------------------------------------------

#[test]
fn to1_expiry_cancels_the_body_which_cleans_up_and_the_scope_returns_elapsed() {
    // rule TO1
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let me = corio::current_task().unwrap();
        let t0 = corio::time();
        let o2 = o.clone();
        let r = corio::timeout(secs(2))
            .run(async move {
                match corio::sleep(secs(10)).await {
                    Ok(()) => Ok(()),
                    Err(c) => {
                        push(&o2, format!("body-cancelled cancelling={}", corio::current_task().unwrap().cancelling()));
                        corio::sleep(secs(1)).await?; // cleanup may await
                        push(&o2, "cleanup-done");
                        Err::<(), _>(c)
                    }
                }
            })
            .await;
        assert_eq!(r, Err(Elapsed::default()));
        push(&o, format!("elapsed at {:?} cancelling={}", corio::time() - t0, me.cancelling()));
        // No cancel is left: the next checkpoint proceeds.
        corio::yield_now().await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "body-cancelled cancelling=1 cleanup-done elapsed at 3s cancelling=0");
}

#[test]
fn to1_a_body_that_finishes_in_time_returns_its_value() {
    // rule TO1 (no expiry: the body's output, and no timer left behind)
    let lp = vloop();
    lp.block_on(async {
        let r = corio::timeout(secs(5)).run(async { corio::sleep(secs(1)).await.map(|()| 42) }).await;
        assert_eq!(r, Ok(Ok(42)));
    })
    .unwrap();
    assert_eq!(lp.timer_count(), 0);
    assert_eq!(lp.clock().elapsed(), secs(1));
}

#[test]
fn to1_an_expired_body_that_swallows_the_cancel_returns_its_value() {
    // rule TO1 (asyncio: no exception leaves the block, so no TimeoutError;
    // expired() is true)
    let lp = vloop();
    lp.block_on(async {
        let scope = corio::timeout(secs(1));
        let handle = scope.handle();
        let r = scope
            .run(async {
                let _ = corio::sleep(secs(10)).await; // swallowed
                "kept going"
            })
            .await;
        assert_eq!(r, Ok("kept going"));
        assert!(handle.expired());
        assert_eq!(corio::current_task().unwrap().cancelling(), 0);
    })
    .unwrap();
}

#[test]
fn to1_an_expired_body_that_fails_otherwise_keeps_its_error() {
    // rule TO1 (asyncio: another exception propagates, not TimeoutError)
    let lp = vloop();
    lp.block_on(async {
        let r = corio::timeout(secs(1))
            .run(async {
                match corio::sleep(secs(10)).await {
                    Ok(()) => Ok(()),
                    Err(_) => Err("my own error"),
                }
            })
            .await;
        assert_eq!(r, Ok(Err("my own error")));
    })
    .unwrap();
}

// ----- TO2 ---------------------------------------------------------------------

#[test]
fn to2_only_the_expired_scope_converts_inner_expiry() {
    // rule TO2: the inner scope expires; the outer passes its Elapsed on
    let lp = vloop();
    lp.block_on(async {
        let inner = corio::timeout(secs(1)).run(corio::sleep(secs(10)));
        let r = corio::timeout(secs(5)).run(inner).await;
        assert_eq!(r, Ok(Err(Elapsed::default())));
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(1));
}

#[test]
fn to2_outer_expiry_passes_through_the_inner_scope_as_cancelled() {
    // rule TO2: the outer scope expires; the inner one sees a cancel that
    // is not its own and passes it on as Cancelled
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let inner_scope = corio::timeout(secs(5));
        let inner_handle = inner_scope.handle();
        let o2 = o.clone();
        let inner = async move {
            let r = inner_scope.run(corio::sleep(secs(10))).await;
            match &r {
                Ok(Err(c)) => push(&o2, format!("inner-saw-cancelled:{:?}", c.message())),
                other => push(&o2, format!("inner:{other:?}")),
            }
            r.expect("not the inner scope's expiry") // Result<(), Cancelled>
        };
        let r = corio::timeout(secs(1)).run(inner).await;
        push(&o, format!("outer:{r:?} inner-expired={}", inner_handle.expired()));
    })
    .unwrap();
    assert_eq!(trace(&out), "inner-saw-cancelled:None outer:Err(Elapsed(())) inner-expired=false");
}

// ----- TO3 ---------------------------------------------------------------------

#[test]
fn to3_outer_cancel_together_with_expiry_propagates_as_cancelled() {
    // rule TO3: the expiry and an outer cancel land in the same iteration;
    // at exit the count is 2, uncancel leaves 1 > 0 (its value at entry):
    // not the scope's own, so it passes through as Cancelled.
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            let r = corio::timeout(secs(1)).run(corio::sleep(secs(10))).await;
            push(&o2, format!("scope:{}", if r.is_err() { "Elapsed" } else { "passed-through" }));
            r.unwrap_or(Ok(()))
        });
        corio::yield_now().await.unwrap(); // t entered its scope: its timer is due at t=1
        let target = corio::AnyTask::clone(&t);
        // Same deadline, scheduled later: fires right after the expiry.
        corio::call_at(corio::time() + secs(1), move || {
            target.cancel_with("outer");
        });
        match t.await {
            Err(JoinError::Cancelled(c)) => push(&o, format!("task-cancelled:{:?}", c.message())),
            other => push(&o, format!("task:{other:?}")),
        }
    })
    .unwrap();
    assert_eq!(trace(&out), "scope:passed-through task-cancelled:None");
}

#[test]
fn to3_outer_cancel_first_then_expiry_still_propagates_as_cancelled() {
    // rule TO3, the outer cancel requested before the scope expires (the
    // body is still waiting: it wakes with both requests counted)
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            let scope = corio::timeout(secs(1));
            let r = scope
                .run(async {
                    let me = corio::current_task().unwrap();
                    // The outer cancel and the expiry are both requested
                    // before the body runs again.
                    corio::call_soon(move || {
                        me.cancel_with("outer");
                    });
                    corio::sleep(secs(10)).await
                })
                .await;
            push(&o2, format!("scope:{r:?}"));
            r.unwrap_or(Ok(()))
        });
        assert!(t.await.unwrap_err().is_cancelled());
    })
    .unwrap();
    assert_eq!(trace(&out), "scope:Ok(Err(Cancelled(Some(\"outer\"))))");
}

// ----- TO4 ---------------------------------------------------------------------

#[test]
fn to4_past_deadline_around_a_body_that_never_waits_leaves_no_error_and_no_pending_cancel() {
    // rule TO4
    let lp = vloop();
    lp.block_on(async {
        corio::sleep(secs(5)).await.unwrap();
        let past = corio::time() - secs(1);
        let scope = corio::timeout_at(past);
        let handle = scope.handle();
        let r = scope.run(async { "no await" }).await;
        assert_eq!(r, Ok("no await"));
        assert!(!handle.expired());
        let me = corio::current_task().unwrap();
        assert_eq!(me.cancelling(), 0);
        corio::yield_now().await.unwrap(); // nothing pending
        corio::sleep(secs(1)).await.unwrap();
    })
    .unwrap();
}

#[test]
fn to4_past_deadline_around_a_body_that_waits_expires_at_the_next_iteration() {
    // rule TO4's other half (asyncio: call_soon(_on_timeout))
    let lp = vloop();
    lp.block_on(async {
        let past = corio::time();
        let r = corio::timeout_at(past).run(corio::yield_now()).await;
        assert_eq!(r, Err(Elapsed::default()));
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}

// ----- TO5 ---------------------------------------------------------------------

#[test]
fn to4_a_future_deadline_expires_before_timers_the_body_set_for_the_same_instant() {
    // rule L3 with TO1: the scope's expiry is scheduled on entry (asyncio's
    // `__aenter__`), so among equal deadlines it fires before the timers its
    // body sets. (corio arms the expiry only once the body waits, in the
    // place it took on entry.)
    let lp = vloop();
    lp.block_on(async {
        let me = corio::current_task().unwrap();
        let seen = Rc::new(Cell::new(None));
        let s = seen.clone();
        let r = corio::timeout(secs(1))
            .run(async move {
                let _ = corio::call_later(secs(1), move || s.set(Some(me.cancelling())));
                corio::sleep(secs(5)).await
            })
            .await;
        assert_eq!(r, Err(Elapsed::default()));
        assert_eq!(seen.get(), Some(1), "the expiry ran first: the task was already being cancelled");
    })
    .unwrap();
}

#[test]
fn to4_a_body_that_finishes_in_its_first_poll_leaves_no_timer() {
    let lp = vloop();
    let lp = &lp;
    lp.block_on(async {
        assert_eq!(corio::timeout(secs(1)).run(async { 7 }).await, Ok(7));
        assert_eq!(lp.timer_heap_len(), 0, "not even a cancelled entry awaiting its purge");
        // A body that waits does schedule the expiry (cancelled on exit).
        assert_eq!(corio::timeout(secs(1)).run(corio::yield_now()).await, Ok(Ok(())));
        assert_eq!((lp.timer_count(), lp.timer_heap_len()), (0, 1));
    })
    .unwrap();
}

#[test]
fn to5_wait_for_waits_for_the_inner_tasks_cleanup() {
    // rule TO5
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let inner = corio::spawn(async move {
            match corio::sleep(secs(10)).await {
                Ok(()) => Ok(0),
                Err(c) => {
                    corio::sleep(secs(2)).await?; // a slow cleanup
                    push(&o2, "inner-cleanup-done");
                    Err(c)
                }
            }
        });
        let r = corio::wait_for(secs(1), inner).await;
        push(&o, format!("wait_for:{}", if r.is_err() { "Elapsed" } else { "value" }));
    })
    .unwrap();
    assert_eq!(trace(&out), "inner-cleanup-done wait_for:Elapsed");
    assert_eq!(lp.clock().elapsed(), secs(3));
}

#[test]
fn to5_an_inner_task_that_suppresses_the_cancel_gives_its_value() {
    // rule TO5
    let lp = vloop();
    lp.block_on(async {
        let inner = corio::spawn(async {
            let swallowed = corio::sleep(secs(10)).await;
            assert!(swallowed.is_err());
            corio::sleep(secs(1)).await.unwrap();
            7
        });
        let r = corio::wait_for(secs(1), inner).await;
        assert_eq!(r.unwrap().unwrap(), 7);
        assert_eq!(corio::current_task().unwrap().cancelling(), 0);
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(2));
}

#[test]
fn to5_wait_for_a_plain_future_that_finishes_in_time() {
    // rule TO5 (the t04 oracle's last line)
    let lp = vloop();
    let r = lp.block_on(corio::wait_for(secs(1), async { corio::sleep(Duration::ZERO).await.map(|()| 7) }));
    assert_eq!(r.unwrap(), Ok(Ok(7)));
}

// ----- TO6 ---------------------------------------------------------------------

#[test]
fn to6_deadline_moves_while_the_scope_is_open() {
    // rule TO6
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let t0 = corio::time();
        // Pushed back: no expiry.
        let scope = corio::timeout(secs(1));
        let h = scope.handle();
        let r = scope
            .run(async {
                h.reschedule(Some(corio::time() + secs(10))).unwrap();
                corio::sleep(secs(5)).await
            })
            .await;
        push(&o, format!("later:{r:?}@{:?}", corio::time() - t0));

        // Brought forward.
        let scope = corio::timeout(secs(100));
        let h = scope.handle();
        let r = scope
            .run(async {
                h.reschedule(Some(corio::time() + secs(2))).unwrap();
                corio::sleep(secs(50)).await
            })
            .await;
        push(&o, format!("sooner:{r:?}@{:?}", corio::time() - t0));

        // Removed.
        let scope = corio::timeout(secs(1));
        let h = scope.handle();
        let r = scope
            .run(async {
                h.reschedule(None).unwrap();
                assert_eq!(h.when(), None);
                corio::sleep(secs(3)).await
            })
            .await;
        push(&o, format!("none:{r:?}@{:?}", corio::time() - t0));

        // After exit: an error, as asyncio's RuntimeError.
        let err = h.reschedule(Some(corio::time())).unwrap_err();
        push(&o, format!("after-exit:{err}"));
    })
    .unwrap();
    assert_eq!(
        trace(&out),
        "later:Ok(Ok(()))@5s sooner:Err(Elapsed(()))@7s none:Ok(Ok(()))@10s \
         after-exit:cannot reschedule a timeout that has exited"
    );
}

#[test]
fn to6_reschedule_before_entry_and_after_expiry() {
    // rule TO6 (corio lets a deadline be set before the scope runs;
    // asyncio's "expiring" state refuses)
    let lp = vloop();
    lp.block_on(async {
        let scope = corio::timeout(secs(100));
        let h = scope.handle();
        assert_eq!(h.when(), None, "relative deadlines are fixed on entry");
        h.reschedule(Some(corio::time() + secs(1))).unwrap();
        let h2 = h.clone();
        let r = scope
            .run(async move {
                let c = corio::sleep(secs(10)).await.unwrap_err();
                let err = h2.reschedule(Some(corio::time() + secs(100))).unwrap_err();
                assert_eq!(err.to_string(), "cannot reschedule a timeout that has expired");
                Err::<(), Cancelled>(c)
            })
            .await;
        assert_eq!(r, Err(Elapsed::default()));
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(1));
}

/// One trip through the ready queue, without being a checkpoint.
async fn plain_yield() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

#[test]
fn timeout_scope_dropped_after_expiry_takes_its_cancel_back() {
    // A scope dropped (here: it lost a race) after it expired but before
    // its cancel was delivered takes the request back; nothing is left
    // pending on the task.
    let lp = vloop();
    lp.block_on(async {
        let scope = corio::timeout(Duration::ZERO).run(std::future::pending::<()>());
        // The expiry runs first in the next iteration; then the race sees
        // the plain yield finish, and drops the expiring scope.
        let raced = corio::select(scope, plain_yield()).await;
        assert!(matches!(raced, corio::Either::Right(())));
        let me = corio::current_task().unwrap();
        assert_eq!(me.cancelling(), 0);
        corio::yield_now().await.unwrap(); // no cancel pending
    })
    .unwrap();
}

// ----- the drop combinator -------------------------------------------------------

/// Counts its drops: a future is dropped exactly once, whichever way it ends.
struct DropCount(Rc<Cell<u32>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn future_timeout_drops_a_future_that_does_not_finish_in_time() {
    let lp = vloop();
    lp.block_on(async {
        let drops = Rc::new(Cell::new(0));
        let flag = DropCount(drops.clone());
        let never = async move {
            let _flag = flag;
            std::future::pending::<()>().await // not a checkpoint: only a drop stops it
        };
        let mut timed = Box::pin(never.timeout(secs(2)));
        assert_eq!(timed.as_mut().await, Err(Elapsed::default()));
        assert_eq!(drops.get(), 1, "dropped at the deadline");
        drop(timed);
        assert_eq!(drops.get(), 1, "and only then");
        assert_eq!(corio::current_task().unwrap().cancelling(), 0, "it cancels nothing");
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(2));
}

#[test]
fn future_timeout_of_a_ready_future_touches_no_timer() {
    let lp = vloop();
    lp.block_on(async {
        assert_eq!(async { 3 }.timeout(secs(1)).await, Ok(3));
        let drops = Rc::new(Cell::new(0));
        let flag = DropCount(drops.clone());
        let finished = async move { drop(flag) }.timeout(secs(1));
        assert_eq!(finished.await, Ok(()));
        assert_eq!(drops.get(), 1);
        let deadline = corio::time() + secs(1);
        assert_eq!(async { 4 }.timeout_at(deadline).await, Ok(4));
    })
    .unwrap();
    assert_eq!(lp.timer_heap_len(), 0);
}

#[test]
fn future_timeout_leaves_the_tasks_cancel_to_the_inner_checkpoints() {
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async { corio::sleep(secs(10)).timeout(secs(5)).await });
        corio::yield_now().await.unwrap();
        t.cancel_with("stop");
        // The inner sleep received the cancel; the timer did not eat it.
        match t.await {
            Err(JoinError::Cancelled(c)) => assert_eq!(c.message(), Some("stop")),
            other => panic!("{other:?}"),
        }
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}

#[test]
fn a_dropped_scope_cannot_be_rearmed() {
    // A scope dropped before it expired (it lost a race) is over: moving
    // its deadline is an error, not a timer that would cancel the task.
    let lp = vloop();
    lp.block_on(async {
        let scope = corio::timeout(secs(10));
        let handle = scope.handle();
        let raced = corio::select(scope.run(corio::sleep(secs(5))), corio::sleep(secs(1))).await;
        assert!(matches!(raced, corio::Either::Right(Ok(()))));
        assert!(handle.reschedule(Some(corio::time() + secs(1))).is_err());
        corio::sleep(secs(2)).await.unwrap(); // no stray expiry
        assert_eq!(corio::current_task().unwrap().cancelling(), 0);
    })
    .unwrap();
}

#[test]
fn a_sleep_of_duration_max_waits_instead_of_overflowing_the_clock() {
    // A delay beyond about 68 years never comes (core/src/time/deadline.rs).
    let lp = vloop();
    lp.block_on(async {
        assert_eq!(corio::sleep(Duration::MAX).timeout(secs(1)).await, Err(Elapsed::default()));
        let t = corio::spawn(corio::sleep(Duration::MAX));
        corio::sleep(secs(3600 * 24 * 365)).await.unwrap();
        t.cancel();
        assert!(t.await.is_err());
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(1 + 3600 * 24 * 365));
}

#[test]
fn a_scope_entered_after_an_earlier_cancellation_does_not_take_it_for_its_own() {
    // The scope's entry mark counts the cancellations delivered before it
    // (here one, still held): only later ones can be its own (TO2, TO3).
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            let held = corio::sleep(secs(10)).await.unwrap_err();
            corio::current_task().unwrap().uncancel();
            // The scope expires, but its body swallows the cancellation it
            // was given: asyncio's `timeout` then ends normally.
            let swallowed = corio::wait_for(secs(1), async {
                let _ = corio::sleep(secs(10)).await;
                7
            })
            .await;
            drop(held); // a task returning it would end cancelled
            swallowed
        });
        corio::yield_now().await.unwrap();
        t.cancel();
        assert_eq!(t.await.unwrap(), Ok(7));
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(1));
}

#[test]
fn a_scope_knows_its_own_cancellation_while_an_earlier_one_is_still_held() {
    // Two live deliveries at once: the first (held by the body) and the
    // scope's expiry. The registry keeps the first inline and the second
    // beside it (core/src/runtime/registry.rs, `Extras`); the scope must
    // find the second as its own and return `Elapsed` (TO1), and the task,
    // having dropped both, ends with its value.
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            let held = corio::sleep(secs(10)).await.unwrap_err();
            let expired = corio::timeout(secs(1)).run(corio::sleep(secs(10))).await;
            let elapsed = matches!(expired, Err(Elapsed { .. }));
            drop((held, expired)); // a task returning either would end cancelled
            elapsed
        });
        corio::yield_now().await.unwrap();
        t.cancel();
        assert!(t.await.unwrap(), "the scope took its own expiry for someone else's cancellation");
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(1));
}

#[test]
fn a_wait_for_of_duration_max_never_expires_instead_of_overflowing_the_clock() {
    let lp = vloop();
    lp.block_on(async {
        assert_eq!(corio::wait_for(Duration::MAX, corio::sleep(secs(5))).await.map(|slept| slept.is_ok()), Ok(true));
        assert_eq!(corio::wait_for(Duration::MAX, async { 3 }).await, Ok(3));
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(5));
}

#[test]
fn a_timeout_shows_its_state_and_deadline_through_its_life() {
    // asyncio's Timeout repr: `<Timeout [created|active|expiring|expired|finished] when=...>`.
    let lp = vloop();
    lp.block_on(async {
        let t0 = corio::time();
        let scope = corio::timeout(secs(2));
        let h = scope.handle();
        assert_eq!(format!("{scope:?}"), "Timeout { state: Created, when: None }", "relative: fixed on entry");
        let out: Out = Rc::default();
        let (h2, o) = (h.clone(), out.clone());
        let r = scope
            .run(async move {
                push(&o, format!("{h2:?}"));
                let c = corio::sleep(secs(10)).await.unwrap_err();
                push(&o, format!("{h2:?}"));
                Err::<(), _>(c)
            })
            .await;
        assert_eq!(r, Err(Elapsed::default()));
        assert_eq!(Elapsed::default().to_string(), "deadline has elapsed");
        let io = std::io::Error::from(Elapsed::default());
        assert_eq!((io.kind(), io.to_string()), (std::io::ErrorKind::TimedOut, "deadline has elapsed".to_string()));
        let when = t0 + secs(2);
        push(&out, format!("{h:?}"));
        let entered = format!("Timeout {{ state: Entered, when: Some({when:?}) }}");
        let expiring = format!("Timeout {{ state: Expiring, when: Some({when:?}) }}");
        let expired = format!("Timeout {{ state: Expired, when: Some({when:?}) }}");
        assert_eq!(*out.borrow(), [entered, expiring, expired]);

        let at = corio::timeout_at(t0 + secs(9));
        assert_eq!(
            format!("{:?}", at.handle()),
            format!("Timeout {{ state: Created, when: Some({:?}) }}", t0 + secs(9))
        );
        let h = at.handle();
        at.run(async {}).await.unwrap();
        assert!(format!("{h:?}").starts_with("Timeout { state: Exited,"), "{h:?}");
        assert_eq!(format!("{:?}", corio::structured::Timeout::never()), "Timeout { state: Created, when: None }");

        let scope = corio::wait_for(secs(1), async { 5 });
        assert_eq!(format!("{scope:?}"), "Timeout { state: Created, when: None }");
        assert_eq!(scope.await, Ok(5));
    })
    .unwrap();
}

#[test]
fn to4_a_deadline_equal_to_now_expires_before_the_body_resumes() {
    // rule TO4 at its edge: asyncio's `Timeout.reschedule` calls `call_soon(_on_timeout)` when `when <= now`, so the
    // expiry is queued at entry, ahead of the body's own wake-up: a body that only yields is cancelled.
    let lp = vloop();
    lp.block_on(async {
        let now = corio::time();
        let r = corio::timeout_at(now).run(async { corio::sleep(Duration::ZERO).await }).await;
        assert_eq!(r, Err(Elapsed::default()));
        let r = corio::timeout(Duration::ZERO).run(async { corio::yield_now().await }).await;
        assert_eq!(r, Err(Elapsed::default()));
        let r = corio::timeout_at(now + Duration::from_nanos(1)).run(async { corio::yield_now().await }).await;
        assert_eq!(r, Ok(Ok(())), "a deadline still ahead lets the body resume");
        assert_eq!(corio::time(), now);
    })
    .unwrap();
}

#[test]
fn the_timeout_combinator_drops_its_future_exactly_once_and_shows_its_timer() {
    // `fut.timeout(d)` (tokio's drop semantics): the future is dropped at the deadline, or with the combinator,
    // never twice and never leaked; `Debug` shows whether it elapsed and the timer it holds.
    use futures_util::FutureExt as _;
    struct Counted(Rc<Cell<u32>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let lp = vloop();
    lp.block_on(async {
        let drops = Rc::new(Cell::new(0));
        let counted = Counted(drops.clone());
        let timed = async move {
            let _counted = counted;
            corio::sleep(secs(10)).await
        }
        .timeout(secs(1));
        let fresh = "Timed { elapsed: false, timer: Deadline { phase: After(1s), timer: None } }";
        assert_eq!(format!("{timed:?}"), fresh);
        let mut timed = Box::pin(timed);
        assert_eq!(timed.as_mut().await, Err(Elapsed::default()));
        assert_eq!(drops.get(), 1, "dropped at the deadline");
        assert!(format!("{timed:?}").starts_with("Timed { elapsed: true,"), "{timed:?}");
        drop(timed);
        assert_eq!(drops.get(), 1, "and not again with the combinator");

        let counted = Counted(drops.clone());
        let mut pending = Box::pin(
            async move {
                let _counted = counted;
                corio::sleep(secs(10)).await
            }
            .timeout(secs(1)),
        );
        assert!(pending.as_mut().now_or_never().is_none());
        assert!(format!("{pending:?}").contains("timer: Some("), "{pending:?}");
        drop(pending);
        assert_eq!(drops.get(), 2, "dropped with the combinator");
        assert_eq!(lp.timer_count(), 0, "with its timer");
    })
    .unwrap();
}
