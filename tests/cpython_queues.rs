//! CPython 3.13 `Lib/test/test_asyncio/test_queues.py`, ported (see
//! `tests/cpython/mod.rs`). `QueueEmpty`, `QueueFull`, `QueueShutDown` are
//! `GetError::Empty`, `PutError::Full`, `PutError::ShutDown` /
//! `GetError::ShutDown`; `ValueError` from `task_done` is `TaskDoneError`.
//! The join and shutdown mixins run for `Queue`, `LifoQueue` and
//! `PriorityQueue`, as CPython's three subclasses do.

mod cpython;

use corio::sync::{Event, GetError, LifoQueue, PriorityQueue, PutError, Queue};
use corio::{ChildError, JoinError};
use cpython::{run, secs, Exc};
use std::cell::Cell;
use std::rc::Rc;

/// `await asyncio.sleep(0)`
async fn tick() {
    corio::yield_now().await.unwrap();
}

// ===== QueueBasicTests =========================================================

// test_queues.py::QueueBasicTests::test_empty
#[test]
fn test_empty() {
    run(async {
        let q = Queue::new(0);
        assert!(q.empty());
        q.put(1).await.unwrap();
        assert!(!q.empty());
        assert_eq!(q.get().await.unwrap(), 1);
        assert!(q.empty());
    });
}

// test_queues.py::QueueBasicTests::test_full
#[test]
fn test_full() {
    run(async {
        let q = Queue::<i32>::new(0);
        assert!(!q.full());
        let q = Queue::new(1);
        q.put(1).await.unwrap();
        assert!(q.full());
    });
}

// test_queues.py::QueueBasicTests::test_order
#[test]
fn test_order() {
    run(async {
        let q = Queue::new(0);
        for i in [1, 3, 2] {
            q.put(i).await.unwrap();
        }
        let mut items = Vec::new();
        for _ in 0..3 {
            items.push(q.get().await.unwrap());
        }
        assert_eq!(items, [1, 3, 2]);
    });
}

// test_queues.py::QueueBasicTests::test_maxsize
#[test]
fn test_maxsize() {
    run(async {
        let q = Rc::new(Queue::new(2));
        assert_eq!(q.maxsize(), 2);
        let have_been_put = Rc::new(std::cell::RefCell::new(Vec::new()));
        let (qq, put) = (q.clone(), have_been_put.clone());
        let t = corio::spawn(async move {
            for i in 0..3 {
                qq.put(i).await.map_err(|_| ())?;
                put.borrow_mut().push(i);
            }
            Ok::<_, ()>(true)
        });
        for _ in 0..2 {
            tick().await;
        }

        // The putter is blocked after putting two items.
        assert_eq!(*have_been_put.borrow(), [0, 1]);
        assert_eq!(q.get().await.unwrap(), 0);

        // Let the putter resume and put last item.
        tick().await;
        assert_eq!(*have_been_put.borrow(), [0, 1, 2]);
        assert_eq!(q.get().await.unwrap(), 1);
        assert_eq!(q.get().await.unwrap(), 2);

        assert!(t.done());
        assert!(t.await.unwrap().unwrap());
    });
}

// ===== QueueGetTests ===========================================================

// test_queues.py::QueueGetTests::test_blocking_get
#[test]
fn test_blocking_get() {
    run(async {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        assert_eq!(q.get().await.unwrap(), 1);
    });
}

// test_queues.py::QueueGetTests::test_blocking_get_wait
#[test]
fn test_blocking_get_wait() {
    run(async {
        let q = Rc::new(Queue::new(0));
        let started = Rc::new(Event::new());
        let finished = Rc::new(Cell::new(false));
        let (qq, s, f) = (q.clone(), started.clone(), finished.clone());
        let queue_get_task = corio::spawn(async move {
            s.set();
            let res = qq.get().await;
            f.set(true);
            res
        });
        started.wait().await.unwrap();
        assert!(!finished.get());
        let qq = q.clone();
        corio::call_later(secs(0.01), move || qq.put_nowait(1).unwrap());
        let res = queue_get_task.await.unwrap().unwrap();
        assert!(finished.get());
        assert_eq!(res, 1);
    });
}

// test_queues.py::QueueGetTests::test_nonblocking_get
#[test]
fn test_nonblocking_get() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    assert_eq!(q.get_nowait().unwrap(), 1);
}

// test_queues.py::QueueGetTests::test_nonblocking_get_exception
#[test]
fn test_nonblocking_get_exception() {
    let q = Queue::<i32>::new(0);
    assert!(matches!(q.get_nowait(), Err(GetError::Empty)), "QueueEmpty");
}

// test_queues.py::QueueGetTests::test_get_cancelled_race
#[test]
fn test_get_cancelled_race() {
    run(async {
        let q = Rc::new(Queue::new(0));
        let get = |q: &Rc<Queue<&'static str>>| {
            let q = q.clone();
            corio::spawn(async move { q.get().await })
        };
        let t1 = get(&q);
        let t2 = get(&q);

        tick().await;
        t1.cancel();
        tick().await;
        assert!(t1.done());
        q.put("a").await.unwrap();
        tick().await;
        assert_eq!(t2.await.unwrap().unwrap(), "a");
    });
}

// test_queues.py::QueueGetTests::test_get_with_waiting_putters
#[test]
fn test_get_with_waiting_putters() {
    run(async {
        let q = Rc::new(Queue::new(1));
        for item in ["a", "b"] {
            let q = q.clone();
            corio::spawn(async move { q.put(item).await.map_err(|_| ()) }).detach();
        }
        assert_eq!(q.get().await.unwrap(), "a");
        assert_eq!(q.get().await.unwrap(), "b");
    });
}

// test_queues.py::QueueGetTests::test_why_are_getters_waiting
#[test]
fn test_why_are_getters_waiting() {
    run(async {
        let q = Rc::new(Queue::new(1));
        let producer_num_items = 5;
        let (qp, qc) = (q.clone(), q.clone());
        corio::task_group(|tg| async move {
            tg.spawn(async move {
                for i in 0..producer_num_items {
                    qp.put(i).await?;
                }
                Ok::<_, Exc>(())
            })?;
            tg.spawn(async move {
                for _ in 0..producer_num_items {
                    qc.get().await?;
                }
                Ok::<_, Exc>(())
            })?;
            Ok::<_, Exc>(())
        })
        .await
        .unwrap();
    });
}

// test_queues.py::QueueGetTests::test_cancelled_getters_not_being_held_in_self_getters
#[test]
fn test_cancelled_getters_not_being_held_in_self_getters() {
    run(async {
        let queue = Queue::<i32>::new(5);
        let out = corio::wait_for(secs(0.1), queue.get()).await;
        assert!(matches!(out, Err(corio::Elapsed { .. })), "TimeoutError");
        // len(queue._getters) == 0: a put now is not promised to anyone.
        queue.put_nowait(1).unwrap();
        assert_eq!(queue.qsize(), 1);
        assert_eq!(queue.get_nowait().unwrap(), 1);
    });
}

// ===== QueuePutTests ===========================================================

// test_queues.py::QueuePutTests::test_blocking_put
#[test]
fn test_blocking_put() {
    run(async {
        let q = Queue::new(0);
        // No maxsize, won't block.
        q.put(1).await.unwrap();
        assert_eq!(q.get().await.unwrap(), 1);
    });
}

// test_queues.py::QueuePutTests::test_blocking_put_wait
#[test]
fn test_blocking_put_wait() {
    run(async {
        let q = Rc::new(Queue::new(1));
        let started = Rc::new(Event::new());
        let finished = Rc::new(Cell::new(false));
        let qq = q.clone();
        corio::call_later(secs(0.01), move || {
            qq.get_nowait().unwrap();
        });
        let (qq, s, f) = (q.clone(), started.clone(), finished.clone());
        let queue_put_task = corio::spawn(async move {
            s.set();
            qq.put(1).await.map_err(|_| ())?;
            qq.put(2).await.map_err(|_| ())?;
            f.set(true);
            Ok::<_, ()>(())
        });
        started.wait().await.unwrap();
        assert!(!finished.get());
        queue_put_task.await.unwrap().unwrap();
        assert!(finished.get());
    });
}

// test_queues.py::QueuePutTests::test_nonblocking_put
#[test]
fn test_nonblocking_put() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    assert_eq!(q.get_nowait().unwrap(), 1);
}

// test_queues.py::QueuePutTests::test_get_cancel_drop_one_pending_reader
#[test]
fn test_get_cancel_drop_one_pending_reader() {
    run(async {
        let q = Rc::new(Queue::new(0));
        let qq = q.clone();
        let mut reader = corio::spawn(async move { qq.get().await });
        tick().await;

        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        reader.cancel();

        let result = match (&mut reader).await {
            Ok(got) => got.unwrap(),
            Err(JoinError::Cancelled(_)) => {
                // try again
                let qq = q.clone();
                corio::spawn(async move { qq.get().await }).await.unwrap().unwrap()
            }
            Err(other) => panic!("{other}"),
        };
        // if we get 2, it means 1 got dropped!
        assert_eq!(result, 1);
    });
}

// test_queues.py::QueuePutTests::test_get_cancel_drop_many_pending_readers
#[test]
fn test_get_cancel_drop_many_pending_readers() {
    run(async {
        let q = Rc::new(Queue::new(0));
        let qq = q.clone();
        let (reader2, reader3) = corio::task_group(|tg| async move {
            let get = || {
                let q = qq.clone();
                async move { Ok::<_, Exc>(q.get().await?) }
            };
            let reader1 = tg.spawn(get())?;
            let reader2 = tg.spawn(get())?;
            let reader3 = tg.spawn(get())?;

            tick().await;

            qq.put_nowait(1).unwrap();
            qq.put_nowait(2).unwrap();
            reader1.cancel();

            let out = reader1.await;
            assert!(matches!(out, Err(ChildError::Cancelled(_))), "CancelledError: {out:?}");

            let reader3 = reader3.await.unwrap();
            Ok::<_, Exc>((reader2, reader3))
        })
        .await
        .unwrap();
        let mut results = [reader2.await.unwrap(), reader3];
        results.sort();
        // It is undefined in which order concurrent readers receive results.
        assert_eq!(results, [1, 2]);
    });
}

// test_queues.py::QueuePutTests::test_put_cancel_drop
#[test]
fn test_put_cancel_drop() {
    run(async {
        let q = Rc::new(Queue::new(1));
        q.put_nowait(1).unwrap();

        // putting a second item in the queue has to block (qsize=1)
        let qq = q.clone();
        let mut writer = corio::spawn(async move { qq.put(2).await });
        tick().await;

        let value1 = q.get_nowait().unwrap();
        assert_eq!(value1, 1);

        writer.cancel();
        if let Err(JoinError::Cancelled(_)) = (&mut writer).await {
            // try again
            let qq = q.clone();
            corio::spawn(async move { qq.put(2).await }).await.unwrap().unwrap();
        }

        let value2 = q.get_nowait().unwrap();
        assert_eq!(value2, 2);
        assert_eq!(q.qsize(), 0);
    });
}

// test_queues.py::QueuePutTests::test_nonblocking_put_exception
#[test]
fn test_nonblocking_put_exception() {
    let q = Queue::new(1);
    q.put_nowait(1).unwrap();
    assert!(matches!(q.put_nowait(2), Err(PutError::Full(2))), "QueueFull");
}

// test_queues.py::QueuePutTests::test_put_cancelled
#[test]
fn test_put_cancelled() {
    run(async {
        let q = Rc::new(Queue::new(0));
        let qq = q.clone();
        let t = corio::spawn(async move {
            qq.put(1).await.map_err(|_| ())?;
            Ok::<_, ()>(true)
        });
        assert_eq!(q.get().await.unwrap(), 1);
        assert!(t.done());
        assert!(t.await.unwrap().unwrap());
    });
}

// test_queues.py::QueuePutTests::test_put_cancelled_race
#[test]
fn test_put_cancelled_race() {
    run(async {
        let q = Rc::new(Queue::new(1));
        let put = |item: &'static str| {
            let q = q.clone();
            corio::spawn(async move { q.put(item).await })
        };
        let put_a = put("a");
        let put_b = put("b");
        let put_c = put("X");

        tick().await;
        assert!(put_a.done());
        assert!(!put_b.done());

        put_c.cancel();
        tick().await;
        assert!(put_c.done());
        assert_eq!(q.get_nowait().unwrap(), "a");
        tick().await;
        assert_eq!(q.get_nowait().unwrap(), "b");

        put_b.await.unwrap().unwrap();
    });
}

// test_queues.py::QueuePutTests::test_put_with_waiting_getters
#[test]
fn test_put_with_waiting_getters() {
    run(async {
        let q = Rc::new(Queue::new(0));
        let qq = q.clone();
        let t = corio::spawn(async move { qq.get().await });
        tick().await;
        q.put("a").await.unwrap();
        assert_eq!(t.await.unwrap().unwrap(), "a");
    });
}

// test_queues.py::QueuePutTests::test_why_are_putters_waiting
#[test]
fn test_why_are_putters_waiting() {
    run(async {
        let queue = Rc::new(Queue::new(2));
        let q = queue.clone();
        corio::task_group(|tg| async move {
            let qg = q.clone();
            tg.spawn(async move {
                tick().await;
                let num = qg.qsize();
                for _ in 0..num {
                    qg.get_nowait()?;
                }
                Ok::<_, Exc>(())
            })?;
            for item in 0..4 {
                let q = q.clone();
                tg.spawn(async move { Ok::<_, Exc>(q.put(item).await?) })?;
            }
            Ok::<_, Exc>(())
        })
        .await
        .unwrap();
    });
}

// test_queues.py::QueuePutTests::test_cancelled_puts_not_being_held_in_self_putters
#[test]
fn test_cancelled_puts_not_being_held_in_self_putters() {
    run(async {
        // Full queue.
        let queue = Rc::new(Queue::new(1));
        queue.put_nowait(1).unwrap();

        // Task waiting for space to put an item in the queue.
        let q = queue.clone();
        let put_task = corio::spawn(async move { q.put(1).await });
        tick().await;

        // The putter is removed from the putters when the task is cancelled.
        put_task.cancel();
        assert!(matches!(put_task.await, Err(JoinError::Cancelled(_))), "CancelledError");
        // len(queue._putters) == 0: a freed slot is promised to nobody.
        queue.get_nowait().unwrap();
        queue.put_nowait(2).unwrap();
    });
}

// test_queues.py::QueuePutTests::test_cancelled_put_silence_value_error_exception
#[test]
fn test_cancelled_put_silence_value_error_exception() {
    run(async {
        // Full Queue.
        let queue = Rc::new(Queue::new(1));
        queue.put_nowait(1).unwrap();

        // Task waiting for space to put an item in the queue.
        let q = queue.clone();
        let put_task = corio::spawn(async move { q.put(1).await });
        tick().await;

        // get_nowait() hands the freed slot to put_task.
        queue.get_nowait().unwrap();
        // Cancelled after it was handed the slot: the cancellation, not an
        // internal error, is what it ends with.
        put_task.cancel();
        assert!(matches!(put_task.await, Err(JoinError::Cancelled(_))), "CancelledError");
    });
}

// ===== LifoQueueTests, PriorityQueueTests ======================================

// test_queues.py::LifoQueueTests::test_order
#[test]
fn test_lifo_order() {
    run(async {
        let q = LifoQueue::new(0);
        for i in [1, 3, 2] {
            q.put(i).await.unwrap();
        }
        let mut items = Vec::new();
        for _ in 0..3 {
            items.push(q.get().await.unwrap());
        }
        assert_eq!(items, [2, 3, 1]);
    });
}

// test_queues.py::PriorityQueueTests::test_order
#[test]
fn test_priority_order() {
    run(async {
        let q = PriorityQueue::new(0);
        for i in [1, 3, 2] {
            q.put(i).await.unwrap();
        }
        let mut items = Vec::new();
        for _ in 0..3 {
            items.push(q.get().await.unwrap());
        }
        assert_eq!(items, [1, 2, 3]);
    });
}

// ===== _QueueJoinTestMixin and _QueueShutdownTestMixin, for each queue class ====

/// The mixins' tests for one queue class (`$new(maxsize)` builds one).
macro_rules! mixins {
    ($class:ident, $new:expr) => {
        mod $class {
            use super::*;

            // test_queues.py::{Queue,LifoQueue,PriorityQueue}JoinTests::test_task_done_underflow
            #[test]
            fn test_task_done_underflow() {
                let q = $new(0);
                assert!(q.task_done().is_err(), "ValueError");
                let _: Option<i32> = q.get_nowait().ok();
            }

            // test_queues.py::{Queue,LifoQueue,PriorityQueue}JoinTests::test_task_done
            #[test]
            fn test_task_done() {
                run(async {
                    let q = Rc::new($new(0));
                    for i in 0..100 {
                        q.put_nowait(i).unwrap();
                    }
                    let accumulator = Rc::new(Cell::new(0));
                    // Two workers get items from the queue and call
                    // task_done after each. Join the queue and assert all
                    // items have been processed.
                    let running = Rc::new(Cell::new(true));
                    let (qq, acc, run_flag) = (q.clone(), accumulator.clone(), running.clone());
                    corio::task_group(|tg| async move {
                        let mut tasks = Vec::new();
                        for _ in 0..2 {
                            let (q, acc, running) = (qq.clone(), acc.clone(), run_flag.clone());
                            tasks.push(tg.spawn(async move {
                                while running.get() {
                                    let item = q.get().await?;
                                    acc.set(acc.get() + item);
                                    q.task_done().map_err(|_| Exc::Value(String::new()))?;
                                }
                                Ok::<_, Exc>(())
                            })?);
                        }
                        qq.join().await?;
                        assert_eq!(acc.get(), (0..100).sum::<i32>());
                        // close running generators
                        run_flag.set(false);
                        for _ in 0..tasks.len() {
                            qq.put_nowait(0).unwrap();
                        }
                        Ok::<_, Exc>(())
                    })
                    .await
                    .unwrap();
                    assert_eq!(accumulator.get(), (0..100).sum::<i32>());
                });
            }

            // test_queues.py::{Queue,LifoQueue,PriorityQueue}JoinTests::test_join_empty_queue
            #[test]
            fn test_join_empty_queue() {
                run(async {
                    let q = $new(0);
                    // joins successfully, and before anything else (twice
                    // for insurance)
                    q.join().await.unwrap();
                    q.join().await.unwrap();
                    let _: Option<i32> = q.get_nowait().ok();
                });
            }

            // test_queues.py::{Queue,LifoQueue,PriorityQueue}ShutdownTests::test_shutdown_empty
            #[test]
            fn test_shutdown_empty() {
                run(async {
                    let q = Rc::new($new(0));
                    let qq = q.clone();
                    let get_task = corio::spawn(async move { qq.get().await });
                    tick().await; // want get task pending before shutdown

                    q.shutdown(false); // unfinished tasks: 0 -> 0
                    assert_eq!(q.qsize(), 0);

                    // Ensure join() task successfully finishes
                    q.join().await.unwrap();

                    // Ensure get() task is finished, and raised ShutDown
                    tick().await;
                    assert!(get_task.done());
                    assert!(matches!(get_task.await.unwrap(), Err(GetError::ShutDown)));

                    // Ensure put() and get() raise ShutDown
                    assert!(matches!(q.put("data").await, Err(PutError::ShutDown(_))));
                    assert!(matches!(q.put_nowait("data"), Err(PutError::ShutDown(_))));
                    assert!(matches!(q.get().await, Err(GetError::ShutDown)));
                    assert!(matches!(q.get_nowait(), Err(GetError::ShutDown)));
                });
            }

            // test_queues.py::{Queue,LifoQueue,PriorityQueue}ShutdownTests::test_shutdown_nonempty
            #[test]
            fn test_shutdown_nonempty() {
                run(async {
                    let q = Rc::new($new(1));
                    q.put_nowait("data").unwrap();
                    let qq = q.clone();
                    let join_task = corio::spawn(async move { qq.join().await });
                    let qq = q.clone();
                    let put_task = corio::spawn(async move { qq.put("data2").await.map_err(|e| e.is_shut_down()) });

                    // Ensure put() task is not finished
                    tick().await;
                    assert!(!put_task.done());

                    q.shutdown(false); // unfinished tasks: 1 -> 1
                    assert_eq!(q.qsize(), 1);

                    // Ensure put() task is finished, and raised ShutDown
                    tick().await;
                    assert!(put_task.done());
                    assert_eq!(put_task.await.unwrap(), Err(true));

                    // Ensure get() succeeds on enqueued item
                    assert_eq!(q.get().await.unwrap(), "data");

                    // Ensure join() task is not finished
                    tick().await;
                    assert!(!join_task.done());

                    // Ensure put() and get() raise ShutDown
                    assert!(matches!(q.put("data").await, Err(PutError::ShutDown(_))));
                    assert!(matches!(q.put_nowait("data"), Err(PutError::ShutDown(_))));
                    assert!(matches!(q.get().await, Err(GetError::ShutDown)));
                    assert!(matches!(q.get_nowait(), Err(GetError::ShutDown)));

                    // Ensure there is 1 unfinished task, and join() task succeeds
                    q.task_done().unwrap();
                    tick().await;
                    assert!(join_task.done());
                    join_task.await.unwrap().unwrap();

                    assert!(q.task_done().is_err(), "ValueError");
                });
            }

            // test_queues.py::{Queue,LifoQueue,PriorityQueue}ShutdownTests::test_shutdown_immediate
            #[test]
            fn test_shutdown_immediate() {
                run(async {
                    let q = Rc::new($new(0));
                    q.put_nowait("data").unwrap();
                    let qq = q.clone();
                    let join_task = corio::spawn(async move { qq.join().await });

                    q.shutdown(true); // unfinished tasks: 1 -> 0
                    assert_eq!(q.qsize(), 0);

                    // Ensure join() task has successfully finished
                    tick().await;
                    assert!(join_task.done());
                    join_task.await.unwrap().unwrap();

                    // Ensure put() and get() raise ShutDown
                    assert!(matches!(q.put("data").await, Err(PutError::ShutDown(_))));
                    assert!(matches!(q.put_nowait("data"), Err(PutError::ShutDown(_))));
                    assert!(matches!(q.get().await, Err(GetError::ShutDown)));
                    assert!(matches!(q.get_nowait(), Err(GetError::ShutDown)));

                    // Ensure there are no unfinished tasks
                    assert!(q.task_done().is_err(), "ValueError");
                });
            }

            // test_queues.py::{Queue,LifoQueue,PriorityQueue}ShutdownTests::test_shutdown_immediate_with_unfinished
            #[test]
            fn test_shutdown_immediate_with_unfinished() {
                run(async {
                    let q = Rc::new($new(0));
                    q.put_nowait("data").unwrap();
                    q.put_nowait("data").unwrap();
                    let qq = q.clone();
                    let join_task = corio::spawn(async move { qq.join().await });
                    assert_eq!(q.get().await.unwrap(), "data");

                    q.shutdown(true); // unfinished tasks: 2 -> 1
                    assert_eq!(q.qsize(), 0);

                    // Ensure join() task is not finished
                    tick().await;
                    assert!(!join_task.done());

                    // Ensure put() and get() raise ShutDown
                    assert!(matches!(q.put("data").await, Err(PutError::ShutDown(_))));
                    assert!(matches!(q.put_nowait("data"), Err(PutError::ShutDown(_))));
                    assert!(matches!(q.get().await, Err(GetError::ShutDown)));
                    assert!(matches!(q.get_nowait(), Err(GetError::ShutDown)));

                    // Ensure there is 1 unfinished task
                    q.task_done().unwrap();
                    assert!(q.task_done().is_err(), "ValueError");

                    // Ensure join() task has successfully finished
                    tick().await;
                    assert!(join_task.done());
                    join_task.await.unwrap().unwrap();
                });
            }
        }
    };
}

mixins!(queue, Queue::new);
mixins!(lifo_queue, LifoQueue::new);
mixins!(priority_queue, PriorityQueue::new);
