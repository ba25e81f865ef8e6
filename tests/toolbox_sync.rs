//! `Mutex<T>`, `RwLock<T>`, `Notify`, `broadcast` and `watch` (issue 22):
//! FIFO hand-over, checkpoints and cancel safety (rules S1 and S7 applied to
//! the new primitives), fairness of the reader-writer lock, the channels'
//! lag and close, bad input, and use across loops (threads). Virtual clock,
//! except the cross-thread tests, which synchronise through the primitives.

mod common;

use common::{push, trace, vloop, Out};
use corio::sync::broadcast::{self, error::RecvError as BRecvError, error::TryRecvError as BTryRecvError};
use corio::sync::mpsc::ZeroCapacity;
use corio::sync::watch::{self, error::RecvError as WRecvError};
use corio::sync::{Mutex, MutexGuard, Notify, RwLock, TryLockError};
use corio::{yield_now, Cancelled};
use futures_util::FutureExt;
use std::rc::Rc;
use std::sync::Arc;

type R<T = ()> = Result<T, Cancelled>;

async fn settle() {
    for _ in 0..4 {
        yield_now().await.unwrap();
    }
}

// ----- Mutex<T> -------------------------------------------------------------------

#[test]
fn mutex_hands_over_fifo_and_a_newcomer_queues_behind() {
    vloop()
        .block_on(async {
            let m = Arc::new(Mutex::new(Vec::new()));
            let guard = m.lock().await?;
            let tasks: Vec<_> = ["a", "b", "c"]
                .into_iter()
                .map(|name| {
                    let m = m.clone();
                    corio::spawn(async move {
                        m.lock().await?.push(name);
                        Ok::<_, Cancelled>(())
                    })
                })
                .collect();
            settle().await;
            drop(guard); // handed to "a"
            assert!(m.is_locked());
            assert_eq!(m.try_lock().unwrap_err(), TryLockError, "no barging past the woken waiter");
            for t in tasks {
                t.await.unwrap()?;
            }
            assert_eq!(*m.lock().await?, ["a", "b", "c"]);
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn mutex_waiter_cancelled_after_the_hand_over_passes_it_on() {
    vloop()
        .block_on(async {
            let m = Arc::new(Mutex::new(0));
            let guard = m.lock().await?;
            let spawn = |add: i32| {
                let m = m.clone();
                corio::spawn(async move {
                    *m.lock().await? += add;
                    Ok::<_, Cancelled>(())
                })
            };
            let (a, b) = (spawn(1), spawn(10));
            settle().await;
            drop(guard); // handed to `a`...
            a.cancel(); // ...which is cancelled before it resumes
            assert!(a.await.unwrap_err().is_cancelled());
            b.await.unwrap()?;
            assert_eq!(*m.lock().await?, 10, "b got the lock; a never touched the data");
            assert!(!m.is_locked());
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn mutex_owned_guards_move_into_tasks_and_mapped_guards_hold_the_lock() {
    vloop()
        .block_on(async {
            let m = Arc::new(Mutex::new((0u32, String::new())));
            let mut owned = m.clone().lock_owned().await?;
            assert!(m.clone().try_lock_owned().is_err());
            let task = corio::spawn(async move {
                owned.0 += 1;
                yield_now().await?;
                owned.1.push_str("task");
                Ok::<_, Cancelled>(())
            });
            task.await.unwrap()?;
            let mut name = MutexGuard::map(m.lock().await?, |pair| &mut pair.1);
            name.push('!');
            assert!(m.try_lock().is_err(), "the mapped guard holds the lock");
            drop(name);
            assert_eq!(*m.lock().await?, (1, "task!".to_string()));
            assert_eq!(format!("{:?}", m), r#"Mutex { data: (1, "task!") }"#);
            let mut plain = Mutex::new(5);
            *plain.get_mut() += 1;
            assert_eq!(plain.into_inner(), 6);
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn mutex_shared_across_loops_counts_every_increment() {
    let m = Arc::new(Mutex::new(0u64));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                corio::run(async move {
                    for _ in 0..200 {
                        let mut n = m.lock().await.unwrap();
                        let before = *n;
                        yield_now().await.unwrap(); // hold it across an await
                        *n = before + 1;
                    }
                })
                .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*m.try_lock().unwrap(), 600);
}

// ----- RwLock<T> ------------------------------------------------------------------

/// A task that takes `access` ("r" or "w") and records it, holding it for `hold` yields.
fn rw_task(lock: &Arc<RwLock<u32>>, out: &Out, name: &'static str, hold: usize) -> corio::Task<R> {
    let (lock, out) = (lock.clone(), out.clone());
    corio::spawn(async move {
        if name.starts_with('w') {
            let mut g = lock.write().await?;
            *g += 1;
            push(&out, format!("{name}+"));
            for _ in 0..hold {
                yield_now().await?;
            }
            push(&out, format!("{name}-"));
        } else {
            let _g = lock.read().await?;
            push(&out, format!("{name}+"));
            for _ in 0..hold {
                yield_now().await?;
            }
            push(&out, format!("{name}-"));
        }
        Ok(())
    })
}

#[test]
fn rwlock_a_waiting_writer_blocks_new_readers_and_readers_ahead_go_together() {
    vloop()
        .block_on(async {
            let lock = Arc::new(RwLock::new(0));
            let out: Out = Rc::default();
            let held = lock.read().await?;
            let tasks = vec![
                rw_task(&lock, &out, "r1", 2), // joins the held read at once
                rw_task(&lock, &out, "w1", 1), // waits for both readers
                rw_task(&lock, &out, "r2", 1), // queues behind the writer
                rw_task(&lock, &out, "r3", 1), // likewise; goes with r2
                rw_task(&lock, &out, "w2", 0), // after r2 and r3
            ];
            settle().await;
            assert!(lock.try_read().is_err(), "a waiting writer blocks new readers");
            drop(held);
            for t in tasks {
                t.await.unwrap()?;
            }
            assert_eq!(trace(&out), "r1+ r1- w1+ w1- r2+ r3+ r2- r3- w2+ w2-");
            assert_eq!(*lock.read().await?, 2);
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn rwlock_a_cancelled_waiting_writer_lets_the_readers_behind_it_in() {
    vloop()
        .block_on(async {
            let lock = Arc::new(RwLock::new(0));
            let out: Out = Rc::default();
            let held = lock.read().await?;
            let w = rw_task(&lock, &out, "w", 0);
            let r = rw_task(&lock, &out, "r", 0);
            settle().await;
            assert_eq!(trace(&out), "", "r waits behind w");
            w.cancel();
            assert!(w.await.unwrap_err().is_cancelled());
            r.await.unwrap()?;
            assert_eq!(trace(&out), "r+ r-", "r shared the lock with the held read");
            drop(held);
            assert!(lock.try_write().is_ok());
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn rwlock_a_writer_granted_then_cancelled_passes_the_lock_on() {
    vloop()
        .block_on(async {
            let lock = Arc::new(RwLock::new(0));
            let out: Out = Rc::default();
            let held = lock.write().await?;
            let w = rw_task(&lock, &out, "w", 0);
            let r1 = rw_task(&lock, &out, "r1", 0);
            let r2 = rw_task(&lock, &out, "r2", 0);
            settle().await;
            drop(held); // granted to w...
            w.cancel(); // ...cancelled before it resumes
            assert!(w.await.unwrap_err().is_cancelled());
            r1.await.unwrap()?;
            r2.await.unwrap()?;
            assert_eq!(trace(&out), "r1+ r1- r2+ r2-");
            assert_eq!(*lock.read().await?, 0, "w never wrote");
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn rwlock_max_readers_and_owned_guards() {
    vloop()
        .block_on(async {
            let lock = Arc::new(RwLock::with_max_readers(7, 2));
            let a = lock.clone().read_owned().await?;
            let b = lock.clone().try_read_owned().unwrap();
            assert!(lock.try_read().is_err(), "two readers at most");
            let third = {
                let lock = lock.clone();
                corio::spawn(async move { Ok::<_, Cancelled>(*lock.read().await?) })
            };
            settle().await;
            assert!(!third.done());
            drop(a);
            assert_eq!(third.await.unwrap()?, 7);
            drop(b);
            let mut w = lock.clone().write_owned().await?;
            *w = 8;
            assert!(lock.clone().try_write_owned().is_err());
            drop(w);
            assert_eq!(*lock.try_read().unwrap(), 8);
            // 0 readers would deadlock every read: clamped to 1.
            let one = RwLock::with_max_readers((), 0);
            let _r = one.try_read().unwrap();
            assert!(one.try_read().is_err());
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn rwlock_shared_across_loops_never_lets_a_reader_see_a_half_write() {
    let lock = Arc::new(RwLock::new((0u64, 0u64)));
    let threads: Vec<_> = (0..3)
        .map(|i| {
            let lock = lock.clone();
            std::thread::spawn(move || {
                corio::run(async move {
                    for _ in 0..200 {
                        if i == 0 {
                            let mut g = lock.write().await.unwrap();
                            g.0 += 1;
                            yield_now().await.unwrap();
                            g.1 += 1;
                        } else {
                            let g = lock.read().await.unwrap();
                            assert_eq!(g.0, g.1, "a reader saw a write in progress");
                            yield_now().await.unwrap();
                        }
                    }
                })
                .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*lock.try_read().unwrap(), (200, 200));
}

// ----- Notify ---------------------------------------------------------------------

#[test]
fn notify_one_stores_one_permit_and_notify_waiters_stores_none() {
    vloop()
        .block_on(async {
            let n = Notify::new();
            n.notify_one();
            n.notify_one(); // still one permit
            n.notified().await?;
            let second = corio::select! {
                r = n.notified() => r.map(|()| "notified"),
                r = corio::sleep(std::time::Duration::from_secs(1)) => r.map(|()| "timed out"),
            };
            assert_eq!(second?, "timed out");
            n.notify_waiters(); // nobody waits: nothing stored
            let third = corio::select! {
                r = n.notified() => r.map(|()| "notified"),
                r = corio::sleep(std::time::Duration::from_secs(1)) => r.map(|()| "timed out"),
            };
            assert_eq!(third?, "timed out");
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn notify_waiters_wakes_everyone_waiting_and_every_future_made_before_it() {
    vloop()
        .block_on(async {
            let n = Arc::new(Notify::new());
            let out: Out = Rc::default();
            let tasks: Vec<_> = ["a", "b", "c"]
                .into_iter()
                .map(|name| {
                    let (n, out) = (n.clone(), out.clone());
                    corio::spawn(async move {
                        n.notified().await?;
                        push(&out, name);
                        Ok::<_, Cancelled>(())
                    })
                })
                .collect();
            settle().await;
            let early = n.notified(); // created, not yet polled
            n.notify_waiters();
            early.await?; // completes: it was made before the call
            for t in tasks {
                t.await.unwrap()?;
            }
            assert_eq!(trace(&out), "a b c");
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn notify_one_goes_fifo_and_a_cancelled_receiver_passes_it_on() {
    vloop()
        .block_on(async {
            let n = Arc::new(Notify::new());
            let out: Out = Rc::default();
            let waiter = |name: &'static str| {
                let (n, out) = (n.clone(), out.clone());
                corio::spawn(async move {
                    n.notified().await?;
                    push(&out, name);
                    Ok::<_, Cancelled>(())
                })
            };
            let (a, b, c) = (waiter("a"), waiter("b"), waiter("c"));
            settle().await;
            n.notify_one(); // picks a...
            a.cancel(); // ...which is cancelled before it resumes: b gets it
            assert!(a.await.unwrap_err().is_cancelled());
            b.await.unwrap()?;
            assert_eq!(trace(&out), "b");
            n.notify_one();
            c.await.unwrap()?;
            assert_eq!(trace(&out), "b c");
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

// ----- broadcast ------------------------------------------------------------------

#[test]
fn broadcast_every_receiver_sees_every_value_sent_after_it_subscribed() {
    vloop()
        .block_on(async {
            let (tx, mut rx1) = broadcast::channel(4).unwrap();
            tx.send(1).unwrap();
            let mut rx2 = tx.subscribe(); // does not see 1
            assert_eq!(tx.send(2), Ok(2), "two receivers");
            let readers: Vec<_> = [rx1.resubscribe(), rx2.resubscribe()]
                .into_iter()
                .map(|mut rx| corio::spawn(async move { rx.recv().await }))
                .collect();
            settle().await;
            tx.send(3).unwrap(); // wakes both waiting readers
            for r in readers {
                assert_eq!(r.await.unwrap(), Ok(3));
            }
            assert_eq!(rx1.len(), 3);
            assert_eq!((rx1.recv().await, rx1.recv().await, rx1.recv().await), (Ok(1), Ok(2), Ok(3)));
            assert_eq!((rx2.recv().await, rx2.recv().await), (Ok(2), Ok(3)));
            assert_eq!(rx2.try_recv(), Err(BTryRecvError::Empty));
            drop(tx);
            assert_eq!(rx1.recv().await, Err(BRecvError::Closed));
            assert_eq!(rx2.try_recv(), Err(BTryRecvError::Closed));
        })
        .unwrap();
}

#[test]
fn broadcast_a_slow_receiver_is_told_how_many_it_missed_and_goes_on() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = broadcast::channel(2).unwrap();
            for i in 0..5 {
                tx.send(i).unwrap();
            }
            assert_eq!(rx.recv().await, Err(BRecvError::Lagged(3)));
            assert_eq!(rx.recv().await, Ok(3));
            tx.send(5).unwrap();
            tx.send(6).unwrap();
            tx.send(7).unwrap();
            assert_eq!(rx.try_recv(), Err(BTryRecvError::Lagged(2)));
            assert_eq!(rx.try_recv(), Ok(6));
            drop(tx);
            assert_eq!(rx.recv().await, Ok(7), "values sent before the close are still read");
            assert_eq!(rx.recv().await, Err(BRecvError::Closed));
        })
        .unwrap();
}

#[test]
fn broadcast_bad_input_and_values_are_dropped_once_read_by_everyone() {
    assert_eq!(broadcast::channel::<u32>(0).unwrap_err(), ZeroCapacity);
    let (tx, rx) = broadcast::channel(8).unwrap();
    let value = Rc::new(());
    // Rc is not Send, but the channel's types are fine with it on one loop.
    tx.send(value.clone()).unwrap();
    let mut rx2 = tx.subscribe();
    tx.send(value.clone()).unwrap();
    assert_eq!(Rc::strong_count(&value), 3);
    drop(rx); // its share of both values goes
    assert_eq!(Rc::strong_count(&value), 2, "the first value had no other reader");
    let read = rx2.try_recv().unwrap();
    assert_eq!(Rc::strong_count(&value), 2, "the last reader took the value itself");
    drop(read);
    drop(rx2);
    let err = tx.send(value.clone()).unwrap_err();
    assert!(Rc::ptr_eq(&err.0, &value), "no receiver: the value comes back");
    assert_eq!(tx.receiver_count(), 0);
}

#[test]
fn broadcast_recv_is_a_checkpoint_and_cancel_safe() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = broadcast::channel::<u32>(4).unwrap();
            let task = corio::spawn(async move {
                // The Cancelled is dropped here (swallowed), so the task goes on and ends normally.
                let first = matches!(rx.recv().await, Err(BRecvError::Cancelled(_)));
                let second = rx.recv().await;
                (first, second)
            });
            settle().await;
            task.cancel();
            tx.send(1).unwrap();
            let (first, second) = task.await.unwrap();
            assert!(first, "the recv was cancelled");
            assert_eq!(second, Ok(1), "the cancelled recv took nothing");
        })
        .unwrap();
}

#[test]
fn broadcast_counts_senders_receivers_and_waiters_and_names_its_errors() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = broadcast::channel::<u32>(2).unwrap();
            let shows = |tx: &broadcast::Sender<u32>| format!("{tx:?}");
            assert_eq!(
                shows(&tx),
                "broadcast::Sender { capacity: 2, buffered: 0, senders: 1, receivers: 1, waiting: 0 }"
            );
            let tx2 = tx.clone();
            let rx2 = rx.resubscribe();
            assert!(tx.same_channel(&tx2) && rx.same_channel(&rx2));
            let (other_tx, other_rx) = broadcast::channel::<u32>(2).unwrap();
            assert!(!tx.same_channel(&other_tx) && !rx.same_channel(&other_rx));
            assert_eq!((tx.receiver_count(), tx2.send(1)), (2, Ok(2)));
            assert_eq!(
                shows(&tx),
                "broadcast::Sender { capacity: 2, buffered: 1, senders: 2, receivers: 2, waiting: 0 }"
            );
            drop(tx2); // one sender of two: the channel stays open
            assert_eq!((rx.try_recv(), rx.try_recv()), (Ok(1), Err(BTryRecvError::Empty)));
            assert!(rx.is_empty());
            assert_eq!(format!("{rx:?}"), "broadcast::Receiver { next: 1 }");

            // A waiting recv is counted, and a dropped one leaves no entry behind.
            let mut recv = Box::pin(rx.recv());
            assert!((&mut recv).now_or_never().is_none());
            assert_eq!(format!("{recv:?}"), "broadcast::Recv { queued: true }");
            assert!(shows(&tx).ends_with("waiting: 1 }"));
            drop(recv);
            assert!(shows(&tx).ends_with("waiting: 0 }"));

            // Lag: three values into a ring of two.
            for v in 2..5 {
                tx.send(v).unwrap();
            }
            assert_eq!((rx.len(), rx.is_empty()), (2, false), "the ring holds what it can");
            assert_eq!(rx.try_recv(), Err(BTryRecvError::Lagged(1)));
            assert_eq!(rx.len(), 2);
            drop(rx2);
            assert_eq!(tx.receiver_count(), 1);

            // The errors say what happened.
            assert_eq!(BTryRecvError::Lagged(1).to_string(), "the receiver lagged behind by 1 values");
            assert_eq!(BRecvError::Lagged(7).to_string(), "the receiver lagged behind by 7 values");
            assert_eq!(BTryRecvError::Empty.to_string(), "the broadcast channel is empty");
            assert_eq!(BTryRecvError::Closed.to_string(), "the broadcast channel is closed");
            assert_eq!(BRecvError::Closed.to_string(), "the broadcast channel is closed");
            drop(rx);
            let err = tx.send(9).unwrap_err();
            assert_eq!(
                (format!("{err:?}"), err.to_string()),
                ("SendError(..)".into(), "the broadcast channel has no receiver".into())
            );
            assert_eq!(err.0, 9);
        })
        .unwrap();
}

#[test]
fn broadcast_only_the_last_senders_drop_wakes_the_receivers() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = broadcast::channel::<u32>(2).unwrap();
            let polls = Rc::new(std::cell::Cell::new(0));
            let counted = polls.clone();
            let reader = corio::spawn(async move {
                let mut recv = Box::pin(rx.recv());
                std::future::poll_fn(|cx| {
                    counted.set(counted.get() + 1);
                    recv.poll_unpin(cx)
                })
                .await
            });
            settle().await;
            assert_eq!(polls.get(), 1, "the reader waits");
            let tx2 = tx.clone();
            drop(tx);
            settle().await;
            assert_eq!(polls.get(), 1, "a sender that is not the last wakes no one");
            drop(tx2);
            assert_eq!(reader.await.unwrap(), Err(BRecvError::Closed));
            assert_eq!(polls.get(), 2);
        })
        .unwrap();
}

#[test]
fn broadcast_across_loops_closes_for_every_receiver() {
    let (tx, rx) = broadcast::channel::<u32>(64).unwrap();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let mut rx = rx.resubscribe();
            std::thread::spawn(move || {
                corio::run(async move {
                    let mut got = Vec::new();
                    loop {
                        match rx.recv().await {
                            Ok(v) => got.push(v),
                            Err(BRecvError::Closed) => return got,
                            Err(e) => panic!("{e}"),
                        }
                    }
                })
                .unwrap()
            })
        })
        .collect();
    drop(rx);
    for i in 0..50 {
        tx.send(i).unwrap();
    }
    drop(tx);
    for t in threads {
        assert_eq!(t.join().unwrap(), (0..50).collect::<Vec<_>>());
    }
}

// ----- watch ----------------------------------------------------------------------

#[test]
fn watch_changed_sees_the_latest_value_once() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = watch::channel(0);
            assert!(!rx.has_changed().unwrap());
            tx.send(1).unwrap();
            tx.send(2).unwrap();
            assert!(rx.has_changed().unwrap());
            rx.changed().await.unwrap();
            assert_eq!(*rx.borrow(), 2, "only the latest value");
            let waiting = {
                let mut rx = rx.clone();
                corio::spawn(async move {
                    rx.changed().await?;
                    Ok::<_, WRecvError>(*rx.borrow_and_update())
                })
            };
            settle().await;
            assert!(!tx.send_if_modified(|_| false), "no change: nobody woken");
            settle().await;
            assert!(!waiting.done());
            tx.send_modify(|v| *v += 10);
            assert_eq!(waiting.await.unwrap(), Ok(12));
            assert_eq!(tx.send_replace(20), 12);
            assert_eq!(*rx.borrow_and_update(), 20);
            assert!(!rx.has_changed().unwrap());
            rx.mark_changed();
            rx.changed().await.unwrap();
            tx.send(21).unwrap();
            rx.mark_unchanged();
            assert!(!rx.has_changed().unwrap());
            drop(tx);
            assert_eq!(rx.has_changed(), Err(WRecvError::Closed));
            assert_eq!(rx.changed().await, Err(WRecvError::Closed));
            assert_eq!(*rx.borrow(), 21, "the last value stays readable");
        })
        .unwrap();
}

#[test]
fn watch_a_value_sent_just_before_the_close_is_still_news() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = watch::channel("a");
            tx.send("b").unwrap();
            drop(tx);
            assert_eq!(rx.changed().await, Ok(()));
            assert_eq!(*rx.borrow(), "b");
            assert_eq!(rx.changed().await, Err(WRecvError::Closed));
        })
        .unwrap();
}

#[test]
fn watch_send_without_receivers_returns_the_value_and_closed_waits_for_them() {
    vloop()
        .block_on(async {
            let (tx, rx) = watch::channel(0);
            let rx2 = tx.subscribe();
            assert_eq!(tx.receiver_count(), 2);
            let closed = {
                let tx = tx.clone();
                corio::spawn(async move { tx.closed().await })
            };
            drop(rx);
            settle().await;
            assert!(!closed.done());
            drop(rx2);
            closed.await.unwrap()?;
            assert!(tx.is_closed());
            assert_eq!(tx.send(5).unwrap_err().0, 5);
            tx.send_modify(|v| *v = 6); // stored anyway
            assert_eq!(*tx.borrow(), 6);
            assert_eq!(*tx.subscribe().borrow(), 6);
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn watch_wait_for_and_a_cancelled_changed_marks_nothing_seen() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = watch::channel(0);
            let task = corio::spawn(async move {
                let cancelled = matches!(rx.changed().await, Err(WRecvError::Cancelled(_))); // swallowed
                let then = rx.wait_for(|v| *v >= 3).await.map(|v| *v);
                (cancelled, then)
            });
            settle().await;
            task.cancel();
            tx.send(1).unwrap();
            settle().await;
            tx.send(3).unwrap();
            let (cancelled, then) = task.await.unwrap();
            assert!(cancelled);
            assert_eq!(then, Ok(3));
        })
        .unwrap();
}

#[test]
fn watch_counts_versions_handles_and_waiters_and_names_its_errors() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = watch::channel(0u32);
            let shows = |tx: &watch::Sender<u32>| format!("{tx:?}");
            assert_eq!(
                shows(&tx),
                "watch::Sender { value: 0, version: 0, senders: 1, receivers: 1, waiting_changed: 0, waiting_closed: 0 }"
            );
            assert_eq!((format!("{rx:?}"), format!("{:?}", rx.borrow())), ("watch::Receiver { value: 0 }".into(), "0".into()));

            // Versions: every change counts once; a modification that says "unchanged" does not.
            assert_eq!(tx.send_replace(1), 0);
            assert!(!tx.send_if_modified(|v| *v == 0));
            assert!(shows(&tx).starts_with("watch::Sender { value: 1, version: 1,"));
            assert!(tx.send_if_modified(|v| {
                *v = 2;
                true
            }));
            assert!(shows(&tx).starts_with("watch::Sender { value: 2, version: 2,"));
            assert_eq!(rx.has_changed(), Ok(true));
            rx.mark_unchanged();
            assert_eq!(rx.has_changed(), Ok(false));
            rx.mark_changed();
            assert_eq!(rx.has_changed(), Ok(true));
            rx.changed().await.unwrap();
            assert_eq!(rx.has_changed(), Ok(false), "changed() marks the value seen");

            // Handles: clones and subscribers are counted; a clone has seen what its original has.
            let tx2 = tx.clone();
            let mut rx2 = rx.clone();
            let rx3 = tx.subscribe();
            assert!(rx.same_channel(&rx2) && rx.same_channel(&rx3));
            assert!(!rx.same_channel(&watch::channel(0u32).1));
            assert_eq!((tx.receiver_count(), tx.is_closed()), (3, false));
            assert!(shows(&tx).contains("senders: 2, receivers: 3,"));
            drop(tx2); // one sender of two: not closed
            assert_eq!((rx2.has_changed(), rx3.has_changed()), (Ok(false), Ok(false)));
            assert!(shows(&tx).contains("senders: 1, receivers: 3,"));

            // Waiters are counted, and a dropped wait leaves no entry behind.
            let mut changed = Box::pin(rx2.changed());
            assert!((&mut changed).now_or_never().is_none());
            assert_eq!(format!("{changed:?}"), "watch::Changed { queued: true }");
            assert!(shows(&tx).ends_with("waiting_changed: 1, waiting_closed: 0 }"));
            drop(changed);
            let mut closed = Box::pin(tx.closed());
            assert!((&mut closed).now_or_never().is_none());
            assert_eq!(format!("{closed:?}"), "watch::Closed { queued: true }");
            assert!(shows(&tx).ends_with("waiting_changed: 0, waiting_closed: 1 }"));
            drop(closed);
            assert!(shows(&tx).ends_with("waiting_changed: 0, waiting_closed: 0 }"));

            drop((rx, rx2, rx3));
            assert_eq!((tx.receiver_count(), tx.is_closed()), (0, true));
            let err = tx.send(9).unwrap_err();
            assert_eq!((format!("{err:?}"), err.to_string()), ("SendError(..)".into(), "the watch channel has no receiver".into()));
            assert_eq!(err.0, 9);
            assert_eq!(WRecvError::Closed.to_string(), "the watch channel is closed");
        })
        .unwrap();
}

#[test]
fn watch_a_send_and_the_close_wake_more_receivers_than_one_batch_holds() {
    // A wake-up batch holds 32 wakers; 70 waiting receivers take three.
    vloop()
        .block_on(async {
            let (tx, rx) = watch::channel(0u32);
            let tasks: Vec<_> = (0..70)
                .map(|_| {
                    let mut rx = rx.clone();
                    corio::spawn(async move {
                        let first = rx.changed().await.map(|()| *rx.borrow_and_update());
                        (first, rx.changed().await)
                    })
                })
                .collect();
            settle().await;
            assert!(format!("{tx:?}").contains("waiting_changed: 70,"));
            tx.send(1).unwrap();
            settle().await;
            assert!(format!("{tx:?}").contains("waiting_changed: 70,"), "each queued again for the next change");
            drop(tx);
            for task in tasks {
                assert_eq!(task.await.unwrap(), (Ok(1), Err(WRecvError::Closed)));
            }
        })
        .unwrap();
}

#[test]
fn watch_across_loops_every_receiver_ends_with_the_last_value() {
    let (tx, rx) = watch::channel(0u32);
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let mut rx = rx.clone();
            std::thread::spawn(move || {
                corio::run(async move {
                    let mut last = 0;
                    while rx.changed().await.is_ok() {
                        let v = *rx.borrow_and_update();
                        assert!(v >= last, "values go forward");
                        last = v;
                    }
                    last
                })
                .unwrap()
            })
        })
        .collect();
    drop(rx);
    for i in 1..=100 {
        tx.send(i).unwrap();
    }
    drop(tx);
    for t in threads {
        assert_eq!(t.join().unwrap(), 100);
    }
}

#[test]
fn every_sync_type_has_a_debug_form_and_its_accessors_answer() {
    use corio::sync::{Barrier, BoundedSemaphore, Condition, Lock, Semaphore};
    let lock = Lock::new();
    assert_eq!(format!("{:?}", lock.acquire()), "LockAcquire { .. }");
    let guard = lock.try_acquire().unwrap();
    assert_eq!(format!("{guard:?}"), "LockGuard { .. }");
    assert!(std::ptr::eq(guard.lock(), &lock), "the guard names its lock");
    assert_eq!(format!("{:?}", guard.lock()), "Lock { locked: true, waiters: 0 }");
    drop(guard);

    let sem = Semaphore::new(2);
    assert_eq!(format!("{:?}", sem.acquire()), "SemaphoreAcquire { .. }");
    assert_eq!(format!("{:?}", sem.try_acquire().unwrap()), "SemaphorePermit { .. }");
    let bounded = BoundedSemaphore::new(2);
    let permit = bounded.try_acquire().unwrap();
    assert_eq!(format!("{bounded:?}"), "BoundedSemaphore { available: 1, bound: 2, waiters: 0 }");
    drop(permit);

    let mutex = Mutex::new(5);
    assert_eq!(format!("{:?}", mutex.lock()), "MutexLock { .. }");
    let held = mutex.try_lock().unwrap();
    assert_eq!((format!("{held:?}"), held.to_string()), ("5".to_string(), "5".to_string()));
    assert_eq!(format!("{mutex:?}"), "Mutex { data: <locked> }");
    drop(held);

    let rwlock = RwLock::new(7);
    assert_eq!(format!("{:?}", rwlock.read()), "RwLockAcquire { access: Read, .. }");
    assert_eq!(format!("{:?}", rwlock.write()), "RwLockAcquire { access: Write, .. }");
    let reader = rwlock.try_read().unwrap();
    assert_eq!((format!("{reader:?}"), format!("{rwlock:?}")), ("7".to_string(), "RwLock { data: 7 }".to_string()));
    drop(reader);
    let writer = rwlock.try_write().unwrap();
    assert_eq!(
        (format!("{writer:?}"), format!("{rwlock:?}")),
        ("7".to_string(), "RwLock { data: <locked> }".to_string())
    );
    drop(writer);

    let barrier = Barrier::new(3);
    assert_eq!(format!("{barrier:?}"), "Barrier { parties: 3, phase: Filling, count: 0, blocked: 0 }");
    assert_eq!((barrier.parties(), barrier.n_waiting(), barrier.broken(), barrier.draining()), (3, 0, false, false));

    let cond = Condition::new();
    let guard = cond.try_acquire().unwrap();
    assert_eq!(format!("{guard:?}"), "ConditionGuard { held: true }");
    assert_eq!(format!("{cond:?}"), "Condition { locked: true, waiters: 0 }");
    assert!(std::ptr::eq(guard.condition(), &cond));
    drop(guard);

    let notify = Notify::new();
    assert_eq!(format!("{:?}", notify.notified()), "Notified { queued: false }");

    let shared = Arc::new(Mutex::new(1));
    let owned = shared.clone().try_lock_owned().unwrap();
    assert_eq!(format!("{owned:?}"), "1");
    drop(owned);
    let mapped = MutexGuard::map(shared.try_lock().unwrap(), |v| v);
    assert_eq!(format!("{mapped:?}"), "1");
    assert_eq!(shared.try_lock().unwrap_err().to_string(), "the lock is held or waited for");
    drop(mapped);
    let shared = Arc::new(RwLock::new(2));
    let owned_read = shared.clone().try_read_owned().unwrap();
    assert_eq!(format!("{owned_read:?}"), "2");
    drop(owned_read);
    let owned_write = shared.clone().try_write_owned().unwrap();
    assert_eq!(format!("{owned_write:?}"), "2");
    // The most readers at once, as tokio's `MAX_READS`.
    assert_eq!(corio::sync::MAX_READERS, u32::MAX >> 3);
}

#[test]
fn a_queued_rwlock_wait_keeps_waiting_when_polled_again_and_leaves_when_dropped() {
    // A `select!` or `join!` polls every branch when any wakes: a queued
    // wait polled without a grant keeps waiting. A queued wait dropped
    // without a cancellation leaves the list, so the release that follows
    // grants nobody and the lock is free.
    use std::future::Future;
    use std::task::{Context, Waker};
    let lock = RwLock::new(0);
    let mut cx = Context::from_waker(Waker::noop());
    let writer = lock.try_write().unwrap();
    let mut read = Box::pin(lock.read());
    let mut write = Box::pin(lock.write());
    for _ in 0..2 {
        assert!(read.as_mut().poll(&mut cx).is_pending(), "the writer holds it");
        assert!(write.as_mut().poll(&mut cx).is_pending(), "the writer holds it");
    }
    drop((read, write));
    drop(writer);
    assert!(lock.try_write().is_ok(), "the dropped waits left: nobody was granted the lock");
}

#[test]
fn notify_and_condition_waiters_leave_their_lists_whichever_way_they_end() {
    // The waiter counts through a grant, a notify_waiters and a wait
    // dropped without a cancellation; debug builds also check, in `Debug`,
    // that Notify's WAITERS flag matches its list.
    use corio::sync::Condition;
    use std::future::Future;
    use std::task::{Context, Waker};
    let mut cx = Context::from_waker(Waker::noop());
    let notify = Notify::new();
    let mut first = Box::pin(notify.notified());
    let mut second = Box::pin(notify.notified());
    assert!(first.as_mut().poll(&mut cx).is_pending());
    assert!(second.as_mut().poll(&mut cx).is_pending());
    assert_eq!(format!("{notify:?}"), "Notify { permit: false, waiters: 2 }");
    notify.notify_one();
    assert_eq!(format!("{notify:?}"), "Notify { permit: false, waiters: 1 }");
    assert!(first.as_mut().poll(&mut cx).is_ready());
    notify.notify_one();
    assert_eq!(format!("{notify:?}"), "Notify { permit: false, waiters: 0 }");
    assert!(second.as_mut().poll(&mut cx).is_ready());
    notify.notify_one();
    assert_eq!(format!("{notify:?}"), "Notify { permit: true, waiters: 0 }", "stored for the next wait");
    let mut third = Box::pin(notify.notified());
    assert!(third.as_mut().poll(&mut cx).is_ready(), "the stored permit");
    let mut fourth = Box::pin(notify.notified());
    let mut fifth = Box::pin(notify.notified());
    assert!(fourth.as_mut().poll(&mut cx).is_pending());
    assert!(fifth.as_mut().poll(&mut cx).is_pending());
    drop(fifth);
    assert_eq!(format!("{notify:?}"), "Notify { permit: false, waiters: 1 }");
    notify.notify_waiters();
    assert_eq!(format!("{notify:?}"), "Notify { permit: false, waiters: 0 }");
    assert!(fourth.as_mut().poll(&mut cx).is_ready());
    notify.notify_waiters();
    assert_eq!(format!("{notify:?}"), "Notify { permit: false, waiters: 0 }", "notify_waiters stores nothing");

    let cond = Condition::new();
    let mut guard = cond.try_acquire().unwrap();
    let mut wait = Box::pin(guard.wait());
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    assert_eq!(format!("{cond:?}"), "Condition { locked: false, waiters: 1 }");
    drop(wait);
    // Dropped half-way: it left the list, without taking the lock back.
    assert_eq!(format!("{cond:?}"), "Condition { locked: false, waiters: 0 }");
    drop(guard);
    // wait_for returns at once when the predicate already holds.
    let mut guard = cond.try_acquire().unwrap();
    let mut ready = Box::pin(guard.wait_for(|| true));
    assert!(ready.as_mut().poll(&mut cx).is_ready());
    drop(ready);
    assert_eq!(format!("{cond:?}"), "Condition { locked: true, waiters: 0 }");
}
