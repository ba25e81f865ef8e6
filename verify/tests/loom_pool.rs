//! Loom model 11: the pool of a multi-loop runtime (`core/src/runtime/pool/`) — tasks that any loop may run.
//!
//! Two loops, A (the model's main thread) and B (a model thread), are made one pool with `PoolOfLoops` (what
//! `MultiLoop` does with its own), and `Loops::spawn` makes the pool's tasks. Each model gives a task exactly one way
//! to be run and checks that it is: a lost wake-up leaves B blocked in `ParkReactor` on loom's `Notify` with the other
//! threads blocked too, which loom reports as a deadlock; a task never freed fails loom's leak check.
//!
//! * `a_spawn_from_outside_wakes_a_parked_loop`: B idles (it announces itself idle and parks) while a thread that runs
//!   no loop spawns a task: the push onto the injection queue and B's announcement race, and B must run the task.
//!   Caught mutants: `pool_idle_unchecked` (a push wakes nobody), `pool_kick_lost` (the wake-up reaches only a loop
//!   already blocked, not one about to block).
//! * `a_loop_that_stops_hands_its_queue_on`: A queues a task on its own run queue and stops running (its `block_on`
//!   returns); the task must reach B. Caught mutant: `pool_queue_kept_on_leave`.
//! * `an_idle_loop_steals_from_a_busy_one`: A queues two tasks, then blocks inside a step until one of them has run:
//!   only B can run it, by stealing. Caught mutant: `pool_never_steals`.
//! * `a_cancel_from_another_thread_wakes_a_moved_task`: a task waits on B; a thread that runs no loop cancels it
//!   (the request races B's park); the task's wait must see the cancellation. Caught mutant:
//!   `pool_cancel_no_wake`.
#![cfg(corio_loom)]

mod loom_support;

use corio_core::multi_loop::PoolOfLoops;
use corio_core::reactor::ParkReactor;
use corio_core::runtime::{EventLoop, LoopHandle};
use corio_core::sync::Event;
use loom::sync::{Arc, Condvar, Mutex};
use loom_support::{check, Counter};

/// Starts loop B on a model thread as member 1 of a pool with `a` (member 0); B runs until it is stopped, then
/// returns. Returns the pool and B's thread.
fn pool_with_b(a: &EventLoop<ParkReactor>) -> (PoolOfLoops, loom::thread::JoinHandle<()>) {
    let (handle_tx, handle_rx) = loom::sync::mpsc::channel::<LoopHandle>();
    let (pool_tx, pool_rx) = loom::sync::mpsc::channel::<PoolOfLoops>();
    let b = loom::thread::spawn(move || {
        let lp = EventLoop::new(ParkReactor::new());
        handle_tx.send(lp.handle()).unwrap();
        let pool = pool_rx.recv().unwrap();
        pool.join(&lp, 1);
        lp.run_forever().unwrap();
        drop(lp);
    });
    let pool = PoolOfLoops::new(vec![a.handle(), handle_rx.recv().unwrap()]);
    pool.join(a, 0);
    pool_tx.send(pool.clone()).unwrap();
    (pool, b)
}

/// A flag one thread waits on and another sets (a loom `Condvar`, so that a wait nobody ends is a deadlock).
#[derive(Clone)]
struct Flag(Arc<(Mutex<bool>, Condvar)>);

impl Flag {
    fn new() -> Flag {
        Flag(Arc::new((Mutex::new(false), Condvar::new())))
    }

    fn set(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }

    fn wait(&self) {
        let mut set = self.0 .0.lock().unwrap();
        while !*set {
            set = self.0 .1.wait(set).unwrap();
        }
    }
}

#[test]
fn a_spawn_from_outside_wakes_a_parked_loop() {
    check("loom_pool::a_spawn_from_outside_wakes_a_parked_loop", || {
        let a = EventLoop::new(ParkReactor::new());
        let (pool, b) = pool_with_b(&a);
        let ran = Counter::new();
        let r = ran.clone();
        // This thread runs no loop (A is never run): the task goes to the
        // injection queue, and only B can take it.
        let task = pool
            .loops()
            .spawn(async move {
                r.bump();
                corio_core::stop(); // B's run_forever returns
            })
            .unwrap();
        b.join().unwrap();
        assert_eq!(ran.get(), 1);
        assert!(task.done());
        drop(task);
        pool.close(&a).unwrap();
        drop(a);
    });
}

#[test]
fn a_loop_that_stops_hands_its_queue_on() {
    check("loom_pool::a_loop_that_stops_hands_its_queue_on", || {
        let a = EventLoop::new(ParkReactor::new());
        let (pool, b) = pool_with_b(&a);
        let ran = Counter::new();
        let r = ran.clone();
        let loops = pool.loops();
        // Spawned on A (into A's own queue, to run in A's next iteration);
        // but A stops first.
        a.block_on(async move {
            loops
                .spawn(async move {
                    r.bump();
                    corio_core::stop();
                })
                .unwrap()
                .detach();
        })
        .unwrap();
        b.join().unwrap();
        assert_eq!(ran.get(), 1);
        pool.close(&a).unwrap();
        drop(a);
    });
}

#[test]
fn an_idle_loop_steals_from_a_busy_one() {
    check("loom_pool::an_idle_loop_steals_from_a_busy_one", || {
        let a = EventLoop::new(ParkReactor::new());
        let (pool, b) = pool_with_b(&a);
        let b_handle = pool.loops().get(1).unwrap().clone();
        let one_ran = Flag::new();
        let loops = pool.loops();
        let flag = one_ran.clone();
        a.block_on(async move {
            // Two tasks on A's queue (a loop keeps its next task; a thief
            // takes half of the rest), then A blocks in this step until one
            // of them has run: only B, stealing, can run it.
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let flag = flag.clone();
                    loops.spawn(async move { flag.set() }).unwrap()
                })
                .collect();
            flag.wait();
            for task in tasks {
                task.await.unwrap();
            }
        })
        .unwrap();
        b_handle.stop().unwrap();
        drop(b_handle);
        b.join().unwrap();
        pool.close(&a).unwrap();
        drop(a);
    });
}

#[test]
fn a_cancel_from_another_thread_wakes_a_moved_task() {
    check("loom_pool::a_cancel_from_another_thread_wakes_a_moved_task", || {
        let a = EventLoop::new(ParkReactor::new());
        let (pool, b) = pool_with_b(&a);
        let started = Flag::new();
        let s = started.clone();
        let cancelled = Counter::new();
        let c = cancelled.clone();
        // From this thread (A never runs): the task runs on B, and waits.
        let task = pool
            .loops()
            .spawn(async move {
                s.set();
                let never = Event::new();
                if never.wait().await.is_err() {
                    c.bump();
                }
                corio_core::stop(); // B's run_forever returns
            })
            .unwrap();
        started.wait();
        // The request finds the task waiting (or about to wait) on B, which
        // may be parked: it must wake it, or B never returns.
        assert!(task.cancel());
        b.join().unwrap();
        assert_eq!(cancelled.get(), 1, "the wait saw the cancellation");
        assert!(task.done());
        drop(task);
        pool.close(&a).unwrap();
        drop(a);
    });
}
