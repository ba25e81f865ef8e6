//! Loom model 10: the cross-loop hand-off of the multi-loop runtime — a task spawned from thread A onto loop B, which
//! may be parked, runs on B, and its result reaches A.
//!
//! `MultiLoop::spawn_on`/`LoopHandle::spawn_with` (`core/src/multi_loop/spawn.rs`) allocate the task on the calling
//! thread and post it to B's remote queue (`LoopShared::post`, `core/src/runtime/shared.rs`), which wakes B only if B
//! is parked (rule L7: no syscall for a busy loop). B adopts the task at its next drain, runs it, and the task's
//! completion wakes A's join waker across threads.
//!
//! * `spawn_from_a_thread_onto_a_parked_loop`: B runs `run_forever` with nothing to do (so it parks) while a plain
//!   thread A spawns onto it with `spawn_with` (the future is built on B) and blocks on the join handle; the task
//!   stops B. Either order of "B parks" and "A posts" must end with the task run once, on B, and A holding its output.
//! * `spawn_from_loop_a_onto_loop_b`: A is a loop too: its main task spawns onto B and awaits the handle, so the
//!   result comes back through A's own park protocol; both loops may be parked at once.
//!
//! A's `LoopHandle` to B lives until the task is done: dropping the last handle posts a no-op to B (so that a loop on
//! a virtual clock can report a deadlock), which would wake B and mask a lost wake-up of the spawn itself.
//!
//! A lost wake-up leaves B (or A) blocked in `ParkReactor` on loom's `Notify` with every other thread finished, which
//! loom reports as a deadlock. Caught mutant: `spawn_on_skips_unpark` (a spawn is queued without waking the loop).
#![cfg(corio_loom)]

mod loom_support;

use corio_core::reactor::ParkReactor;
use corio_core::runtime::EventLoop;
use loom_support::{check, Counter};
use std::rc::Rc;

#[test]
fn spawn_from_a_thread_onto_a_parked_loop() {
    check("loom_spawn_on::spawn_from_a_thread_onto_a_parked_loop", || {
        let b = EventLoop::new(ParkReactor::new());
        let handle = b.handle();
        let ran = Counter::new();
        let ran_on_b = ran.clone();
        let a = loom::thread::spawn(move || {
            let task = handle
                .spawn_with(move || {
                    // Built on B: an `Rc` is fine here.
                    let local = Rc::new(41);
                    async move {
                        ran_on_b.bump();
                        corio_core::stop();
                        *local + 1
                    }
                })
                .expect("B is open");
            // The handle lives until the task is done: dropping the last one
            // posts a no-op to the loop, which would wake B and hide a lost
            // wake-up of the spawn.
            let out = loom::future::block_on(task).expect("the task ran");
            drop(handle);
            out
        });
        b.run_forever().unwrap();
        assert_eq!(a.join().unwrap(), 42);
        assert_eq!(ran.get(), 1);
        drop(b);
    });
}

#[test]
fn spawn_from_loop_a_onto_loop_b() {
    check("loom_spawn_on::spawn_from_loop_a_onto_loop_b", || {
        let b = EventLoop::new(ParkReactor::new());
        let handle = b.handle();
        let a = loom::thread::spawn(move || {
            let a = EventLoop::new(ParkReactor::new());
            let out = a
                .block_on(async move {
                    let task = corio_core::multi_loop::spawn_on(&handle, async {
                        corio_core::stop();
                        7
                    })
                    .expect("B is open");
                    let out = task.await;
                    drop(handle); // after the task: see the first model
                    out
                })
                .unwrap();
            drop(a);
            out.expect("the task ran")
        });
        b.run_forever().unwrap();
        assert_eq!(a.join().unwrap(), 7);
        drop(b);
    });
}
