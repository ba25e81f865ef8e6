//! trio's cancel scopes, with enforced cancellation: `CancelScope`,
//! `move_on_after`, `fail_after`, and shields (see `docs/semantics.md`,
//! "Cancel scopes"), on the virtual clock.

use corio::{CancelScope, Elapsed};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

mod common;
use common::{push, trace, vloop, Out};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Records its drop: the enforced cancellation runs destructors.
struct Guard(Out, &'static str);

impl Drop for Guard {
    fn drop(&mut self) {
        push(&self.0, format!("{}-dropped", self.1));
    }
}

#[test]
fn cancel_drops_the_body_at_its_suspension_and_the_scope_moves_on() {
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let scope = CancelScope::new();
        let canceller = scope.clone();
        corio::call_later(secs(2), move || canceller.cancel());
        let o2 = o.clone();
        let r = scope
            .run(async move {
                let _guard = Guard(o2.clone(), "body");
                // Ignores corio's cancellation entirely: it is dropped anyway.
                std::future::pending::<()>().await;
            })
            .await;
        push(&o, format!("moved-on:{r:?} caught={}", scope.cancelled_caught()));
        // Level-triggered: the cancellation stays.
        assert!(scope.cancel_called());
    })
    .unwrap();
    assert_eq!(trace(&out), "body-dropped moved-on:None caught=true");
    assert_eq!(lp.clock().elapsed(), secs(2));
}

#[test]
fn the_body_runs_until_its_first_suspension_even_if_cancelled_before_entry() {
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let scope = CancelScope::new();
        scope.cancel();
        // A body that finishes without suspending completes (trio: no
        // checkpoint was reached).
        assert_eq!(scope.run(async { 5 }).await, Some(5));
        assert!(!scope.cancelled_caught());
        let o2 = o.clone();
        let r = scope
            .run(async move {
                push(&o2, "ran-to-first-suspension");
                corio::yield_now().await.unwrap();
                push(&o2, "NOT-REACHED");
            })
            .await;
        assert_eq!(r, None);
        assert!(scope.cancelled_caught());
    })
    .unwrap();
    assert_eq!(trace(&out), "ran-to-first-suspension");
}

#[test]
fn cancel_from_inside_takes_effect_at_the_next_suspension() {
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let scope = CancelScope::new();
        let me = scope.clone();
        let o2 = o.clone();
        let r = scope
            .run(async move {
                me.cancel();
                push(&o2, "still-running-synchronously");
                corio::sleep(secs(1)).await.unwrap();
                push(&o2, "NOT-REACHED");
            })
            .await;
        push(&o, format!("{r:?}"));
    })
    .unwrap();
    assert_eq!(trace(&out), "still-running-synchronously None");
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}

#[test]
fn move_on_after_and_fail_after() {
    let lp = vloop();
    lp.block_on(async {
        let t0 = corio::time();
        assert_eq!(corio::move_on_after(secs(1), corio::sleep(secs(5))).await, None);
        assert_eq!(corio::time() - t0, secs(1));
        assert_eq!(corio::move_on_after(secs(5), async { corio::sleep(secs(1)).await.map(|()| 1) }).await, Some(Ok(1)));
        assert_eq!(corio::fail_after(secs(1), corio::sleep(secs(5))).await, Err(Elapsed::default()));
        assert_eq!(corio::fail_after(secs(5), async { 2 }).await, Ok(2));
        let deadline = corio::time() + secs(1);
        assert_eq!(corio::fail_at(deadline, std::future::pending::<()>()).await, Err(Elapsed::default()));
        assert_eq!(corio::move_on_at(corio::time(), corio::yield_now()).await, None, "a past deadline");
        assert_eq!(corio::time() - t0, secs(4));
        // They cancel nothing on the task.
        assert_eq!(corio::current_task().unwrap().cancelling(), 0);
    })
    .unwrap();
    assert_eq!(lp.timer_count(), 0, "no timer outlives its scope");
}

#[test]
fn the_deadline_moves() {
    let lp = vloop();
    lp.block_on(async {
        let t0 = corio::time();
        let scope = CancelScope::with_deadline(t0 + secs(1));
        let s = scope.clone();
        let r = scope
            .run(async move {
                s.set_deadline(Some(corio::time() + secs(3)));
                corio::sleep(secs(2)).await.unwrap();
                s.set_deadline(None);
                corio::sleep(secs(2)).await.unwrap();
                s.set_deadline(Some(corio::time())); // now: cancelled at once
                corio::sleep(secs(10)).await.unwrap();
            })
            .await;
        assert_eq!(r, None);
        assert_eq!(corio::time() - t0, secs(4));
        assert_eq!(scope.deadline(), Some(t0 + secs(4)));
    })
    .unwrap();
}

#[test]
fn nested_scopes_cancel_independently() {
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let outer = CancelScope::with_timeout(secs(10));
        let o2 = o.clone();
        let r = outer
            .run(async move {
                let inner = corio::move_on_after(secs(1), corio::sleep(secs(5))).await;
                push(&o2, format!("inner:{inner:?}"));
                corio::sleep(secs(1)).await.unwrap();
                "outer-finished"
            })
            .await;
        push(&o, format!("outer:{r:?}"));
    })
    .unwrap();
    assert_eq!(trace(&out), "inner:None outer:Some(\"outer-finished\")");
}

#[test]
fn a_shield_defers_an_outer_scopes_cancel_until_it_ends() {
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let outer = CancelScope::with_timeout(secs(1));
        let o2 = o.clone();
        let r = outer
            .run(async move {
                let shield = CancelScope::new();
                shield.set_shield(true);
                let o3 = o2.clone();
                let cleanup = shield
                    .run(async move {
                        let _guard = Guard(o3.clone(), "shielded");
                        corio::sleep(secs(3)).await.unwrap(); // outlives the outer deadline
                        push(&o3, "shielded-work-done");
                    })
                    .await;
                push(&o2, format!("after-shield:{cleanup:?}"));
                let _guard = Guard(o2.clone(), "after");
                corio::sleep(secs(5)).await.unwrap(); // the next suspension: dropped here
                push(&o2, "NOT-REACHED");
            })
            .await;
        push(&o, format!("outer:{r:?}"));
    })
    .unwrap();
    assert_eq!(trace(&out), "shielded-work-done shielded-dropped after-shield:Some(()) after-dropped outer:None");
    assert_eq!(lp.clock().elapsed(), secs(3));
}

#[test]
fn a_shield_holds_the_tasks_cancel_back_until_it_ends() {
    // asyncio's kind of cancel (task.cancel()) inside a trio-style shield:
    // held back at checkpoints inside, delivered at the first one after.
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            let shield = CancelScope::new();
            shield.set_shield(true);
            let o3 = o2.clone();
            shield
                .run(async move {
                    corio::sleep(secs(2)).await.unwrap(); // not interrupted
                    corio::yield_now().await.unwrap();
                    // Awaiting a task inside the shield does not pass the
                    // cancel on either (C6 is held back too).
                    let inner = corio::spawn(async { corio::sleep(secs(1)).await.map(|()| "inner-ok") });
                    push(
                        &o3,
                        format!(
                            "{} cancelling={}",
                            inner.await.unwrap().unwrap(),
                            corio::current_task().unwrap().cancelling()
                        ),
                    );
                })
                .await;
            match corio::yield_now().await {
                Ok(()) => push(&o2, "LOST"),
                Err(c) => push(&o2, format!("delivered-after-shield:{}", c.message().unwrap())),
            }
        });
        corio::sleep(secs(1)).await.unwrap();
        t.cancel_with("outer");
        t.await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "inner-ok cancelling=1 delivered-after-shield:outer");
    assert_eq!(lp.clock().elapsed(), secs(3));
}

#[test]
fn turning_a_shield_off_delivers_the_held_cancel() {
    let lp = vloop();
    lp.block_on(async {
        let shield = CancelScope::new();
        shield.set_shield(true);
        assert!(shield.shield());
        let s = shield.clone();
        let t = corio::spawn(async move { s.run(corio::sleep(secs(10))).await });
        corio::yield_now().await.unwrap();
        t.cancel();
        corio::sleep(secs(1)).await.unwrap();
        assert!(!t.done(), "held back");
        shield.set_shield(false);
        // The sleep got the cancel, and the task returned holding it.
        assert!(t.await.unwrap_err().is_cancelled());
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(1));
}

#[test]
fn a_shielded_scopes_own_cancel_still_drops_its_body() {
    let lp = vloop();
    lp.block_on(async {
        let shield = CancelScope::with_timeout(secs(1));
        shield.set_shield(true);
        assert_eq!(shield.run(corio::sleep(secs(5))).await, None);
        assert!(shield.cancelled_caught());
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(1));
}

#[test]
fn a_cancelled_scope_drops_a_task_group_and_its_children() {
    // Enforced cancellation around asyncio-style structure: the group is
    // dropped, which aborts its children (no orphans).
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let counted = Rc::new(Cell::new(0));
        let c = counted.clone();
        let o2 = o.clone();
        let r = corio::move_on_after(
            secs(1),
            corio::task_group(move |tg| async move {
                for _ in 0..3 {
                    let c = c.clone();
                    let o = o2.clone();
                    tg.spawn(async move {
                        let _guard = Guard(o, "child");
                        c.set(c.get() + 1);
                        corio::sleep(secs(10)).await?;
                        Ok::<_, std::io::Error>(())
                    })?;
                }
                corio::sleep(secs(10)).await?;
                Ok::<_, std::io::Error>(())
            }),
        )
        .await;
        assert!(r.is_none());
        corio::yield_now().await.unwrap();
        assert_eq!(counted.get(), 3);
    })
    .unwrap();
    assert_eq!(trace(&out), "child-dropped child-dropped child-dropped");
    assert_eq!(lp.task_count(), 0);
}

#[test]
fn a_scope_shows_its_state_and_arms_its_deadline_only_while_entered() {
    // trio's CancelScope attributes, through `Debug` too; a deadline set on a scope that is not running arms nothing:
    // it counts from entry.
    let lp = vloop();
    lp.block_on(async {
        let t0 = corio::time();
        let scope = CancelScope::with_timeout(Duration::from_secs(5));
        let shown = |s: &CancelScope, called: bool, caught: bool, shield: bool, deadline: Option<std::time::Instant>| {
            let expected = format!(
                "CancelScope {{ cancel_called: {called}, cancelled_caught: {caught}, shield: {shield}, deadline: {deadline:?} }}"
            );
            assert_eq!(format!("{s:?}"), expected);
        };
        shown(&scope, false, false, false, None); // relative: fixed on entry
        scope.set_shield(true);
        assert!(scope.shield());
        scope.set_shield(false);
        assert!(!scope.shield());

        let idle = CancelScope::new();
        idle.set_deadline(Some(t0 - Duration::from_secs(1)));
        idle.set_deadline(Some(t0 + Duration::from_secs(1)));
        corio::sleep(Duration::from_secs(2)).await.unwrap();
        assert!(!idle.cancel_called(), "a scope that never ran is not cancelled by its deadline");
        assert_eq!(lp.timer_count(), 0, "and holds no timer");
        idle.set_deadline(Some(corio::time() - Duration::from_secs(1)));
        assert!(!idle.cancel_called());
        let body = idle.run(corio::sleep(Duration::from_secs(1)));
        assert_eq!(format!("{body:?}"), format!("{idle:?}"));
        assert_eq!(body.await, None, "entered with its deadline past: cancelled at once");
        shown(&idle, true, true, false, Some(corio::time() - Duration::from_secs(1)));

        let entered = scope.run(async { corio::sleep(Duration::from_secs(10)).await });
        assert_eq!(entered.await, None);
        shown(&scope, true, true, false, Some(corio::time()));
        assert_eq!(corio::time() - t0, Duration::from_secs(7));
    })
    .unwrap();
}

#[test]
fn lifting_a_shield_wakes_the_body_and_nothing_else_does() {
    // Only lifting a shield can let a held-back cancel in, so only that re-polls the body.
    let lp = vloop();
    lp.block_on(async {
        let scope = Rc::new(CancelScope::new());
        let polls = Rc::new(Cell::new(0));
        let (s, p) = (scope.clone(), polls.clone());
        let body = corio::spawn(async move {
            s.run(std::future::poll_fn(|_| {
                p.set(p.get() + 1);
                std::task::Poll::<()>::Pending
            }))
            .await
        });
        let settle = || async {
            for _ in 0..3 {
                corio::yield_now().await.unwrap();
            }
        };
        settle().await;
        assert_eq!(polls.get(), 1);
        for (shield, wakes) in [(false, false), (true, false), (true, false), (false, true)] {
            let before = polls.get();
            scope.set_shield(shield);
            settle().await;
            assert_eq!(polls.get() > before, wakes, "set_shield({shield})");
        }
        scope.cancel();
        assert_eq!(body.await.unwrap(), None);
    })
    .unwrap();
}

#[test]
fn a_scope_future_dropped_while_running_leaves_and_takes_its_timer() {
    use futures_util::FutureExt as _;
    let lp = vloop();
    lp.block_on(async {
        let scope = CancelScope::with_timeout(Duration::from_secs(5));
        let mut running = Box::pin(scope.run(corio::sleep(Duration::from_secs(10))));
        assert!(running.as_mut().now_or_never().is_none());
        assert_eq!(lp.timer_count(), 2, "the body's sleep and the scope's deadline");
        drop(running);
        assert_eq!(lp.timer_count(), 0);
        // No longer running: a new deadline arms nothing.
        scope.set_deadline(Some(corio::time() + Duration::from_secs(1)));
        assert_eq!(lp.timer_count(), 0);
        corio::sleep(Duration::from_secs(2)).await.unwrap();
        assert!(!scope.cancel_called());
    })
    .unwrap();
}
