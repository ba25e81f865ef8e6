//! CPython 3.13 `Lib/test/test_asyncio/test_taskgroups.py`, ported (see
//! `tests/cpython/mod.rs`). `async with TaskGroup() as g:` is
//! `corio::task_group(|g| async move { .. })`; `g.create_task(coro)` is
//! `g.spawn(fut)?`; an `ExceptionGroup` is `GroupError::Failed`.

mod cpython;

use corio::task::Builder;
use corio::{Cancelled, Child, GroupError, JoinError, SpawnError, TaskGroup};
use cpython::{error_types, group, names, run, sleep, Exc};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

type Tg = TaskGroup<Exc>;

/// `async def foo(): await asyncio.sleep(s); return v`
async fn sleep_then(s: f64, v: i32) -> Result<i32, Exc> {
    sleep(s).await?;
    Ok(v)
}

/// `async def crash(): await asyncio.sleep(s); 1 / 0`
async fn crash_after(s: f64) -> Result<(), Exc> {
    sleep(s).await?;
    Err(Exc::ZeroDivision)
}

/// `async def foo(): try: await asyncio.sleep(s) except CancelledError: num += 1; raise`
async fn count_cancel(num: Rc<Cell<i32>>, s: f64) -> Result<(), Exc> {
    match sleep(s).await {
        Ok(()) => Ok(()),
        Err(c) => {
            num.set(num.get() + 1);
            Err(c.into())
        }
    }
}

/// `async def foo(): try: await asyncio.sleep(10) finally: 1 / 0`
async fn sleep_finally_zero_division() -> Result<(), Exc> {
    let _ = sleep(10.0).await;
    Err(Exc::ZeroDivision)
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_01
#[test]
fn test_taskgroup_01() {
    run(async {
        let (t1, t2) = corio::task_group(|g: Tg| async move {
            let t1 = g.spawn(sleep_then(0.1, 42))?;
            let t2 = g.spawn(sleep_then(0.2, 11))?;
            Ok::<_, Exc>((t1, t2))
        })
        .await
        .unwrap();
        assert_eq!(t1.await.unwrap(), 42);
        assert_eq!(t2.await.unwrap(), 11);
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_02
#[test]
fn test_taskgroup_02() {
    run(async {
        let (t1, t2) = corio::task_group(|g: Tg| async move {
            let t1 = g.spawn(sleep_then(0.1, 42))?;
            sleep(0.15).await?;
            let t2 = g.spawn(sleep_then(0.2, 11))?;
            Ok::<_, Exc>((t1, t2))
        })
        .await
        .unwrap();
        assert_eq!(t1.await.unwrap(), 42);
        assert_eq!(t2.await.unwrap(), 11);
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_03
#[test]
fn test_taskgroup_03() {
    run(async {
        let (t1, t2) = corio::task_group(|g: Tg| async move {
            let t1 = g.spawn(sleep_then(1.0, 42))?;
            sleep(0.15).await?;
            // cancel t1 explicitly, i.e. everything should continue
            // working as expected.
            t1.cancel();
            let t2 = g.spawn(sleep_then(0.2, 11))?;
            Ok::<_, Exc>((t1, t2))
        })
        .await
        .unwrap();
        assert!(t1.cancelled());
        assert_eq!(t2.await.unwrap(), 11);
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_04
#[test]
fn test_taskgroup_04() {
    run(async {
        let num = Rc::new(Cell::new(0));
        let t2_cancel = Rc::new(Cell::new(false));
        let t2: Rc<RefCell<Option<Child<()>>>> = Rc::default();

        let foo2 = {
            let (num, t2_cancel) = (num.clone(), t2_cancel.clone());
            async move {
                if let Err(c) = sleep(1.0).await {
                    t2_cancel.set(true);
                    return Err(Exc::from(c));
                }
                num.set(num.get() + 1);
                Ok(())
            }
        };
        let runner = {
            let (num, t2) = (num.clone(), t2.clone());
            async move {
                corio::task_group(|g: Tg| async move {
                    g.spawn(crash_after(0.1))?;
                    *t2.borrow_mut() = Some(g.spawn(foo2)?);
                    Ok::<_, Exc>(())
                })
                .await?;
                num.set(num.get() + 10);
                Ok::<_, Exc>(())
            }
        };

        let err = corio::spawn(runner).await.unwrap().unwrap_err();
        assert_eq!(error_types(group(&err)), names(["ZeroDivisionError"]));
        assert_eq!(num.get(), 0);
        assert!(t2_cancel.get());
        assert!(t2.borrow().as_ref().unwrap().cancelled());
    });
}

// test_taskgroups.py::TestTaskGroup::test_cancel_children_on_child_error
#[test]
fn test_cancel_children_on_child_error() {
    // When a child task raises an error, the rest of the children
    // are cancelled and the errors are gathered into an EG.
    run(async {
        let num = Rc::new(Cell::new(0));
        let t2_cancel = Rc::new(Cell::new(0));
        let runner_cancel = Rc::new(Cell::new(false));
        let runner = {
            let (num, t2_cancel, runner_cancel) = (num.clone(), t2_cancel.clone(), runner_cancel.clone());
            async move {
                corio::task_group(|g: Tg| async move {
                    g.spawn(crash_after(0.1))?;
                    g.spawn(crash_after(0.1))?;
                    g.spawn(crash_after(0.1))?;
                    g.spawn(count_cancel(t2_cancel, 5.0))?;
                    if let Err(c) = sleep(10.0).await {
                        runner_cancel.set(true);
                        return Err(c.into());
                    }
                    Ok::<_, Exc>(())
                })
                .await?;
                num.set(num.get() + 10);
                Ok::<_, Exc>(())
            }
        };
        let err = corio::spawn(runner).await.unwrap().unwrap_err();
        assert_eq!(error_types(group(&err)), names(["ZeroDivisionError"]));
        assert_eq!(num.get(), 0);
        assert_eq!(t2_cancel.get(), 1);
        assert!(runner_cancel.get());
    });
}

// test_taskgroups.py::TestTaskGroup::test_cancellation
#[test]
fn test_cancellation() {
    run(async {
        let num = Rc::new(Cell::new(0));
        let n = num.clone();
        let r = corio::spawn(corio::task_group(|g: Tg| async move {
            for _ in 0..5 {
                g.spawn(count_cancel(n.clone(), 5.0))?;
            }
            Ok::<_, Exc>(())
        }));
        sleep(0.1).await.unwrap();
        assert!(!r.done());
        r.cancel();
        assert!(matches!(r.await, Err(JoinError::Cancelled(_))));
        assert_eq!(num.get(), 5);
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_07
#[test]
fn test_taskgroup_07() {
    run(async {
        let num = Rc::new(Cell::new(0));
        let n = num.clone();
        let r = corio::spawn(corio::task_group(|g: Tg| async move {
            for _ in 0..5 {
                g.spawn(count_cancel(n.clone(), 5.0))?;
            }
            if let Err(c) = sleep(10.0).await {
                n.set(n.get() + 10);
                return Err(c.into());
            }
            Ok::<_, Exc>(())
        }));
        sleep(0.1).await.unwrap();
        assert!(!r.done());
        r.cancel();
        assert!(matches!(r.await, Err(JoinError::Cancelled(_))));
        assert_eq!(num.get(), 15);
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_08
#[test]
fn test_taskgroup_08() {
    run(async {
        let r = corio::spawn(corio::task_group(|g: Tg| async move {
            for _ in 0..5 {
                g.spawn(sleep_finally_zero_division())?;
            }
            sleep(10.0).await?;
            Ok::<_, Exc>(())
        }));
        sleep(0.1).await.unwrap();
        assert!(!r.done());
        r.cancel();
        let err = r.await.unwrap().unwrap_err();
        assert_eq!(error_types(&err), names(["ZeroDivisionError"]));
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_09
#[test]
fn test_taskgroup_09() {
    run(async {
        let children: Rc<RefCell<Vec<Child<i32>>>> = Rc::default();
        let c = children.clone();
        let runner = corio::task_group(|g: Tg| async move {
            c.borrow_mut().push(g.spawn(sleep_then(1.0, 42))?);
            c.borrow_mut().push(g.spawn(sleep_then(2.0, 11))?);
            sleep(0.1).await?;
            Err::<(), _>(Exc::ZeroDivision)
        });
        match runner.await {
            Err(err) => assert_eq!(error_types(&err), names(["ZeroDivisionError"])),
            Ok(()) => panic!("ExceptionGroup was not raised"),
        }
        assert!(children.borrow().iter().all(|t| t.cancelled()));
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_10
#[test]
fn test_taskgroup_10() {
    run(async {
        let children: Rc<RefCell<Vec<Child<i32>>>> = Rc::default();
        let c = children.clone();
        let runner = corio::task_group(|g: Tg| async move {
            c.borrow_mut().push(g.spawn(sleep_then(1.0, 42))?);
            c.borrow_mut().push(g.spawn(sleep_then(2.0, 11))?);
            Err::<(), _>(Exc::ZeroDivision)
        });
        match runner.await {
            Err(err) => assert_eq!(error_types(&err), names(["ZeroDivisionError"])),
            Ok(()) => panic!("ExceptionGroup was not raised"),
        }
        assert!(children.borrow().iter().all(|t| t.cancelled()));
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_11
#[test]
fn test_taskgroup_11() {
    run(async {
        let r = corio::spawn(corio::task_group(|_g1: Tg| async move {
            corio::task_group(|g2: Tg| async move {
                for _ in 0..5 {
                    g2.spawn(sleep_finally_zero_division())?;
                }
                sleep(10.0).await?;
                Ok::<_, Exc>(())
            })
            .await?;
            Ok::<_, Exc>(())
        }));
        sleep(0.1).await.unwrap();
        assert!(!r.done());
        r.cancel();
        let err = r.await.unwrap().unwrap_err();
        assert_eq!(error_types(&err), names(["ExceptionGroup"]));
        let inner = &err.failures().unwrap().failures()[0].error;
        assert_eq!(error_types(group(inner)), names(["ZeroDivisionError"]));
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_12
#[test]
fn test_taskgroup_12() {
    run(async {
        let r = corio::spawn(corio::task_group(|g1: Tg| async move {
            g1.spawn(async {
                sleep(10.0).await?;
                Ok::<_, Exc>(())
            })?;
            corio::task_group(|g2: Tg| async move {
                for _ in 0..5 {
                    g2.spawn(sleep_finally_zero_division())?;
                }
                sleep(10.0).await?;
                Ok::<_, Exc>(())
            })
            .await?;
            Ok::<_, Exc>(())
        }));
        sleep(0.1).await.unwrap();
        assert!(!r.done());
        r.cancel();
        let err = r.await.unwrap().unwrap_err();
        assert_eq!(error_types(&err), names(["ExceptionGroup"]));
        let inner = &err.failures().unwrap().failures()[0].error;
        assert_eq!(error_types(group(inner)), names(["ZeroDivisionError"]));
    });
}

/// `async def crash_after(t): await asyncio.sleep(t); raise ValueError(t)`
async fn value_error_after(s: f64) -> Result<(), Exc> {
    sleep(s).await?;
    Err(Exc::Value(s.to_string()))
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_13
#[test]
fn test_taskgroup_13() {
    run(async {
        let r = corio::spawn(corio::task_group(|g1: Tg| async move {
            g1.spawn(value_error_after(0.1))?;
            corio::task_group(|g2: Tg| async move {
                g2.spawn(value_error_after(10.0))?;
                Ok::<_, Exc>(())
            })
            .await?;
            Ok::<_, Exc>(())
        }));
        let err = r.await.unwrap().unwrap_err();
        assert_eq!(error_types(&err), names(["ValueError"]));
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_14
#[test]
fn test_taskgroup_14() {
    run(async {
        let r = corio::spawn(corio::task_group(|g1: Tg| async move {
            g1.spawn(value_error_after(10.0))?;
            corio::task_group(|g2: Tg| async move {
                g2.spawn(value_error_after(0.1))?;
                Ok::<_, Exc>(())
            })
            .await?;
            Ok::<_, Exc>(())
        }));
        let err = r.await.unwrap().unwrap_err();
        assert_eq!(error_types(&err), names(["ExceptionGroup"]));
        let inner = &err.failures().unwrap().failures()[0].error;
        assert_eq!(error_types(group(inner)), names(["ValueError"]));
    });
}

/// The body of test_taskgroup_15/16: a group whose body, cancelled, cleans
/// up for 0.5 s before re-raising.
async fn slow_cleanup_group() -> Result<(), GroupError<Exc>> {
    corio::task_group(|g1: Tg| async move {
        g1.spawn(crash_after(0.3))?;
        if let Err(c) = sleep(10.0).await {
            sleep(0.5).await?;
            return Err(c.into());
        }
        Ok::<_, Exc>(())
    })
    .await
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_15
#[test]
fn test_taskgroup_15() {
    run(async {
        let r = corio::spawn(slow_cleanup_group());
        sleep(0.1).await.unwrap();
        assert!(!r.done());
        r.cancel();
        let err = r.await.unwrap().unwrap_err();
        assert_eq!(error_types(&err), names(["ZeroDivisionError"]));
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_16
#[test]
fn test_taskgroup_16() {
    run(async {
        let r = corio::spawn(async {
            let t = corio::spawn(slow_cleanup_group());
            t.await
        });
        sleep(0.1).await.unwrap();
        assert!(!r.done());
        r.cancel();
        let err = r.await.unwrap().unwrap().unwrap_err();
        assert_eq!(error_types(&err), names(["ZeroDivisionError"]));
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_17
#[test]
fn test_taskgroup_17() {
    run(async {
        let num = Rc::new(Cell::new(0));
        let n = num.clone();
        let r = corio::spawn(corio::task_group(|_g: Tg| async move {
            if let Err(c) = sleep(10.0).await {
                n.set(n.get() + 10);
                return Err(Exc::from(c));
            }
            Ok(())
        }));
        sleep(0.1).await.unwrap();
        assert!(!r.done());
        r.cancel();
        assert!(matches!(r.await, Err(JoinError::Cancelled(_))));
        assert_eq!(num.get(), 10);
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_18
#[test]
fn test_taskgroup_18() {
    run(async {
        let num = Rc::new(Cell::new(0));
        let n = num.clone();
        let r = corio::spawn(corio::task_group(|_g: Tg| async move {
            if sleep(10.0).await.is_err() {
                n.set(n.get() + 10);
                // This isn't a good idea, but we have to support
                // this weird case.
                return Err(Exc::MyExc);
            }
            Ok(())
        }));
        sleep(0.1).await.unwrap();
        assert!(!r.done());
        r.cancel();
        match r.await.unwrap() {
            Err(err) => assert_eq!(error_types(&err), names(["MyExc"])),
            Ok(()) => panic!("ExceptionGroup was not raised"),
        }
        assert_eq!(num.get(), 10);
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_19
#[test]
fn test_taskgroup_19() {
    run(async {
        let r = corio::spawn(corio::task_group(|g: Tg| async move {
            g.spawn(crash_after(0.1))?;
            // nested(): try: await asyncio.sleep(10) finally: raise MyExc
            let _ = sleep(10.0).await;
            Err::<(), _>(Exc::MyExc)
        }));
        match r.await.unwrap() {
            Err(err) => assert_eq!(error_types(&err), names(["MyExc", "ZeroDivisionError"])),
            Ok(()) => panic!("TaskGroupError was not raised"),
        }
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_20
#[test]
fn test_taskgroup_20() {
    // KeyboardInterrupt is not an error a group collects: it propagates as
    // it is. corio's counterpart is a panic, which the group resumes once
    // its children are done (rule G7).
    let lp = cpython::new_loop();
    let out = lp.block_on(async {
        let _ = corio::task_group(|g: Tg| async move {
            g.spawn(crash_after(0.1))?;
            let _ = sleep(10.0).await;
            if true {
                panic!("KeyboardInterrupt");
            }
            Ok::<_, Exc>(())
        })
        .await;
    });
    match out {
        Err(corio::LoopError::Panicked(p)) => assert_eq!(p.message(), Some("KeyboardInterrupt")),
        other => panic!("KeyboardInterrupt was not raised: {other:?}"),
    }
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_20a
#[test]
fn test_taskgroup_20a() {
    run(async {
        let out = corio::task_group(|g: Tg| async move {
            g.spawn(crash_after(0.1))?;
            let _ = sleep(10.0).await;
            Err::<(), _>(Exc::MyBaseExc)
        })
        .await;
        let err = out.unwrap_err();
        assert_eq!(error_types(&err), names(["MyBaseExc", "ZeroDivisionError"]));
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_21a
#[test]
fn test_taskgroup_21a() {
    run(async {
        let out = corio::task_group(|g: Tg| async move {
            g.spawn(async {
                sleep(0.1).await?;
                Err::<(), _>(Exc::MyBaseExc)
            })?;
            let _ = sleep(10.0).await;
            Err::<(), _>(Exc::Type)
        })
        .await;
        let err = out.unwrap_err();
        assert_eq!(error_types(&err), names(["MyBaseExc", "TypeError"]));
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_22
#[test]
fn test_taskgroup_22() {
    run(async {
        let r = corio::spawn(corio::task_group(|g: Tg| async move {
            g.spawn(sleep_then(1.0, 42))?;
            g.spawn(sleep_then(2.0, 11))?;
            Ok::<_, Exc>(())
        }));
        sleep(0.05).await.unwrap();
        r.cancel();
        assert!(matches!(r.await, Err(JoinError::Cancelled(_))));
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_23
#[test]
fn test_taskgroup_23() {
    run(async {
        corio::task_group(|g: Tg| async move {
            for count in 0..10 {
                sleep(0.1).await?;
                g.spawn(async {
                    sleep(0.3).await?;
                    Ok::<_, Exc>(())
                })?;
                if count == 5 {
                    assert!(g.len() < 5);
                }
            }
            sleep(1.35).await?;
            assert_eq!(g.len(), 0);
            Ok::<_, Exc>(())
        })
        .await
        .unwrap();
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_24
#[test]
fn test_taskgroup_24() {
    run(async {
        corio::task_group(|g: Tg| async move {
            let g2 = g.clone();
            g.spawn(async move {
                sleep(0.1).await?;
                g2.spawn(sleep_then(0.1, 0))?;
                g2.spawn(sleep_then(0.2, 0))?;
                Ok::<_, Exc>(())
            })?;
            Ok::<_, Exc>(())
        })
        .await
        .unwrap();
    });
}

/// test_taskgroup_25's `hydra(g)`: counts itself, then spawns two more.
fn hydra(g: Tg, nhydras: Rc<Cell<u32>>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Exc>>>> {
    Box::pin(async move {
        nhydras.set(nhydras.get() + 1);
        sleep(0.01).await?;
        g.spawn(hydra(g.clone(), nhydras.clone()))?;
        g.spawn(hydra(g.clone(), nhydras.clone()))?;
        Ok(())
    })
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_25
#[test]
fn test_taskgroup_25() {
    run(async {
        let nhydras = Rc::new(Cell::new(0));
        let n = nhydras.clone();
        let out = corio::task_group(|g: Tg| async move {
            g.spawn(hydra(g.clone(), n.clone()))?;
            g.spawn(async move {
                while n.get() < 10 {
                    sleep(0.015).await?;
                }
                Err::<(), _>(Exc::ZeroDivision)
            })?;
            Ok::<_, Exc>(())
        })
        .await;
        assert_eq!(error_types(&out.unwrap_err()), names(["ZeroDivisionError"]));
        assert!(nhydras.get() >= 10);
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_task_name
#[test]
fn test_taskgroup_task_name() {
    run(async {
        corio::task_group(|g: Tg| async move {
            let t = g.spawn_with(Builder::new().name("yolo"), async {
                corio::yield_now().await?;
                Ok::<_, Exc>(())
            })?;
            assert_eq!(t.name(), "yolo");
            Ok::<_, Exc>(())
        })
        .await
        .unwrap();
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_no_create_task_after_failure
#[test]
fn test_taskgroup_no_create_task_after_failure() {
    run(async {
        let out = corio::task_group(|g: Tg| async move {
            g.spawn(crash_after(0.001))?;
            let g2 = g.clone();
            g.spawn(async move {
                if sleep(1.0).await.is_err() {
                    let refused = g2.spawn(crash_after(0.001));
                    assert!(matches!(refused, Err(SpawnError::ShuttingDown)), "RuntimeError");
                }
                Ok::<_, Exc>(())
            })?;
            Ok::<_, Exc>(())
        })
        .await;
        assert_eq!(error_types(&out.unwrap_err()), names(["ZeroDivisionError"]));
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_context_manager_exit_raises
#[test]
fn test_taskgroup_context_manager_exit_raises() {
    // See https://github.com/python/cpython/issues/95289
    run(async {
        corio::spawn(async {
            let task = corio::current_task().unwrap();
            let out = corio::task_group(|tg: Tg| async move {
                // async with database(): ... finally: raise CustomException
                tg.spawn(async { Err::<(), _>(Exc::Custom) })?;
                let _ = sleep(1.0).await;
                Err::<(), _>(Exc::Custom)
            })
            .await;
            match out {
                Err(err) => {
                    assert_eq!(task.cancelling(), 0);
                    assert_eq!(err.failures().unwrap().len(), 2);
                    assert_eq!(error_types(&err), names(["CustomException"]));
                }
                Ok(()) => panic!("CustomException not raised"),
            }
        })
        .await
        .unwrap();
    });
}

// test_taskgroups.py::TestTaskGroup::test_taskgroup_finished
#[test]
fn test_taskgroup_finished() {
    run(async {
        let tg = corio::task_group(|tg: Tg| async move { Ok::<_, Exc>(tg) }).await.unwrap();
        // Make sure the coroutine was closed when submitted to the inactive
        // tg: here, dropped without being polled.
        let polled = Rc::new(Cell::new(false));
        let p = polled.clone();
        let refused = tg.spawn(async move {
            p.set(true);
            Ok::<_, Exc>(())
        });
        assert_eq!(refused.unwrap_err(), SpawnError::Finished);
        assert!(SpawnError::Finished.to_string().contains("finished"));
        corio::yield_now().await.unwrap();
        assert!(!polled.get());
    });
}

// test_taskgroups.py::TestTaskGroup::test_coro_closed_when_tg_closed
#[test]
fn test_coro_closed_when_tg_closed() {
    let lp = cpython::new_loop();
    lp.block_on(async {
        let tg = corio::task_group(|tg: Tg| async move { Ok::<_, Exc>(tg) }).await.unwrap();
        let refused = tg.spawn(async { Ok::<_, Exc>(()) });
        assert!(matches!(refused, Err(SpawnError::Finished)), "is finished");
    })
    .unwrap();
}

// test_taskgroups.py::TestTaskGroup::test_cancelling_level_preserved
#[test]
fn test_cancelling_level_preserved() {
    run(async {
        let out = corio::task_group(|tg: Tg| async move {
            tg.spawn(async {
                sleep(0.0).await?;
                Err::<(), _>(Exc::Runtime(String::new()))
            })?;
            Ok::<_, Exc>(())
        })
        .await;
        assert_eq!(error_types(&out.unwrap_err()), names(["RuntimeError"])); // except* RuntimeError: pass
        assert_eq!(corio::current_task().unwrap().cancelling(), 0);
    });
}

// test_taskgroups.py::TestTaskGroup::test_nested_groups_both_cancelled
#[test]
fn test_nested_groups_both_cancelled() {
    run(async {
        let out = corio::task_group(|outer_tg: Tg| async move {
            let inner = corio::task_group(|inner_tg: Tg| async move {
                inner_tg.spawn(async {
                    sleep(0.0).await?;
                    Err::<(), _>(Exc::Runtime(String::new()))
                })?;
                outer_tg.spawn(async {
                    sleep(0.0).await?;
                    Err::<(), _>(Exc::Value(String::new()))
                })?;
                Ok::<_, Exc>(())
            })
            .await;
            match inner {
                Err(GroupError::Failed(g)) if g.errors().all(|e| matches!(e, Exc::Runtime(_))) => {} // except* RuntimeError
                other => panic!("RuntimeError not raised: {other:?}"),
            }
            assert_eq!(corio::current_task().unwrap().cancelling(), 1);
            Ok::<_, Exc>(())
        })
        .await;
        assert_eq!(error_types(&out.unwrap_err()), names(["ValueError"])); // except* ValueError
        assert_eq!(corio::current_task().unwrap().cancelling(), 0);
    });
}

// test_taskgroups.py::TestTaskGroup::test_error_and_cancel
#[test]
fn test_error_and_cancel() {
    run(async {
        let event = std::sync::Arc::new(corio::sync::Event::new());
        let e = event.clone();
        let inner = async move {
            let out = corio::task_group(|tg: Tg| async move {
                tg.spawn(async move {
                    e.set();
                    sleep(0.0).await?;
                    Err::<(), _>(Exc::Runtime(String::new()))
                })?;
                sleep(1.0).await?;
                panic!("Sleep in group should have been cancelled");
            })
            .await;
            match out {
                Err(err) => {
                    assert_eq!(error_types(&err), names(["RuntimeError"])); // except* RuntimeError
                    assert_eq!(corio::current_task().unwrap().cancelling(), 1);
                }
                Ok(()) => panic!("RuntimeError not raised"),
            }
            assert_eq!(corio::current_task().unwrap().cancelling(), 1);
            sleep(1.0).await?;
            panic!("Sleep after group should have been cancelled");
            #[allow(unreachable_code)]
            Ok::<(), Cancelled>(())
        };
        // outer()
        let mut t = corio::spawn(inner);
        event.wait().await.unwrap();
        assert_eq!(t.cancelling(), 0);
        t.cancel();
        assert_eq!(t.cancelling(), 1);
        let out = (&mut t).await;
        assert!(matches!(out, Err(JoinError::Cancelled(_))), "{out:?}");
        assert!(t.cancelled());
    });
}
