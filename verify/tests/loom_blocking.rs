//! Loom model of the blocking pool's hand-off (rule B2): a job is taken exactly once, and a cancel racing its start
//! has exactly one outcome.
//!
//! The real pool (`core/src/blocking/pool.rs`) runs here with its worker threads as loom threads, its queue under a
//! loom mutex and its idle workers on a loom condition variable; the job's fate is the compare-exchange in
//! `core/src/blocking/job.rs`. The model's main thread is the awaiter (outside any loop: `Blocking` is a plain future,
//! awaited with `loom::future::block_on`, whose waker parks the thread on a loom primitive — a lost wake-up is a loom
//! deadlock). Each model ends with `shutdown`, which waits for every worker to exit, and loom's leak check then sees
//! every `Arc` of the pool and of each hand-off freed.
//!
//! * `cancel_races_start`: the awaiter withdraws the job while a worker starts it. Withdrawn ⇒ the closure never ran
//!   (and was dropped once); not withdrawn ⇒ it ran once and the awaiter receives its output. Both outcomes must be
//!   reached across executions.
//! * `dropped_awaiter_races_completion`: the awaiter polls once (registering its waker), then drops the handle while
//!   the job runs or finishes: the output is dropped exactly once iff the job ran, wherever the last reference goes.
//! * `two_workers_take_each_job_once`: two jobs on a two-thread pool with a keep-alive; each job runs exactly once
//!   whether the second finds the first worker idle (a condition-variable wake-up) or busy (a second thread).
//! * `a_submission_races_the_spinner`: one worker with a keep-alive, two jobs in turn. After the first, the worker
//!   spins for the next (under loom, one look at the flag) and then parks; the second submission lands before, during
//!   or after the spin. Whether it calls the spinner (no wake-up), wakes the parked worker or finds it busy, the job
//!   runs exactly once and the awaiter gets its output.
//!
//! Caught mutants: `blocking_withdraw_racy` (the awaiter is told the job was withdrawn although it started: it waits
//! for an outcome that never comes, or finds that the job ran), `blocking_waker_no_recheck` and `pool_wake_uncounted`
//! (lost wake-ups: loom reports the deadlock), `spinner_trusts_its_look` (a spinner that saw no call parks without
//! looking at the queue again: the called job is stranded, a deadlock).
#![cfg(corio_loom)]

mod loom_support;

use corio_core::blocking::BlockingPool;
use loom_support::{check, poll_noop, Counter};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

/// A pool with one thread that exits as soon as it is idle (no condition-variable wait: the smallest state space).
fn single_thread_pool() -> BlockingPool {
    BlockingPool::builder().max_threads(1).keep_alive(Duration::ZERO).build()
}

#[test]
fn cancel_races_start() {
    static WITHDRAWN: AtomicUsize = AtomicUsize::new(0);
    static RAN: AtomicUsize = AtomicUsize::new(0);

    check("loom_blocking::cancel_races_start", || {
        let pool = single_thread_pool();
        let (runs, closure_drops, output_drops) = (Counter::new(), Counter::new(), Counter::new());
        let (r, guard, output) = (runs.clone(), closure_drops.token(), output_drops.clone());
        let job = pool.run(move || {
            let _guard = guard;
            r.bump();
            output.token()
        });

        let withdrawn = job.cancel();
        if withdrawn {
            let err = loom::future::block_on(job).expect_err("a withdrawn job has no output");
            assert!(err.is_cancelled());
        } else {
            drop(loom::future::block_on(job).expect("a job that was not withdrawn runs"));
        }
        assert!(pool.shutdown(Duration::MAX).is_clean());

        assert_eq!(runs.get(), usize::from(!withdrawn), "withdrawn ⇒ never ran; otherwise ran once");
        assert_eq!(closure_drops.get(), 1, "the closure is dropped exactly once");
        assert_eq!(output_drops.get(), usize::from(!withdrawn));
        let outcome = if withdrawn { &WITHDRAWN } else { &RAN };
        outcome.fetch_add(1, Ordering::Relaxed);
    });

    let (withdrawn, ran) = (WITHDRAWN.load(Ordering::Relaxed), RAN.load(Ordering::Relaxed));
    eprintln!("loom_blocking::cancel_races_start: withdrawn {withdrawn}, ran {ran}");
    assert!(withdrawn > 0 && ran > 0, "both outcomes of the race must be reachable");
}

#[test]
fn dropped_awaiter_races_completion() {
    check("loom_blocking::dropped_awaiter_races_completion", || {
        let pool = single_thread_pool();
        let (runs, output_drops) = (Counter::new(), Counter::new());
        let (r, output) = (runs.clone(), output_drops.clone());
        let mut job = pool.run(move || {
            r.bump();
            output.token()
        });
        match poll_noop(&mut job) {
            Poll::Ready(result) => drop(result.expect("it ran")),
            Poll::Pending => drop(job), // withdraws it, or leaves its output to be dropped with the hand-off
        }
        assert!(pool.shutdown(Duration::MAX).is_clean());
        assert!(runs.get() <= 1);
        assert_eq!(output_drops.get(), runs.get(), "the output of a job that ran is dropped exactly once");
    });
}

#[test]
fn two_workers_take_each_job_once() {
    check("loom_blocking::two_workers_take_each_job_once", || {
        let pool = BlockingPool::builder().max_threads(2).keep_alive(Duration::from_secs(3600)).build();
        let runs = [Counter::new(), Counter::new()];
        let (a, b) = (runs[0].clone(), runs[1].clone());
        let first = pool.run(move || {
            a.bump();
            1
        });
        let first = loom::future::block_on(first).unwrap();
        // The first worker may still be busy, or already idle on the condition variable.
        let second = pool.run(move || {
            b.bump();
            2
        });
        let second = loom::future::block_on(second).unwrap();
        assert_eq!((first, second), (1, 2));
        assert!(pool.shutdown(Duration::MAX).is_clean());
        assert_eq!(pool.stats().threads, 0);
        assert_eq!((runs[0].get(), runs[1].get()), (1, 1), "each job runs exactly once");
    });
}

#[test]
fn a_submission_races_the_spinner() {
    static IDLE_BEFORE_SECOND: AtomicUsize = AtomicUsize::new(0);

    check("loom_blocking::a_submission_races_the_spinner", || {
        let pool = BlockingPool::builder().max_threads(1).keep_alive(Duration::from_secs(3600)).build();
        let runs = [Counter::new(), Counter::new()];
        let (a, b) = (runs[0].clone(), runs[1].clone());
        let first = loom::future::block_on(pool.run(move || {
            a.bump();
            1
        }))
        .unwrap();
        // The worker is finishing, spinning or parked; which one decides how the job reaches it.
        let idle = pool.stats() == corio_core::blocking::PoolStats { threads: 1, idle: 1, running: 0, queued: 0 };
        let second = loom::future::block_on(pool.run(move || {
            b.bump();
            2
        }))
        .unwrap();
        assert_eq!((first, second), (1, 2));
        assert!(pool.shutdown(Duration::MAX).is_clean());
        assert_eq!(pool.stats().threads, 0);
        assert_eq!((runs[0].get(), runs[1].get()), (1, 1), "each job runs exactly once");
        if idle {
            IDLE_BEFORE_SECOND.fetch_add(1, Ordering::Relaxed);
        }
    });

    let idle_before_second = IDLE_BEFORE_SECOND.load(Ordering::Relaxed);
    eprintln!("loom_blocking::a_submission_races_the_spinner: worker idle (spinning or parked) before the second job in {idle_before_second} executions");
    assert!(idle_before_second > 0, "the second job must sometimes find the worker idle");
}
