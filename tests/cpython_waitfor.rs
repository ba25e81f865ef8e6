//! CPython 3.13 `Lib/test/test_asyncio/test_waitfor.py`, ported (see
//! `tests/cpython/mod.rs`). `await asyncio.wait_for(aw, t)` is
//! `corio::wait_for(t, aw).await`; `timeout=None` is `Timeout::never()`, a
//! negative timeout a deadline in the past (`timeout_at`); `TimeoutError` is
//! `Err(Elapsed)`. A `Task` awaited several times is a `SharedTask`.

mod cpython;

use corio::structured::{Shield, Timeout};
use corio::{AnyTask, Completion, Elapsed, JoinError};
use cpython::{run, secs, sleep};
use std::cell::Cell;
use std::rc::Rc;

/// `_EPSILON`: a very small timeout.
const EPSILON: f64 = 0.0001;

/// `SlowTask`: runs for TASK_TIMEOUT, ignoring cancel requests.
struct SlowTask {
    exited: Cell<bool>,
}

impl SlowTask {
    const TASK_TIMEOUT: f64 = 0.2;

    fn new() -> Rc<SlowTask> {
        Rc::new(SlowTask { exited: Cell::new(false) })
    }

    async fn run(self: Rc<Self>) {
        let exitat = corio::time() + secs(Self::TASK_TIMEOUT);
        loop {
            let now = corio::time();
            if now >= exitat {
                break;
            }
            let _ = corio::sleep(exitat - now).await; // except CancelledError: pass
        }
        self.exited.set(true);
    }
}

// test_waitfor.py::AsyncioWaitForTest::test_asyncio_wait_for_cancelled
#[test]
fn test_asyncio_wait_for_cancelled() {
    run(async {
        let t = SlowTask::new();
        let waitfortask = corio::spawn(corio::wait_for(secs(SlowTask::TASK_TIMEOUT * 2.0), t.clone().run()));
        sleep(0.0).await.unwrap();
        waitfortask.cancel();
        waitfortask.wait().await.unwrap(); // asyncio.wait({waitfortask})
        assert!(t.exited.get());
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_asyncio_wait_for_timeout
#[test]
fn test_asyncio_wait_for_timeout() {
    run(async {
        let t = SlowTask::new();
        let _ = corio::wait_for(secs(SlowTask::TASK_TIMEOUT / 2.0), t.clone().run()).await; // except TimeoutError: pass
        assert!(t.exited.get());
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_wait_for_timeout_less_then_0_or_0_future_done
#[test]
fn test_wait_for_timeout_less_then_0_or_0_future_done() {
    run(async {
        let fut = Completion::new();
        fut.set_result("done").unwrap();
        let ret = corio::wait_for(secs(0.0), fut.wait()).await.unwrap();
        assert_eq!(ret.unwrap(), "done");
        assert!(fut.done());
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started
#[test]
#[ignore = "deliberate difference (docs/semantics.md, 16): wait_for with a zero timeout polls the future once"]
fn test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started() {
    run(async {
        let foo_started = Rc::new(Cell::new(false));
        let f = foo_started.clone();
        let out = corio::wait_for(secs(0.0), async move { f.set(true) }).await;
        assert_eq!(out, Err(Elapsed::default()));
        assert!(!foo_started.get());
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_wait_for_timeout_less_then_0_or_0
#[test]
fn test_wait_for_timeout_less_then_0_or_0() {
    run(async {
        for timeout in [0.0, -1.0] {
            let foo_running = Rc::new(Cell::new(None));
            let started = Completion::new();
            let (running, s) = (foo_running.clone(), started.clone());
            let fut = corio::spawn(async move {
                running.set(Some(true));
                s.set_result(()).unwrap();
                let slept = sleep(10.0).await;
                running.set(Some(false)); // finally
                slept.map(|()| "done")
            })
            .shared();
            started.wait().await.unwrap();

            // wait_for(fut, timeout): a timeout <= 0 is a deadline now or past.
            let out = corio::timeout_at(corio::time() - secs(-timeout)).run(fut.clone()).await;
            assert_eq!(out.err(), Some(Elapsed::default()), "timeout={timeout}");

            assert!(fut.done());
            // it should have been cancelled due to the timeout
            assert!(fut.cancelled());
            assert_eq!(foo_running.get(), Some(false));
        }
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_wait_for
#[test]
fn test_wait_for() {
    run(async {
        let foo_running = Rc::new(Cell::new(None));
        let running = foo_running.clone();
        let fut = corio::spawn(async move {
            running.set(Some(true));
            let slept = sleep(300.0).await; // support.LONG_TIMEOUT
            running.set(Some(false)); // finally
            slept.map(|()| "done")
        })
        .shared();
        let out = corio::wait_for(secs(0.1), fut.clone()).await;
        assert_eq!(out.err(), Some(Elapsed::default()));
        assert!(fut.done());
        // it should have been cancelled due to the timeout
        assert!(fut.cancelled());
        assert_eq!(foo_running.get(), Some(false));
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_wait_for_blocking
#[test]
fn test_wait_for_blocking() {
    run(async {
        let res = Timeout::never().run(async { "done" }).await; // wait_for(coro(), timeout=None)
        assert_eq!(res.unwrap(), "done");
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_wait_for_race_condition
#[test]
fn test_wait_for_race_condition() {
    run(async {
        let fut = Completion::new();
        let task = corio::wait_for(secs(0.2), fut.wait());
        let f = fut.clone();
        corio::call_soon(move || {
            f.set_result("ok").unwrap();
        });
        let res = task.await.unwrap().unwrap();
        assert_eq!(res, "ok");
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_wait_for_cancellation_race_condition
#[test]
fn test_wait_for_cancellation_race_condition() {
    run(async {
        let inner = async {
            assert!(sleep(1.0).await.is_err(), "CancelledError");
            1
        };
        let result = corio::wait_for(secs(0.01), inner).await;
        assert_eq!(result.unwrap(), 1);
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_wait_for_waits_for_task_cancellation
#[test]
fn test_wait_for_waits_for_task_cancellation() {
    run(async {
        let task_done = Rc::new(Cell::new(false));
        let done = task_done.clone();
        let inner_task = corio::spawn(async move {
            let out = match sleep(10.0).await {
                Ok(()) => Ok(()),
                Err(c) => {
                    let _ = sleep(EPSILON).await;
                    Err(c)
                }
            };
            done.set(true); // finally
            out
        });
        let out = corio::wait_for(secs(EPSILON), inner_task).await;
        assert_eq!(out.err(), Some(Elapsed::default()));
        assert!(task_done.get());
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_wait_for_waits_for_task_cancellation_w_timeout_0
#[test]
fn test_wait_for_waits_for_task_cancellation_w_timeout_0() {
    run(async {
        let task_done = Rc::new(Cell::new(false));
        let done = task_done.clone();
        let foo = async move {
            let inner_task = corio::spawn(async move {
                let out = match sleep(10.0).await {
                    Ok(()) => Ok(()),
                    Err(c) => {
                        let _ = sleep(EPSILON).await;
                        Err(c)
                    }
                };
                done.set(true); // finally
                out
            });
            sleep(EPSILON).await.unwrap();
            corio::wait_for(secs(0.0), inner_task).await.map(|_| ())
        };
        assert_eq!(foo.await, Err(Elapsed::default()));
        assert!(task_done.get());
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_wait_for_reraises_exception_during_cancellation
#[test]
fn test_wait_for_reraises_exception_during_cancellation() {
    #[derive(Debug, PartialEq)]
    struct FooException;
    run(async {
        let foo = async {
            let inner_task = corio::spawn(async {
                let _ = sleep(0.2).await;
                Err::<(), _>(FooException) // finally: raise FooException
            });
            corio::wait_for(secs(EPSILON), inner_task).await
        };
        assert!(matches!(foo.await, Ok(Ok(Err(FooException)))), "FooException");
    });
}

/// `_test_cancel_wait_for(timeout)`
fn cancel_wait_for(timeout: Option<f64>) {
    run(async {
        let task = corio::spawn(async {
            let fut = Completion::<()>::new();
            // Block: fut result is never set
            fut.wait().await
        });
        let watch = AnyTask::clone(&task);
        let mut wait = corio::spawn(async move {
            let out = match timeout {
                None => Timeout::never().run(task).await,
                Some(t) => corio::wait_for(secs(t), task).await,
            };
            out.map(|joined| joined.map(drop))
        });
        let w = AnyTask::clone(&wait);
        corio::call_soon(move || {
            w.cancel();
        });
        let out = (&mut wait).await;
        assert!(matches!(out, Err(JoinError::Cancelled(_))), "CancelledError: {out:?}");
        // Python issue #23219: cancelling the wait must also cancel the task
        assert!(watch.cancelled());
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_cancel_blocking_wait_for
#[test]
fn test_cancel_blocking_wait_for() {
    cancel_wait_for(None);
}

// test_waitfor.py::AsyncioWaitForTest::test_cancel_wait_for
#[test]
fn test_cancel_wait_for() {
    cancel_wait_for(Some(60.0));
}

// test_waitfor.py::AsyncioWaitForTest::test_wait_for_cancel_suppressed
#[test]
fn test_wait_for_cancel_suppressed() {
    // GH-86296: if a task suppresses CancelledError and returns a value,
    // `wait_for` should return the value instead of raising CancelledError.
    run(async {
        let return_42 = async {
            match sleep(10.0).await {
                Err(_) => Some(42),
                Ok(()) => None,
            }
        };
        let res = corio::wait_for(secs(0.1), return_42).await;
        assert_eq!(res.unwrap(), Some(42));
    });
}

// test_waitfor.py::AsyncioWaitForTest::test_wait_for_issue86296
#[test]
fn test_wait_for_issue86296() {
    // GH-86296: The task should get cancelled and not run to completion.
    // inner completes in one cycle of the event loop so it completes before
    // the task is cancelled.
    run(async {
        let inner_task = corio::spawn(async { "done" }).shared();
        let reached_end = Rc::new(Cell::new(false));
        let (inner, reached) = (inner_task.clone(), reached_end.clone());
        let mut task = corio::spawn(async move {
            corio::wait_for(secs(100.0), inner).await.unwrap()?;
            sleep(1.0).await?;
            reached.set(true);
            Ok::<_, corio::Cancelled>(())
        });
        assert!(!task.done());
        // Run the task
        sleep(0.0).await.unwrap();
        task.cancel();
        let out = (&mut task).await;
        assert!(matches!(out, Err(JoinError::Cancelled(_))), "CancelledError: {out:?}");
        assert!(inner_task.done());
        assert_eq!(inner_task.await.unwrap(), "done");
        assert!(!reached_end.get());
    });
}

/// `async def coro(): await asyncio.sleep(s); return 'done'`
async fn sleep_done(s: f64) -> &'static str {
    sleep(s).await.unwrap();
    "done"
}

// test_waitfor.py::WaitForShieldTests::test_zero_timeout
#[test]
fn test_zero_timeout() {
    // `asyncio.shield` creates a new task which wraps the passed in
    // awaitable and shields it from cancellation so with timeout=0 the task
    // returned by `asyncio.shield` gets cancelled immediately and the task
    // wrapped by it is scheduled to run. (corio's shield is a future, not a
    // task: `shielded_task.cancelled()` has no counterpart.)
    run(async {
        let task = corio::spawn(sleep_done(0.01)).shared();
        let shielded_task = corio::shield(task.clone());
        let out = corio::wait_for(secs(0.0), shielded_task).await;
        assert!(matches!(out, Err(Elapsed { .. })), "TimeoutError");

        // Task is running in background
        assert!(!task.done());
        assert!(!task.cancelled());

        // Wait for the task to complete
        sleep(0.1).await.unwrap();
        assert!(task.done());
    });
}

// test_waitfor.py::WaitForShieldTests::test_none_timeout
#[test]
fn test_none_timeout() {
    // With timeout=None the timeout is disabled so it runs till completion.
    run(async {
        let task = corio::spawn(sleep_done(0.1)).shared();
        Timeout::never().run(Shield::new(corio::spawn(task.clone()))).await.unwrap().unwrap().unwrap();
        assert!(task.done());
        assert_eq!(task.await.unwrap(), "done");
    });
}

// test_waitfor.py::WaitForShieldTests::test_shielded_timeout
#[test]
fn test_shielded_timeout() {
    // shield prevents the task from being cancelled.
    run(async {
        let task = corio::spawn(sleep_done(0.1)).shared();
        let out = corio::wait_for(secs(0.01), corio::shield(task.clone())).await;
        assert!(matches!(out, Err(Elapsed { .. })), "TimeoutError");
        assert!(!task.done());
        assert!(!task.cancelled());
        assert_eq!(task.await.unwrap(), "done");
    });
}
