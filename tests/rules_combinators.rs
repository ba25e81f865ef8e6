//! Rules C6 (awaiting a task; shield) and K1–K3 (gather, wait,
//! as_completed), and the `select` race, on the virtual clock.

use corio::{Cancelled, FutureExt, GatherError, JoinError, ReturnWhen};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

mod common;
use common::{push, trace, vloop, Out};

/// A boxed future, to gather different futures with one output type.
type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Sleeps `s` seconds and returns `s`, recording how it ended.
async fn nap(out: Out, s: u64) -> Result<u64, Cancelled> {
    match corio::sleep(secs(s)).await {
        Ok(()) => {
            push(&out, format!("nap{s}-done"));
            Ok(s)
        }
        Err(c) => {
            push(&out, format!("nap{s}-cancelled"));
            Err(c)
        }
    }
}

// ----- C6 ----------------------------------------------------------------------

#[test]
fn c6_cancelling_an_awaiter_cancels_the_awaited_task() {
    // rule C6
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let inner = corio::spawn(nap(o.clone(), 10));
        let inner_ref = corio::AnyTask::clone(&inner);
        let outer = corio::spawn(inner);
        corio::sleep(secs(1)).await.unwrap();
        outer.cancel_with("outer");
        assert!(outer.await.unwrap_err().is_cancelled());
        assert!(inner_ref.cancelled());
    })
    .unwrap();
    assert_eq!(trace(&out), "nap10-cancelled");
}

#[test]
fn c6_a_shield_shows_the_task_it_guards() {
    let lp = vloop();
    lp.block_on(async {
        let shield = corio::shield(async { 7 });
        assert_eq!(format!("{shield:?}"), format!("Shield {{ task: {:?} }}", shield.task()));
        assert_eq!(shield.await.unwrap(), 7);
    })
    .unwrap();
}

#[test]
fn c6_shield_keeps_the_inner_task_running_when_the_outer_side_is_cancelled() {
    // rule C6 (asyncio.shield)
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let shield = corio::shield(nap(o.clone(), 3));
        let inner = corio::AnyTask::clone(shield.task());
        let o2 = o.clone();
        let outer = corio::spawn(async move {
            match shield.await {
                Err(JoinError::Cancelled(c)) => {
                    push(&o2, format!("outer-cancelled:{}", c.message().unwrap()));
                    Err::<u64, _>(c)
                }
                other => panic!("{other:?}"),
            }
        });
        corio::sleep(secs(1)).await.unwrap();
        outer.cancel_with("stop");
        assert!(outer.await.unwrap_err().is_cancelled(), "the outer side propagated its cancel");
        assert!(!inner.done());
        corio::sleep(secs(3)).await.unwrap();
        assert!(inner.done() && !inner.cancelled());
    })
    .unwrap();
    assert_eq!(trace(&out), "outer-cancelled:stop nap3-done");
}

#[test]
fn c6_shield_passes_the_inner_result_through() {
    // rule C6: an uncancelled shield is just the inner task
    let lp = vloop();
    lp.block_on(async {
        let r = corio::shield(async { corio::sleep(secs(1)).await.map(|()| 5) }).await;
        assert_eq!(r.unwrap().unwrap(), 5);
        // A shielded task cancelled by its holder still reports cancelled.
        let shield = corio::structured::Shield::new(corio::spawn(nap(Out::default(), 5)));
        shield.task().cancel();
        assert!(shield.await.unwrap_err().is_cancelled());
    })
    .unwrap();
}

// ----- K1 ----------------------------------------------------------------------

#[test]
fn k1_gather_returns_results_in_argument_order() {
    // rule K1
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    let values = lp.block_on(async move { corio::gather([3, 1, 2].map(|s| nap(o.clone(), s))).await }).unwrap();
    assert_eq!(values.unwrap(), [3, 1, 2]);
    assert_eq!(trace(&out), "nap1-done nap2-done nap3-done");
    assert_eq!(lp.clock().elapsed(), secs(3));
}

#[test]
fn k1_gather_of_nothing_is_empty() {
    // rule K1 (asyncio: gather() returns [])
    let lp = vloop();
    let v = lp.block_on(corio::gather(Vec::<std::future::Ready<Result<u8, ()>>>::new())).unwrap();
    assert_eq!(v.unwrap(), Vec::<u8>::new());
}

#[test]
fn k1_first_error_propagates_and_the_rest_keep_running() {
    // rule K1
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let futures: Vec<Boxed<Result<u64, &str>>> = vec![
            Box::pin(async move { nap(o2, 3).await.map_err(|_| "cancelled") }),
            Box::pin(async {
                corio::sleep(secs(1)).await.map_err(|_| "cancelled")?;
                Err("boom")
            }),
        ];
        match corio::gather(futures).await {
            Err(GatherError::Failed { index, error }) => push(&o, format!("failed:{index}:{error}")),
            other => panic!("{other:?}"),
        }
        corio::sleep(secs(5)).await.unwrap(); // the other child still finishes
    })
    .unwrap();
    assert_eq!(trace(&out), "failed:1:boom nap3-done");
}

#[test]
fn k1_cancelling_a_gather_cancels_the_children_and_always_ends_cancelled() {
    // rule K1: one child swallows the cancel and returns a value; the
    // gather still ends Cancelled, after every child has ended
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let o3 = o.clone();
        let t = corio::spawn(async move {
            let futures: Vec<Boxed<Result<u64, Cancelled>>> = vec![
                Box::pin(nap(o2.clone(), 10)),
                Box::pin(async move {
                    let _ = corio::sleep(secs(10)).await; // swallowed
                    corio::sleep(secs(1)).await?;
                    push(&o2, "stubborn-done");
                    Ok(99)
                }),
            ];
            let r = corio::gather(futures).await;
            match &r {
                Err(GatherError::Cancelled(c)) => push(&o3, format!("gather-cancelled:{}", c.message().unwrap())),
                other => panic!("{other:?}"),
            }
            r.map_err(|e| match e {
                GatherError::Cancelled(c) => c,
                _ => unreachable!(),
            })
        });
        corio::sleep(secs(1)).await.unwrap();
        t.cancel_with("stop");
        assert!(t.await.unwrap_err().is_cancelled());
    })
    .unwrap();
    assert_eq!(trace(&out), "nap10-cancelled stubborn-done gather-cancelled:stop");
    assert_eq!(lp.clock().elapsed(), secs(2));
}

#[test]
fn k1_a_cancelled_child_ends_the_gather_cancelled() {
    // rule K1 (asyncio: a child's CancelledError is raised from gather;
    // the gather itself was not cancelled)
    let lp = vloop();
    lp.block_on(async {
        let parts: Vec<Boxed<Result<u64, Cancelled>>> = vec![Box::pin(async {
            let me = corio::current_task().unwrap();
            me.cancel();
            corio::yield_now().await?;
            Ok(1)
        })];
        let r = corio::gather(parts).await;
        assert!(r.unwrap_err().is_cancelled());
        // The awaiter was not cancelled: it goes on.
        corio::yield_now().await.unwrap();
    })
    .unwrap();
}

#[test]
fn k1_return_exceptions_gives_every_outcome() {
    // rule K1 (gather(..., return_exceptions=True))
    let lp = vloop();
    lp.block_on(async {
        let futures: Vec<Boxed<Result<u64, &str>>> = vec![
            Box::pin(async { Ok(1) }),
            Box::pin(async { Err("no") }),
            Box::pin(async {
                corio::sleep(secs(1)).await.map_err(|_| "cancelled")?;
                panic!("boom")
            }),
            Box::pin(async {
                corio::current_task().unwrap().cancel();
                corio::yield_now().await.map_err(|_| "cancelled")?;
                Ok(4)
            }),
        ];
        let outcomes = corio::gather_settled(futures).await.unwrap();
        assert_eq!(*outcomes[0].as_ref().unwrap(), Ok(1));
        assert_eq!(*outcomes[1].as_ref().unwrap(), Err("no"));
        assert_eq!(outcomes[2].as_ref().unwrap_err().to_string(), "task panicked: boom");
        // "cancelled" mapped to a plain error: the child swallowed its token
        assert_eq!(*outcomes[3].as_ref().unwrap(), Err("cancelled"));
        // Holding the outcomes does not cancel the awaiter.
        corio::yield_now().await.unwrap();
    })
    .unwrap();
}

#[test]
fn k1_return_exceptions_keeps_a_cancelled_child_as_a_value() {
    // rule K1: a child that ended cancelled is an outcome in the list (its
    // own token), not a cancellation of the gathering task
    let lp = vloop();
    lp.block_on(async {
        let self_cancelling = async {
            corio::current_task().unwrap().cancel_with("me");
            corio::yield_now().await?;
            Ok::<u64, Cancelled>(0)
        };
        let futures: Vec<Boxed<Result<u64, Cancelled>>> =
            vec![Box::pin(self_cancelling), Box::pin(nap(Out::default(), 1))];
        // The gathering task returns the list, tokens and all.
        let gathering = corio::spawn(corio::gather_settled(futures));
        let outcomes = gathering.await.expect("the gathering task was not cancelled").unwrap();
        match &outcomes[0] {
            Err(JoinError::Cancelled(c)) => assert_eq!(c.message(), Some("me")),
            other => panic!("{other:?}"),
        }
        assert_eq!(*outcomes[1].as_ref().unwrap(), Ok(1));
    })
    .unwrap();
}

#[test]
fn k1_cancelling_a_settled_gather_ends_cancelled() {
    // rule K1 (return_exceptions=True too)
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let t = corio::spawn(corio::gather_settled([nap(o.clone(), 5), nap(o.clone(), 6)]));
        corio::sleep(secs(1)).await.unwrap();
        t.cancel();
        let r = t.await;
        assert!(r.unwrap_err().is_cancelled());
    })
    .unwrap();
    assert_eq!(trace(&out), "nap5-cancelled nap6-cancelled");
}

// ----- K2 ----------------------------------------------------------------------

fn naps(out: &Out, secs: &[u64]) -> Vec<corio::Task<Result<u64, Cancelled>>> {
    secs.iter().map(|&s| corio::spawn(nap(out.clone(), s))).collect()
}

#[test]
fn k2_wait_first_completed() {
    // rule K2
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let mut tasks = naps(&o, &[3, 1, 2]);
        let done = corio::wait(&mut tasks, ReturnWhen::FirstCompleted, None).await.unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(tasks.len(), 2);
        for t in done {
            assert_eq!(t.await.unwrap().unwrap(), 1);
        }
        let done = corio::wait(&mut tasks, ReturnWhen::AllCompleted, None).await.unwrap();
        assert_eq!(done.len(), 2);
        assert!(tasks.is_empty());
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(3));
}

#[test]
fn k2_wait_first_exception() {
    // rule K2: returns at the first failure (an Err or a panic), not at the
    // first completion; a cancelled task is not a failure
    let lp = vloop();
    lp.block_on(async {
        let mut tasks: Vec<corio::Task<Result<u64, &str>>> = vec![
            corio::spawn(async { corio::sleep(secs(1)).await.map(|()| 1).map_err(|_| "c") }),
            corio::spawn(async {
                corio::sleep(secs(2)).await.map_err(|_| "c")?;
                Err("bad")
            }),
            corio::spawn(async { corio::sleep(secs(9)).await.map(|()| 9).map_err(|_| "c") }),
        ];
        let t0 = corio::time();
        let done = corio::wait(&mut tasks, ReturnWhen::FirstException, None).await.unwrap();
        assert_eq!(corio::time() - t0, secs(2));
        assert_eq!(done.len(), 2);
        assert_eq!(tasks.len(), 1);
        // Without any failure it waits for all.
        let mut ok: Vec<corio::Task<()>> = vec![corio::spawn(async {}), corio::spawn(async {})];
        let done = corio::wait(&mut ok, ReturnWhen::FirstException, None).await.unwrap();
        assert_eq!(done.len(), 2);
        // A panic counts.
        let mut p: Vec<corio::Task<()>> =
            vec![corio::spawn(async { panic!("p") }), corio::spawn(std::future::pending())];
        let done = corio::wait(&mut p, ReturnWhen::FirstException, None).await.unwrap();
        assert_eq!(done.len(), 1);
        assert!(done.into_iter().next().unwrap().await.unwrap_err().is_panic());
        p[0].abort();
    })
    .unwrap();
}

#[test]
fn k2_timeout_neither_errors_nor_cancels() {
    // rule K2
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let mut tasks = naps(&o, &[5, 1, 6]);
        let done = corio::wait(&mut tasks, ReturnWhen::AllCompleted, Some(secs(2))).await.unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(tasks.len(), 2);
        assert!(tasks.iter().all(|t| !t.done() && t.cancelling() == 0));
        assert_eq!(corio::current_task().unwrap().cancelling(), 0);
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    })
    .unwrap();
    assert_eq!(trace(&out), "nap1-done nap5-done nap6-done");
}

#[test]
fn k2_a_cancelled_wait_leaves_the_tasks_running_in_the_vec() {
    // rule K2 (asyncio: wait() does not cancel the futures it waits for)
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t = corio::spawn(async move {
            let mut tasks = naps(&o2, &[3]);
            let r = corio::wait(&mut tasks, ReturnWhen::AllCompleted, None).await;
            assert!(r.is_err());
            assert_eq!(tasks.len(), 1);
            tasks.pop().unwrap().await.unwrap() // still running; finishes
        });
        corio::sleep(secs(1)).await.unwrap();
        t.cancel();
        assert_eq!(t.await.unwrap().unwrap(), 3);
        // Empty input returns at once.
        let mut none: Vec<corio::Task<()>> = Vec::new();
        assert!(corio::wait(&mut none, ReturnWhen::FirstCompleted, None).await.unwrap().is_empty());
    })
    .unwrap();
    assert_eq!(trace(&out), "nap3-done");
}

// ----- K3 ----------------------------------------------------------------------

#[test]
fn k3_as_completed_yields_in_completion_order() {
    // rule K3
    let lp = vloop();
    lp.block_on(async {
        let tasks = naps(&Out::default(), &[3, 1, 2]);
        let mut finished = corio::as_completed(tasks);
        let mut order = Vec::new();
        assert_eq!(format!("{:?}", finished.next()), "AsCompleted { running: 3 }");
        let mut counts = vec![(finished.len(), finished.is_empty(), format!("{finished:?}"))];
        while let Some(r) = finished.next().await.unwrap() {
            order.push(r.unwrap().unwrap());
            counts.push((finished.len(), finished.is_empty(), format!("{finished:?}")));
        }
        assert_eq!(order, [1, 2, 3]);
        let running = |n: usize| (n, n == 0, format!("AsCompleted {{ running: {n} }}"));
        assert_eq!(counts, [running(3), running(2), running(1), running(0)]);
    })
    .unwrap();
}

#[test]
fn k3_plain_futures_woken_by_value_or_by_reference_come_out_in_wake_order() {
    // rule K3 for futures that are not tasks: each is polled again when its own waker is used, however the waker
    // is used.
    use std::cell::RefCell;
    use std::task::{Poll, Waker};
    let lp = vloop();
    lp.block_on(async {
        let ready: Rc<[Cell<bool>; 2]> = Rc::default();
        let wakers: Rc<RefCell<[Option<Waker>; 2]>> = Rc::default();
        let future = |i: usize| {
            let (ready, wakers) = (ready.clone(), wakers.clone());
            std::future::poll_fn(move |cx| {
                if ready[i].get() {
                    return Poll::Ready(i);
                }
                wakers.borrow_mut()[i] = Some(cx.waker().clone());
                Poll::Pending
            })
        };
        let mut set = corio::as_completed([future(0), future(1)]);
        let (r, w) = (ready.clone(), wakers.clone());
        let waker = corio::spawn(async move {
            corio::sleep(secs(1)).await?;
            r[1].set(true);
            w.borrow_mut()[1].take().expect("polled").wake(); // by value
            corio::sleep(secs(1)).await?;
            r[0].set(true);
            w.borrow_mut()[0].take().expect("polled").wake_by_ref();
            Ok::<_, Cancelled>(())
        });
        assert_eq!(set.next().await.unwrap(), Some(1));
        assert_eq!(set.next().await.unwrap(), Some(0));
        assert_eq!(set.next().await.unwrap(), None);
        waker.await.unwrap().unwrap();
    })
    .unwrap();
}

#[test]
fn k3_same_iteration_completions_keep_their_order_and_pushes_join_in() {
    // rule K3: tasks woken at the same time come out in the order they
    // ended (here: reverse argument order), and futures pushed while
    // iterating join the race.
    let lp = vloop();
    lp.block_on(async {
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        // All three wake at t=1; they end in the order they run: 2, 1, 0,
        // because each yields a different number of times first.
        let mut set = corio::structured::AsCompleted::new();
        for i in 0..3u32 {
            set.push(corio::spawn(async move {
                corio::sleep(secs(1)).await?;
                for _ in 0..(3 - i) {
                    corio::yield_now().await?;
                }
                Ok::<_, Cancelled>(i)
            }));
        }
        let mut pushed = false;
        while let Some(r) = set.next().await.unwrap() {
            order.borrow_mut().push(r.unwrap().unwrap());
            if !pushed {
                pushed = true;
                set.push(corio::spawn(async { Ok(10) }));
            }
        }
        let mut order = order.borrow().clone();
        assert_eq!(order.len(), 4);
        assert!(order.iter().position(|&x| x == 10).unwrap() >= 1, "pushed after the first output");
        order.retain(|&x| x != 10);
        assert_eq!(order, [2, 1, 0]);
    })
    .unwrap();
}

#[test]
fn k3_as_completed_next_is_a_checkpoint_that_keeps_the_futures() {
    // rule K3 (asyncio: cancelling the consumer does not cancel the tasks)
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            let mut set = corio::as_completed(naps(&Out::default(), &[2]));
            let r = set.next().await;
            assert!(r.is_err());
            assert_eq!(set.len(), 1);
            set.next().await.unwrap().unwrap().unwrap().unwrap() // still there
        });
        corio::sleep(secs(1)).await.unwrap();
        t.cancel();
        assert_eq!(t.await.unwrap(), 2);
    })
    .unwrap();
}

// ----- select ------------------------------------------------------------------

#[test]
fn select_first_to_finish_wins_and_the_loser_is_dropped() {
    let lp = vloop();
    lp.block_on(async {
        let dropped = Rc::new(Cell::new(false));
        struct Flag(Rc<Cell<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let flag = Flag(dropped.clone());
        let loser = async move {
            let _flag = flag;
            corio::sleep(secs(5)).await
        };
        let winner = async { corio::sleep(secs(1)).await.map(|()| "won") };
        match corio::select(loser, winner).await {
            corio::Either::Right(r) => assert_eq!(r.unwrap(), "won"),
            corio::Either::Left(_) => unreachable!(),
        }
        assert!(dropped.get());
        // Ties go to the first argument.
        assert!(matches!(corio::select(async { 1 }, async { 2 }).await, corio::Either::Left(1)));
        assert_eq!(corio::select_all([std::future::ready(1), std::future::ready(2)]).await, Some((0, 1)));
        assert_eq!(corio::select_all(Vec::<std::future::Ready<()>>::new()).await, None);
    })
    .unwrap();
    assert_eq!(lp.timer_count(), 0, "the loser's timer went with it");
}

#[test]
fn select_is_transparent_to_cancellation() {
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            match corio::select(std::future::pending::<()>(), corio::sleep(secs(10))).await {
                corio::Either::Right(r) => r, // the sleep's checkpoint got the cancel
                corio::Either::Left(()) => unreachable!(),
            }
        });
        corio::yield_now().await.unwrap();
        t.cancel();
        assert!(t.await.unwrap_err().is_cancelled());
        // A race against a deadline.
        assert!(std::future::pending::<()>().timeout(secs(1)).await.is_err());
    })
    .unwrap();
}

#[test]
fn k1_a_gather_shows_its_children_and_its_errors_say_which_one_failed() {
    // What a caller prints: the running count, the children through the handle, and each error with its index.
    let lp = vloop();
    lp.block_on(async {
        let futures: Vec<Boxed<Result<u64, &str>>> = vec![
            Box::pin(async { Ok(1) }),
            Box::pin(async {
                corio::sleep(secs(1)).await.map_err(|_| "cancelled")?;
                Err("boom")
            }),
            Box::pin(async {
                corio::sleep(secs(2)).await.map_err(|_| "cancelled")?;
                panic!("crash")
            }),
        ];
        let gathering = corio::gather(futures);
        let handle = gathering.handle();
        assert_eq!(format!("{gathering:?}"), "Gather { running: 3 }");
        assert_eq!((handle.children().len(), handle.done()), (3, false));
        let children: Vec<String> = handle.children().iter().map(|c| format!("{c:?}")).collect();
        assert_eq!(format!("{handle:?}"), format!("GatherHandle {{ children: [{}] }}", children.join(", ")));
        let err = gathering.await.unwrap_err();
        assert!(!err.is_cancelled());
        assert_eq!(err.to_string(), "gathered future 1 failed: boom");

        let futures: Vec<Boxed<Result<u64, &str>>> = vec![Box::pin(async {
            corio::sleep(secs(1)).await.map_err(|_| "cancelled")?;
            panic!("crash")
        })];
        let err = corio::gather(futures).await.unwrap_err();
        assert_eq!(err.to_string(), "gathered future 0 panicked: crash");
        let cancelled: GatherError<&str> = GatherError::Cancelled(Cancelled::with_message("stop"));
        assert!(cancelled.is_cancelled());
        assert_eq!(cancelled.to_string(), "gather cancelled: stop");

        let settled = corio::gather_settled([nap(Out::default(), 1), nap(Out::default(), 2)]);
        assert_eq!(format!("{settled:?}"), "GatherSettled { running: 2 }");
        let handle = settled.handle();
        assert_eq!(settled.await.unwrap().len(), 2);
        assert!(handle.done());
    })
    .unwrap();
}

#[test]
fn k1_cancelling_through_the_handle_ends_the_gather_cancelled_with_the_message() {
    // asyncio's `gatherer.cancel(msg)`: true when a child took the request; the gather then raises CancelledError
    // carrying the message, even though some children had finished. Once every child is done, cancel() is false.
    let lp = vloop();
    lp.block_on(async {
        let gathering = corio::gather([nap(Out::default(), 5), nap(Out::default(), 1), nap(Out::default(), 6)]);
        let handle = gathering.handle();
        let (h, took) = (handle.clone(), Rc::new(Cell::new(None)));
        let t = took.clone();
        let canceller = corio::spawn(async move {
            corio::sleep(secs(2)).await?;
            assert!(!h.done(), "one child of three has finished");
            t.set(Some(h.cancel_with("enough")));
            Ok::<_, Cancelled>(())
        });
        let message = match gathering.await {
            Err(GatherError::Cancelled(c)) => c.message().map(str::to_string),
            other => panic!("{other:?}"),
        };
        assert_eq!((took.get(), message.as_deref()), (Some(true), Some("enough")));
        assert!(handle.done());
        assert!(!handle.cancel() && !handle.cancel_with("late"), "nothing left to take it");
        canceller.await.unwrap().unwrap();

        let gathering = corio::gather([nap(Out::default(), 1)]);
        let handle = gathering.handle();
        assert_eq!(gathering.await.unwrap(), [1]);
        assert!(handle.done() && !handle.cancel());

        // Children that swallow the cancel and return values: the gather still ends cancelled (asyncio's
        // `_cancel_requested`), with or without return_exceptions.
        let stubborn = || async {
            let _ = corio::sleep(secs(5)).await; // swallowed
            Ok::<_, Cancelled>(1)
        };
        let gathering = corio::gather([stubborn(), stubborn()]);
        let handle = gathering.handle();
        let h = handle.clone();
        corio::call_later(secs(1), move || assert!(h.cancel_with("swallowed")));
        match gathering.await {
            Err(GatherError::Cancelled(c)) => assert_eq!(c.message(), Some("swallowed")),
            other => panic!("{other:?}"),
        }
        let settled = corio::gather_settled([stubborn()]);
        let h = settled.handle();
        corio::call_later(secs(1), move || assert!(h.cancel()));
        assert!(settled.await.is_err(), "gather_settled too");
    })
    .unwrap();
}

#[test]
fn k2_tasks_of_unit_never_fail_so_first_exception_waits_for_all() {
    // rule K2: a `()` output is not a failure (only an `Err` or a panic is).
    let lp = vloop();
    lp.block_on(async {
        let t0 = corio::time();
        let mut tasks: Vec<_> =
            [1, 2].map(|s| corio::spawn(async move { corio::sleep(secs(s)).await.unwrap() })).into();
        let waiting = corio::wait(&mut tasks, ReturnWhen::FirstException, None);
        assert_eq!(format!("{waiting:?}"), "WaitTasks { tasks: 2, when: FirstException }");
        let done = waiting.await.unwrap();
        assert_eq!((done.len(), tasks.len(), corio::time() - t0), (2, 0, secs(2)));
    })
    .unwrap();
}

#[test]
fn select_and_select_all_show_whether_they_are_still_racing() {
    use std::pin::pin;
    let lp = vloop();
    lp.block_on(async {
        let mut race = pin!(corio::select(corio::sleep(secs(1)), corio::sleep(secs(2))));
        assert_eq!(format!("{race:?}"), "Select { finished: false }");
        race.as_mut().await;
        assert_eq!(format!("{race:?}"), "Select { finished: true }");
        let mut all = pin!(corio::select_all([corio::sleep(secs(1)), corio::sleep(secs(2)), corio::sleep(secs(3))]));
        assert_eq!(format!("{all:?}"), "SelectAll { racing: 3 }");
        assert_eq!(all.as_mut().await.map(|(index, _)| index), Some(0));
        assert_eq!(format!("{all:?}"), "SelectAll { racing: 0 }");
    })
    .unwrap();
}
