//! Awaiting a task from several places, reading its result again, and a
//! gather as an object (asyncio's task and gathering future): `SharedTask`,
//! `AnyTask::wait`, `GatherHandle`; and the conversions that spare nested
//! `Result`s (`JoinError::resume`, `From<JoinError>`, `From<SpawnError>`).
//! Virtual clock.

use corio::{Cancelled, GatherError, JoinError, SharedTask};
use std::io;
use std::time::Duration;

mod common;
use common::vloop;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

// ----- SharedTask ---------------------------------------------------------------

#[test]
fn every_awaiter_of_a_shared_task_gets_its_value_and_it_can_be_read_again() {
    let lp = vloop();
    lp.block_on(async {
        let task: SharedTask<String> = corio::spawn(async {
            corio::sleep(secs(1)).await.unwrap();
            "v".repeat(3)
        })
        .shared();
        assert!(task.result().is_none(), "still running");
        let awaiters: Vec<_> = (0..3).map(|_| corio::spawn(task.clone())).collect();
        for awaiter in awaiters {
            assert_eq!(awaiter.await.unwrap().unwrap(), "vvv");
        }
        assert_eq!(task.clone().await.unwrap(), "vvv", "awaited again after it ended");
        assert_eq!(task.result().unwrap().unwrap(), "vvv");
        assert_eq!(task.result().unwrap().unwrap(), "vvv");
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(1));
}

#[test]
fn a_cancelled_shared_task_cancels_each_awaiter_with_a_token_of_its_own() {
    let lp = vloop();
    lp.block_on(async {
        let task = corio::spawn(async {
            corio::sleep(secs(10)).await?;
            Ok::<_, Cancelled>(1)
        })
        .shared();
        let a = corio::spawn({
            let task = task.clone();
            async move {
                let err = task.await.unwrap_err();
                assert!(err.is_cancelled());
                Err::<(), _>(err) // propagating it ends this awaiter cancelled
            }
        });
        corio::yield_now().await.unwrap();
        assert!(task.cancel_with("stop"));
        assert!(matches!(a.await, Err(JoinError::Cancelled(_))));
        match task.result().unwrap() {
            Err(JoinError::Cancelled(c)) => assert_eq!(c.message(), Some("stop")),
            other => panic!("{other:?}"),
        }
    })
    .unwrap();
}

#[test]
fn cancelling_an_awaiter_of_a_shared_task_passes_the_cancel_on() {
    // rule C6, as for `Task`: asyncio's Task.cancel cancels the awaited task.
    let lp = vloop();
    lp.block_on(async {
        let task = corio::spawn(async {
            match corio::sleep(secs(10)).await {
                Ok(()) => "slept",
                Err(_) => "cancelled-and-swallowed",
            }
        })
        .shared();
        let t = task.clone();
        let awaiter = corio::spawn(t);
        corio::yield_now().await.unwrap();
        awaiter.cancel();
        // The shared task swallowed the cancel: the awaiter gets its value.
        assert_eq!(awaiter.await.unwrap().unwrap(), "cancelled-and-swallowed");
        assert_eq!(task.await.unwrap(), "cancelled-and-swallowed");
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}

#[test]
fn every_awaiter_of_a_panicked_shared_task_gets_its_message() {
    let lp = vloop();
    lp.block_on(async {
        let task = corio::spawn(async {
            corio::yield_now().await.unwrap();
            if true {
                panic!("boom");
            }
            0
        })
        .shared();
        for _ in 0..2 {
            match task.clone().await {
                Err(JoinError::Panicked(p)) => assert_eq!(p.message(), Some("boom")),
                other => panic!("{other:?}"),
            }
        }
    })
    .unwrap();
}

// ----- AnyTask::wait ------------------------------------------------------------

#[test]
fn several_waits_see_the_end_and_the_handle_keeps_the_output() {
    let lp = vloop();
    lp.block_on(async {
        let task = corio::spawn(async {
            corio::sleep(secs(2)).await.unwrap();
            String::from("out")
        });
        let watchers: Vec<_> = (0..3).map(|_| corio::spawn(task.wait())).collect();
        for watcher in watchers {
            watcher.await.unwrap().unwrap();
        }
        assert!(task.done());
        task.wait().await.unwrap(); // an ended task: at once
        assert_eq!(task.await.unwrap(), "out");
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(2));
}

#[test]
fn a_cancelled_wait_returns_at_once_and_leaves_the_task_running() {
    let lp = vloop();
    lp.block_on(async {
        let task = corio::spawn(corio::sleep(secs(5)));
        let t = corio::current_task().unwrap();
        let waiter = corio::spawn(task.wait());
        corio::yield_now().await.unwrap();
        waiter.cancel();
        assert!(matches!(waiter.await, Err(JoinError::Cancelled(_))));
        assert!(!task.done(), "waiting is not owning: the task runs on");
        assert_eq!(t.cancelling(), 0);
        task.await.unwrap().unwrap();
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), secs(5));
}

#[test]
fn a_wait_for_a_task_of_another_thread_sees_its_end() {
    let rt = corio::multi_loop().loops(2).build().unwrap();
    let loops = rt.loops();
    let seen = rt
        .run(async move {
            let task = loops
                .spawn_on(1, async {
                    corio::sleep(Duration::from_millis(20)).await.unwrap();
                    7
                })
                .unwrap();
            task.wait().await.unwrap();
            (task.done(), task.await.unwrap())
        })
        .unwrap();
    assert_eq!(seen, (true, 7));
}

// ----- GatherHandle -------------------------------------------------------------

#[test]
fn cancelling_a_gather_through_its_handle_cancels_the_children() {
    // test_tasks test_gather_shield-like: gatherer.cancel() from outside.
    let lp = vloop();
    lp.block_on(async {
        let gathering = corio::gather([1, 2, 3].map(|s| async move {
            corio::sleep(secs(s)).await?;
            Ok::<_, Cancelled>(s)
        }));
        let gatherer = gathering.handle();
        // The awaiter's Cancelled is its own: kept, it would cancel the
        // awaiter too (asyncio: `await gatherer` raises CancelledError).
        let waiter = corio::spawn(async move {
            match gathering.await {
                Err(GatherError::Cancelled(c)) => c.message().map(str::to_string),
                other => panic!("{other:?}"),
            }
        });
        corio::sleep(Duration::from_millis(1500)).await.unwrap();
        assert!(gatherer.children()[0].done() && !gatherer.children()[0].cancelled());
        assert!(gatherer.cancel_with("enough"));
        assert_eq!(waiter.await.unwrap().as_deref(), Some("enough"));
        assert!(gatherer.children()[1..].iter().all(|c| c.cancelled()));
        assert!(!gatherer.cancel(), "nothing left to cancel");
        assert!(gatherer.done());
    })
    .unwrap();
}

#[test]
fn a_gather_cancelled_through_its_handle_ends_cancelled_even_if_the_children_swallow_it() {
    // asyncio bpo-32684: the cancellation propagates regardless of
    // return_exceptions and of what the children did.
    let lp = vloop();
    lp.block_on(async {
        let gathering = corio::gather_settled([1u64, 2].map(|s| async move {
            let _ = corio::sleep(secs(s)).await; // swallows the cancel
            s
        }));
        let gatherer = gathering.handle();
        let waiter = corio::spawn(async move { gathering.await.is_err() });
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
        assert!(gatherer.cancel());
        assert!(waiter.await.unwrap(), "ended Cancelled");
        assert!(gatherer.children().iter().all(|c| c.done() && !c.cancelled()));

        let swallowing = corio::gather([1u64].map(|s| async move {
            let _ = corio::sleep(secs(s)).await;
            Ok::<_, Cancelled>(s)
        }));
        let gatherer = swallowing.handle();
        let waiter = corio::spawn(async move { matches!(swallowing.await, Err(GatherError::Cancelled(_))) });
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
        assert!(gatherer.cancel());
        assert!(waiter.await.unwrap());
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}

// ----- conversions ----------------------------------------------------------------

#[test]
fn task_await_question_mark_composes_with_cancelled_and_io_errors() {
    let lp = vloop();
    let out = lp.block_on(async {
        let value = corio::spawn(async { 20 }).await?; // JoinError -> Cancelled
        let inner = corio::spawn(async { Ok::<_, Cancelled>(22) }).await??;
        Ok::<_, Cancelled>(value + inner)
    });
    assert_eq!(out.unwrap().unwrap(), 42);

    let out = lp.block_on(async {
        let task = corio::spawn(async { corio::sleep(secs(5)).await });
        corio::yield_now().await.unwrap();
        task.cancel();
        task.await??; // JoinError -> io::Error carrying the Cancelled
        Ok::<_, io::Error>(())
    });
    let err = out.unwrap_err();
    assert!(matches!(err, corio::LoopError::Cancelled(_)), "the io::Error kept the token: {err:?}");
}

#[test]
fn join_error_resume_resumes_a_panic_and_returns_a_cancellation() {
    let lp = vloop();
    let out = lp.block_on(async {
        let task = corio::spawn(async {
            corio::yield_now().await.unwrap();
            panic!("deep")
        });
        let _: Result<(), Cancelled> = task.await.map_err(JoinError::resume);
    });
    match out {
        Err(corio::LoopError::Panicked(p)) => assert_eq!(p.message(), Some("deep")),
        other => panic!("{other:?}"),
    }
    let cancelled = JoinError::Cancelled(Cancelled::with_message("why")).resume();
    assert_eq!(cancelled.message(), Some("why"));
}

#[test]
fn a_refused_spawn_converts_into_a_cancelled_that_fails_the_body() {
    let lp = vloop();
    lp.block_on(async {
        let tg = corio::task_group(|tg| async move { Ok::<_, Cancelled>(tg) }).await.unwrap();
        let refused: Result<(), Cancelled> = (|| {
            tg.spawn(async { Ok::<_, Cancelled>(()) })?;
            Ok(())
        })();
        assert_eq!(refused.unwrap_err().message(), Some("the task group has finished"));

        // A body that swallows the group's cancel and spawns again: the
        // refusal is a failure of the body (asyncio: RuntimeError in the
        // ExceptionGroup), beside the child's.
        let out = corio::task_group(|tg| async move {
            tg.spawn(async {
                corio::sleep(secs(1)).await?;
                Err::<(), _>(Cancelled::with_message("child failed"))
            })?;
            let _ = corio::sleep(secs(10)).await; // the group's cancel, swallowed
            tg.spawn(async { Ok::<_, Cancelled>(()) })?;
            Ok::<_, Cancelled>(())
        })
        .await;
        let group = out.unwrap_err();
        let messages: Vec<_> = group.failures().unwrap().errors().map(|c| c.message().unwrap().to_string()).collect();
        assert_eq!(messages, ["child failed", "the task group is shutting down"]);
    })
    .unwrap();
}
