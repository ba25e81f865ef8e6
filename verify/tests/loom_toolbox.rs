//! Loom models of the everyday toolbox (issue 22): `Mutex<T>`, `RwLock<T>`, `Notify`, `broadcast` and `watch`.
//!
//! As in loom model 8 (`loom_sync.rs`): the primitives take their atomics and mutexes from `corio_core::loom`, so
//! loom explores every interleaving of the real code; waiting threads use `loom::future::block_on` (outside a loop a
//! checkpoint never fires); a "cancelled" waiter is a future polled once (so it queues) and then dropped at a point
//! loom chooses. A lost wake-up leaves a thread blocked forever, which loom reports as a deadlock. Each model has at
//! most three threads (the main one included) and runs at the CI bound (preemption bound 2).
//!
//! Caught mutants: `mutex_owned_guard_leaks`, `rwlock_release_no_grant`, `notify_permit_race`,
//! `broadcast_close_no_wake`, `watch_wake_before_version` (and `lock_handoff_to_cancelled`, the permit engine's, by
//! `mutex_granted_then_abandoned_passes_on`).
#![cfg(corio_loom)]

mod loom_support;

use corio_core::sync::broadcast::{self, error::RecvError};
use corio_core::sync::{watch, Mutex, Notify, RwLock};
use loom::future::block_on;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use loom_support::{check, poll_noop};
use std::sync::Arc;

/// A one-shot signal between model threads (loom's `Notify` may wake spuriously: the flag says whether it was given).
#[derive(Default)]
struct Signal {
    given: AtomicBool,
    notify: loom::sync::Notify,
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

/// Two threads take an `Arc<Mutex<_>>` with `lock_owned` in turn and update the data: both get it, one at a time,
/// and the owned guard's drop hands it over.
#[test]
fn mutex_owned_hand_over() {
    check("loom_toolbox::mutex_owned_hand_over", || {
        let m = Arc::new(Mutex::new((0u32, false)));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                thread::spawn(move || {
                    let mut guard = block_on(m.lock_owned()).unwrap();
                    assert!(!guard.1, "two holders at once");
                    guard.1 = true;
                    guard.0 += 1;
                    guard.1 = false;
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(m.try_lock().unwrap().0, 2);
    });
}

/// The mutex is held; waiter `a` queues and is later dropped, waiter `b` waits; the holder unlocks. If the unlock
/// handed the mutex to `a` before it left, `a` must pass it on, or `b` waits forever.
#[test]
fn mutex_granted_then_abandoned_passes_on() {
    check("loom_toolbox::mutex_granted_then_abandoned_passes_on", || {
        let m = Arc::new(Mutex::new(0u32));
        let held = m.clone().try_lock_owned().unwrap();
        let queued = Arc::new(Signal::default());
        let (m2, q) = (m.clone(), queued.clone());
        let a = thread::spawn(move || {
            let mut lock = Box::pin(m2.lock());
            assert!(poll_noop(&mut lock).is_pending());
            q.give();
            drop(lock); // leaves, granted or not
        });
        let m3 = m.clone();
        let b = thread::spawn(move || *block_on(m3.lock()).unwrap() += 1);
        queued.wait();
        drop(held);
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(*m.try_lock().unwrap(), 1);
    });
}

/// Two readers (the main thread and `r`) and a writer `w`: whatever the order, the writer gets the lock once the
/// readers are gone — the last reader's release must grant a writer queued behind it — and a reader never sees the
/// writer's half-done update.
#[test]
fn rwlock_writer_behind_readers() {
    check("loom_toolbox::rwlock_writer_behind_readers", || {
        let lock = Arc::new(RwLock::new((0u32, 0u32)));
        let held = lock.try_read().map(|g| *g).unwrap();
        let main_read = lock.clone().try_read_owned().unwrap();
        let l = lock.clone();
        let w = thread::spawn(move || {
            let mut g = block_on(l.write()).unwrap();
            g.0 += 1;
            g.1 += 1;
        });
        let l = lock.clone();
        let r = thread::spawn(move || {
            let g = block_on(l.read()).unwrap();
            assert_eq!(g.0, g.1, "a reader saw a half-done write");
        });
        assert_eq!(held, (0, 0));
        drop(main_read);
        w.join().unwrap();
        r.join().unwrap();
        assert_eq!(*lock.try_read().unwrap(), (1, 1));
    });
}

/// `notify_one` from another thread races a task's `notified()`: whether it comes before the wait (a stored permit)
/// or after (a grant), the waiter returns.
#[test]
fn notify_one_before_or_after_the_wait() {
    check("loom_toolbox::notify_one_before_or_after_the_wait", || {
        let notify = Arc::new(Notify::new());
        let n = notify.clone();
        let notifier = thread::spawn(move || n.notify_one());
        block_on(notify.notified()).unwrap();
        notifier.join().unwrap();
        // The permit was used: nothing is stored.
        let mut again = Box::pin(notify.notified());
        assert!(poll_noop(&mut again).is_pending());
    });
}

/// A broadcast ring of one: another thread sends two values and drops the sender. The receiver sees the values in
/// order, or is told it lagged by the one it missed; it always sees the last, then `Closed` (never a hang).
#[test]
fn broadcast_lag_and_close() {
    check("loom_toolbox::broadcast_lag_and_close", || {
        let (tx, mut rx) = broadcast::channel::<u32>(1).unwrap();
        let sender = thread::spawn(move || {
            tx.send(0).unwrap();
            tx.send(1).unwrap();
        });
        let (mut got, mut lagged) = (Vec::new(), 0);
        loop {
            match block_on(rx.recv()) {
                Ok(v) => got.push(v),
                Err(RecvError::Lagged(n)) => lagged += n,
                Err(RecvError::Closed) => break,
                Err(RecvError::Cancelled(_)) => unreachable!("no loop, no cancel"),
            }
        }
        sender.join().unwrap();
        assert_eq!(got.last(), Some(&1), "the last value is never lost");
        assert_eq!(got.len() as u64 + lagged, 2, "every value is received or counted as missed");
    });
}

/// A watch receiver waits in `changed()` while another thread sends: it always wakes and sees the new value.
#[test]
fn watch_changed_sees_every_send() {
    check("loom_toolbox::watch_changed_sees_every_send", || {
        let (tx, mut rx) = watch::channel(0u32);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx // kept alive: the wake-up, not the close, must end the wait
        });
        block_on(rx.changed()).unwrap();
        assert_eq!(*rx.borrow_and_update(), 1);
        drop(sender.join().unwrap());
        assert!(block_on(rx.changed()).is_err(), "closed");
    });
}
