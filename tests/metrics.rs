//! The loop's metrics (`EventLoop::metrics`, `corio::runtime::metrics`):
//! every counter moves by exactly what the workload does. Timers and tasks
//! run on the virtual clock; the cross-thread tests synchronise with
//! channels, never with sleeps.

use corio::clock::VirtualClock;
use corio::reactor::ParkReactor;
use corio::runtime::{EventLoop, Metrics};
use futures_util::FutureExt as _;
use std::sync::mpsc;
use std::time::Duration;

fn vloop() -> (EventLoop<ParkReactor, VirtualClock>, VirtualClock) {
    let clock = VirtualClock::new();
    (EventLoop::builder(ParkReactor::new()).clock(clock.clone()).build(), clock)
}

#[test]
fn a_new_loop_counts_nothing() {
    let (lp, _) = vloop();
    let mut metrics = lp.metrics();
    assert_eq!(metrics.backend, "park", "the metrics name the backend");
    metrics.backend = Metrics::default().backend;
    assert_eq!(metrics, Metrics::default());
}

#[test]
fn tasks_polls_callbacks_and_iterations_are_exact() {
    let (lp, _) = vloop();
    lp.block_on(async {
        let children: Vec<_> = (0..3)
            .map(|_| {
                corio::spawn(async {
                    corio::yield_now().await.unwrap();
                })
            })
            .collect();
        let m = corio::runtime::metrics();
        assert_eq!((m.tasks_spawned, m.tasks_alive), (4, 4), "block_on's task and three children");
        corio::call_soon(|| {});
        for child in children {
            child.await.unwrap();
        }
    })
    .unwrap();
    let m = lp.metrics();
    assert_eq!((m.tasks_spawned, m.tasks_alive), (4, 0));
    // Iteration 1: root (spawns, awaits child 1). 2: children's first steps, the callback.
    // 3: children's second steps (done). 4: root (joins all three).
    assert_eq!(m.iterations, 4);
    assert_eq!(m.task_polls, 2 + 3 * 2);
    assert_eq!(m.callbacks, 1);
    assert_eq!((m.cross_thread_wakes, m.cross_thread_notifies, m.blocking_jobs), (0, 0, 0));
    assert_eq!(m.reactor_polls, 0, "a loop without I/O sources that never idles never enters the reactor");
}

#[test]
fn timers_pending_follow_sleeps_and_callbacks() {
    let (lp, clock) = vloop();
    lp.block_on(async {
        let sleeper = corio::spawn(corio::sleep(Duration::from_secs(10)));
        corio::yield_now().await.unwrap(); // the sleeper registers its timer
        let later = corio::call_later(Duration::from_secs(5), || {});
        assert_eq!(corio::runtime::metrics().timers_pending, 2);
        later.cancel();
        assert_eq!(corio::runtime::metrics().timers_pending, 1);
        sleeper.await.unwrap().unwrap();
        assert_eq!(corio::runtime::metrics().timers_pending, 0);
    })
    .unwrap();
    assert_eq!(clock.elapsed(), Duration::from_secs(10));
    let m = lp.metrics();
    assert_eq!(m.reactor_waits, 0, "a virtual clock jumps instead of waiting");
}

#[test]
fn a_wake_from_another_thread_counts_once_and_notifies_the_parked_loop() {
    // The system clock: an idle loop really parks in the reactor.
    let lp = EventLoop::new(ParkReactor::new());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (tx, mut rx) = corio::sync::oneshot::channel::<u32>();
    let sender = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        tx.send(7).unwrap();
    });
    let got = lp
        .block_on(async move {
            assert!((&mut rx).now_or_never().is_none()); // the task's waker is registered
                                                         // Let the thread send only once this task is idle (a wake that
                                                         // finds the task running is absorbed by its state word and never
                                                         // reaches the remote queue): the callback runs next iteration.
            corio::call_soon(move || go_tx.send(()).unwrap());
            rx.await.unwrap()
        })
        .unwrap();
    sender.join().unwrap();
    assert_eq!(got, 7);
    let m = lp.metrics();
    assert_eq!(m.cross_thread_wakes, 1);
    assert!(m.cross_thread_notifies <= 1, "at most the one wake found the loop parked");
    assert!(m.reactor_waits <= 1, "the loop idled at most once, waiting for the wake");
    assert_eq!(m.reactor_wait_time == Duration::ZERO, m.reactor_waits == 0, "wait time is counted exactly on waits");
}

#[test]
fn blocking_jobs_count_what_the_free_functions_submit() {
    let lp = EventLoop::new(ParkReactor::new());
    lp.block_on(async {
        assert_eq!(corio::spawn_blocking(|| 1).await.unwrap(), 1);
        assert_eq!(corio::to_thread(|| 2).await.unwrap(), 2);
        assert_eq!(corio::run_in_executor(|| 3).await.unwrap(), 3);
    })
    .unwrap();
    let m = lp.metrics();
    assert_eq!(m.blocking_jobs, 3);
    assert!(m.cross_thread_wakes <= 3, "each result wakes the task from a pool thread at most once");
}

#[test]
fn stats_is_a_view_of_metrics() {
    let (lp, _) = vloop();
    lp.block_on(corio::yield_now()).unwrap().unwrap();
    let (s, m) = (lp.stats(), lp.metrics());
    assert_eq!(
        (s.iterations, s.reactor_polls, s.reactor_waits, s.task_polls, s.callbacks, s.notifies),
        (m.iterations, m.reactor_polls, m.reactor_waits, m.task_polls, m.callbacks, m.cross_thread_notifies)
    );
}
