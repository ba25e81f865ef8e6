//! Rules S1–S7 (synchronisation primitives and queues), each test named by
//! its rule id, plus the primitives' bad-input errors and cross-loop use.
//! Everything runs on the virtual clock except the cross-thread tests, which
//! synchronise through the primitives themselves (no sleeps, no timing).

mod common;

use common::{push, trace, vloop, Out};
use corio::sync::queue::{Fifo, Lifo, Priority, QueueOrder};
use corio::sync::{
    mpsc, oneshot, Barrier, BarrierError, BoundedSemaphore, Condition, Event, GetError, LifoQueue, Lock, NotLocked,
    PriorityQueue, PutError, Queue, Semaphore, TaskDoneError, TooManyReleases,
};
use corio::{yield_now, Cancelled};
use futures_util::{FutureExt, StreamExt};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

type R<T = ()> = Result<T, Cancelled>;

/// Lets every ready task run (several loop iterations).
async fn settle() {
    for _ in 0..4 {
        yield_now().await.unwrap();
    }
}

/// A task that takes the lock, records it, and holds it until `hold` yields.
fn locker(lock: &Arc<Lock>, out: &Out, name: &'static str, hold: usize) -> corio::Task<R> {
    let (lock, out) = (lock.clone(), out.clone());
    corio::spawn(async move {
        let _guard = lock.acquire().await?;
        push(&out, name);
        for _ in 0..hold {
            yield_now().await?;
        }
        Ok(())
    })
}

// ----- S1: Lock -----------------------------------------------------------------

#[test]
fn s1_lock_waiters_are_served_fifo_and_newcomers_queue_behind() {
    // rule S1
    vloop()
        .block_on(async {
            let lock = Arc::new(Lock::new());
            let out: Out = Rc::default();
            let guard = lock.acquire().await?;
            let tasks: Vec<_> = ["a", "b", "c"].iter().map(|n| locker(&lock, &out, n, 1)).collect();
            settle().await;
            drop(guard); // handed to "a", which has not resumed yet
            assert!(lock.locked(), "the lock is the woken waiter's");
            assert!(lock.try_acquire().is_none(), "no barging past the woken waiter");
            let late = locker(&lock, &out, "late", 0);
            for t in tasks {
                t.await.unwrap()?;
            }
            late.await.unwrap()?;
            assert_eq!(trace(&out), "a b c late");
            assert!(!lock.locked());
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s1_releasing_an_unlocked_lock_is_an_error() {
    // rule S1
    let lock = Lock::new();
    assert_eq!(lock.release(), Err(NotLocked));
    assert_eq!(NotLocked.to_string(), "the lock is not acquired");
    lock.try_acquire().unwrap().forget();
    assert_eq!(lock.release(), Ok(()));
    assert_eq!(lock.release(), Err(NotLocked));
}

#[test]
fn s1_a_waiter_cancelled_after_being_handed_the_lock_passes_it_on() {
    // rule S1, S7
    vloop()
        .block_on(async {
            let lock = Arc::new(Lock::new());
            let out: Out = Rc::default();
            let guard = lock.acquire().await?;
            let a = locker(&lock, &out, "a", 0);
            let b = locker(&lock, &out, "b", 0);
            settle().await;
            drop(guard); // hands the lock to a ...
            a.cancel(); // ... which is cancelled before it resumes
            assert!(a.await.unwrap_err().is_cancelled());
            b.await.unwrap()?;
            assert_eq!(trace(&out), "b");
            assert!(!lock.locked());
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

// ----- S2: Semaphore --------------------------------------------------------------

#[test]
fn s2_permits_are_handed_over_fifo_and_holders_never_exceed_permits() {
    // rule S2
    vloop()
        .block_on(async {
            let sem = Arc::new(Semaphore::new(2));
            let out: Out = Rc::default();
            let holders = Rc::new(std::cell::Cell::new(0usize));
            let tasks: Vec<_> = (0..6)
                .map(|i| {
                    let (sem, out, holders) = (sem.clone(), out.clone(), holders.clone());
                    corio::spawn(async move {
                        let _permit = sem.acquire().await?;
                        holders.set(holders.get() + 1);
                        assert!(holders.get() <= 2, "more holders than permits");
                        push(&out, i.to_string());
                        corio::sleep(Duration::from_millis(1 + (5 - i) as u64)).await?;
                        holders.set(holders.get() - 1);
                        R::Ok(())
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap()?;
            }
            // Later tasks sleep shorter, yet permits go to waiters in arrival order.
            assert_eq!(trace(&out), "0 1 2 3 4 5");
            assert_eq!(sem.available_permits(), 2);
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s2_a_woken_then_cancelled_waiter_gives_its_permit_back() {
    // rule S2, S7
    vloop()
        .block_on(async {
            let sem = Arc::new(Semaphore::new(1));
            let permit = sem.acquire().await?;
            let s = sem.clone();
            let waiter = corio::spawn(async move { s.acquire().await.map(|p| p.forget()) });
            settle().await;
            drop(permit); // handed to the waiter
            assert_eq!(sem.available_permits(), 0);
            waiter.cancel();
            assert!(waiter.await.unwrap_err().is_cancelled());
            assert_eq!(sem.available_permits(), 1, "the permit came back");
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s2_bounded_semaphore_refuses_over_release() {
    // rule S2
    let sem = BoundedSemaphore::new(2);
    assert_eq!(sem.release(), Err(TooManyReleases));
    let p = sem.try_acquire().unwrap();
    assert_eq!(sem.available_permits(), 1);
    drop(p);
    assert_eq!(sem.release(), Err(TooManyReleases));
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(TooManyReleases.to_string(), "BoundedSemaphore released too many times");
    // A plain semaphore may grow, as asyncio's does.
    let plain = Semaphore::new(0);
    plain.release();
    assert_eq!(plain.available_permits(), 1);
}

#[test]
fn s2_counts_past_max_permits_are_clamped_not_overflowed() {
    // Extreme input: a semaphore asked for usize::MAX permits holds
    // MAX_PERMITS, and releases past it are not kept.
    for sem in [Semaphore::new(usize::MAX), Semaphore::new(Semaphore::MAX_PERMITS)] {
        assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
        sem.release();
        assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
        sem.try_acquire().unwrap().forget();
        assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS - 1);
        assert!(!sem.locked());
    }
    // Room for any real count: a large one is kept as it is.
    assert_eq!(Semaphore::new(usize::MAX / 8).available_permits(), usize::MAX / 8);
    let bounded = BoundedSemaphore::new(usize::MAX);
    assert_eq!(bounded.available_permits(), Semaphore::MAX_PERMITS);
    assert_eq!(bounded.release(), Err(TooManyReleases));
}

#[test]
fn s2_debug_shows_how_many_wait_and_locked_follows_the_line() {
    // The waiter list's length (Debug) and `locked()` (asyncio: an acquire
    // would wait) through a grant, a handed-over waiter that has not
    // resumed, and a cancelled waiter.
    vloop()
        .block_on(async {
            let sem = Arc::new(Semaphore::new(1));
            assert_eq!(format!("{sem:?}"), "Semaphore { available: 1, waiters: 0 }");
            assert!(!sem.locked());
            let held = sem.try_acquire().unwrap();
            assert!(sem.locked());
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    let sem = sem.clone();
                    corio::spawn(async move { sem.acquire().await.map(|p| p.forget()) })
                })
                .collect();
            yield_now().await?;
            assert_eq!(format!("{sem:?}"), "Semaphore { available: 0, waiters: 3 }");
            waiters[1].cancel();
            yield_now().await?;
            assert_eq!(format!("{sem:?}"), "Semaphore { available: 0, waiters: 2 }");
            // Handed to the first waiter, which has not resumed: it stands in
            // line, so a permit released meanwhile waits for the next waiter.
            drop(held);
            assert_eq!(format!("{sem:?}"), "Semaphore { available: 0, waiters: 1 }");
            sem.release();
            assert_eq!(format!("{sem:?}"), "Semaphore { available: 0, waiters: 0 }");
            sem.release();
            assert_eq!(format!("{sem:?}"), "Semaphore { available: 1, waiters: 0 }");
            assert!(sem.locked(), "two waiters handed permits have not resumed");
            yield_now().await?;
            assert!(!sem.locked());
            let lock = Lock::new();
            assert_eq!(format!("{lock:?}"), "Lock { locked: false, waiters: 0 }");
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s2_a_waiter_polled_again_before_its_turn_keeps_waiting() {
    // A wait polled when nothing was granted to it (a `join!` or `select!`
    // polls every branch when any wakes) must not take a permit: only the
    // head of the line, once handed one, gets it.
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let sem = Semaphore::new(0);
    let mut cx = Context::from_waker(Waker::noop());
    let mut first = Box::pin(sem.acquire());
    let mut second = Box::pin(sem.acquire());
    assert!(first.as_mut().poll(&mut cx).is_pending());
    assert!(second.as_mut().poll(&mut cx).is_pending());
    for _ in 0..2 {
        assert!(first.as_mut().poll(&mut cx).is_pending(), "nothing was released");
        assert!(second.as_mut().poll(&mut cx).is_pending(), "nothing was released");
    }
    sem.release();
    assert!(second.as_mut().poll(&mut cx).is_pending(), "the permit went to the first waiter");
    let Poll::Ready(Ok(permit)) = first.as_mut().poll(&mut cx) else {
        panic!("the first waiter was handed the permit")
    };
    assert!(second.as_mut().poll(&mut cx).is_pending());
    assert_eq!(format!("{sem:?}"), "Semaphore { available: 0, waiters: 1 }");
    drop(permit);
    assert!(second.as_mut().poll(&mut cx).is_ready());
}

#[test]
fn s7_an_acquire_dropped_while_queued_leaves_the_line() {
    // A wait dropped without a cancellation (a `select!` branch that lost)
    // leaves the waiter list; a release then keeps its permit instead of
    // handing it to the departed waiter.
    use std::future::Future;
    use std::task::{Context, Waker};
    let sem = Semaphore::new(0);
    let mut cx = Context::from_waker(Waker::noop());
    let mut acquire = Box::pin(sem.acquire());
    assert!(acquire.as_mut().poll(&mut cx).is_pending());
    assert_eq!(format!("{sem:?}"), "Semaphore { available: 0, waiters: 1 }");
    drop(acquire);
    assert_eq!(format!("{sem:?}"), "Semaphore { available: 0, waiters: 0 }");
    sem.release();
    assert_eq!(sem.available_permits(), 1);
    let lock = Lock::new();
    let held = lock.try_acquire().unwrap();
    let mut acquire = Box::pin(lock.acquire());
    assert!(acquire.as_mut().poll(&mut cx).is_pending());
    drop(acquire);
    drop(held);
    assert!(!lock.locked(), "the release found nobody in line");
}

#[test]
fn more_waiters_than_one_wake_batch_are_all_woken() {
    // Primitives wake in batches of 32 outside their lock, relocking for the
    // rest: with 100 waiters every one must be woken, whichever call wakes
    // them all at once.
    const N: usize = 100;
    vloop()
        .block_on(async {
            let event = Arc::new(Event::new());
            let cond = Arc::new(Condition::new());
            let notify = Arc::new(corio::sync::Notify::new());
            let barrier = Arc::new(Barrier::new(N + 1));
            let rwlock = Arc::new(corio::sync::RwLock::new(0));
            let queue = Arc::new(Queue::<u32>::new(0));
            let mut tasks = Vec::new();
            for _ in 0..N {
                let (event, cond, notify) = (event.clone(), cond.clone(), notify.clone());
                let (barrier, rwlock, queue) = (barrier.clone(), rwlock.clone(), queue.clone());
                let woken = |what: &'static str| move |ok: bool| assert!(ok, "{what}");
                tasks.push(corio::spawn(async move { woken("event")(event.wait().await.is_ok()) }));
                tasks.push(corio::spawn(async move {
                    let mut guard = cond.acquire().await.unwrap();
                    woken("condition")(guard.wait().await.is_ok())
                }));
                tasks.push(corio::spawn(async move { woken("notify")(notify.notified().await.is_ok()) }));
                tasks.push(corio::spawn(async move { woken("barrier")(barrier.wait().await.is_ok()) }));
                tasks.push(corio::spawn(async move { woken("rwlock")(rwlock.read().await.is_ok()) }));
                tasks.push(corio::spawn(async move { woken("queue")(queue.get().await.is_err()) }));
            }
            let writer = rwlock.try_write().unwrap();
            yield_now().await?;
            assert_eq!(format!("{event:?}"), format!("Event {{ set: false, waiters: {N} }}"));
            event.set();
            cond.acquire().await?.notify_all();
            notify.notify_waiters();
            barrier.wait().await.unwrap();
            drop(writer);
            queue.shutdown(false);
            for task in tasks {
                task.await.unwrap();
            }
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

// ----- S3: Event ------------------------------------------------------------------

#[test]
fn s3_set_wakes_every_current_waiter_even_if_cleared_at_once() {
    // rule S3
    vloop()
        .block_on(async {
            let ev = Arc::new(Event::new());
            let out: Out = Rc::default();
            let tasks: Vec<_> = (0..3)
                .map(|i| {
                    let (ev, out) = (ev.clone(), out.clone());
                    corio::spawn(async move {
                        ev.wait().await?;
                        push(&out, i.to_string());
                        R::Ok(())
                    })
                })
                .collect();
            settle().await;
            ev.set();
            ev.clear();
            assert!(!ev.is_set());
            for t in tasks {
                t.await.unwrap()?;
            }
            assert_eq!(trace(&out), "0 1 2");
            // A waiter arriving after the clear waits for the next set.
            let e = ev.clone();
            let late = corio::spawn(async move { e.wait().await });
            settle().await;
            assert!(!late.done());
            ev.set();
            late.await.unwrap()?;
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s3_wait_on_a_set_event_returns_at_once() {
    // rule S3
    let ev = Event::new();
    ev.set();
    assert_eq!(ev.wait().now_or_never(), Some(Ok(())));
    ev.set(); // setting twice is harmless
    assert!(ev.is_set());
}

#[test]
fn s3_a_cancelled_or_dropped_waiter_leaves_the_waiter_list() {
    // rule S3 (bookkeeping): a waiter that is cancelled, or whose wait is dropped, leaves the list, so a wait under a
    // timeout in a loop does not grow it; the ones that stay are still woken by `set`.
    vloop()
        .block_on(async {
            let ev = Arc::new(Event::new());
            assert_eq!(format!("{ev:?}"), "Event { set: false, waiters: 0 }");
            let out: Out = Rc::default();
            let tasks: Vec<_> = (0..3)
                .map(|i| {
                    let (ev, out) = (ev.clone(), out.clone());
                    corio::spawn(async move {
                        ev.wait().await?;
                        push(&out, i.to_string());
                        R::Ok(())
                    })
                })
                .collect();
            settle().await;
            assert_eq!(format!("{ev:?}"), "Event { set: false, waiters: 3 }");
            // The middle waiter is cancelled: the other two stay queued.
            tasks[1].cancel();
            settle().await;
            assert_eq!(format!("{ev:?}"), "Event { set: false, waiters: 2 }");
            // A wait polled once (queued) and dropped leaves too.
            let mut dropped = Box::pin(ev.wait());
            assert_eq!((&mut dropped).now_or_never(), None);
            assert_eq!(format!("{ev:?}"), "Event { set: false, waiters: 3 }");
            drop(dropped);
            assert_eq!(format!("{ev:?}"), "Event { set: false, waiters: 2 }");
            // Waits under a timeout in a loop leave no trace.
            for _ in 0..100 {
                assert!(corio::wait_for(Duration::from_millis(1), ev.wait()).await.is_err());
            }
            assert_eq!(format!("{ev:?}"), "Event { set: false, waiters: 2 }");
            ev.set();
            assert_eq!(format!("{ev:?}"), "Event { set: true, waiters: 0 }");
            let mut results = Vec::new();
            for t in tasks {
                results.push(t.await.map_err(|e| e.is_cancelled()));
            }
            assert_eq!(results, [Ok(Ok(())), Err(true), Ok(Ok(()))]);
            assert_eq!(trace(&out), "0 2");
            // The last waiter leaving empties the list: a later wait and set start afresh.
            ev.clear();
            let e = ev.clone();
            let lone = corio::spawn(async move { e.wait().await });
            settle().await;
            assert_eq!(format!("{ev:?}"), "Event { set: false, waiters: 1 }");
            lone.cancel();
            settle().await;
            assert_eq!(format!("{ev:?}"), "Event { set: false, waiters: 0 }");
            let e = ev.clone();
            let again = corio::spawn(async move { e.wait().await });
            settle().await;
            ev.set();
            again.await.unwrap()?;
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s3_event_debug_and_default() {
    // rule S3: the Debug form shows the flag and how many wait.
    let ev = Event::default();
    assert!(!ev.is_set());
    assert_eq!(format!("{ev:?}"), "Event { set: false, waiters: 0 }");
    ev.set();
    assert_eq!(format!("{ev:?}"), "Event { set: true, waiters: 0 }");
    ev.clear();
    assert_eq!(format!("{ev:?}"), "Event { set: false, waiters: 0 }");
}

// ----- S4: Condition --------------------------------------------------------------

#[test]
fn s4_notify_n_wakes_n_waiters_fifo() {
    // rule S4
    vloop()
        .block_on(async {
            let cond = Arc::new(Condition::new());
            let out: Out = Rc::default();
            let tasks: Vec<_> = (0..4)
                .map(|i| {
                    let (cond, out) = (cond.clone(), out.clone());
                    corio::spawn(async move {
                        let mut guard = cond.acquire().await?;
                        guard.wait().await?;
                        push(&out, i.to_string());
                        R::Ok(())
                    })
                })
                .collect();
            settle().await;
            cond.acquire().await?.notify(2);
            settle().await;
            assert_eq!(trace(&out), "0 1");
            cond.acquire().await?.notify(1);
            settle().await;
            assert_eq!(trace(&out), "0 1 2");
            cond.acquire().await?.notify_all();
            for t in tasks {
                t.await.unwrap()?;
            }
            assert_eq!(trace(&out), "0 1 2 3");
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s4_wait_reacquires_the_lock_before_returning_even_when_cancelled() {
    // rule S4
    vloop()
        .block_on(async {
            let cond = Arc::new(Condition::new());
            let out: Out = Rc::default();
            let (c, o) = (cond.clone(), out.clone());
            let waiter = corio::spawn(async move {
                let mut guard = c.acquire().await?;
                let result = guard.wait().await;
                // Back from wait, cancelled or not, the lock is ours.
                push(&o, format!("returned cancelled={} locked={}", result.is_err(), c.locked()));
                assert!(c.try_acquire().is_none());
                drop(guard);
                push(&o, "released");
                result
            });
            settle().await;
            let holder = cond.acquire().await?; // the waiter's lock is ours now
            waiter.cancel();
            settle().await;
            assert_eq!(trace(&out), "", "wait cannot return while another task holds the lock");
            drop(holder);
            assert!(waiter.await.unwrap_err().is_cancelled());
            assert_eq!(trace(&out), "returned cancelled=true locked=true released");
            assert!(!cond.locked());
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s4_a_notification_taken_by_a_cancelled_waiter_goes_to_another() {
    // rule S4 (asyncio 3.13), S7
    vloop()
        .block_on(async {
            let cond = Arc::new(Condition::new());
            let out: Out = Rc::default();
            let spawn_waiter = |name: &'static str| {
                let (c, o) = (cond.clone(), out.clone());
                corio::spawn(async move {
                    let mut guard = c.acquire().await?;
                    guard.wait().await?;
                    push(&o, name);
                    R::Ok(())
                })
            };
            let a = spawn_waiter("a");
            let b = spawn_waiter("b");
            settle().await;
            cond.acquire().await?.notify(1); // a takes the notification ...
            a.cancel(); // ... and is cancelled before it resumes
            assert!(a.await.unwrap_err().is_cancelled());
            b.await.unwrap()?; // b got it instead
            assert_eq!(trace(&out), "b");
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

// ----- S5: Barrier ----------------------------------------------------------------

fn barrier_waiter(barrier: &Arc<Barrier>) -> corio::Task<Result<usize, BarrierError>> {
    let b = barrier.clone();
    corio::spawn(async move { b.wait().await })
}

#[test]
fn s5_a_cancelled_waiter_lowers_the_count_without_breaking_the_barrier() {
    // rule S5, S7
    vloop()
        .block_on(async {
            let barrier = Arc::new(Barrier::new(3));
            let a = barrier_waiter(&barrier);
            let b = barrier_waiter(&barrier);
            settle().await;
            assert_eq!(barrier.n_waiting(), 2);
            a.cancel();
            assert!(a.await.unwrap_err().is_cancelled()); // it propagated the Cancelled
            assert_eq!(barrier.n_waiting(), 1);
            assert!(!barrier.broken());
            let c = barrier_waiter(&barrier);
            settle().await;
            assert!(!c.done(), "two waiters of three: still filling");
            let d = barrier.wait().await.unwrap(); // the third releases the round
            assert_eq!((b.await.unwrap(), c.await.unwrap(), d), (Ok(0), Ok(1), 2));
            assert_eq!(barrier.n_waiting(), 0);
            // The error a cancelled wait returns, looked at and dropped.
            let b2 = barrier.clone();
            let e = corio::spawn(async move {
                let err = b2.wait().await.unwrap_err();
                (err.is_cancelled(), err.is_broken(), err.to_string())
            });
            settle().await;
            e.cancel_with("stop");
            assert_eq!(e.await.unwrap(), (true, false, "cancelled: stop".to_string()));
            let broken = BarrierError::Broken;
            assert_eq!(
                (broken.is_cancelled(), broken.is_broken(), broken.to_string()),
                (false, true, "the barrier is broken".into())
            );
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s5_a_dropped_wait_leaves_the_barrier_whether_waiting_or_blocked() {
    // rule S7 for a wait future dropped without a cancellation (a `select!`
    // branch that lost): it leaves the count while filling, and the blocked
    // list while a passed round drains.
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let barrier = Barrier::new(2);
    let mut cx = Context::from_waker(Waker::noop());
    let mut first = Box::pin(barrier.wait());
    assert!(first.as_mut().poll(&mut cx).is_pending());
    assert_eq!(format!("{barrier:?}"), "Barrier { parties: 2, phase: Filling, count: 1, blocked: 0 }");
    drop(first);
    assert_eq!(format!("{barrier:?}"), "Barrier { parties: 2, phase: Filling, count: 0, blocked: 0 }");
    let mut second = Box::pin(barrier.wait());
    assert!(second.as_mut().poll(&mut cx).is_pending());
    let mut third = Box::pin(barrier.wait());
    assert_eq!(third.as_mut().poll(&mut cx), Poll::Ready(Ok(1)), "the last arrival passes at once");
    // `second` has not resumed: the round drains, a newcomer is held out.
    let mut fourth = Box::pin(barrier.wait());
    assert!(fourth.as_mut().poll(&mut cx).is_pending());
    assert_eq!(format!("{barrier:?}"), "Barrier { parties: 2, phase: Draining, count: 1, blocked: 1 }");
    drop(fourth);
    assert_eq!(format!("{barrier:?}"), "Barrier { parties: 2, phase: Draining, count: 1, blocked: 0 }");
    assert_eq!(second.as_mut().poll(&mut cx), Poll::Ready(Ok(0)));
    assert_eq!(format!("{barrier:?}"), "Barrier { parties: 2, phase: Filling, count: 0, blocked: 0 }");
}

#[test]
fn s5_abort_breaks_the_barrier_for_everyone_until_reset() {
    // rule S5
    vloop()
        .block_on(async {
            let barrier = Arc::new(Barrier::new(3));
            let a = barrier_waiter(&barrier);
            settle().await;
            barrier.abort();
            assert_eq!(a.await.unwrap(), Err(BarrierError::Broken));
            assert!(barrier.broken());
            assert_eq!(barrier.wait().await, Err(BarrierError::Broken));
            barrier.reset();
            assert!(!barrier.broken());
            let waiters: Vec<_> = (0..2).map(|_| barrier_waiter(&barrier)).collect();
            settle().await;
            assert_eq!(barrier.wait().await, Ok(2));
            for w in waiters {
                assert!(w.await.unwrap().is_ok());
            }
            // parties 0 acts like 1 (std's convention): nobody waits.
            assert_eq!(Barrier::new(0).wait().await, Ok(0));
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

// ----- S6: queues -----------------------------------------------------------------

#[test]
fn s6_getters_and_putters_wait_fifo() {
    // rule S6
    vloop()
        .block_on(async {
            let q = Arc::new(Queue::new(1));
            let out: Out = Rc::default();
            let getters: Vec<_> = ["g1", "g2"]
                .into_iter()
                .map(|name| {
                    let (q, out) = (q.clone(), out.clone());
                    corio::spawn(async move {
                        let item: &str = q.get().await.map_err(|_| ())?;
                        push(&out, format!("{name}:{item}"));
                        Ok::<_, ()>(())
                    })
                })
                .collect();
            settle().await;
            q.put("x").await.unwrap();
            assert_eq!(q.get_nowait(), Err(GetError::Empty), "x is promised to g1");
            q.put("y").await.unwrap();
            for g in getters {
                g.await.unwrap().unwrap();
            }
            assert_eq!(trace(&out), "g1:x g2:y");
            // Putters: the queue (maxsize 1) is full; p1 then p2 wait.
            q.put_nowait("z").unwrap();
            let putters: Vec<_> = ["p1", "p2"]
                .into_iter()
                .map(|item| {
                    let q = q.clone();
                    corio::spawn(async move { q.put(item).await.map_err(|_| ()) })
                })
                .collect();
            settle().await;
            assert_eq!(q.put_nowait("w"), Err(PutError::Full("w")));
            let got: Vec<_> = [q.get().await.unwrap(), q.get().await.unwrap(), q.get().await.unwrap()].into();
            assert_eq!(got, ["z", "p1", "p2"]);
            for p in putters {
                p.await.unwrap().unwrap();
            }
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s6_task_done_and_join() {
    // rule S6
    vloop()
        .block_on(async {
            let q = Arc::new(Queue::new(0));
            q.join().await?; // nothing unfinished
            q.put_nowait(1).unwrap();
            q.put_nowait(2).unwrap();
            let q2 = q.clone();
            let joiner = corio::spawn(async move { q2.join().await });
            settle().await;
            assert_eq!(q.get_nowait(), Ok(1));
            q.task_done().unwrap();
            settle().await;
            assert!(!joiner.done(), "one item still unfinished");
            assert_eq!(q.get_nowait(), Ok(2));
            q.task_done().unwrap();
            joiner.await.unwrap()?;
            assert_eq!(q.task_done(), Err(TaskDoneError));
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s6_shutdown_fails_puts_and_drains_gets() {
    // rule S6
    vloop()
        .block_on(async {
            let q = Arc::new(Queue::new(1));
            q.put_nowait(1).unwrap();
            let q2 = q.clone();
            let putter = corio::spawn(async move { q2.put(2).await });
            settle().await;
            q.shutdown(false);
            assert!(q.is_shut_down());
            assert_eq!(putter.await.unwrap(), Err(PutError::ShutDown(2)), "a waiting put fails, item back");
            assert_eq!(q.put_nowait(3), Err(PutError::ShutDown(3)));
            assert_eq!(q.put(4).await, Err(PutError::ShutDown(4)));
            assert_eq!(q.get().await, Ok(1), "gets drain what is left");
            assert_eq!(q.get().await, Err(GetError::ShutDown));
            assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s6_queue_errors_name_their_case_and_give_the_item_back() {
    // rule S6: what a caller matches on, prints, and gets back.
    vloop()
        .block_on(async {
            let q = Arc::new(Queue::new(1));
            assert!(!q.is_shut_down());
            q.put_nowait(1).unwrap();
            let full = q.put_nowait(2).unwrap_err();
            // A task that returns the `Cancelled` it received (inside the error) ends cancelled: the errors come
            // out through a slot.
            let put_slot = Rc::new(RefCell::new(None));
            let (q2, slot) = (q.clone(), put_slot.clone());
            let putter = corio::spawn(async move { *slot.borrow_mut() = q2.put(3).await.err() });
            settle().await;
            putter.cancel();
            assert!(putter.await.is_err());
            let cancelled_put = put_slot.take().expect("the put failed");
            let empty_q = Arc::new(Queue::<u32>::new(0));
            let get_slot = Rc::new(RefCell::new(None));
            let (q2, slot) = (empty_q.clone(), get_slot.clone());
            let getter = corio::spawn(async move { *slot.borrow_mut() = q2.get().await.err() });
            settle().await;
            getter.cancel();
            assert!(getter.await.is_err());
            let cancelled_get = get_slot.take().expect("the get failed");
            let empty = empty_q.get_nowait().unwrap_err();
            q.shutdown(false);
            let shut_put = q.put_nowait(4).unwrap_err();
            assert_eq!(q.get_nowait(), Ok(1));
            let shut_get = q.get_nowait().unwrap_err();

            let puts = [
                (full, (true, false, false), "the queue is full", "Full(..)", 2),
                (shut_put, (false, true, false), "the queue is shut down", "ShutDown(..)", 4),
                (cancelled_put, (false, false, true), "cancelled", "Cancelled(Cancelled", 3),
            ];
            for (err, kind, display, debug, item) in puts {
                assert_eq!((err.is_full(), err.is_shut_down(), err.is_cancelled()), kind, "{err:?}");
                assert_eq!(err.to_string(), display);
                assert!(format!("{err:?}").starts_with(debug), "{err:?}");
                assert_eq!(err.into_item(), item, "the item comes back");
            }
            let gets = [
                (empty, (true, false, false), "the queue is empty"),
                (shut_get, (false, true, false), "the queue is shut down"),
                (cancelled_get, (false, false, true), "cancelled"),
            ];
            for (err, kind, display) in gets {
                assert_eq!((err.is_empty(), err.is_shut_down(), err.is_cancelled()), kind, "{err:?}");
                assert_eq!(err.to_string(), display);
            }
            assert_eq!(TaskDoneError.to_string(), "task_done() called too many times");
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s6_every_order_reports_its_length_and_every_queue_its_state() {
    // rule S6
    fn order_is_empty<O: QueueOrder<u32>>(mut order: O) {
        assert!(order.is_empty());
        order.push(7);
        assert!(!order.is_empty());
        assert_eq!((order.len(), order.pop(), order.is_empty()), (1, Some(7), true));
    }
    order_is_empty(Fifo::default());
    order_is_empty(Lifo::default());
    order_is_empty(Priority::default());
    let fresh = "Queue { maxsize: 3, qsize: 0, getters: 0, putters: 0, joiners: 0, unfinished: 0, shut_down: false }";
    assert_eq!(format!("{:?}", Queue::<u8>::new(3)), fresh);
    assert_eq!(format!("{:?}", LifoQueue::<u8>::new(3)), fresh);
    let pq = PriorityQueue::<u8>::new(3);
    pq.put_nowait(1).unwrap();
    pq.shutdown(false);
    let debug = "Queue { maxsize: 3, qsize: 1, getters: 0, putters: 0, joiners: 0, unfinished: 1, shut_down: true }";
    assert_eq!(format!("{pq:?}"), debug);
}

#[test]
fn s7_a_cancelled_queue_wait_leaves_its_list_even_while_its_future_is_kept() {
    // rule S7: the cancel is delivered at the wait's checkpoint, which leaves the list there and then; a caller
    // that keeps the finished future (a select loop over `&mut fut`) holds no place in the queue.
    vloop()
        .block_on(async {
            let q = Arc::new(Queue::<u32>::new(1));
            q.put_nowait(1).unwrap(); // full, and one item unfinished
            let empty = Arc::new(Queue::<u32>::new(0));
            let (q2, e2) = (q.clone(), empty.clone());
            let waits = corio::spawn(async move {
                let mut put = std::pin::pin!(q2.put(2));
                let mut get = std::pin::pin!(e2.get());
                let mut join = std::pin::pin!(q2.join());
                assert!(put.as_mut().await.unwrap_err().is_cancelled());
                let after_put = format!("{q2:?}");
                assert!(get.as_mut().await.unwrap_err().is_cancelled());
                let after_get = format!("{e2:?}");
                assert!(join.as_mut().await.is_err());
                let after_join = format!("{q2:?}");
                (after_put, after_get, after_join)
            });
            let waiting = |q: &Queue<u32>, list: &str, n: usize| format!("{q:?}").contains(&format!("{list}: {n},"));
            settle().await;
            assert!(waiting(&q, "putters", 1));
            waits.cancel();
            settle().await;
            assert!(waiting(&empty, "getters", 1));
            waits.cancel();
            settle().await;
            assert!(waiting(&q, "joiners", 1));
            waits.cancel();
            let (after_put, after_get, after_join) = waits.await.unwrap();
            assert!(after_put.contains("putters: 0,"), "{after_put}");
            assert!(after_get.contains("getters: 0,"), "{after_get}");
            assert!(after_join.contains("joiners: 0,"), "{after_join}");
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s7_a_dropped_queue_wait_leaves_its_list_and_passes_its_promise_on() {
    // rule S7 for futures dropped rather than cancelled (a select that lost, a struct that went away).
    vloop()
        .block_on(async {
            let lists = |q: &Queue<u32>| {
                let debug = format!("{q:?}");
                ["getters", "putters", "joiners"].map(|list| debug.contains(&format!("{list}: 1,")))
            };
            let full = Queue::<u32>::new(1);
            full.put_nowait(1).unwrap();
            let mut put = Box::pin(full.put(2));
            assert!(put.as_mut().now_or_never().is_none());
            let mut join = Box::pin(full.join());
            assert!(join.as_mut().now_or_never().is_none());
            assert_eq!(lists(&full), [false, true, true]);
            drop((put, join));
            assert_eq!(lists(&full), [false, false, false]);
            assert_eq!(full.qsize(), 1);

            let q = Arc::new(Queue::<u32>::new(0));
            let mut first = Box::pin(q.get());
            assert!(first.as_mut().now_or_never().is_none());
            let mut stream = q.stream();
            assert_eq!(format!("{stream:?}"), "QueueStream { .. }");
            assert!(stream.next().now_or_never().is_none());
            let q2 = q.clone();
            let second = corio::spawn(async move { q2.get().await });
            settle().await;
            q.put_nowait(5).unwrap(); // promised to `first`, which is dropped before it resumes ...
            drop(first);
            drop(stream); // ... and so is the stream, next in line
            assert_eq!(second.await.unwrap(), Ok(5), "... so the item goes to the next getter");
            assert_eq!(lists(&q), [false, false, false]);
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s6_immediate_shutdown_drops_items_and_releases_join() {
    // rule S6
    vloop()
        .block_on(async {
            let q = Arc::new(Queue::new(0));
            for i in 1..=3 {
                q.put_nowait(i).unwrap();
            }
            assert_eq!(q.get_nowait(), Ok(1)); // taken, not yet done
            let q2 = q.clone();
            let joiner = corio::spawn(async move { q2.join().await });
            settle().await;
            q.shutdown(true);
            assert_eq!(q.qsize(), 0);
            assert_eq!(q.get_nowait(), Err(GetError::ShutDown), "gets fail at once");
            settle().await;
            assert!(!joiner.done(), "the dropped items count as done, the taken one does not");
            q.task_done().unwrap();
            joiner.await.unwrap()?;
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s6_immediate_shutdown_takes_back_an_item_promised_to_a_getter() {
    // rule S6
    vloop()
        .block_on(async {
            let q = Arc::new(Queue::new(0));
            let q2 = q.clone();
            let getter = corio::spawn(async move { q2.get().await });
            settle().await;
            q.put_nowait(1).unwrap(); // promised to the getter, which has not resumed
            q.shutdown(true);
            assert_eq!(getter.await.unwrap(), Err(GetError::ShutDown));
            q.join().await?;
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s6_lifo_and_stream() {
    // rule S6
    vloop()
        .block_on(async {
            let stack = LifoQueue::new(0);
            for i in 1..=3 {
                stack.put_nowait(i).unwrap();
            }
            assert_eq!(stack.get().await, Ok(3));
            let q = Queue::new(0);
            for i in 1..=3 {
                q.put_nowait(i).unwrap();
            }
            q.shutdown(false);
            let items: Vec<i32> = q.stream().map(|r| r.unwrap()).collect().await;
            assert_eq!(items, [1, 2, 3], "the stream ends after shutdown, once drained");
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

// ----- S7: cancel safety of every primitive ---------------------------------------

/// Spawns `f`, lets it reach its wait, cancels it, and checks it ended
/// cancelled.
async fn cancel_while_waiting<F, T>(f: F)
where
    F: std::future::Future<Output = T> + 'static,
    T: 'static,
{
    let task = corio::spawn(f);
    settle().await;
    assert!(!task.done(), "the task should be waiting");
    task.cancel();
    settle().await;
    assert!(task.done());
}

#[test]
fn s7_cancelled_waiters_leave_every_primitive_as_if_they_never_came() {
    // rule S7
    vloop()
        .block_on(async {
            // Lock: a cancelled waiter leaves the queue; the next release frees the lock.
            let lock = Arc::new(Lock::new());
            let guard = lock.acquire().await?;
            let l = lock.clone();
            cancel_while_waiting(async move { l.acquire().await.map(|g| g.forget()) }).await;
            drop(guard);
            assert!(!lock.locked());

            // Semaphore: the count is unchanged.
            let sem = Arc::new(Semaphore::new(0));
            let s = sem.clone();
            cancel_while_waiting(async move { s.acquire().await.map(|p| p.forget()) }).await;
            sem.release();
            assert_eq!(sem.available_permits(), 1);

            // Event: a set after the cancel has nobody to wake.
            let ev = Arc::new(Event::new());
            let e = ev.clone();
            cancel_while_waiting(async move { e.wait().await }).await;
            ev.set();

            // Condition: a cancelled waiter re-takes the lock and lets it go.
            let cond = Arc::new(Condition::new());
            let c = cond.clone();
            cancel_while_waiting(async move { c.acquire().await?.wait().await }).await;
            assert!(!cond.locked());

            // Barrier: the count drops back.
            let barrier = Arc::new(Barrier::new(2));
            let b = barrier.clone();
            cancel_while_waiting(async move { b.wait().await }).await;
            assert_eq!(barrier.n_waiting(), 0);

            // Queue: a cancelled put gives its item back and takes no slot.
            let q = Arc::new(Queue::new(1));
            q.put_nowait(1).unwrap();
            let q2 = q.clone();
            let put = corio::spawn(async move { q2.put(2).await });
            settle().await;
            put.cancel();
            match put.await {
                Err(e) => assert!(e.is_cancelled()),
                Ok(result) => panic!("the put should end cancelled, got {result:?}"),
            }
            assert_eq!(q.get_nowait(), Ok(1));
            assert_eq!(q.get_nowait(), Err(GetError::Empty), "the cancelled put left nothing");
            let q3 = q.clone();
            cancel_while_waiting(async move { q3.get().await }).await;
            q.put_nowait(5).unwrap();
            assert_eq!(q.get_nowait(), Ok(5), "a cancelled getter was not promised the item");

            // oneshot: a cancelled receive leaves the channel open.
            let (tx, mut rx) = oneshot::channel::<u32>();
            let task = corio::spawn(async move {
                // Swallow the cancel (keep the task's result) and hand the receiver back.
                let first = (&mut rx).await.is_err_and(|e| e.is_cancelled());
                (first, rx)
            });
            settle().await;
            task.cancel();
            let (cancelled, mut rx) = task.await.unwrap_or_else(|_| panic!("the body returns the receiver"));
            assert!(cancelled);
            tx.send(9).unwrap();
            assert_eq!(rx.try_recv(), Ok(9));
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s7_a_getter_promised_an_item_then_cancelled_passes_it_on() {
    // rule S7, S6
    vloop()
        .block_on(async {
            let q = Arc::new(Queue::new(0));
            let spawn_getter = || {
                let q = q.clone();
                corio::spawn(async move { q.get().await })
            };
            let a = spawn_getter();
            let b = spawn_getter();
            settle().await;
            q.put_nowait("item").unwrap(); // promised to a
            a.cancel();
            assert!(a.await.unwrap_err().is_cancelled());
            assert_eq!(b.await.unwrap(), Ok("item"));
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn s7_a_sender_promised_a_slot_then_cancelled_passes_it_on() {
    // rule S7
    vloop()
        .block_on(async {
            let (tx, mut rx) = mpsc::channel(1).unwrap();
            tx.send(0).await.unwrap();
            let spawn_sender = |v: u32| {
                let tx = tx.clone();
                corio::spawn(async move { tx.send(v).await })
            };
            let a = spawn_sender(1);
            let b = spawn_sender(2);
            settle().await;
            assert_eq!(rx.recv().await?, Some(0)); // the slot is promised to a
            a.cancel();
            assert!(a.await.is_err());
            b.await.unwrap().unwrap();
            assert_eq!(rx.recv().await?, Some(2));
            drop(tx);
            assert_eq!(rx.recv().await?, None);
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

// ----- channels -------------------------------------------------------------------

#[test]
fn channels_report_closed_ends_and_give_values_back() {
    let lp = vloop();
    lp.block_on(async {
        assert_eq!(mpsc::channel::<u8>(0).unwrap_err(), mpsc::ZeroCapacity);
        let (tx, rx) = mpsc::channel(2).unwrap();
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send(7).await.unwrap_err().into_value(), 7);
        assert_eq!(tx.try_send(8), Err(mpsc::TrySendError::Closed(8)));

        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send("a").unwrap();
        let tx2 = tx.clone();
        drop(tx);
        tx2.send("b").unwrap();
        drop(tx2);
        let got: Vec<_> = (&mut rx).map(|r| r.unwrap()).collect().await;
        assert_eq!(got, ["a", "b"]);

        let (tx, rx) = oneshot::channel::<String>();
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send("lost".into()), Err("lost".to_string()));
        let (tx, rx) = oneshot::channel::<u8>();
        drop(tx);
        assert_eq!(rx.await, Err(oneshot::RecvError::Closed));
        R::Ok(())
    })
    .unwrap()
    .unwrap();
}

#[test]
fn mpsc_counts_its_buffer_promises_and_waiting_senders_and_names_its_errors() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = mpsc::channel::<u32>(2).unwrap();
            let shows = |tx: &mpsc::Sender<u32>| format!("{tx:?}");
            assert_eq!(
                shows(&tx),
                "mpsc::Sender { capacity: 2, buffered: 0, promised: 0, waiting_senders: 0, senders: 1, closed: false }"
            );
            assert!(!tx.is_closed());
            tx.try_send(1).unwrap();
            tx.try_send(2).unwrap();
            assert_eq!(tx.try_send(3), Err(mpsc::TrySendError::Full(3)));

            // A waiting send is counted; dropped, it leaves no entry behind.
            let mut send = Box::pin(tx.send(3));
            assert!((&mut send).now_or_never().is_none());
            assert!(shows(&tx).contains("buffered: 2, promised: 0, waiting_senders: 1,"));
            drop(send);
            assert!(shows(&tx).contains("buffered: 2, promised: 0, waiting_senders: 0,"));

            // A receive promises the freed slot to the waiting send; dropped, it gives the promise back.
            let mut send = Box::pin(tx.send(3));
            assert!((&mut send).now_or_never().is_none());
            assert_eq!(rx.try_recv(), Ok(1));
            assert!(shows(&tx).contains("buffered: 1, promised: 1, waiting_senders: 0,"));
            assert_eq!(tx.try_send(4), Err(mpsc::TrySendError::Full(4)), "the free slot is promised");
            drop(send);
            assert!(shows(&tx).contains("buffered: 1, promised: 0, waiting_senders: 0,"));
            tx.try_send(4).unwrap();

            // Senders are counted; one of two gone does not close the channel.
            let tx2 = tx.clone();
            assert!(format!("{rx:?}").ends_with("senders: 2, closed: false }"));
            drop(tx2);
            assert_eq!((rx.try_recv(), rx.try_recv(), rx.try_recv()), (Ok(2), Ok(4), Err(mpsc::TryRecvError::Empty)));
            assert_eq!(tx.capacity(), 2);
            rx.close();
            assert!(shows(&tx).ends_with("senders: 1, closed: true }"));

            let (utx, urx) = mpsc::unbounded_channel::<u32>();
            let utx2 = utx.clone();
            assert_eq!(
                format!("{utx:?}"),
                "mpsc::UnboundedSender { buffered: 0, promised: 0, waiting_senders: 0, senders: 2, closed: false }"
            );
            assert!(!utx.is_closed());
            drop(utx2);
            drop(urx);
            assert!(utx.is_closed());
            let err = utx.send(5).unwrap_err();
            assert!(err.is_closed() && !err.is_cancelled());
            assert_eq!((format!("{err:?}"), err.to_string()), ("Closed(..)".into(), "the channel is closed".into()));
            assert_eq!(err.into_value(), 5);

            // The errors say what happened.
            let full = mpsc::TrySendError::Full(1u8);
            assert_eq!((format!("{full:?}"), full.to_string()), ("Full(..)".into(), "the channel is full".into()));
            let closed = mpsc::TrySendError::Closed(2u8);
            assert_eq!(
                (format!("{closed:?}"), closed.to_string()),
                ("Closed(..)".into(), "the channel is closed".into())
            );
            assert_eq!((full.into_value(), closed.into_value()), (1, 2));
            assert_eq!(mpsc::TryRecvError::Empty.to_string(), "the channel is empty");
            assert_eq!(mpsc::TryRecvError::Closed.to_string(), "the channel is closed");
            assert_eq!(mpsc::ZeroCapacity.to_string(), "a bounded channel needs a capacity of at least 1");

            // A send cancelled while it waits gives its value back, and says it was cancelled.
            let (tx, _rx) = mpsc::channel::<u32>(1).unwrap();
            tx.try_send(0).unwrap();
            let sender = {
                let tx = tx.clone();
                corio::spawn(async move {
                    let err = tx.send(7).await.unwrap_err();
                    // Read here: the error holds the task's cancel until it is dropped.
                    (err.is_cancelled(), err.is_closed(), format!("{err:?}"), err.to_string(), err.into_value())
                })
            };
            settle().await;
            sender.cancel();
            let (cancelled, closed, debug, display, value) = sender.await.unwrap();
            assert!(cancelled && !closed);
            assert!(debug.starts_with("Cancelled("), "{debug}");
            assert!(display.contains("cancel"), "{display}");
            assert_eq!(value, 7);
        })
        .unwrap();
}

#[test]
fn an_mpsc_receiver_moved_to_another_task_wakes_that_task() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = mpsc::channel::<u32>(1).unwrap();
            // This task waits, gives up, and hands the receiver on: its waker is stale.
            assert!(rx.recv().now_or_never().is_none());
            let next = corio::spawn(async move { rx.recv().await });
            settle().await;
            tx.try_send(3).unwrap();
            assert_eq!(next.await.unwrap(), Ok(Some(3)), "the send wakes the task that waits now");
        })
        .unwrap();
}

#[test]
fn a_closed_receiver_drains_then_ends_even_with_senders_alive() {
    vloop()
        .block_on(async {
            let (tx, mut rx) = mpsc::channel(4).unwrap();
            tx.send(1).await.unwrap();
            rx.close();
            assert!(tx.is_closed());
            assert_eq!(tx.try_send(2), Err(mpsc::TrySendError::Closed(2)));
            assert_eq!(rx.recv().await?, Some(1), "what was sent before the close is still received");
            assert_eq!(rx.recv().await?, None, "then the end, although a sender is alive");
            assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Closed));
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn a_condition_wait_dropped_half_way_does_not_release_another_holder() {
    vloop()
        .block_on(async {
            let cond = Arc::new(Condition::new());
            let mut guard = cond.acquire().await?;
            // Poll a wait once (it releases the lock and queues), then drop it.
            assert!(guard.wait().now_or_never().is_none());
            assert!(!cond.locked(), "the dropped wait left the lock released");
            let c = cond.clone();
            let holder = corio::spawn(async move {
                let held = c.acquire().await?;
                for _ in 0..3 {
                    yield_now().await?;
                    assert!(c.try_acquire().is_none(), "nobody released the holder's lock");
                }
                drop(held);
                c.acquire().await?.notify_all();
                R::Ok(())
            });
            yield_now().await?; // the holder takes the lock
                                // This wait must take the lock back (after the holder) before releasing it.
            guard.wait().await?;
            assert!(cond.locked());
            drop(guard);
            holder.await.unwrap()?;
            assert!(!cond.locked());
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}

// ----- across loops (threads) -----------------------------------------------------

#[test]
fn a_release_on_one_loop_wakes_a_waiter_on_another() {
    let lock = Arc::new(Lock::new());
    lock.try_acquire().unwrap().forget();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let l = lock.clone();
    let other = std::thread::spawn(move || {
        let lp = corio::new_event_loop().unwrap();
        lp.block_on(async move {
            let _ = ready_tx.send(());
            let _guard = l.acquire().await.unwrap(); // parks this loop until the release
            "acquired on the other loop"
        })
        .unwrap()
    });
    ready_rx.recv().unwrap();
    lock.release().unwrap();
    assert_eq!(other.join().unwrap(), "acquired on the other loop");
    assert!(!lock.locked());
}

#[test]
fn bounded_channels_ping_pong_between_loops() {
    let (ping_tx, mut ping_rx) = mpsc::channel::<u32>(1).unwrap();
    let (pong_tx, mut pong_rx) = mpsc::channel::<u32>(1).unwrap();
    let echo = std::thread::spawn(move || {
        let lp = corio::new_event_loop().unwrap();
        lp.block_on(async move {
            while let Some(n) = ping_rx.recv().await.unwrap() {
                pong_tx.send(n + 1).await.unwrap();
            }
        })
        .unwrap();
    });
    let lp = corio::new_event_loop().unwrap();
    let last = lp
        .block_on(async move {
            let mut n = 0;
            for _ in 0..1000 {
                ping_tx.send(n).await.unwrap();
                n = pong_rx.recv().await.unwrap().unwrap();
            }
            n
        })
        .unwrap();
    echo.join().unwrap();
    assert_eq!(last, 1000);
}

#[test]
fn primitives_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Lock>();
    assert_send_sync::<Semaphore>();
    assert_send_sync::<BoundedSemaphore>();
    assert_send_sync::<Event>();
    assert_send_sync::<Condition>();
    assert_send_sync::<Barrier>();
    assert_send_sync::<Queue<String>>();
    assert_send_sync::<corio::sync::PriorityQueue<String>>();
    assert_send_sync::<mpsc::Sender<String>>();
    assert_send_sync::<mpsc::Receiver<String>>();
    assert_send_sync::<oneshot::Sender<String>>();
    assert_send_sync::<oneshot::Receiver<String>>();
    fn assert_send<T: Send>(_: &T) {}
    let lock = Lock::new();
    assert_send(&lock.acquire());
    let q = Queue::<String>::new(1);
    assert_send(&q.put(String::new()));
    assert_send(&q.get());
}

#[test]
fn oneshot_states_errors_and_debug_as_a_caller_sees_them() {
    struct Counted(Rc<Cell<u32>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    vloop()
        .block_on(async {
            // try_recv: empty, the value, then closed; is_closed and Debug on both sides.
            let (tx, mut rx) = oneshot::channel::<u32>();
            assert_eq!(format!("{tx:?}"), "oneshot::Sender { closed: false }");
            assert_eq!(format!("{rx:?}"), "oneshot::Receiver { .. }");
            assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Empty));
            assert!(!tx.is_closed());
            tx.send(7).unwrap();
            assert_eq!(rx.try_recv(), Ok(7));
            assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));
            // A receiver that closed: the send gives the value back.
            let (tx, mut rx) = oneshot::channel::<u32>();
            rx.close();
            assert!(tx.is_closed());
            assert_eq!(format!("{tx:?}"), "oneshot::Sender { closed: true }");
            assert_eq!(tx.send(8), Err(8));
            assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));
            // Closed after the send: the value is still there.
            let (tx, mut rx) = oneshot::channel::<u32>();
            tx.send(9).unwrap();
            rx.close();
            assert_eq!(rx.try_recv(), Ok(9));
            // The sender dropped: try_recv and an awaiting receiver see it closed.
            let (tx, mut rx) = oneshot::channel::<u32>();
            drop(tx);
            assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));
            let (tx, rx) = oneshot::channel::<u32>();
            let waiting = corio::spawn(rx);
            settle().await;
            drop(tx);
            let closed = waiting.await.unwrap().unwrap_err();
            assert!(closed.is_closed() && !closed.is_cancelled());
            assert_eq!(closed.to_string(), "the sender was dropped without sending");
            // A send wakes an awaiting receiver.
            let (tx, rx) = oneshot::channel::<u32>();
            let waiting = corio::spawn(rx);
            settle().await;
            tx.send(10).unwrap();
            assert_eq!(waiting.await.unwrap(), Ok(10));
            let cancelled = oneshot::RecvError::from(Cancelled::with_message("stop"));
            assert!(cancelled.is_cancelled() && !cancelled.is_closed());
            assert_eq!(cancelled.to_string(), "cancelled: stop");
            assert_eq!(oneshot::TryRecvError::Empty.to_string(), "no value sent yet");
            assert_eq!(oneshot::TryRecvError::Closed.to_string(), "the sender was dropped without sending");
            // A value nobody received is dropped once, with the channel.
            let drops = Rc::new(Cell::new(0));
            let (tx, rx) = oneshot::channel::<Counted>();
            tx.send(Counted(drops.clone())).ok().unwrap();
            assert_eq!(drops.get(), 0);
            drop(rx);
            assert_eq!(drops.get(), 1);
            R::Ok(())
        })
        .unwrap()
        .unwrap();
}
