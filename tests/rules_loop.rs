//! Loop rules L1–L9 (see `docs/semantics.md`), plus past deadlines and
//! closed loops. Every test runs on the virtual clock; cross-thread tests
//! synchronise with channels, never with sleeps.

use corio::clock::VirtualClock;
use corio::reactor::{Event, Interest, ParkReactor, Reactor};
use corio::runtime::timers::PURGE_MIN_SCHEDULED;
use corio::runtime::{ExceptionContext, ExceptionKind, LoopClosed};
use corio::{Completion, LoopError};
use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

mod common;
use common::{push, trace, vloop, Out};

/// A callback that records `tick{n}` once per iteration for `n` in
/// `1..=last`, rescheduling itself: it marks iteration boundaries.
fn ticker(out: Out, n: u32, last: u32) {
    push(&out, format!("tick{n}"));
    if n < last {
        corio::call_soon(move || ticker(out, n + 1, last));
    }
}

// ----- L1 ----------------------------------------------------------------------

#[test]
fn l1_call_soon_runs_fifo() {
    // rule L1
    let lp = vloop();
    let out: Out = Rc::default();
    for i in 1..=5 {
        let o = out.clone();
        lp.call_soon(move || push(&o, format!("cb{i}")));
    }
    lp.call_soon(corio::stop);
    lp.run_forever().unwrap();
    assert_eq!(trace(&out), "cb1 cb2 cb3 cb4 cb5");
}

// ----- L2 ----------------------------------------------------------------------

#[test]
fn l2_callback_scheduled_during_iteration_runs_next_iteration() {
    // rule L2
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.call_soon(move || ticker(o, 1, 3));
    let o = out.clone();
    lp.call_soon(move || {
        push(&o, "a");
        let o2 = o.clone();
        corio::call_soon(move || push(&o2, "c")); // not in this iteration
    });
    let o = out.clone();
    lp.call_soon(move || push(&o, "b"));
    let o = out.clone();
    lp.call_soon(move || {
        let o = o.clone();
        corio::call_soon(move || {
            let o = o.clone();
            corio::call_soon(move || {
                push(&o, "stop");
                corio::stop();
            });
        });
    });
    lp.run_forever().unwrap();
    // Iteration 1: tick1 a b; iteration 2: tick2 c; iteration 3: tick3 stop.
    assert_eq!(trace(&out), "tick1 a b tick2 c tick3 stop");
    assert_eq!(lp.stats().iterations, 3);
}

// ----- L3 ----------------------------------------------------------------------

#[test]
fn l3_timers_run_in_deadline_order_ties_in_insertion_order() {
    // rule L3
    let lp = vloop();
    let out: Out = Rc::default();
    let ms = Duration::from_millis;
    let t0 = lp.time();
    for (name, delay) in [("d30", 30), ("d10a", 10), ("d20", 20), ("d10b", 10), ("d10c", 10), ("x15", 15)] {
        let o = out.clone();
        let h = lp.call_at(t0 + ms(delay), move || push(&o, name));
        if name == "x15" {
            h.cancel(); // a cancelled timer never runs
            assert!(h.cancelled());
        }
    }
    // A timer cancelled from inside an earlier timer's callback never runs either.
    let o = out.clone();
    let late = lp.call_at(t0 + ms(25), move || push(&o, "cancelled-late"));
    let o = out.clone();
    lp.call_at(t0 + ms(20), move || {
        push(&o, "canceller");
        late.cancel();
    });
    lp.call_at(t0 + ms(40), corio::stop);
    lp.run_forever().unwrap();
    assert_eq!(trace(&out), "d10a d10b d10c d20 canceller d30");
    assert_eq!(lp.clock().elapsed(), ms(40));
    assert_eq!(lp.timer_count(), 0);
}

#[test]
fn l3_task_woken_by_a_timer_resumes_in_the_next_iteration_as_in_asyncio() {
    // rule L3 and asyncio's sleep: checked against CPython ("cb a b").
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let sleeper = |name: &'static str, o: Out| async move {
            corio::sleep(Duration::from_secs(1)).await.unwrap();
            push(&o, name);
        };
        let a = corio::spawn(sleeper("a", o.clone()));
        corio::yield_now().await.unwrap();
        let o2 = o.clone();
        corio::call_later(Duration::from_secs(1), move || push(&o2, "cb"));
        let b = corio::spawn(sleeper("b", o.clone()));
        corio::yield_now().await.unwrap();
        a.await.unwrap();
        b.await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "cb a b");
}

// ----- L4 ----------------------------------------------------------------------

#[test]
fn l4_timer_due_now_runs_in_this_iteration() {
    // rule L4 (the virtual clock's resolution is exact: "due within the
    // resolution of now" means a deadline <= now)
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.call_soon(move || ticker(o, 1, 3));
    let o = out.clone();
    let now = lp.time();
    // Due exactly now: runs in the first iteration, with tick1, after the
    // callbacks that were already ready (asyncio appends due timers to the
    // ready queue).
    lp.call_at(now, move || push(&o, "due-now"));
    let o = out.clone();
    // One nanosecond later is not due while the loop is busy: a virtual
    // clock moves only when the loop is idle.
    lp.call_at(now + Duration::from_nanos(1), move || {
        push(&o, "due-1ns");
        corio::stop();
    });
    lp.run_forever().unwrap();
    assert_eq!(trace(&out), "tick1 due-now tick2 tick3 due-1ns");
    assert_eq!(lp.clock().elapsed(), Duration::from_nanos(1));
}

#[test]
fn deadline_in_the_past_runs_at_next_iteration() {
    // rules L3 L4: a deadline already past is simply due
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.call_soon(move || {
        ticker(o.clone(), 1, 3);
        let past = corio::time() - Duration::from_secs(5);
        let o2 = o.clone();
        corio::call_at(past, move || push(&o2, "past-timer"));
        let o3 = o.clone();
        corio::call_later(Duration::ZERO, move || push(&o3, "zero-delay"));
    });
    let o = out.clone();
    lp.call_soon(move || push(&o, "same-iteration"));
    lp.call_later(Duration::from_secs(1), corio::stop);
    lp.run_forever().unwrap();
    // Scheduled during iteration 1, they run in iteration 2 (after tick2,
    // which was queued first), not in iteration 1.
    assert_eq!(trace(&out), "tick1 same-iteration tick2 past-timer zero-delay tick3");
    assert_eq!(lp.clock().elapsed(), Duration::from_secs(1));

    // sleep_until a past instant completes at the next iteration too.
    let out: Out = Rc::default();
    let o = out.clone();
    let t0 = lp.time();
    lp.block_on(async move {
        let o2 = o.clone();
        corio::call_soon(move || push(&o2, "soon"));
        corio::sleep_until(corio::time() - Duration::from_secs(3)).await.unwrap();
        push(&o, "slept");
    })
    .unwrap();
    assert_eq!(trace(&out), "soon slept");
    assert_eq!(lp.time(), t0);

    // So does sleep(0): asyncio's bare yield, no timer.
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        corio::call_soon(move || push(&o2, "soon"));
        corio::sleep(Duration::ZERO).await.unwrap();
        push(&o, "slept");
    })
    .unwrap();
    assert_eq!(trace(&out), "soon slept");
    assert_eq!((lp.time(), lp.timer_heap_len()), (t0, 0));
}

// ----- L5 ----------------------------------------------------------------------

#[test]
fn l5_deadlock_is_reported_naming_the_blocked_tasks() {
    // rule L5: on a virtual clock, a root future that can never progress is
    // an error naming the blocked tasks, not a hang.
    let lp = vloop();
    let line = line!() + 1;
    let result = lp.block_on(async {
        let never = Completion::<u32>::new();
        let waiter = never.clone();
        let stuck = corio::task::Builder::new().name("stuck").spawn(async move { waiter.wait().await });
        corio::sleep(Duration::from_secs(60)).await.unwrap(); // timers still work
        stuck.await
    });
    match result {
        Err(LoopError::Deadlock { tasks }) => {
            let mut tasks = tasks;
            tasks.sort();
            assert_eq!(tasks.len(), 2, "{tasks:?}");
            assert!(tasks[0].starts_with(&format!("Task-1 (spawned at {}:{line}:", file!())), "{tasks:?}");
            assert!(tasks[1].starts_with(&format!("stuck (spawned at {}:", file!())), "{tasks:?}");
        }
        other => panic!("expected a deadlock, got {other:?}"),
    }
    // The 60 s sleep ran before the deadlock was found.
    assert_eq!(lp.clock().elapsed(), Duration::from_secs(60));
    let msg = LoopError::Deadlock { tasks: vec!["Task-1 (spawned at x)".into()] }.to_string();
    assert!(msg.contains("Task-1"), "{msg}");
}

#[test]
fn l5_run_forever_with_nothing_to_do_is_a_deadlock() {
    // rule L5: no callbacks, no timers, no handles: nothing can stop the loop
    let lp = vloop();
    match lp.run_forever() {
        Err(LoopError::Deadlock { tasks }) => assert!(tasks.is_empty(), "{tasks:?}"),
        other => panic!("expected a deadlock, got {other:?}"),
    }
}

// ----- L6 ----------------------------------------------------------------------

#[test]
fn l6_timer_heap_stays_bounded_under_call_later_cancel_churn() {
    // rule L6: one live timer pins the front of the heap, so only the rebuild
    // (more than 100 scheduled, more than half cancelled) can reclaim the
    // cancelled entries behind it.
    let lp = vloop();
    let max_seen = lp
        .block_on(async {
            let live = corio::call_later(Duration::from_secs(1000), || {});
            let mut max_seen = 0;
            for _round in 0..400 {
                for _ in 0..50 {
                    corio::call_later(Duration::from_secs(2000), || unreachable!("cancelled")).cancel();
                }
                max_seen = max_seen.max(lp.timer_heap_len());
                corio::yield_now().await.unwrap(); // an iteration: the purge runs
            }
            assert_eq!(lp.timer_count(), 1);
            live.cancel();
            max_seen
        })
        .unwrap();
    // 20,000 cancelled timers went through; the heap never held more than a
    // rebuild threshold's worth plus one round.
    assert!(max_seen <= 2 * PURGE_MIN_SCHEDULED + 50, "heap grew to {max_seen}");
    assert!(max_seen > PURGE_MIN_SCHEDULED, "the churn never reached the threshold: {max_seen}");
    assert_eq!(lp.timer_count(), 0);
}

#[test]
fn l6_the_rebuild_thresholds_are_asyncios_more_than_100_and_more_than_half() {
    // rule L6 at its edges: `_run_once` rebuilds the heap when sched_count > 100 and cancelled / sched_count > 0.5;
    // otherwise it only drops cancelled entries off the front. One live timer pins the front.
    let lp = vloop();
    lp.block_on(async {
        let live = corio::call_later(Duration::from_secs(1000), || {});
        let more = |n: usize| -> Vec<_> {
            (0..n).map(|_| corio::call_later(Duration::from_secs(2000), || unreachable!("cancelled"))).collect()
        };
        let heap_after_an_iteration = || async {
            corio::yield_now().await.unwrap();
            lp.timer_heap_len()
        };
        let mut handles = more(99);
        handles.drain(..51).for_each(|h| h.cancel());
        assert_eq!(heap_after_an_iteration().await, 100, "100 scheduled is not more than 100");
        handles.extend(more(1));
        assert_eq!(heap_after_an_iteration().await, 50, "101 scheduled, 51 cancelled: rebuilt");
        handles.extend(more(52));
        handles.drain(..51).for_each(|h| h.cancel());
        assert_eq!(heap_after_an_iteration().await, 102, "51 of 102 cancelled is not more than half");
        handles.drain(..1).for_each(|h| h.cancel());
        assert_eq!(heap_after_an_iteration().await, 50, "52 of 102 cancelled: rebuilt");
        assert_eq!(lp.timer_count(), 50);
        handles.into_iter().for_each(|h| h.cancel());
        live.cancel();
    })
    .unwrap();
}

// ----- L7 ----------------------------------------------------------------------

/// A reactor without I/O that tells the test when the loop parks in it.
struct SignalReactor {
    inner: ParkReactor,
    parked: Mutex<mpsc::Sender<Option<Duration>>>,
}

impl Reactor for SignalReactor {
    fn register(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        self.inner.register(fd, key, interest)
    }
    fn modify(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        self.inner.modify(fd, key, interest)
    }
    fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.inner.deregister(fd)
    }
    fn poll(&self, events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        if timeout != Some(Duration::ZERO) {
            let _ = self.parked.lock().unwrap().send(timeout);
        }
        self.inner.poll(events, timeout)
    }
    fn notify(&self) -> io::Result<()> {
        self.inner.notify()
    }
    fn is_quiescent(&self) -> bool {
        true
    }
}

#[test]
fn l7_call_soon_threadsafe_wakes_a_parked_loop() {
    // rule L7
    let (lp, parked_rx) = signal_loop();
    let done = Completion::<u32>::new();
    let setter = done.clone();
    let handle = lp.handle();
    let other = std::thread::spawn(move || {
        // The loop is blocked in the reactor with no timeout: only a notify
        // can wake it.
        assert_eq!(parked_rx.recv().unwrap(), None);
        handle.call_soon_threadsafe(move || setter.set_result(42).unwrap()).unwrap();
        drop(handle);
        parked_rx // keep the channel open until the loop is done
    });
    let value = lp.block_on(done.wait()).unwrap().unwrap();
    let _rx = other.join().unwrap();
    assert_eq!(value, 42);
    assert_eq!(lp.stats().notifies, 1, "exactly one wake-up of the parked loop");
}

fn signal_loop() -> (corio::runtime::EventLoop<SignalReactor, VirtualClock>, mpsc::Receiver<Option<Duration>>) {
    let (parked_tx, parked_rx) = mpsc::channel();
    let reactor = SignalReactor { inner: ParkReactor::new(), parked: Mutex::new(parked_tx) };
    (corio::runtime::EventLoop::builder(reactor).clock(VirtualClock::new()).build(), parked_rx)
}

#[test]
fn l7_l9_stop_through_a_handle_wakes_a_parked_loop() {
    // rules L7 L9: stop() from another thread while run_forever is parked
    let (lp, parked) = signal_loop();
    let handle = lp.handle();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.call_soon(move || push(&o, "ran"));
    let other = std::thread::spawn(move || {
        assert_eq!(parked.recv().unwrap(), None);
        handle.stop().unwrap();
        parked
    });
    lp.run_forever().unwrap();
    let _parked = other.join().unwrap();
    assert_eq!(trace(&out), "ran");
    assert_eq!(lp.stats().notifies, 1);
}

#[test]
fn l5_loop_parked_for_a_handle_reports_the_deadlock_when_the_handle_goes() {
    // rule L5: while another thread holds a handle the loop waits (it might
    // still get work); once the last handle is dropped, nothing can happen
    let (lp, parked) = signal_loop();
    let handle = lp.handle();
    let other = std::thread::spawn(move || {
        assert_eq!(parked.recv().unwrap(), None);
        drop(handle);
        parked
    });
    let line = line!() + 1;
    let result = lp.block_on(Completion::<()>::new().wait());
    let _parked = other.join().unwrap();
    match result {
        Err(LoopError::Deadlock { tasks }) => {
            assert_eq!(tasks.len(), 1, "{tasks:?}");
            assert!(tasks[0].starts_with(&format!("Task-1 (spawned at {}:{line}:", file!())), "{tasks:?}");
        }
        other => panic!("expected a deadlock, got {other:?}"),
    }
}

#[test]
fn l7_cancelled_threadsafe_callback_never_runs() {
    // rule L7 with asyncio's Handle.cancel()
    let lp = vloop();
    let handle = lp.handle();
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r = ran.clone();
    std::thread::spawn(move || {
        let h = handle.call_soon_threadsafe(move || r.store(true, std::sync::atomic::Ordering::SeqCst)).unwrap();
        h.cancel();
        assert!(h.cancelled());
        handle.call_soon_threadsafe(corio::stop).unwrap();
    })
    .join()
    .unwrap();
    lp.run_forever().unwrap();
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
}

#[test]
fn l7_call_soon_threadsafe_from_the_loop_thread_costs_no_notify() {
    // rule L7: the loop is busy (running), so no reactor wake-up is needed
    let lp = vloop();
    let out = std::sync::Arc::new(Mutex::new(Vec::new()));
    lp.block_on(async {
        let handle = corio::handle();
        for i in 0..10 {
            let out = out.clone();
            handle.call_soon_threadsafe(move || out.lock().unwrap().push(i)).unwrap();
        }
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
    })
    .unwrap();
    assert_eq!(*out.lock().unwrap(), (0..10).collect::<Vec<_>>());
    assert_eq!(lp.stats().notifies, 0);
}

// ----- L8 ----------------------------------------------------------------------

type Reports = Rc<RefCell<Vec<(ExceptionKind, String, Option<String>)>>>;

fn record_exceptions<R: Reactor, C: corio::clock::Clock>(lp: &corio::runtime::EventLoop<R, C>) -> Reports {
    let reports: Reports = Rc::default();
    let r = reports.clone();
    lp.set_exception_handler(move |cx: ExceptionContext| {
        let panic = cx.panic.as_ref().and_then(|p| p.message().map(str::to_owned));
        r.borrow_mut().push((cx.kind, cx.message.clone(), panic));
    });
    reports
}

#[test]
fn l8_panicking_callback_reaches_the_exception_handler_and_the_loop_keeps_running() {
    // rule L8
    let lp = vloop();
    let reports = record_exceptions(&lp);
    let out: Out = Rc::default();
    let o = out.clone();
    lp.call_soon(move || push(&o, "before"));
    lp.call_soon(|| panic!("callback boom"));
    let o = out.clone();
    lp.call_soon(move || push(&o, "after"));
    let o = out.clone();
    lp.call_later(Duration::from_secs(1), move || {
        push(&o, "timer");
        panic!("timer boom");
    });
    let o = out.clone();
    lp.call_later(Duration::from_secs(2), move || {
        push(&o, "still-running");
        corio::stop();
    });
    lp.run_forever().unwrap();
    assert_eq!(trace(&out), "before after timer still-running");
    let reports = reports.borrow();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports[0].0, ExceptionKind::CallbackPanicked);
    assert_eq!(reports[0].2.as_deref(), Some("callback boom"));
    assert!(reports[0].1.contains("callback boom"), "{:?}", reports[0]);
    assert_eq!(reports[1].0, ExceptionKind::CallbackPanicked);
    assert_eq!(reports[1].2.as_deref(), Some("timer boom"));
}

#[test]
fn l8_panicking_detached_task_reaches_the_exception_handler_and_the_loop_keeps_running() {
    // rule L8 (and T5: a detached task still runs)
    let lp = vloop();
    let reports = record_exceptions(&lp);
    let out: Out = Rc::default();
    let o = out.clone();
    let value = lp
        .block_on(async move {
            let o2 = o.clone();
            corio::task::Builder::new()
                .name("doomed")
                .spawn(async move {
                    push(&o2, "doomed-runs");
                    corio::sleep(Duration::from_secs(1)).await.unwrap();
                    panic!("task boom");
                })
                .detach();
            corio::sleep(Duration::from_secs(2)).await.unwrap();
            push(&o, "main-continues");
            7
        })
        .unwrap();
    assert_eq!(value, 7);
    assert_eq!(trace(&out), "doomed-runs main-continues");
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let (kind, message, panic) = &reports[0];
    assert_eq!(*kind, ExceptionKind::TaskPanicked);
    assert_eq!(panic.as_deref(), Some("task boom"));
    assert!(message.contains("doomed") && message.contains(file!()), "{message}");
}

#[test]
fn l8_panic_never_retrieved_is_reported_when_the_handle_drops() {
    // rule L8 (D2's report): the handle existed but nobody read the panic
    let lp = vloop();
    let reports = record_exceptions(&lp);
    lp.block_on(async {
        let t = corio::spawn(async { panic!("unread boom") });
        corio::sleep(Duration::from_secs(1)).await.unwrap();
        assert!(t.done() && t.panicked());
        drop(t);
    })
    .unwrap();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].0, ExceptionKind::PanicNeverRetrieved);
    assert_eq!(reports[0].2.as_deref(), Some("unread boom"));
}

// ----- L9 ----------------------------------------------------------------------

#[test]
fn l9_stop_finishes_the_current_iteration() {
    // rule L9
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.call_soon(move || {
        push(&o, "a");
        corio::stop();
        let o2 = o.clone();
        corio::call_soon(move || push(&o2, "next-run")); // next iteration
    });
    let o = out.clone();
    lp.call_soon(move || push(&o, "b")); // same iteration: still runs
    lp.run_forever().unwrap();
    assert_eq!(trace(&out), "a b");
    assert_eq!(lp.stats().iterations, 1);

    // The work scheduled after stop waits for the next run.
    lp.call_soon(corio::stop);
    lp.run_forever().unwrap();
    assert_eq!(trace(&out), "a b next-run");

    // stop() before run_forever: one iteration, then stop.
    let o = out.clone();
    lp.call_soon(move || push(&o, "one"));
    lp.stop();
    lp.run_forever().unwrap();
    assert_eq!(trace(&out), "a b next-run one");
}

#[test]
fn l9_block_on_returns_the_output() {
    // rule L9
    let lp = vloop();
    let out = lp
        .block_on(async {
            corio::sleep(Duration::from_secs(3)).await.unwrap();
            corio::spawn(async { "forty-two" }).await.unwrap()
        })
        .unwrap();
    assert_eq!(out, "forty-two");
    assert_eq!(lp.run_until_complete(async { 5 }).unwrap(), 5);
    // A future that borrows from the caller.
    let mut local = vec![1, 2];
    lp.block_on(async { local.push(3) }).unwrap();
    assert_eq!(local, [1, 2, 3]);
}

#[test]
fn l9_stop_before_the_future_finishes_is_an_error() {
    // rule L9 (asyncio: "Event loop stopped before Future completed.")
    let lp = vloop();
    let result = lp.block_on(async {
        corio::stop();
        corio::sleep(Duration::from_secs(1)).await.unwrap();
        1
    });
    assert!(matches!(result, Err(LoopError::Stopped)), "{result:?}");
}

#[test]
fn l9_running_a_loop_inside_a_running_loop_is_an_error() {
    // rule L9
    let lp = vloop();
    let results = lp
        .block_on(async {
            let same = lp.block_on(async { 1 }).map_err(|e| e.to_string());
            let forever = lp.run_forever().map_err(|e| e.to_string());
            let other = vloop();
            let nested = other.block_on(async { 2 }).map_err(|e| e.to_string());
            let msg = LoopError::AlreadyRunning.to_string();
            (same, forever, nested, msg)
        })
        .unwrap();
    let (same, forever, nested, msg) = results;
    assert_eq!(same, Err(msg.clone()));
    assert_eq!(forever, Err(msg.clone()));
    assert_eq!(nested, Err(msg));
    // ... and the outer loop is still fine afterwards.
    assert_eq!(lp.block_on(async { 3 }).unwrap(), 3);
    assert!(matches!(lp.block_on(async { lp.block_on(async {}) }).unwrap(), Err(LoopError::AlreadyRunning)));
}

// ----- closed loops ------------------------------------------------------------

#[test]
fn closed_loop_refuses_work_from_handles() {
    let lp = vloop();
    let handle = lp.handle();
    assert!(!handle.is_closed());
    lp.close();
    assert!(handle.is_closed());
    assert!(matches!(handle.spawn(async { 1 }), Err(LoopClosed)));
    assert!(matches!(handle.call_soon_threadsafe(|| {}), Err(LoopClosed)));
    assert_eq!(handle.stop(), Err(LoopClosed));
    // The same from another thread.
    std::thread::spawn(move || {
        assert!(matches!(handle.spawn(async { 1 }), Err(LoopClosed)));
        assert!(matches!(handle.call_soon_threadsafe(|| {}), Err(LoopClosed)));
        assert_eq!(handle.stop(), Err(LoopClosed));
    })
    .join()
    .unwrap();
}

#[test]
fn closing_drops_queued_work_and_ends_tasks_cancelled() {
    let lp = vloop();
    let handle = lp.handle();
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let flag = Flag(dropped.clone());
    let task = handle
        .spawn(async move {
            let _flag = flag;
            unreachable!("never runs: the loop closes first");
        })
        .unwrap();
    lp.close();
    assert!(dropped.load(std::sync::atomic::Ordering::SeqCst));
    assert!(task.done() && task.cancelled());
}

// ----- yields ------------------------------------------------------------------

/// Wakes its own waker once (`how`: by reference, by value, or through a
/// clone dropped after) and returns `Pending`, then completes.
struct WakeSelfOnce {
    how: u8,
    woken: bool,
}

impl std::future::Future for WakeSelfOnce {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.woken {
            return std::task::Poll::Ready(());
        }
        self.woken = true;
        match self.how {
            0 => cx.waker().wake_by_ref(),
            1 => {
                let owned = cx.waker().clone();
                owned.wake();
            }
            _ => {
                let clone = cx.waker().clone();
                clone.wake_by_ref();
                drop(clone);
            }
        }
        std::task::Poll::Pending
    }
}

#[test]
fn a_wake_on_the_tasks_own_waker_requeues_it_and_a_wake_of_another_task_wakes_that_one() {
    // A future that wakes its own task's waker during the poll and returns
    // `Pending` is a yield: a note to the loop, no state change
    // (core/src/task/waker.rs, `current::note_own_wake`), and the task runs
    // again after the tasks already queued. A wake of another task from
    // inside the poll must still wake that task: `c` waits on an event that
    // `a` sets during its second poll.
    use corio::FutureExt;
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let event = Rc::new(corio::sync::Event::new());
        let (oa, oc, ev) = (o.clone(), o.clone(), event.clone());
        let c = corio::spawn(async move {
            ev.wait().await.unwrap();
            push(&oc, "c");
        });
        let a = corio::spawn(async move {
            for how in 0..3 {
                push(&oa, format!("a{how}"));
                if how == 1 {
                    event.set();
                }
                WakeSelfOnce { how, woken: false }.await;
            }
        });
        let b = corio::spawn(async move {
            for i in 0..3 {
                push(&o, format!("b{i}"));
                corio::yield_now().await.unwrap();
            }
        });
        // A lost wake leaves a task waiting forever; the timeout turns that
        // into a failure.
        let joined =
            async { (a.await.unwrap(), b.await.unwrap(), c.await.unwrap()) }.timeout(Duration::from_secs(1)).await;
        assert_eq!(joined, Ok(((), (), ())));
    })
    .unwrap();
    assert_eq!(trace(&out), "a0 b0 a1 b1 c a2 b2");
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}

#[test]
fn a_yield_requeues_its_task_also_inside_a_cancel_scope() {
    // `yield_now` on the task's own waker is a note to the loop, not a wake
    // (core/src/runtime/current.rs, `requeue`): the task runs again in the
    // next iteration, after the tasks already queued, as asyncio's
    // `sleep(0)`. Also when it yields inside a scope, whose poll saves and
    // restores the task's per-poll state.
    use corio::FutureExt;
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let oa = o.clone();
        let a = corio::spawn(async move {
            for i in 1..=2 {
                push(&oa, format!("a{i}"));
                corio::yield_now().await.unwrap();
            }
        });
        let b = corio::spawn(async move {
            let body = async {
                for i in 1..=2 {
                    push(&o, format!("b{i}"));
                    corio::yield_now().await.unwrap();
                }
            };
            corio::CancelScope::new().run(body).await
        });
        // A lost re-queue would leave a task waiting forever; the timeout
        // turns that into a failure.
        let joined = async { (a.await.unwrap(), b.await.unwrap()) }.timeout(Duration::from_secs(1)).await;
        assert_eq!(joined, Ok(((), Some(()))));
    })
    .unwrap();
    assert_eq!(trace(&out), "a1 b1 a2 b2");
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}
