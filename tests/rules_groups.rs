//! Task group rules G1–G7 (see `docs/semantics.md`), on the virtual clock.

use corio::{Cancelled, ChildError, GroupError, JoinError, SpawnError};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

mod common;
use common::{push, trace, vloop, Out};

/// The error type of the groups below: a cancellation (kept, so `?` still
/// cancels), a failure, or a refused spawn.
#[derive(Debug)]
#[allow(dead_code)] // the payloads are for Debug output
enum E {
    Cancelled(Cancelled),
    Fail(&'static str),
    Spawn(SpawnError),
}

impl From<Cancelled> for E {
    fn from(c: Cancelled) -> Self {
        E::Cancelled(c)
    }
}

impl From<SpawnError> for E {
    fn from(e: SpawnError) -> Self {
        E::Spawn(e)
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Sleeps `s` seconds, recording how it ended; propagates a cancel.
async fn sleeper(out: Out, name: &'static str, s: u64) -> Result<&'static str, E> {
    match corio::sleep(secs(s)).await {
        Ok(()) => {
            push(&out, format!("{name}-done"));
            Ok(name)
        }
        Err(c) => {
            push(&out, format!("{name}-cancelled"));
            Err(c.into())
        }
    }
}

/// Sleeps `s` seconds, then fails.
async fn failer(out: Out, name: &'static str, s: u64) -> Result<&'static str, E> {
    corio::sleep(secs(s)).await?;
    push(&out, format!("{name}-fails"));
    Err(E::Fail(name))
}

fn fail_names(err: &GroupError<E>) -> Vec<&'static str> {
    let group = err.failures().expect("a failed group");
    group
        .errors()
        .map(|e| match e {
            E::Fail(name) => *name,
            other => panic!("not a failure: {other:?}"),
        })
        .collect()
}

// ----- G1 ----------------------------------------------------------------------

#[test]
fn g1_group_waits_for_every_child_including_ones_added_while_exiting() {
    // rule G1
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let r = corio::task_group(|tg| {
            let o = o.clone();
            async move {
                let tg2 = tg.clone();
                let o2 = o.clone();
                tg.spawn(async move {
                    corio::sleep(secs(1)).await?;
                    push(&o2, "a-done");
                    // The body has returned: the group is waiting to exit.
                    tg2.spawn(sleeper(o2.clone(), "late", 2))?;
                    Ok::<_, E>(())
                })?;
                push(&o, "body-returns");
                Ok::<_, E>("body-value")
            }
        })
        .await;
        push(&o, format!("group-exited:{}", r.unwrap()));
    })
    .unwrap();
    assert_eq!(trace(&out), "body-returns a-done late-done group-exited:body-value");
    assert_eq!(lp.clock().elapsed(), secs(3));
}

#[test]
fn g1_children_results_are_reachable_after_the_group_and_in_completion_order() {
    // rule G1 (asyncio: task.result() after the block; tokio: JoinSet)
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let (a, b) = corio::task_group(|tg| {
            let o = o.clone();
            async move {
                let a = tg.spawn(sleeper(o.clone(), "a", 2))?;
                let b = tg.spawn(sleeper(o.clone(), "b", 1))?;
                // Join in completion order while the group runs.
                let mut done =
                    corio::as_completed([tg.spawn(sleeper(o.clone(), "x", 3))?, tg.spawn(sleeper(o.clone(), "y", 1))?]);
                while let Some(r) = done.next().await? {
                    push(&o, format!("joined:{}", r.unwrap()));
                }
                Ok::<_, E>((a, b))
            }
        })
        .await
        .unwrap();
        assert!(a.done() && b.done());
        push(&o, format!("after:{},{}", a.await.unwrap(), b.await.unwrap()));
    })
    .unwrap();
    assert_eq!(trace(&out), "b-done y-done joined:y a-done x-done joined:x after:a,b");
}

// ----- G2 ----------------------------------------------------------------------

#[test]
fn g2_first_failure_cancels_siblings_and_body() {
    // rule G2
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    let parent_cancelling = lp
        .block_on(async move {
            let r = corio::task_group(|tg| {
                let o = o.clone();
                async move {
                    tg.spawn(sleeper(o.clone(), "sibling", 10))?;
                    tg.spawn(failer(o.clone(), "bad", 1))?;
                    sleeper(o.clone(), "body", 10).await?;
                    push(&o, "body-after-sleep");
                    Ok::<_, E>(())
                }
            })
            .await;
            assert_eq!(fail_names(&r.unwrap_err()), ["bad"]);
            // The group's own cancel of the task was taken back (G4): the
            // next checkpoint proceeds.
            corio::yield_now().await.unwrap();
            corio::current_task().unwrap().cancelling()
        })
        .unwrap();
    assert_eq!(parent_cancelling, 0);
    // The sibling (a child) is cancelled first, then the body (the parent).
    assert_eq!(trace(&out), "bad-fails sibling-cancelled body-cancelled");
    assert_eq!(lp.clock().elapsed(), secs(1));
}

#[test]
fn g2_a_cancelled_child_is_not_a_failure() {
    // rule G2 ("the first failure that is *not a cancellation*")
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let r = corio::task_group(|tg| {
            let o = o.clone();
            async move {
                let victim = tg.spawn(sleeper(o.clone(), "victim", 10))?;
                tg.spawn(sleeper(o.clone(), "survivor", 3))?;
                corio::sleep(secs(1)).await?;
                victim.cancel_with("just this one");
                match victim.await {
                    Err(ChildError::Cancelled(c)) => push(&o, format!("victim-joined:{}", c.message().unwrap())),
                    other => panic!("{other:?}"),
                }
                Ok::<_, E>("ok")
            }
        })
        .await;
        assert_eq!(r.unwrap(), "ok");
    })
    .unwrap();
    assert_eq!(trace(&out), "victim-cancelled victim-joined:just this one survivor-done");
    assert_eq!(lp.clock().elapsed(), secs(3));
}

#[test]
fn g2_a_child_that_turns_its_cancel_into_an_error_fails() {
    // rule G2 (asyncio: `except CancelledError: raise ValueError` is a
    // failure; token liveness: the child dropped the token)
    let lp = vloop();
    lp.block_on(async {
        let r = corio::task_group(|tg| async move {
            let c = tg.spawn(async {
                match corio::sleep(secs(10)).await {
                    Ok(()) => Ok(()),
                    Err(_cancelled) => Err(E::Fail("converted")),
                }
            })?;
            corio::yield_now().await?;
            c.cancel();
            Ok::<_, E>(())
        })
        .await;
        assert_eq!(fail_names(&r.unwrap_err()), ["converted"]);
    })
    .unwrap();
}

#[test]
fn g2_a_child_error_that_carries_its_cancellation_is_a_cancellation() {
    // rule G2 (token liveness through io::Error: the child's error still
    // holds the Cancelled it was given, so it ended cancelled)
    let lp = vloop();
    lp.block_on(async {
        let r = corio::task_group(|tg| async move {
            let c = tg.spawn(async {
                corio::sleep(secs(10)).await?; // Cancelled -> io::Error, token kept
                Ok::<_, std::io::Error>(())
            })?;
            corio::yield_now().await?;
            c.cancel();
            assert!(c.await.unwrap_err().is_cancelled());
            Ok::<_, std::io::Error>(1)
        })
        .await;
        assert_eq!(r.unwrap(), 1);
    })
    .unwrap();
}

// ----- G3 ----------------------------------------------------------------------

#[test]
fn g3_every_failure_comes_back_with_its_source_in_completion_order() {
    // rule G3
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let r = corio::task_group(|tg| {
            let o = o.clone();
            async move {
                tg.spawn_with(corio::task::Builder::new().name("second"), failer(o.clone(), "second", 2))?;
                tg.spawn_with(corio::task::Builder::new().name("first"), failer(o.clone(), "first", 1))?;
                // Fails in its cleanup once cancelled by the first failure.
                tg.spawn_with(corio::task::Builder::new().name("cleanup"), async {
                    match corio::sleep(secs(10)).await {
                        Ok(()) => Ok(()),
                        Err(_) => Err(E::Fail("cleanup")),
                    }
                })?;
                match corio::sleep(secs(10)).await {
                    Ok(()) => Ok::<_, E>(()),
                    Err(_) => Err(E::Fail("body")), // the body's own failure
                }
            }
        })
        .await;
        let err = r.unwrap_err();
        assert_eq!(fail_names(&err), ["first", "cleanup", "body"]);
        let sources: Vec<String> = err.failures().unwrap().failures().iter().map(|f| f.source.to_string()).collect();
        assert_eq!(sources, ["first", "cleanup", "the body"]);
        assert!(matches!(err.failures().unwrap().failures()[2].source, corio::structured::Source::Body));
    })
    .unwrap();
    // "second" was cancelled before it could fail.
    assert_eq!(trace(&out), "first-fails");
}

#[test]
fn g3_failures_in_one_iteration_keep_the_order_they_ended_in() {
    // rule G3: b and d end in the same iteration (same deadline; b's timer
    // was set first); both are kept, b first.
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let r = corio::task_group(|tg| {
            let o = o.clone();
            async move {
                tg.spawn(failer(o.clone(), "b", 2))?;
                tg.spawn(failer(o.clone(), "d", 2))?;
                Ok::<_, E>(())
            }
        })
        .await;
        assert_eq!(fail_names(&r.unwrap_err()), ["b", "d"]);
    })
    .unwrap();
    assert_eq!(trace(&out), "b-fails d-fails");
}

// ----- G4 ----------------------------------------------------------------------

#[test]
fn g4_outer_cancel_without_failure_is_a_plain_cancel() {
    // rule G4
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            let me = corio::current_task().unwrap();
            let r = corio::task_group(|tg| {
                let o = o2.clone();
                async move {
                    tg.spawn(sleeper(o.clone(), "child", 10))?;
                    sleeper(o.clone(), "body", 10).await?;
                    Ok::<_, E>(())
                }
            })
            .await;
            match &r {
                Err(GroupError::Cancelled(c)) => push(&o2, format!("plain-cancel:{}", c.message().unwrap())),
                other => panic!("{other:?}"),
            }
            push(&o2, format!("cancelling={}", me.cancelling()));
            r.map_err(|e| match e {
                GroupError::Cancelled(c) => c, // propagating it cancels the task
                GroupError::Failed(_) => unreachable!(),
            })
        });
        corio::sleep(secs(1)).await.unwrap();
        t.cancel_with("outer");
        assert!(t.await.unwrap_err().is_cancelled());
    })
    .unwrap();
    assert_eq!(trace(&out), "body-cancelled child-cancelled plain-cancel:outer cancelling=1");
}

#[test]
fn g4_the_groups_own_cancel_is_taken_back() {
    // rule G4: after a failure made the group cancel its parent,
    // cancelling() returns to its value at entry and nothing is left
    // pending: the next checkpoint proceeds.
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            let me = corio::current_task().unwrap();
            let before = me.cancelling();
            let r = corio::task_group(|tg| async move {
                tg.spawn(failer(Out::default(), "bad", 1))?;
                corio::sleep(secs(5)).await?;
                Ok::<_, E>(())
            })
            .await;
            assert!(!r.unwrap_err().is_cancelled());
            let after = me.cancelling();
            corio::sleep(secs(1)).await.unwrap();
            (before, after)
        });
        assert_eq!(t.await.unwrap(), (0, 0));
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(2));
}

#[test]
fn g4_a_cancel_swallowed_without_uncancel_still_counts_as_outer() {
    // rule G4/G5 as CPython 3.13 counts: a cancel that was delivered and
    // swallowed without `uncancel()` keeps cancelling() at 1, so the group
    // treats it as an outer cancel and requests it again after a failure
    // (checked against CPython: "(1, 1, 'cancelled')").
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            let me = corio::current_task().unwrap();
            me.cancel();
            assert!(corio::yield_now().await.is_err()); // swallowed
            let before = me.cancelling();
            let r = corio::task_group(|tg| async move {
                tg.spawn(failer(Out::default(), "bad", 1))?;
                corio::sleep(secs(5)).await?;
                Ok::<_, E>(())
            })
            .await;
            assert!(!r.unwrap_err().is_cancelled());
            let next = if corio::sleep(secs(1)).await.is_ok() { "slept" } else { "cancelled" };
            (before, me.cancelling(), next)
        });
        assert_eq!(t.await.unwrap(), (1, 1, "cancelled"));
    })
    .unwrap();
}

// ----- G5 ----------------------------------------------------------------------

#[test]
fn g5_outer_cancel_plus_failure_gives_the_group_and_the_cancel_is_redelivered() {
    // rule G5 (asyncio 3.13)
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            let r = corio::task_group(|tg| {
                let o = o2.clone();
                async move {
                    // Cancelled by the outer cancel's abort, it fails in its
                    // cleanup: a failure.
                    tg.spawn(async {
                        match corio::sleep(secs(10)).await {
                            Ok(()) => Ok(()),
                            Err(_) => Err(E::Fail("cleanup")),
                        }
                    })?;
                    sleeper(o.clone(), "body", 10).await?;
                    Ok::<_, E>(())
                }
            })
            .await;
            push(&o2, format!("group:{:?}", fail_names(&r.unwrap_err())));
            // The outer cancel was not swallowed: the next checkpoint gets it.
            match corio::sleep(secs(1)).await {
                Ok(()) => push(&o2, "LOST-the-outer-cancel"),
                Err(c) => push(&o2, format!("redelivered:{}", c.message().unwrap_or("<none>"))),
            }
            Ok::<_, Cancelled>(())
        });
        corio::sleep(secs(1)).await.unwrap();
        t.cancel_with("outer");
        t.await.unwrap().unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "body-cancelled group:[\"cleanup\"] redelivered:<none>");
    assert_eq!(lp.clock().elapsed(), secs(1));
}

// ----- G6 ----------------------------------------------------------------------

/// A future that records whether it was polled and dropped.
fn probe(polled: Rc<Cell<bool>>, dropped: Rc<Cell<bool>>) -> impl std::future::Future<Output = Result<(), E>> {
    struct OnDrop(Rc<Cell<bool>>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let guard = OnDrop(dropped);
    async move {
        let _guard = guard;
        polled.set(true);
        Ok(())
    }
}

#[test]
fn g6_spawning_into_a_finished_group_is_an_error_and_the_future_is_dropped_unpolled() {
    // rule G6 (finished)
    let lp = vloop();
    lp.block_on(async {
        let mut leaked = None;
        corio::task_group(|tg| {
            leaked = Some(tg.clone());
            async { Ok::<_, E>(()) }
        })
        .await
        .unwrap();
        let (polled, dropped) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
        let r = leaked.unwrap().spawn(probe(polled.clone(), dropped.clone()));
        assert_eq!(r.unwrap_err(), SpawnError::Finished);
        assert!(dropped.get() && !polled.get());
    })
    .unwrap();
}

#[test]
fn g6_spawning_into_a_shutting_down_group_is_an_error() {
    // rule G6 (shutting down after a failure)
    let lp = vloop();
    lp.block_on(async {
        let (polled, dropped) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
        let (p, d) = (polled.clone(), dropped.clone());
        let r = corio::task_group(|tg| async move {
            tg.spawn(failer(Out::default(), "bad", 1))?;
            let cancelled = corio::sleep(secs(5)).await.unwrap_err();
            let refused = tg.spawn(probe(p, d)).unwrap_err();
            assert_eq!(refused, SpawnError::ShuttingDown);
            assert_eq!(refused.to_string(), "the task group is shutting down");
            Err::<(), _>(E::from(cancelled))
        })
        .await;
        assert_eq!(fail_names(&r.unwrap_err()), ["bad"]);
        assert!(dropped.get() && !polled.get());
    })
    .unwrap();
}

#[test]
fn g6_a_dropped_group_refuses_spawns_and_aborts_its_children() {
    // rule G6 (finished: dropped), and "no orphans"
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let mut leaked = None;
        let mut child = None;
        let group = corio::task_group(|tg| {
            leaked = Some(tg.clone());
            let o = o.clone();
            let child = &mut child;
            async move {
                *child = Some(tg.spawn(sleeper(o, "orphan?", 10))?);
                corio::sleep(secs(10)).await?;
                Ok::<_, E>(())
            }
        });
        // The group loses the race and is dropped mid-flight.
        let raced = corio::select(group, corio::sleep(secs(1))).await;
        assert!(matches!(raced, corio::Either::Right(Ok(()))));
        let child = child.take().unwrap();
        corio::yield_now().await.unwrap();
        assert!(child.done() && child.cancelled(), "aborted, not left running");
        let (polled, dropped) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
        assert_eq!(leaked.unwrap().spawn(probe(polled.clone(), dropped.clone())).unwrap_err(), SpawnError::Finished);
        assert!(dropped.get() && !polled.get());
    })
    .unwrap();
    assert_eq!(trace(&out), "", "aborted children do not run again (no cleanup)");
    assert_eq!(lp.task_count(), 0);
}

// ----- G7 ----------------------------------------------------------------------

#[test]
fn g7_child_panic_cancels_siblings_and_is_resumed_once_all_children_are_done() {
    // rule G7
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            let _ = corio::task_group(|tg| {
                let o = o2.clone();
                async move {
                    tg.spawn(async {
                        corio::sleep(secs(1)).await?;
                        panic!("boom");
                        #[allow(unreachable_code)]
                        Ok::<(), E>(())
                    })?;
                    let o3 = o.clone();
                    tg.spawn(async move {
                        if corio::sleep(secs(10)).await.is_err() {
                            push(&o3, "sibling-cancelled");
                            corio::sleep(secs(1)).await?; // cleanup takes a second
                            push(&o3, "sibling-cleanup-done");
                        }
                        Ok::<(), E>(())
                    })?;
                    sleeper(o.clone(), "body", 10).await?;
                    Ok::<_, E>(())
                }
            })
            .await;
            push(&o2, "NOT-REACHED");
        });
        match t.await {
            Err(JoinError::Panicked(p)) => push(&o, format!("resumed:{}", p.message().unwrap())),
            other => panic!("{other:?}"),
        }
    })
    .unwrap();
    assert_eq!(trace(&out), "sibling-cancelled body-cancelled sibling-cleanup-done resumed:boom");
    assert_eq!(lp.clock().elapsed(), secs(2));
}

#[test]
fn g7_body_panic_cancels_children_and_is_resumed_after_them() {
    // rule G7 (a panic of the body is a failure too)
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            let _ = corio::task_group(|tg| {
                let o = o2.clone();
                async move {
                    tg.spawn(sleeper(o.clone(), "child", 10))?;
                    corio::sleep(secs(1)).await?;
                    panic!("body-boom");
                    #[allow(unreachable_code)]
                    Ok::<(), E>(())
                }
            })
            .await;
        });
        let panic = t.await.unwrap_err().into_panic().unwrap();
        push(&o, format!("resumed:{}", panic.message().unwrap()));
    })
    .unwrap();
    assert_eq!(trace(&out), "child-cancelled resumed:body-boom");
}

#[test]
fn g7_a_second_panic_is_reported_not_lost() {
    // rule G7: one panic is resumed; the other goes to the exception handler
    let lp = vloop();
    let reports: Out = Rc::default();
    let r = reports.clone();
    lp.set_exception_handler(move |ctx| push(&r, ctx.message.clone()));
    lp.block_on(async {
        let t = corio::spawn(corio::task_group(|tg| async move {
            for name in ["one", "two"] {
                tg.spawn(async move {
                    corio::sleep(secs(1)).await?;
                    panic!("{name}");
                    #[allow(unreachable_code)]
                    Ok::<(), E>(())
                })?;
            }
            Ok::<_, E>(())
        }));
        assert_eq!(t.await.unwrap_err().into_panic().unwrap().message(), Some("one"));
    })
    .unwrap();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("two"), "{reports:?}");
}

#[test]
fn g7_a_panic_in_a_dropped_groups_child_is_reported_not_lost() {
    // rule G7 for a group that can no longer resume it: dropped (it lost a
    // race in the iteration where its child panicked), the group reports
    // the panic and leaves its task alone.
    let lp = vloop();
    let reports: Out = Rc::default();
    let r = reports.clone();
    lp.set_exception_handler(move |ctx| push(&r, ctx.message.clone()));
    lp.block_on(async {
        let group = corio::task_group(|tg| async move {
            tg.spawn(async {
                corio::sleep(secs(1)).await?;
                panic!("lost?");
                #[allow(unreachable_code)]
                Ok::<(), E>(())
            })?;
            corio::sleep(secs(10)).await?;
            Ok::<_, E>(())
        });
        // At t=1 the child panics; the race is won one iteration later,
        // before the group's done-callback has seen the panic.
        let race = async {
            corio::sleep(secs(1)).await?;
            corio::yield_now().await
        };
        let raced = corio::select(group, race).await;
        assert!(matches!(raced, corio::Either::Right(Ok(()))));
        corio::sleep(secs(1)).await.unwrap(); // not cancelled by the dead group
        assert_eq!(corio::current_task().unwrap().cancelling(), 0);
    })
    .unwrap();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("lost?"), "{reports:?}");
}

// ----- errors ------------------------------------------------------------------

#[test]
fn group_errors_print_every_failure_and_convert_to_io_errors() {
    // What a caller prints or turns into `io::Error` (the `?` of an I/O program).
    use corio::task::Builder;
    use std::io;
    let lp = vloop();
    lp.block_on(async {
        // A child fails; the body, cancelled by it, fails too.
        let r = corio::task_group(|tg| async move {
            tg.spawn_with(Builder::new().name("fetch"), async { Err::<(), _>(io::Error::other("boom")) })?;
            match corio::sleep(secs(10)).await {
                Ok(()) => Ok(()),
                Err(_) => Err(io::Error::new(io::ErrorKind::BrokenPipe, "bang")),
            }
        })
        .await;
        let err = r.unwrap_err();
        assert!(!err.is_cancelled());
        assert_eq!(err.to_string(), "2 unhandled errors in a task group: fetch: boom; the body: bang");
        let group = err.failures().expect("failed");
        assert_eq!((group.len(), group.is_empty()), (2, false));
        assert_eq!(group.failures()[0].to_string(), "fetch: boom");
        assert_eq!(
            group.errors().map(|e| e.kind()).collect::<Vec<_>>(),
            [io::ErrorKind::Other, io::ErrorKind::BrokenPipe]
        );
        let first = io::Error::from(err);
        assert_eq!((first.kind(), first.to_string()), (io::ErrorKind::Other, "boom".to_string()), "the first failure");

        // One failure reads in the singular; into_failures hands them over.
        let r = corio::task_group(|tg| async move {
            tg.spawn_with(Builder::new().name("parse"), async { Err::<(), _>(io::Error::other("bad")) })?;
            Ok::<_, io::Error>(())
        })
        .await;
        let err = r.unwrap_err();
        assert_eq!(err.to_string(), "1 unhandled error in a task group: parse: bad");
        let GroupError::Failed(group) = err else { panic!("failed") };
        let failures = group.into_failures();
        assert_eq!((failures.len(), failures[0].source.to_string()), (1, "parse".to_string()));

        // A group cancelled from outside.
        let outer = corio::spawn(async {
            corio::task_group(|tg| async move {
                tg.spawn(async { corio::sleep(secs(10)).await.map_err(io::Error::from) })?;
                corio::sleep(secs(10)).await?;
                Ok::<_, io::Error>(())
            })
            .await
        });
        corio::sleep(secs(1)).await.unwrap();
        outer.cancel();
        let Err(JoinError::Cancelled(_)) = outer.await else { panic!("the task ends cancelled") };

        let cancelled = GroupError::<io::Error>::Cancelled(Cancelled::with_message("stop"));
        assert!(cancelled.is_cancelled() && cancelled.failures().is_none());
        assert_eq!(cancelled.to_string(), "task group cancelled: stop");
        assert_eq!(io::Error::from(cancelled).kind(), io::ErrorKind::Interrupted);

        // A child's own error as its awaiter sees it, and refused spawns.
        let child_errors = [
            (
                ChildError::Cancelled(Cancelled::with_message("stop")),
                true,
                "child task cancelled: stop",
                io::ErrorKind::Interrupted,
            ),
            (
                ChildError::Failed,
                false,
                "child task failed (its error is in the task group's error)",
                io::ErrorKind::Other,
            ),
            (
                ChildError::Panicked,
                false,
                "child task panicked (the task group resumes the panic)",
                io::ErrorKind::Other,
            ),
        ];
        for (err, cancelled, text, kind) in child_errors {
            assert_eq!((err.is_cancelled(), err.to_string()), (cancelled, text.to_string()));
            assert_eq!(io::Error::from(err).kind(), kind);
        }
        assert!(ChildError::from(Cancelled::with_message("stop")).is_cancelled());
        for (err, text) in [
            (SpawnError::Finished, "the task group has finished"),
            (SpawnError::ShuttingDown, "the task group is shutting down"),
        ] {
            assert_eq!(err.to_string(), text);
            assert_eq!(io::Error::from(err).to_string(), text);
            assert_eq!(Cancelled::from(err).message(), Some(text));
        }
    })
    .unwrap();
}

#[test]
fn g6_a_group_whose_last_child_is_gone_refuses_spawns_before_it_resumes() {
    // asyncio: `if self._exiting and not self._tasks: raise RuntimeError("TaskGroup is finished")`. The last child's
    // done-callback has run (the group holds no child), the body returned, but the group's task has not resumed yet:
    // a spawn from outside is refused, not run unwaited.
    let lp = vloop();
    lp.block_on(async {
        let refused = Rc::new(Cell::new(None));
        let r = refused.clone();
        corio::task_group(|tg| async move {
            tg.spawn(async {
                corio::sleep(secs(1)).await?;
                Ok::<_, E>(())
            })?;
            let tg2 = tg.clone();
            corio::spawn(async move {
                corio::sleep(secs(1)).await?; // woken with the child, after it
                corio::yield_now().await?; // the child's done-callback runs first
                r.set(Some(tg2.spawn(async { Ok::<_, E>(()) }).map(|_| ())));
                Ok::<_, Cancelled>(())
            })
            .detach();
            Ok::<_, E>(())
        })
        .await
        .unwrap();
        assert_eq!(refused.get(), Some(Err(SpawnError::Finished)));
    })
    .unwrap();
}

#[test]
fn a_task_group_shows_its_phase_children_and_errors() {
    let lp = vloop();
    lp.block_on(async {
        let shown = Rc::new(std::cell::RefCell::new(Vec::new()));
        let s = shown.clone();
        let r = corio::task_group(|tg| async move {
            let show = |tg: &corio::TaskGroup<E>| format!("{tg:?} len={} empty={}", tg.len(), tg.is_empty());
            s.borrow_mut().push(show(&tg));
            let child = tg.spawn(async {
                corio::sleep(secs(1)).await?;
                Err::<(), _>(E::Fail("child"))
            })?;
            assert_eq!(format!("{child:?}"), format!("Child {{ task: {:?} }}", &*child));
            s.borrow_mut().push(show(&tg));
            let _ = corio::sleep(secs(2)).await; // cancelled by the failure
            s.borrow_mut().push(show(&tg));
            Ok::<_, E>(())
        })
        .await;
        assert_eq!(fail_names(&r.unwrap_err()), ["child"]);
        assert_eq!(
            *shown.borrow(),
            [
                "TaskGroup { phase: Open, children: 0, errors: 0, aborting: false } len=0 empty=true",
                "TaskGroup { phase: Open, children: 1, errors: 0, aborting: false } len=1 empty=false",
                "TaskGroup { phase: Open, children: 0, errors: 1, aborting: true } len=0 empty=true",
            ]
        );
    })
    .unwrap();
}

#[test]
fn a_group_dropped_after_cancelling_its_parent_takes_that_cancel_back_and_only_that() {
    // The group cancels its parent when a child fails; dropped before the parent reaches a checkpoint, it withdraws
    // that request (asyncio's uncancel in __aexit__), and never a cancel someone else requested.
    use futures_util::FutureExt as _;
    let lp = vloop();
    lp.block_on(async {
        let failed = Rc::new(Cell::new(false));
        let f = failed.clone();
        let mut group = Box::pin(corio::task_group(|tg| async move {
            tg.spawn(async move {
                f.set(true);
                Err::<(), _>(E::Fail("child"))
            })?;
            corio::sleep(secs(10)).await?;
            Ok::<_, E>(())
        }));
        assert_eq!(format!("{group:?}"), "GroupScope { entered: false, .. }");
        assert!(group.as_mut().now_or_never().is_none());
        assert_eq!(format!("{group:?}"), "GroupScope { entered: true, .. }");
        // The child runs and fails; its done-callback cancels this task. Wait without a checkpoint.
        let flag = failed.clone();
        std::future::poll_fn(|cx| {
            if flag.get() && corio::current_task().unwrap().cancelling() > 0 {
                std::task::Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
        drop(group);
        assert_eq!(corio::current_task().unwrap().cancelling(), 0, "the group's own request is withdrawn");
        corio::yield_now().await.expect("no cancel is delivered");

        // A cancel requested by someone else survives the drop of a group that requested none.
        let mut group = Box::pin(corio::task_group(|_tg| async move {
            corio::sleep(secs(10)).await?;
            Ok::<_, E>(())
        }));
        assert!(group.as_mut().now_or_never().is_none());
        corio::current_task().unwrap().cancel();
        drop(group);
        assert!(corio::yield_now().await.is_err(), "the outer cancel is still delivered");
    })
    .unwrap();
}

#[test]
fn polling_a_finished_group_again_is_a_clear_panic() {
    use futures_util::FutureExt as _;
    let lp = vloop();
    lp.block_on(async {
        let mut group = Box::pin(corio::task_group(|_tg| async { Ok::<_, E>(5) }));
        assert_eq!(group.as_mut().now_or_never().map(|r| r.unwrap()), Some(5));
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| group.as_mut().now_or_never().is_some()));
        let message = again.expect_err("polled after it returned").downcast::<&str>().map(|s| *s).unwrap_or_default();
        assert!(message.contains("polled after it returned"), "{message}");
    })
    .unwrap();
}

#[test]
fn g4_a_cancel_pending_when_the_body_returns_is_delivered_on_exit_at_once() {
    // rule G4 at exit: asyncio's `__aexit__` awaits the children; a cancel requested during the body's last step is
    // delivered there, so the group aborts its children at once and ends cancelled.
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let t0 = corio::time();
        let r = corio::task_group(|tg| async move {
            tg.spawn(sleeper(o.clone(), "child", 10))?;
            corio::current_task().unwrap().cancel(); // requested, not yet delivered
            Ok::<_, E>(())
        })
        .await;
        assert!(r.unwrap_err().is_cancelled());
        assert_eq!(corio::time() - t0, Duration::ZERO, "the child was not waited for");
    })
    .unwrap();
    assert_eq!(trace(&out), "", "the child was cancelled before its first step (C4), not after it started");
}

#[test]
fn g4_a_cancel_that_arrives_as_the_last_child_ends_still_cancels_the_group() {
    // rule G4: the parent waits in the group's exit; a cancel that comes in the iteration in which the last child
    // ends is delivered there (asyncio cancels the exit's waiter future), so the group ends cancelled rather than
    // returning the body's value with the cancel left for later.
    let lp = vloop();
    lp.block_on(async {
        let outcome = Rc::new(Cell::new(None));
        let o = outcome.clone();
        let parent = corio::spawn(async move {
            let r = corio::task_group(|tg| async move {
                tg.spawn(async {
                    corio::sleep(secs(1)).await?;
                    Ok::<_, E>(())
                })?;
                Ok::<_, E>(())
            })
            .await;
            o.set(Some(r.map_err(|e| e.is_cancelled())));
        });
        for _ in 0..3 {
            corio::yield_now().await.unwrap(); // the child is asleep: its timer comes first at t=1
        }
        let p = corio::AnyTask::clone(&parent);
        // At t=1 the child ends; its done-callback runs next iteration, and so does this cancel, after it.
        corio::call_later(secs(1), move || {
            corio::call_soon(move || {
                p.cancel();
            });
        });
        parent.await.unwrap(); // it swallowed the cancel (dropped the group's error)
        assert_eq!(outcome.get(), Some(Err(true)), "the group ended cancelled");
    })
    .unwrap();
}
