//! `corio::select!`, `corio::join!` and `corio::try_join!` (issue 22): which
//! branch wins, that the losers are dropped before the handler runs,
//! preconditions, refutable patterns, `else`, `biased;`, fairness of the
//! unbiased form, and cancellation reaching the branches. Virtual clock.

mod common;

use common::{push, trace, vloop, Out};
use corio::sync::{mpsc, oneshot, Notify};
use corio::{sleep, yield_now, Cancelled};
use std::rc::Rc;
use std::time::Duration;

/// Records its drop.
struct DropLog(Out, &'static str);

impl Drop for DropLog {
    fn drop(&mut self) {
        push(&self.0, format!("drop {}", self.1));
    }
}

#[test]
fn the_first_to_complete_wins_and_the_losers_are_dropped_before_its_handler() {
    vloop()
        .block_on(async {
            let out: Out = Rc::default();
            let (o1, o2) = (out.clone(), out.clone());
            let slow = async move {
                let _log = DropLog(o1, "slow");
                sleep(Duration::from_secs(5)).await?;
                Ok::<_, Cancelled>("slow")
            };
            let fast = async move {
                let _log = DropLog(o2, "fast");
                sleep(Duration::from_secs(1)).await?;
                Ok::<_, Cancelled>("fast")
            };
            let t0 = corio::time();
            let winner = corio::select! {
                v = slow => v?,
                v = fast => {
                    push(&out, "handler");
                    v?
                }
            };
            assert_eq!(winner, "fast");
            assert_eq!(corio::time() - t0, Duration::from_secs(1));
            assert_eq!(trace(&out), "drop fast drop slow handler");
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn a_precondition_disables_its_branch_without_polling_it() {
    vloop()
        .block_on(async {
            let polled = std::cell::Cell::new(false);
            let watched = std::future::poll_fn(|_| {
                polled.set(true);
                std::task::Poll::Ready(1)
            });
            let got = corio::select! {
                v = watched, if false => v,
                _ = sleep(Duration::from_secs(2)) => 2,
            };
            assert_eq!(got, 2);
            assert!(!polled.get(), "a disabled branch's future is not polled");
        })
        .unwrap();
}

#[test]
fn a_value_that_does_not_match_disables_the_branch_and_else_runs_when_all_are() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = mpsc::channel::<u32>(1).unwrap();
            drop(tx);
            // `Ok(None)` does not match `Ok(Some(v))`: the branch is disabled; the sleep wins.
            let got = corio::select! {
                Ok(Some(v)) = rx.recv() => v,
                _ = sleep(Duration::from_secs(1)) => 99,
            };
            assert_eq!(got, 99);
            // Every branch disabled: `else`.
            let got = corio::select! {
                Ok(Some(v)) = rx.recv() => v,
                v = async { 5 }, if false => v,
                else => 7,
            };
            assert_eq!(got, 7);
        })
        .unwrap();
}

#[test]
fn biased_polls_in_order_and_the_unbiased_form_rotates() {
    vloop()
        .block_on(async {
            for _ in 0..4 {
                let got = corio::select! {
                    biased;
                    v = async { "first" } => v,
                    v = async { "second" } => v,
                };
                assert_eq!(got, "first", "biased: the first ready branch in order");
            }
            let mut wins = [0; 3];
            for _ in 0..30 {
                let i = corio::select! {
                    i = async { 0 } => i,
                    i = async { 1 } => i,
                    i = async { 2 } => i,
                };
                wins[i] += 1;
            }
            assert_eq!(wins, [10, 10, 10], "always-ready branches share the wins");
        })
        .unwrap();
}

#[test]
fn a_loop_over_select_with_handlers_that_break_and_borrow() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = mpsc::channel::<u32>(4).unwrap();
            corio::spawn(async move {
                for i in 0..3 {
                    tx.send(i).await.unwrap();
                    sleep(Duration::from_secs(1)).await.unwrap();
                }
            })
            .detach();
            let mut got = Vec::new();
            let mut ticks = corio::time::interval(Duration::from_millis(2500)).unwrap();
            loop {
                corio::select! {
                    Ok(Some(v)) = rx.recv() => got.push(v),
                    _ = ticks.tick() => got.push(100),
                    else => break,
                }
                if got.len() == 6 {
                    break;
                }
            }
            // The tick at 0 and 2.5 s interleave with the values at 0, 1 and 2 s; the branch order rotates, so the
            // two ready at 0 s may come in either order.
            let mut first_two = got[..2].to_vec();
            first_two.sort_unstable();
            assert_eq!(first_two, [0, 100]);
            assert_eq!(got[2..], [1, 2, 100, 100]); // the channel closed: only the interval remains
        })
        .unwrap();
}

#[test]
fn a_cancel_reaches_the_branches_checkpoints() {
    vloop()
        .block_on(async {
            let notify = Rc::new(Notify::new());
            let n = notify.clone();
            let task = corio::spawn(async move {
                corio::select! {
                    r = n.notified() => r.map(|()| "notified"),
                    r = sleep(Duration::from_secs(10)) => r.map(|()| "slept"),
                }
            });
            yield_now().await.unwrap();
            task.cancel();
            assert!(task.await.unwrap_err().is_cancelled(), "the branch's Err(Cancelled) ended the task");
            notify.notify_one(); // the cancelled waiter left the queue: this is stored
            notify.notified().await.unwrap();
        })
        .unwrap();
}

#[test]
fn join_waits_for_all_and_keeps_the_argument_order() {
    vloop()
        .block_on(async {
            let t0 = corio::time();
            let (a, b, c) = corio::join!(
                async {
                    sleep(Duration::from_secs(3)).await.unwrap();
                    "a"
                },
                async {
                    sleep(Duration::from_secs(1)).await.unwrap();
                    2
                },
                async { 'c' },
            );
            assert_eq!((a, b, c), ("a", 2, 'c'));
            assert_eq!(corio::time() - t0, Duration::from_secs(3), "concurrently, not one after another");
            #[allow(clippy::let_unit_value)]
            let () = corio::join!();
        })
        .unwrap();
}

#[test]
fn try_join_returns_the_first_error_and_drops_the_rest() {
    vloop()
        .block_on(async {
            let out: Out = Rc::default();
            let o = out.clone();
            let t0 = corio::time();
            let result: Result<(u32, u32), &str> = corio::try_join!(
                async move {
                    let _log = DropLog(o, "slow");
                    sleep(Duration::from_secs(10)).await.unwrap();
                    Ok(1)
                },
                async {
                    sleep(Duration::from_secs(1)).await.unwrap();
                    Err("boom")
                },
            );
            assert_eq!(result, Err("boom"));
            assert_eq!(corio::time() - t0, Duration::from_secs(1));
            assert_eq!(trace(&out), "drop slow");
            let ok: Result<(u32, &str), ()> = corio::try_join!(async { Ok(1) }, async { Ok("two") });
            assert_eq!(ok, Ok((1, "two")));
        })
        .unwrap();
}

#[test]
fn select_over_a_oneshot_keeps_the_receiver_for_a_second_try() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = oneshot::channel::<u32>();
            let first = corio::select! {
                v = &mut rx => v.ok(),
                _ = sleep(Duration::from_secs(1)) => None,
            };
            assert_eq!(first, None, "the sleep won; the receiver lost nothing");
            tx.send(5).unwrap();
            assert_eq!(rx.await.unwrap(), 5);
        })
        .unwrap();
}
