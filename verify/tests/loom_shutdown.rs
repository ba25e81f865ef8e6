//! Loom model 7: spawning or waking after shutdown cancels the task and leaks nothing.
//!
//! Closing a loop (`LoopCore::close`, `core/src/runtime/event_loop.rs`) first closes the remote queue under its mutex
//! (`LoopShared::close`, `shared.rs`), so a later `post` is refused, then ends every task it knows of cancelled,
//! including tasks spawned from other threads that were still in the remote queue. The main thread runs a loop for two
//! iterations and drops it (which closes it) while
//!
//! * one thread spawns a task through a `LoopHandle` and awaits it: the spawn is refused (`LoopClosed`), or the task
//!   runs, or it ends cancelled (`JoinError::Cancelled`); never a hang (loom reports a deadlock), never a panic;
//! * another thread wakes a task of the loop that is waiting forever: the wake lands while the loop runs, is dropped
//!   with the remote queue at close, or finds the task already complete (cancelled at close).
//!
//! Every task carries a `loom::alloc::Track`, and the loop's shared state is a loom `Arc`: loom fails any execution
//! that ends with either still allocated. Each future and output is dropped exactly once. Across all executions, each
//! of the three spawn outcomes must occur (a coverage check: a model that never reaches one of them checks less than
//! it claims). Caught mutants: `close_skips_remote_spawns`, `post_accepts_after_close`.
#![cfg(corio_loom)]

mod loom_support;

use corio_core::reactor::ParkReactor;
use corio_core::runtime::{EventLoop, LoopClosed};
use corio_core::task::JoinError;
use loom_support::{check, poll_noop, yield_once, Counter};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpawnOutcome {
    Ran,
    Cancelled,
    Refused,
}

#[test]
fn spawn_and_wake_racing_close() {
    static RAN: AtomicUsize = AtomicUsize::new(0);
    static CANCELLED: AtomicUsize = AtomicUsize::new(0);
    static REFUSED: AtomicUsize = AtomicUsize::new(0);

    check("loom_shutdown::spawn_and_wake_racing_close", || {
        let lp = EventLoop::new(ParkReactor::new());

        // A cross-thread spawn racing the close.
        let handle = lp.handle();
        let spawned_future = Counter::new();
        let spawned_output = Counter::new();
        let (future_drops, output_drops) = (spawned_future.clone(), spawned_output.clone());
        let spawner = loom::thread::spawn(move || {
            let guard = future_drops.token();
            let task = handle.spawn(async move {
                let _guard = guard;
                output_drops.token()
            });
            drop(handle);
            match task {
                Err(LoopClosed) => SpawnOutcome::Refused,
                Ok(task) => match loom::future::block_on(task) {
                    Ok(output) => {
                        drop(output);
                        SpawnOutcome::Ran
                    }
                    Err(JoinError::Cancelled(_)) => SpawnOutcome::Cancelled,
                    Err(err) => panic!("unexpected outcome {err:?}"),
                },
            }
        });

        // A task waiting forever, woken from another thread (spawned on its first poll) racing the close.
        let waiting_future = Counter::new();
        let waker_thread = Rc::new(RefCell::new(None));
        let (guard, slot) = (waiting_future.token(), waker_thread.clone());
        let mut waiting = lp.spawn(std::future::poll_fn(move |cx| {
            let _ = &guard;
            if slot.borrow().is_none() {
                let waker = cx.waker().clone();
                *slot.borrow_mut() = Some(loom::thread::spawn(move || waker.wake()));
            }
            Poll::<()>::Pending
        }));

        // Two iterations, then close.
        lp.block_on(yield_once()).unwrap();
        drop(lp);

        // The waiting task ended cancelled at close, its future dropped there.
        assert_eq!(waiting_future.get(), 1);
        match poll_noop(&mut waiting) {
            Poll::Ready(Err(JoinError::Cancelled(_))) => {}
            other => panic!("the waiting task must end cancelled at close, got {other:?}"),
        }
        drop(waiting);
        waker_thread.borrow_mut().take().expect("spawned on first poll").join().unwrap();

        let outcome = spawner.join().unwrap();
        assert_eq!(spawned_future.get(), 1, "the spawned future is dropped exactly once ({outcome:?})");
        let expected_outputs = usize::from(outcome == SpawnOutcome::Ran);
        assert_eq!(spawned_output.get(), expected_outputs, "{outcome:?}");
        match outcome {
            SpawnOutcome::Ran => RAN.fetch_add(1, Ordering::Relaxed),
            SpawnOutcome::Cancelled => CANCELLED.fetch_add(1, Ordering::Relaxed),
            SpawnOutcome::Refused => REFUSED.fetch_add(1, Ordering::Relaxed),
        };
        // Leaks (tasks, the loop's shared state) are checked by loom when this execution ends.
    });

    let (ran, cancelled, refused) =
        (RAN.load(Ordering::Relaxed), CANCELLED.load(Ordering::Relaxed), REFUSED.load(Ordering::Relaxed));
    eprintln!("loom_shutdown: spawn outcomes: ran {ran}, cancelled at close {cancelled}, refused {refused}");
    assert!(ran > 0 && cancelled > 0 && refused > 0, "every spawn outcome must be reachable");
}
