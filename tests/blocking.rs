//! The blocking pool: `run_in_executor`, `to_thread`, `spawn_blocking`
//! (rules B1, B2, X5) and its part in loop teardown.
//!
//! Pool threads are real threads, so every wait here is on a channel: a job
//! reports that it started and blocks until the test releases it. No sleeps,
//! no timing assertions; `recv_timeout` only turns a hang into a failure.

use corio::blocking::{BlockingPool, PoolStats};
use corio::clock::VirtualClock;
use corio::runtime::{EventLoop, ExceptionKind};
use corio::{ContextVar, JoinError};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

/// How long a test waits on a channel before it calls the run a hang.
const HANG: Duration = Duration::from_secs(60);

fn new_loop() -> corio::EventLoop {
    corio::new_event_loop().unwrap()
}

/// A job's way to say it started and to wait until the test lets it finish.
#[derive(Clone)]
struct Gate {
    started: Sender<usize>,
    release: Arc<Mutex<Receiver<()>>>,
}

/// The test's side of a [`Gate`].
struct Control {
    started: Receiver<usize>,
    release: Sender<()>,
}

fn gate() -> (Gate, Control) {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    (
        Gate { started: started_tx, release: Arc::new(Mutex::new(release_rx)) },
        Control { started: started_rx, release: release_tx },
    )
}

impl Gate {
    /// Reports `id` as started, then blocks until released.
    fn pass(&self, id: usize) {
        self.started.send(id).unwrap();
        self.release.lock().unwrap().recv_timeout(HANG).expect("released");
    }
}

impl Control {
    fn wait_started(&self) -> usize {
        self.started.recv_timeout(HANG).expect("a job started")
    }

    fn release(&self, jobs: usize) {
        for _ in 0..jobs {
            self.release.send(()).unwrap();
        }
    }
}

/// Sends on drop: tells the test that a thread exited (as a thread-local's
/// destructor) or that a value was dropped.
struct OnDrop(Sender<ThreadId>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(thread::current().id());
    }
}

thread_local! {
    static EXIT_SIGNAL: RefCell<Option<OnDrop>> = const { RefCell::new(None) };
}

#[test]
fn b1_run_in_executor_runs_on_another_thread_and_returns_its_value() {
    let lp = new_loop();
    let (value, worker) =
        lp.block_on(async { corio::run_in_executor(|| (6 * 7, thread::current().id())).await.unwrap() }).unwrap();
    assert_eq!(value, 42);
    assert_ne!(worker, thread::current().id(), "the job must not run on the loop's thread");
}

#[test]
fn b1_the_pool_runs_at_most_max_threads_jobs_at_once() {
    let lp = new_loop();
    let pool = BlockingPool::builder().max_threads(2).keep_alive(Duration::from_secs(3600)).build();
    lp.set_default_executor(pool.clone());
    let (gate, control) = gate();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));

    let results = lp
        .block_on(async {
            let jobs: Vec<_> = (0..5)
                .map(|id| {
                    let (gate, running, most) = (gate.clone(), running.clone(), most.clone());
                    corio::run_in_executor(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        gate.pass(id);
                        running.fetch_sub(1, Ordering::SeqCst);
                        id
                    })
                })
                .collect();
            // Two jobs start; the other three wait in the queue.
            control.wait_started();
            control.wait_started();
            assert_eq!(pool.stats(), PoolStats { threads: 2, idle: 0, running: 2, queued: 3 });
            control.release(5);
            let mut out = Vec::new();
            for job in jobs {
                out.push(job.await.unwrap());
            }
            out
        })
        .unwrap();
    assert_eq!(results, [0, 1, 2, 3, 4]);
    assert_eq!(most.load(Ordering::SeqCst), 2, "never more than max_threads jobs at once");
    assert!(pool.stats().threads <= 2);
}

#[test]
fn b1_an_idle_thread_exits_after_the_keep_alive() {
    let lp = new_loop();
    let pool = BlockingPool::builder().max_threads(1).keep_alive(Duration::ZERO).build();
    lp.set_default_executor(pool.clone());
    let (exited_tx, exited_rx) = mpsc::channel();
    let first = lp
        .block_on(async {
            corio::run_in_executor(move || {
                EXIT_SIGNAL.with(|s| *s.borrow_mut() = Some(OnDrop(exited_tx)));
                thread::current().id()
            })
            .await
        })
        .unwrap()
        .unwrap();
    // The thread-local's destructor runs as the idle thread exits.
    assert_eq!(exited_rx.recv_timeout(HANG).expect("the idle thread exits"), first);
    assert_eq!(pool.stats().threads, 0);
    // The next job gets a new thread.
    let second = lp.block_on(async { corio::run_in_executor(|| thread::current().id()).await }).unwrap().unwrap();
    assert_ne!(first, second);
}

#[test]
fn b1_a_thread_within_its_keep_alive_is_reused() {
    let lp = new_loop();
    let pool = BlockingPool::builder().max_threads(1).keep_alive(Duration::from_secs(3600)).build();
    lp.set_default_executor(pool.clone());
    let ids = lp
        .block_on(async {
            let a = corio::run_in_executor(|| thread::current().id()).await.unwrap();
            let b = corio::run_in_executor(|| thread::current().id()).await.unwrap();
            (a, b)
        })
        .unwrap();
    assert_eq!(ids.0, ids.1);
    assert_eq!(pool.stats().threads, 1);
    assert!(pool.shutdown(HANG).is_clean());
    assert_eq!(pool.stats().threads, 0, "shutdown waits for idle threads to exit");
}

#[test]
fn an_endless_keep_alive_or_a_zero_bound_is_no_panic() {
    let pool = BlockingPool::builder().max_threads(0).keep_alive(Duration::MAX).build();
    assert_eq!(pool.max_threads(), 1, "a bound of 0 means 1");
    let lp = new_loop();
    lp.set_default_executor(pool.clone());
    let out = lp.block_on(async { corio::run_in_executor(|| 3).await.unwrap() }).unwrap();
    assert_eq!(out, 3);
    assert_eq!(pool.stats().threads, 1, "the idle thread waits without a deadline");
    assert!(pool.shutdown(HANG).is_clean(), "and still exits at shutdown");
}

#[test]
fn b2_a_job_whose_awaiter_is_cancelled_before_it_starts_never_runs() {
    let lp = new_loop();
    let pool = BlockingPool::builder().max_threads(1).build();
    lp.set_default_executor(pool.clone());
    let (gate, control) = gate();
    let second_ran = Arc::new(AtomicBool::new(false));

    lp.block_on(async {
        let blocker = corio::run_in_executor(move || gate.pass(0));
        control.wait_started(); // the only thread is busy
        let ran = second_ran.clone();
        let waiter =
            corio::spawn(async move { corio::run_in_executor(move || ran.store(true, Ordering::SeqCst)).await });
        corio::yield_now().await.unwrap(); // the waiter is now awaiting its queued job
        waiter.cancel_with("not needed");
        // The task propagated the cancellation it was given: it ends cancelled.
        let joined = waiter.await;
        assert!(matches!(&joined, Err(JoinError::Cancelled(c)) if c.message() == Some("not needed")), "{joined:?}");
        control.release(1);
        blocker.await.unwrap();
    })
    .unwrap();
    // Every thread has exited: the withdrawn job can no longer run.
    assert!(pool.shutdown(HANG).is_clean());
    assert!(!second_ran.load(Ordering::SeqCst), "a withdrawn job must never run");
}

#[test]
fn b2_a_running_job_finishes_and_its_result_is_dropped() {
    struct Output(Sender<ThreadId>);
    impl Drop for Output {
        fn drop(&mut self) {
            self.0.send(thread::current().id()).unwrap();
        }
    }
    let lp = new_loop();
    let (gate, control) = gate();
    let (dropped_tx, dropped_rx) = mpsc::channel();
    lp.block_on(async {
        let waiter = corio::spawn(async move {
            corio::run_in_executor(move || {
                gate.pass(0);
                Output(dropped_tx)
            })
            .await
            .map(drop)
        });
        corio::yield_now().await.unwrap(); // the waiter submits its job
        control.wait_started();
        waiter.cancel();
        // The awaiter returns at once, while the job is still running.
        assert!(waiter.await.unwrap_err().is_cancelled());
        control.release(1);
    })
    .unwrap();
    // The job finished and its output was dropped, off the loop's thread.
    let dropped_on = dropped_rx.recv_timeout(HANG).expect("the output is dropped");
    assert_ne!(dropped_on, thread::current().id());
}

#[test]
fn b2_dropping_the_awaitable_withdraws_a_queued_job_but_spawn_blocking_detaches() {
    let lp = new_loop();
    let pool = BlockingPool::builder().max_threads(1).build();
    lp.set_default_executor(pool.clone());
    let (gate, control) = gate();
    let withdrawn_ran = Arc::new(AtomicBool::new(false));
    let (detached_tx, detached_rx) = mpsc::channel();
    lp.block_on(async {
        let blocker = corio::run_in_executor(move || gate.pass(0));
        control.wait_started();
        let ran = withdrawn_ran.clone();
        drop(corio::run_in_executor(move || ran.store(true, Ordering::SeqCst)));
        drop(corio::spawn_blocking(move || detached_tx.send("detached job ran").unwrap()));
        control.release(1);
        blocker.await.unwrap();
    })
    .unwrap();
    assert_eq!(detached_rx.recv_timeout(HANG).unwrap(), "detached job ran");
    assert!(pool.shutdown(HANG).is_clean());
    assert!(!withdrawn_ran.load(Ordering::SeqCst));
}

#[test]
fn b2_cancel_withdraws_only_a_job_that_has_not_started() {
    let lp = new_loop();
    lp.set_default_executor(BlockingPool::builder().max_threads(1).build());
    let (gate, control) = gate();
    lp.block_on(async {
        let running = corio::run_in_executor(move || gate.pass(0));
        control.wait_started();
        let queued = corio::run_in_executor(|| "never");
        assert!(queued.cancel(), "a queued job can be withdrawn");
        assert!(queued.done());
        assert!(!running.cancel(), "a running job cannot");
        let err = queued.await.unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        control.release(1);
        running.await.unwrap();
    })
    .unwrap();
}

#[test]
fn x5_to_thread_carries_the_context_and_run_in_executor_does_not() {
    static REQUEST: ContextVar<u32> = ContextVar::new("request");
    let lp = new_loop();
    lp.set_default_executor(BlockingPool::builder().max_threads(1).keep_alive(Duration::from_secs(3600)).build());
    lp.block_on(async {
        let _token = REQUEST.set(7);
        let seen = corio::to_thread(|| {
            let seen = REQUEST.get();
            let _inner = REQUEST.set(99); // a write on the job's side
            seen
        })
        .await
        .unwrap();
        assert_eq!(seen, Some(7), "to_thread runs in a copy of the caller's context");
        assert_eq!(REQUEST.get(), Some(7), "the job's writes stay on its side");
        // The same (only) thread, now through the raw call: nothing carried,
        // nothing left over from the previous job.
        let raw = corio::run_in_executor(|| REQUEST.get()).await.unwrap();
        assert_eq!(raw, None, "run_in_executor does not carry the context");
    })
    .unwrap();
}

#[test]
fn t4_a_panicking_job_reports_its_panic_and_the_pool_keeps_working() {
    let lp = new_loop();
    lp.set_default_executor(BlockingPool::builder().max_threads(1).build());
    lp.block_on(async {
        let err = corio::run_in_executor(|| -> u8 { panic!("disk on fire") }).await.unwrap_err();
        assert_eq!(err.into_panic().expect("a panic").message(), Some("disk on fire"));
        assert_eq!(corio::run_in_executor(|| 5).await.unwrap(), 5);
    })
    .unwrap();
}

#[test]
fn a_loop_on_a_virtual_clock_waits_for_a_blocking_job_instead_of_reporting_a_deadlock() {
    // Nothing is ready, no timer is pending and the reactor is quiescent
    // while the job runs: only the pool thread can wake the loop (L5).
    let lp = EventLoop::builder(corio::backend::ParkReactor::new()).clock(VirtualClock::new()).build();
    let (gate, control) = gate();
    let helper = thread::spawn(move || {
        control.wait_started();
        control.release(1);
    });
    let out = lp.block_on(async {
        corio::run_in_executor(move || {
            gate.pass(0);
            "done"
        })
        .await
    });
    assert_eq!(out.unwrap().unwrap(), "done");
    helper.join().unwrap();
}

#[test]
fn shutdown_refuses_queued_jobs_reports_running_ones_and_refuses_later_submissions() {
    let lp = new_loop();
    lp.set_default_executor(BlockingPool::builder().max_threads(1).build());
    let (gate, control) = gate();
    let queued_ran = Arc::new(AtomicBool::new(false));
    let (exited_tx, exited_rx) = mpsc::channel();
    let (running, queued) = lp
        .block_on(async {
            let running = corio::run_in_executor(move || {
                EXIT_SIGNAL.with(|s| *s.borrow_mut() = Some(OnDrop(exited_tx)));
                gate.pass(0);
                "finished"
            });
            control.wait_started();
            let ran = queued_ran.clone();
            let queued = corio::run_in_executor(move || ran.store(true, Ordering::SeqCst));
            (running, queued)
        })
        .unwrap();

    let report = lp.shutdown_default_executor(Duration::ZERO);
    assert_eq!((report.refused, report.still_running), (1, 1), "{report}");
    assert!(!report.is_clean());

    lp.block_on(async {
        let refused = queued.await.unwrap_err();
        assert!(refused.is_cancelled(), "{refused:?}");
        let later = corio::run_in_executor(|| "too late").await.unwrap_err();
        assert!(later.is_cancelled(), "submissions after shutdown are refused: {later:?}");
        control.release(1);
        // A job running at shutdown still finishes, and its awaiter gets it.
        assert_eq!(running.await.unwrap(), "finished");
    })
    .unwrap();
    exited_rx.recv_timeout(HANG).expect("the last thread exits after its job");
    assert!(!queued_ran.load(Ordering::SeqCst), "a refused job never runs");
}

#[test]
fn loop_shutdown_waits_for_running_jobs_within_the_grace_period() {
    let lp = new_loop();
    let pool = lp.default_executor();
    let (gate, control) = gate();
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    lp.block_on(async move {
        corio::spawn_blocking(move || {
            gate.pass(0);
            done.store(true, Ordering::SeqCst);
        })
        .detach();
        control.wait_started();
        control.release(1);
    })
    .unwrap();
    lp.shutdown(HANG).unwrap();
    assert!(finished.load(Ordering::SeqCst), "shutdown returns after the running job finished");
    assert_eq!(pool.stats().threads, 0);
    assert!(pool.is_shutdown());
}

#[test]
fn loop_shutdown_reports_jobs_still_running_after_the_grace_period() {
    let lp = new_loop();
    let reports = Rc::new(RefCell::new(Vec::new()));
    let seen = reports.clone();
    lp.set_exception_handler(move |context| seen.borrow_mut().push((context.kind, context.message)));
    let (gate, control) = gate();
    lp.block_on(async {
        corio::spawn_blocking(move || gate.pass(0)).detach();
        control.wait_started();
    })
    .unwrap();
    lp.shutdown(Duration::ZERO).unwrap();
    control.release(1);
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].0, ExceptionKind::BlockingJobsStillRunning);
    assert!(reports[0].1.contains("1 blocking job(s) still running"), "{}", reports[0].1);
}

#[test]
fn corio_run_waits_at_teardown_for_a_job_that_is_still_running() {
    let (gate, control) = gate();
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    corio::run(async move {
        corio::spawn_blocking(move || {
            gate.pass(0);
            done.store(true, Ordering::SeqCst);
        })
        .detach();
        control.wait_started();
        // A task that releases the job only while the loop is being torn
        // down: when its sleep is cancelled by corio::run's shutdown.
        corio::spawn(async move {
            if corio::sleep(Duration::from_secs(3600)).await.is_err() {
                control.release(1);
            }
        })
        .detach();
        corio::yield_now().await.unwrap();
    })
    .unwrap();
    assert!(finished.load(Ordering::SeqCst), "corio::run returns after the running job finished");
}

#[test]
fn free_functions_without_a_running_loop_panic_with_a_clear_message() {
    let panic = std::panic::catch_unwind(|| drop(corio::run_in_executor(|| 1))).unwrap_err();
    let message =
        panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
    assert!(message.unwrap_or_default().contains("no event loop is running"));
}
