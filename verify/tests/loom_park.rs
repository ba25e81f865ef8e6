//! Loom model 2: a wake from another thread always unparks a parked loop.
//!
//! The park protocol (`core/src/runtime/shared.rs`): before blocking in the reactor the loop sets `parked` and then
//! checks the remote queue; a pusher queues its item and then clears `parked` with a compare-exchange, notifying the
//! reactor only if it was the one to clear it. Under `corio_loom` the `ParkReactor` blocks on loom's `Notify`, so a
//! lost wake-up leaves the loop blocked forever with the other thread finished, which loom reports as a deadlock.
//!
//! Two ways in: `LoopHandle::call_soon_threadsafe` (a `Remote::Callback`), and a task's waker woken on another thread
//! (`Schedule::schedule` → `Remote::Wake`). Caught mutants: `park_check_before_flag`, `park_flag_cleared_early`.
#![cfg(corio_loom)]

mod loom_support;

use corio_core::reactor::ParkReactor;
use corio_core::runtime::EventLoop;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom_support::{check, Counter};
use std::cell::RefCell;
use std::rc::Rc;
use std::task::Poll;

/// `run_forever` with nothing to do parks; another thread's `call_soon_threadsafe` must get the callback run (it stops
/// the loop).
#[test]
fn call_soon_threadsafe_unparks_loop() {
    check("loom_park::call_soon_threadsafe_unparks_loop", || {
        let lp = EventLoop::new(ParkReactor::new());
        let handle = lp.handle();
        let ran = Counter::new();
        let ran2 = ran.clone();
        let poster = loom::thread::spawn(move || {
            handle
                .call_soon_threadsafe(move || {
                    ran2.bump();
                    corio_core::stop();
                })
                .unwrap();
        });
        lp.run_forever().unwrap();
        poster.join().unwrap();
        assert_eq!(ran.get(), 1);
        drop(lp);
    });
}

/// Two threads post at once: the loop may wake for the first, run it and park again before the second arrives, or
/// find both; exactly one pusher pays for the `notify` per park, and neither item may be stranded. The callback that
/// runs second stops the loop.
#[test]
fn two_pushers_race_park() {
    check("loom_park::two_pushers_race_park", || {
        let lp = EventLoop::new(ParkReactor::new());
        let ran = Counter::new();
        let posters: Vec<_> = (0..2)
            .map(|_| {
                let handle = lp.handle();
                let ran = ran.clone();
                loom::thread::spawn(move || {
                    handle
                        .call_soon_threadsafe(move || {
                            ran.bump();
                            if ran.get() == 2 {
                                corio_core::stop();
                            }
                        })
                        .unwrap();
                })
            })
            .collect();
        lp.run_forever().unwrap();
        for poster in posters {
            poster.join().unwrap();
        }
        assert_eq!(ran.get(), 2);
        drop(lp);
    });
}

/// `block_on` of a future that hands its waker to another thread and waits for a flag that thread sets before
/// waking it. The flag is a loom atomic written and read `Relaxed`, so the model also checks that a wake
/// happens-before the poll it causes (otherwise the re-poll could read `false` and wait forever).
#[test]
fn cross_thread_waker_unparks_loop() {
    check("loom_park::cross_thread_waker_unparks_loop", || {
        let lp = EventLoop::new(ParkReactor::new());
        let done = Arc::new(AtomicBool::new(false));
        let waker_thread = Rc::new(RefCell::new(None));
        let slot = waker_thread.clone();
        lp.block_on(std::future::poll_fn(move |cx| {
            if done.load(Ordering::Relaxed) {
                return Poll::Ready(());
            }
            if slot.borrow().is_none() {
                let waker = cx.waker().clone();
                let done = done.clone();
                *slot.borrow_mut() = Some(loom::thread::spawn(move || {
                    done.store(true, Ordering::Relaxed);
                    waker.wake();
                }));
            }
            Poll::Pending
        }))
        .unwrap();
        let thread = waker_thread.borrow_mut().take().expect("spawned on first poll");
        thread.join().unwrap();
        drop(lp);
    });
}
