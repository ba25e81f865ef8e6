//! Every task is freed: its allocation goes back once the last of its
//! references (the handle, the loop's registry, a queue entry, each waker)
//! is dropped, whichever way the task ends.
//!
//! The reference count lives in the task's state word
//! (`core/src/task/state.rs`); a count that never reaches zero is a leak no
//! outcome-level test can see. This binary counts the bytes the test thread
//! holds (a counting global allocator, per thread so the harness's other
//! threads do not blur it) and runs each way a task can end in rounds: the
//! first rounds grow the loop's queues and tables to their working size, the
//! later ones must leave the thread holding what it held before.

use corio::sync::Event;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

mod common;
use common::vloop;

struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    // `try_with`: a thread's last frees come after its thread-locals are gone.
    let _ = HELD.try_with(|held| held.set(held.get() + bytes));
}

// SAFETY: every method forwards to `System` unchanged and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        // SAFETY: the caller's contract for `alloc` is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        // SAFETY: the caller's contract for `realloc` is `System::realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn held() -> isize {
    HELD.with(Cell::get)
}

/// Tasks per round.
const TASKS: usize = 500;

/// Runs `round` until the loop's queues and tables have reached their
/// working size, then three more times, and checks those left the thread
/// holding (nearly) nothing more: a task allocation is far larger than the
/// slack, so even one leaked task per spawn fails by a wide margin.
fn frees_every_task<F, Fut>(what: &str, round: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let lp = vloop();
    for _ in 0..3 {
        lp.block_on(round()).unwrap();
    }
    let before = held();
    for _ in 0..3 {
        lp.block_on(round()).unwrap();
    }
    let after = held();
    assert!(
        after - before < (TASKS * 8) as isize,
        "{what}: 3 x {TASKS} tasks left {} bytes behind ({before} -> {after})",
        after - before
    );
}

#[test]
fn tasks_awaited_to_the_end_are_freed() {
    frees_every_task("awaited", || async {
        let tasks: Vec<_> = (0..TASKS).map(|i| corio::spawn(async move { i * 2 })).collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), i * 2);
        }
    });
}

#[test]
fn detached_tasks_are_freed_when_they_end() {
    frees_every_task("detached", || async {
        let done = Rc::new(Cell::new(0));
        for _ in 0..TASKS {
            let done = done.clone();
            drop(corio::spawn(async move {
                corio::sleep(Duration::from_millis(1)).await.unwrap();
                done.set(done.get() + 1);
            }));
        }
        corio::sleep(Duration::from_millis(2)).await.unwrap();
        assert_eq!(done.get(), TASKS);
    });
}

#[test]
fn handles_dropped_after_the_end_free_their_tasks() {
    frees_every_task("dropped after the end", || async {
        let tasks: Vec<_> = (0..TASKS).map(|i| corio::spawn(async move { vec![i; 4] })).collect();
        corio::sleep(Duration::from_millis(1)).await.unwrap();
        assert!(tasks.iter().all(|t| t.done()));
        drop(tasks);
    });
}

#[test]
fn cancelled_tasks_and_their_wakers_are_freed() {
    frees_every_task("cancelled while waiting", || async {
        let event = Rc::new(Event::new());
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let event = event.clone();
                corio::spawn(async move { event.wait().await })
            })
            .collect();
        corio::yield_now().await.unwrap();
        for task in &tasks {
            task.cancel();
        }
        for task in tasks {
            assert!(task.await.is_err());
        }
    });
}

#[test]
fn tasks_woken_through_cloned_wakers_are_freed() {
    frees_every_task("woken", || async {
        let event = Rc::new(Event::new());
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let event = event.clone();
                corio::spawn(async move {
                    event.wait().await.unwrap();
                    i
                })
            })
            .collect();
        corio::yield_now().await.unwrap();
        event.set();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), i);
        }
    });
}
