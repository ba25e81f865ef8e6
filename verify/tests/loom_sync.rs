//! Loom model 8: the synchronisation primitives (`core/src/sync/`) — no lost wakeup, permits conserved, a waiter that
//! was handed something and then leaves passes it on.
//!
//! The primitives take their atomics and mutexes from `corio_core::loom`, so under `--cfg corio_loom` loom explores
//! every interleaving of the real code. Waiting threads use `loom::future::block_on` (outside an event loop a
//! checkpoint never fires); a "cancelled" waiter is one whose future is polled once, so that it queues, and then
//! dropped at a point loom chooses — the same abandon path a delivered cancel takes. A lost wakeup leaves a thread
//! blocked forever, which loom reports as a deadlock; a permit that is never passed on does the same to the next
//! waiter. One model runs the primitive between a real event loop and another thread (the cross-loop wake).
//!
//! Caught mutants: `lock_handoff_to_cancelled`, `condition_lose_notify`, `event_set_no_wake`,
//! `queue_getter_keeps_promise`, `oneshot_no_wake`, `mpsc_no_rx_wake`, `resume_reads_line_first`, `release_skips_recheck`,
//! `acquire_queues_past_a_free_permit`, `acquire_takes_a_free_permit_wrong`.
#![cfg(corio_loom)]

mod loom_support;

use corio_core::reactor::ParkReactor;
use corio_core::runtime::EventLoop;
use corio_core::sync::{mpsc, oneshot, Barrier, Condition, Event, Lock, Queue, Semaphore};
use loom::future::block_on;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Notify};
use loom::thread;
use loom_support::{check, poll_noop};
use std::future::Future;

/// A one-shot signal between model threads. loom's `Notify` may wake spuriously, so the flag says whether it was
/// really given.
#[derive(Default)]
struct Signal {
    given: AtomicBool,
    notify: Notify,
}

impl Signal {
    fn give(&self) {
        self.given.store(true, Ordering::SeqCst);
        self.notify.notify();
    }

    fn wait(&self) {
        while !self.given.load(Ordering::SeqCst) {
            self.notify.wait();
        }
    }
}

/// Two threads take the lock in turn: mutual exclusion holds and both get it (no lost wakeup on the hand-over).
#[test]
fn lock_mutual_exclusion_and_handoff() {
    check("loom_sync::lock_mutual_exclusion_and_handoff", || {
        let lock = Arc::new(Lock::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (lock, inside) = (lock.clone(), inside.clone());
                thread::spawn(move || {
                    let _guard = block_on(lock.acquire()).unwrap();
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders at once");
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(!lock.locked());
    });
}

/// The lock is held; waiter `a` queues and later leaves (its future is dropped), waiter `b` waits; the holder
/// releases. Whenever the release hands the lock to `a` before `a` leaves, `a` must pass it on, or `b` waits forever.
#[test]
fn lock_granted_then_abandoned_passes_on() {
    check("loom_sync::lock_granted_then_abandoned_passes_on", || {
        let lock = Arc::new(Lock::new());
        lock.try_acquire().unwrap().forget();
        let queued = Arc::new(Signal::default());
        let (l, q) = (lock.clone(), queued.clone());
        let a = thread::spawn(move || {
            let mut acquire = Box::pin(l.acquire());
            assert!(poll_noop(&mut acquire).is_pending());
            q.give();
            drop(acquire); // leaves, granted or not
        });
        let l = lock.clone();
        let b = thread::spawn(move || {
            block_on(l.acquire()).unwrap().forget();
        });
        queued.wait();
        lock.release().unwrap();
        a.join().unwrap();
        b.join().unwrap();
        assert!(lock.locked(), "b holds it");
        lock.release().unwrap();
        assert!(!lock.locked());
    });
}

/// A semaphore of 2 and three contenders (two threads and the main one): never more than two holders, and both
/// permits come back.
#[test]
fn semaphore_permits_conserved() {
    check("loom_sync::semaphore_permits_conserved", || {
        let sem = Arc::new(Semaphore::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let contend = |sem: &Semaphore, inside: &AtomicUsize| {
            let permit = block_on(sem.acquire()).unwrap();
            assert!(inside.fetch_add(1, Ordering::SeqCst) < 2, "more holders than permits");
            inside.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
        };
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (sem, inside) = (sem.clone(), inside.clone());
                thread::spawn(move || contend(&sem, &inside))
            })
            .collect();
        contend(&sem, &inside);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(sem.available_permits(), 2);
    });
}

/// A semaphore of 0 with waiter `a` queued; the main thread releases twice — one permit handed to `a`, one into the
/// count while `a` has not resumed — and newcomer `b` acquires while `a` resumes. `b` must queue behind `a` (asyncio's
/// line, `test_acquire_fifo_order_4`) and yet get the permit: `b` queueing and `a` leaving the line meet Dekker-style,
/// and at least one of them hands the permit out. Otherwise `b` waits forever (a loom deadlock).
#[test]
fn semaphore_newcomer_behind_a_resuming_waiter() {
    check("loom_sync::semaphore_newcomer_behind_a_resuming_waiter", || {
        let sem = Arc::new(Semaphore::new(0));
        let queued = Arc::new(Signal::default());
        let (s, q) = (sem.clone(), queued.clone());
        let a = thread::spawn(move || block_on_announced(s.acquire(), || q.give()).unwrap().forget());
        queued.wait();
        sem.release();
        sem.release();
        let s = sem.clone();
        let b = thread::spawn(move || block_on(s.acquire()).unwrap().forget());
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(sem.available_permits(), 0);
    });
}

/// Polls `future` to completion on this model thread, calling `on_queued` once its first poll has returned
/// `Pending` (the future has queued itself).
fn block_on_announced<F: Future>(future: F, on_queued: impl FnOnce()) -> F::Output {
    let mut future = Box::pin(future);
    let mut on_queued = Some(on_queued);
    block_on(std::future::poll_fn(|cx| {
        let poll = future.as_mut().poll(cx);
        if poll.is_pending() {
            if let Some(announce) = on_queued.take() {
                announce();
            }
        }
        poll
    }))
}

/// `set` from another thread wakes a queued waiter, even if `clear` follows at once (rule S3).
#[test]
fn event_set_wakes_waiters() {
    check("loom_sync::event_set_wakes_waiters", || {
        let event = Arc::new(Event::new());
        let queued = Arc::new(Signal::default());
        let (e, q) = (event.clone(), queued.clone());
        let waiter = thread::spawn(move || block_on_announced(e.wait(), || q.give()).unwrap());
        queued.wait();
        event.set();
        event.clear();
        waiter.join().unwrap();
        assert!(!event.is_set());
    });
}

/// A notifier that sets a flag under the lock and notifies always wakes a waiter using `wait_for`: the waiter queues
/// before it releases the lock, so the notification cannot fall between the two.
#[test]
fn condition_notify_no_lost_wakeup() {
    check("loom_sync::condition_notify_no_lost_wakeup", || {
        let cond = Arc::new(Condition::new());
        let ready = Arc::new(AtomicBool::new(false));
        let (c, r) = (cond.clone(), ready.clone());
        let waiter = thread::spawn(move || {
            block_on(async {
                let mut guard = c.acquire().await.unwrap();
                guard.wait_for(|| r.load(Ordering::Relaxed)).await.unwrap();
            })
        });
        block_on(async {
            let guard = cond.acquire().await.unwrap();
            ready.store(true, Ordering::Relaxed);
            guard.notify(1);
        });
        waiter.join().unwrap();
        assert!(!cond.locked());
    });
}

/// Waiters `a` and `b` both wait on the condition; `notify(1)` goes to the first; `a`'s wait is then dropped at a
/// point loom chooses. If `a` had taken the notification, it must go to `b` (3.13), or `b` waits forever.
#[test]
fn condition_abandoned_notification_goes_to_another_waiter() {
    check("loom_sync::condition_abandoned_notification_goes_to_another_waiter", || {
        let cond = Arc::new(Condition::new());
        let both_waiting = Arc::new(AtomicUsize::new(0));
        let signal = Arc::new(Signal::default());
        let (c, w, s) = (cond.clone(), both_waiting.clone(), signal.clone());
        let a = thread::spawn(move || {
            let mut guard = block_on(c.acquire()).unwrap();
            let mut wait = Box::pin(guard.wait());
            assert!(poll_noop(&mut wait).is_pending()); // queued, lock released
            if w.fetch_add(1, Ordering::SeqCst) == 1 {
                s.give();
            }
            drop(wait); // leaves, notified or not
        });
        let (c, w, s) = (cond.clone(), both_waiting.clone(), signal.clone());
        let b = thread::spawn(move || {
            let mut guard = block_on(c.acquire()).unwrap();
            block_on_announced(guard.wait(), || {
                if w.fetch_add(1, Ordering::SeqCst) == 1 {
                    s.give();
                }
            })
            .unwrap();
        });
        signal.wait(); // both have queued
        block_on(async { cond.acquire().await.unwrap().notify(1) });
        a.join().unwrap();
        b.join().unwrap();
    });
}

/// Three parties (two threads and the main one) pass the barrier with distinct indices.
#[test]
fn barrier_releases_every_party() {
    check("loom_sync::barrier_releases_every_party", || {
        let barrier = Arc::new(Barrier::new(3));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let b = barrier.clone();
                thread::spawn(move || block_on(b.wait()).unwrap())
            })
            .collect();
        let mine = block_on(barrier.wait()).unwrap();
        let mut indices: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        indices.push(mine);
        indices.sort_unstable();
        assert_eq!(indices, [0, 1, 2]);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

/// Getter `a` queues and later leaves; getter `b` waits; one item is put. If the item was promised to `a`, `a` must
/// pass it to `b`.
#[test]
fn queue_abandoned_promise_goes_to_next_getter() {
    check("loom_sync::queue_abandoned_promise_goes_to_next_getter", || {
        let queue = Arc::new(Queue::new(1));
        let queued = Arc::new(Signal::default());
        let (q, n) = (queue.clone(), queued.clone());
        let a = thread::spawn(move || {
            let mut get = Box::pin(q.get());
            assert!(poll_noop(&mut get).is_pending());
            n.give();
            drop(get);
        });
        let q = queue.clone();
        let b = thread::spawn(move || block_on(q.get()).unwrap());
        queued.wait();
        block_on(queue.put(7)).unwrap();
        a.join().unwrap();
        assert_eq!(b.join().unwrap(), 7);
        assert_eq!(queue.qsize(), 0);
    });
}

/// A bounded queue of 1 between a producer thread and a consumer: both wait in turn, nothing is lost.
#[test]
fn queue_producer_consumer() {
    check("loom_sync::queue_producer_consumer", || {
        let queue = Arc::new(Queue::new(1));
        let q = queue.clone();
        let producer = thread::spawn(move || {
            for i in 0..2 {
                block_on(q.put(i)).unwrap();
            }
        });
        let got: Vec<i32> = (0..2).map(|_| block_on(queue.get()).unwrap()).collect();
        producer.join().unwrap();
        assert_eq!(got, [0, 1]);
    });
}

/// A oneshot send (or a dropped sender) from another thread always reaches a waiting receiver.
#[test]
fn oneshot_send_or_drop_wakes_receiver() {
    check("loom_sync::oneshot_send_or_drop_wakes_receiver", || {
        let (tx, rx) = oneshot::channel::<u32>();
        let sender = thread::spawn(move || tx.send(5).unwrap());
        assert_eq!(block_on(rx).unwrap(), 5);
        sender.join().unwrap();

        let (tx, rx) = oneshot::channel::<u32>();
        let dropper = thread::spawn(move || drop(tx));
        assert!(block_on(rx).unwrap_err().is_closed());
        dropper.join().unwrap();
    });
}

/// A bounded(1) channel: the sender waits for the slot, the receiver for values, and the end of the senders.
#[test]
fn mpsc_bounded_no_lost_wakeup() {
    check("loom_sync::mpsc_bounded_no_lost_wakeup", || {
        let (tx, mut rx) = mpsc::channel::<u32>(1).unwrap();
        let sender = thread::spawn(move || {
            for i in 0..2 {
                block_on(tx.send(i)).unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()).unwrap() {
            got.push(v);
        }
        sender.join().unwrap();
        assert_eq!(got, [0, 1]);
    });
}

/// A task on a real event loop waits for a lock held by another thread; that thread's release must unpark the loop.
#[test]
fn lock_release_wakes_a_parked_loop() {
    check("loom_sync::lock_release_wakes_a_parked_loop", || {
        let lp = EventLoop::new(ParkReactor::new());
        let lock = Arc::new(Lock::new());
        lock.try_acquire().unwrap().forget();
        let l = lock.clone();
        let releaser = thread::spawn(move || l.release().unwrap());
        let l = lock.clone();
        lp.block_on(async move { l.acquire().await.unwrap().forget() }).unwrap();
        releaser.join().unwrap();
        assert!(lock.locked());
        drop(lp);
    });
}
