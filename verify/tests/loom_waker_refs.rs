//! Loom model 5: waker reference counts return to zero.
//!
//! Every waker owns one task reference (`core/src/task/waker.rs`): `clone` adds one, `drop` removes one, `wake`
//! consumes one; a wake that schedules the task adds one for the queue entry. The task is freed when the count
//! reaches zero, and each task carries a `loom::alloc::Track` (core's `LeakTrack` under `corio_loom`), so loom fails
//! the model if any execution ends with the task still allocated; it also tracks the loop's shared state, which every
//! task holds a strong count of. A count that reaches zero too early shows up as a use after free (the track is
//! dropped twice, or the explicit drop counts below are off).
//!
//! The task (the root future of `block_on`) clones its waker on the first poll and hands the clones to two threads:
//! one wakes by value, the other clones again, wakes by reference and drops both. Their reference-count updates race
//! with each other and with the loop, which drops its queue and registry references as it polls and completes the
//! task. Caught mutant: `waker_refcount_nonatomic`.
#![cfg(corio_loom)]

mod loom_support;

use corio_core::reactor::ParkReactor;
use corio_core::runtime::EventLoop;
use loom_support::{check, Counted, Counter};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Pending on the first poll (handing waker clones to two threads), ready on the next.
struct WakedFromThreads {
    polls: usize,
    _guard: Counted,
    output: Counter,
    threads: Rc<RefCell<Vec<loom::thread::JoinHandle<()>>>>,
}

impl Future for WakedFromThreads {
    type Output = Counted;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Counted> {
        self.polls += 1;
        if self.polls > 1 {
            return Poll::Ready(self.output.token());
        }
        let by_value = cx.waker().clone();
        let by_ref = cx.waker().clone();
        let mut threads = self.threads.borrow_mut();
        threads.push(loom::thread::spawn(move || by_value.wake()));
        threads.push(loom::thread::spawn(move || {
            let extra = by_ref.clone();
            by_ref.wake_by_ref();
            drop(by_ref);
            drop(extra);
        }));
        Poll::Pending
    }
}

#[test]
fn waker_refcounts_return_to_zero() {
    check("loom_waker_refs::waker_refcounts_return_to_zero", || {
        let lp = EventLoop::new(ParkReactor::new());
        let future_drops = Counter::new();
        let output_drops = Counter::new();
        let threads = Rc::new(RefCell::new(Vec::new()));
        let future = WakedFromThreads {
            polls: 0,
            _guard: future_drops.token(),
            output: output_drops.clone(),
            threads: threads.clone(),
        };

        let output = lp.block_on(future).unwrap();
        assert_eq!(future_drops.get(), 1, "the future is dropped when the task completes");
        drop(output);
        assert_eq!(output_drops.get(), 1);

        for thread in threads.take() {
            thread.join().unwrap();
        }
        drop(lp);
        assert_eq!(future_drops.get(), 1);
        assert_eq!(output_drops.get(), 1);
        // The task itself must be freed by now: loom's leak check runs when this execution ends.
    });
}

/// The scaffolding of the three yield models below: a fresh loop whose root task hands a clone of its own waker to
/// a new thread running `remote`, then runs `body`; the thread is joined and the loop dropped, so loom's leak check
/// sees whether every reference came back. Returns `body`'s output.
fn race_a_remote_waker<T: 'static>(
    remote: impl FnOnce(std::task::Waker) + Send + 'static,
    body: impl Future<Output = T> + 'static,
) -> T {
    let lp = EventLoop::new(ParkReactor::new());
    let thread = Rc::new(RefCell::new(None));
    let spawned = thread.clone();
    let out = lp
        .block_on(async move {
            let waker = std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
            *spawned.borrow_mut() = Some(loom::thread::spawn(move || remote(waker)));
            body.await
        })
        .unwrap();
    if let Some(thread) = thread.take() {
        thread.join().unwrap();
    }
    drop(lp);
    out
}

/// A task yields on its own waker — a note to the loop, which re-queues it without touching the state word (it
/// stays `RUNNING` while queued; `task/state.rs`) — while another thread wakes it by value, consuming a reference.
/// Whatever the order, the task is queued once per wake-up and freed at the end (loom's leak check). The mutant
/// `requeue_nonatomic` was caught here while a yield's re-queue was a read-modify-write; it is now in the restart
/// after a yield, whose window only the third model below reaches.
#[test]
fn yield_requeue_races_a_remote_wake() {
    check("loom_waker_refs::yield_requeue_races_a_remote_wake", || {
        let yields = race_a_remote_waker(|waker| waker.wake(), async {
            let mut yields = 0;
            for _ in 0..2 {
                corio_core::yield_now().await.unwrap();
                yields += 1;
            }
            yields
        });
        assert_eq!(yields, 2);
    });
}

/// As [`yield_requeue_races_a_remote_wake`], with the yield written as a plain future would: it wakes its own waker
/// by reference and returns `Pending` (the waker's wake is then the same note, `current::note_own_wake`), while
/// another thread wakes it by value.
#[test]
fn own_wake_requeue_races_a_remote_wake() {
    check("loom_waker_refs::own_wake_requeue_races_a_remote_wake", || {
        let polls = race_a_remote_waker(|waker| waker.wake(), async {
            let mut polls = 0;
            std::future::poll_fn(|cx| {
                polls += 1;
                if polls == 3 {
                    return Poll::Ready(());
                }
                cx.waker().wake_by_ref();
                Poll::Pending
            })
            .await;
            polls
        });
        assert_eq!(polls, 3);
    });
}

/// A remote wake that lands while the task waits in the ready queue after a yield, still `RUNNING`: the next step
/// then starts by clearing `SCHEDULED` with a read-modify-write while the remote thread drops its wakers. The remote
/// starts with a clone (a write to the state word): in the two models above its first access is a load, which loom
/// reorders only around the loop's next write, so their wake never lands in that window (found by instrumenting the
/// transition; they see the yield's plain-load restart only). The task yields twice and is freed at the end
/// (loom's leak check). Caught mutant: `requeue_nonatomic`.
#[test]
fn a_remote_wake_lands_while_the_yielded_task_is_queued() {
    check("loom_waker_refs::a_remote_wake_lands_while_the_yielded_task_is_queued", || {
        race_a_remote_waker(
            |waker| {
                let extra = waker.clone();
                waker.wake();
                drop(extra);
            },
            async {
                corio_core::yield_now().await.unwrap();
                corio_core::yield_now().await.unwrap();
            },
        );
    });
}
