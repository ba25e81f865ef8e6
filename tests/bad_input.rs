//! Misuse gets a clear error — never a panic, never a hang.

use corio::clock::VirtualClock;
use corio::io_source::Async;
use corio::reactor::ParkReactor;
use corio::runtime::{EventLoop, LoopClosed};
use corio::{Completion, FutureError, JoinError, LoopError};
use std::cell::Cell;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

/// A descriptor number that cannot be open: above any per-process limit the
/// kernel allows (`fs.nr_open` is at most about 2^30).
const NEVER_OPEN: RawFd = i32::MAX - 1;

fn virtual_loop() -> EventLoop<ParkReactor, VirtualClock> {
    EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build()
}

// ----- Completion (rule F2) ---------------------------------------------------

#[test]
fn result_of_a_pending_completion_is_invalid_state() {
    let fut = Completion::<u32>::new();
    assert_eq!(fut.result(), Err(FutureError::InvalidState));
    assert!(!fut.done());
    assert!(FutureError::InvalidState.to_string().contains("invalid state"));
}

#[test]
fn setting_a_done_completion_is_invalid_state() {
    let fut = Completion::new();
    fut.set_result(1).unwrap();
    assert_eq!(fut.set_result(2), Err(FutureError::InvalidState));
    assert!(!fut.cancel(), "cancel() on a done future returns false");
    assert_eq!(fut.result(), Ok(1), "the first value stays");

    let cancelled = Completion::<u32>::new();
    assert!(cancelled.cancel_with("no longer needed"));
    assert_eq!(cancelled.set_result(3), Err(FutureError::InvalidState));
    assert!(!cancelled.cancel());
    match cancelled.result() {
        Err(FutureError::Cancelled(c)) => assert_eq!(c.message(), Some("no longer needed")),
        other => panic!("expected Cancelled, got {other:?}"),
    }
}

// ----- closed loops -----------------------------------------------------------

#[test]
fn loop_handle_after_close_reports_loop_closed() {
    let lp = virtual_loop();
    let handle = lp.handle();
    assert!(!handle.is_closed());
    lp.close();
    assert!(handle.is_closed());
    assert_eq!(handle.spawn(async { 1 }).err(), Some(LoopClosed));
    assert_eq!(handle.call_soon_threadsafe(|| unreachable!("never runs")).err(), Some(LoopClosed));
    assert_eq!(handle.stop(), Err(LoopClosed));
    assert!(!handle.is_current());
    assert!(LoopClosed.to_string().contains("closed"));

    // From another thread: the same answers.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let results = (
            handle.spawn(async { 1 }).err(),
            handle.call_soon_threadsafe(|| unreachable!()).err(),
            handle.stop().err(),
        );
        tx.send(results).unwrap();
    });
    assert_eq!(rx.recv().unwrap(), (Some(LoopClosed), Some(LoopClosed), Some(LoopClosed)));
}

#[test]
fn a_task_spawned_through_a_handle_before_close_ends_cancelled() {
    let lp = virtual_loop();
    let handle = lp.handle();
    let task = handle.spawn(async { 7 }).unwrap();
    drop(lp); // closes without ever running the task
    let other = virtual_loop();
    // Awaiting it from another loop gives the cancellation (checked and
    // dropped inside, so the awaiting future itself ends normally).
    let joined = other.block_on(async move {
        match task.await {
            Err(JoinError::Cancelled(c)) => c.message().map(str::to_owned),
            other => panic!("expected a cancelled task, got {other:?}"),
        }
    });
    assert_eq!(joined.expect("the other loop runs").as_deref(), Some("the event loop is closed"));
}

// ----- nested loops (rule L9) -------------------------------------------------

#[test]
fn block_on_inside_a_running_loop_is_an_error() {
    let outer = virtual_loop();
    let inner = virtual_loop();
    let out = outer.block_on(async {
        // Another loop on the same thread.
        assert!(matches!(inner.block_on(async { 1 }), Err(LoopError::AlreadyRunning)));
        assert!(matches!(inner.run_forever(), Err(LoopError::AlreadyRunning)));
        // The same loop, re-entered.
        assert!(matches!(outer.block_on(async { 2 }), Err(LoopError::AlreadyRunning)));
        assert!(matches!(outer.shutdown(Duration::ZERO), Err(LoopError::AlreadyRunning)));
        // corio::run refuses too, without creating a stuck loop.
        assert!(matches!(corio::run(async { 3 }), Err(LoopError::AlreadyRunning)));
        // The outer loop still works.
        corio::sleep(Duration::from_secs(1)).await.unwrap();
        corio::spawn(async { 4 }).await.unwrap()
    });
    assert_eq!(out.unwrap(), 4);
    assert!(LoopError::AlreadyRunning.to_string().contains("another loop is running"));
    // Both loops are usable afterwards.
    assert_eq!(inner.block_on(async { 5 }).unwrap(), 5);
    assert_eq!(outer.block_on(async { 6 }).unwrap(), 6);
}

#[test]
fn block_on_inside_a_callback_is_an_error() {
    let lp = virtual_loop();
    let seen = Rc::new(Cell::new(false));
    let s = seen.clone();
    // A callback is 'static: share the nested loop through an Rc, and report
    // through a flag.
    let nested = Rc::new(virtual_loop());
    let n = nested.clone();
    lp.call_soon(move || {
        s.set(matches!(n.block_on(async {}), Err(LoopError::AlreadyRunning)));
        corio::stop();
    });
    lp.run_forever().unwrap();
    assert!(seen.get());
}

// ----- I/O sources ------------------------------------------------------------

#[test]
fn async_new_with_no_loop_running_is_an_io_error() {
    let (a, _b) = UnixStream::pair().unwrap();
    let err = Async::new(a).expect_err("no loop is running");
    assert!(err.to_string().contains("no event loop is running"), "{err}");
    // Also while a loop exists on this thread but is not running.
    let _lp = corio::new_event_loop().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    assert!(Async::new(a).is_err());
}

#[test]
fn async_new_on_a_closed_fd_is_an_error() {
    let lp = corio::new_event_loop().unwrap();
    let out = lp.block_on(async {
        // SAFETY: the number is never an open descriptor, and the borrowed
        // fd is only handed to system calls, which fail with EBADF.
        let closed = unsafe { BorrowedFd::borrow_raw(NEVER_OPEN) };
        Async::new(closed).map(|_| ())
    });
    let err = out.unwrap().expect_err("a closed descriptor is refused");
    assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err:?}");
}

#[test]
fn registering_a_descriptor_twice_is_an_error_until_deregistered() {
    let lp = corio::new_event_loop().unwrap();
    let out = lp.block_on(async {
        let (a, _b) = UnixStream::pair().unwrap();
        let wrapped = Async::new(a)?;
        let twice = Async::new(wrapped.get_ref()).expect_err("already registered");
        assert_eq!(twice.kind(), io::ErrorKind::AlreadyExists, "{twice:?}");
        let stream = wrapped.into_inner()?; // deregistered, still open
        let again = Async::new(&stream)?; // fine once deregistered
        drop(again);
        Ok::<_, io::Error>(())
    });
    out.unwrap().unwrap();
}

#[test]
fn an_io_source_used_on_another_loop_is_an_error_not_a_hang() {
    let home = corio::new_event_loop().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    let source = home.block_on(async move { Async::new(a) }).unwrap().unwrap();
    let elsewhere = corio::new_event_loop().unwrap();
    let out = elsewhere.block_on(async {
        let mut buf = [0u8; 4];
        let read = source.read_with(|s| (&*s).read(&mut buf)).await;
        let ready = source.readable().await;
        (read.map(|_| ()), ready)
    });
    let (read, ready) = out.unwrap();
    let read = read.expect_err("wrong loop");
    assert!(read.to_string().contains("outside the event loop"), "{read}");
    assert!(ready.is_err());
    // Back home it works (a new source is assumed ready).
    home.block_on(async { source.readable().await }).unwrap().unwrap();
    // Dropped with no loop running: deregisters from its (idle) loop.
    drop(source);
}

#[test]
fn an_io_source_outliving_its_loop_drops_quietly() {
    let lp = corio::new_event_loop().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    let source = lp.block_on(async move { Async::new(a) }).unwrap().unwrap();
    drop(lp);
    assert!(source.get_ref().as_raw_fd() >= 0);
    let stream = source.into_inner().expect("nothing to deregister from");
    drop(stream);
}

// ----- timers -----------------------------------------------------------------

#[test]
fn sleep_until_a_past_deadline_completes_at_the_next_iteration() {
    let lp = virtual_loop();
    let out = lp.block_on(async {
        let start = corio::time();
        let before = lp.stats().iterations;
        corio::sleep_until(start - Duration::from_secs(5)).await.unwrap();
        let after = lp.stats().iterations;
        assert_eq!(after, before + 1, "completes at the next iteration");
        assert_eq!(corio::time(), start, "no virtual time passes");
        // Exactly now counts as past too.
        corio::sleep_until(corio::time()).await.unwrap();
        assert_eq!(lp.stats().iterations, after + 1);
    });
    out.unwrap();
    assert_eq!(lp.clock().elapsed(), Duration::ZERO);
}

#[test]
fn cancelling_a_timer_twice_is_harmless() {
    let lp = virtual_loop();
    let fired = Rc::new(Cell::new(0));
    let f = fired.clone();
    let timer = lp.call_later(Duration::from_secs(1), move || f.set(f.get() + 1));
    assert!(!timer.cancelled());
    timer.cancel();
    timer.cancel();
    assert!(timer.cancelled());
    assert_eq!(lp.timer_count(), 0);

    // A timer that already fired: cancelling afterwards changes nothing, and
    // must not touch a newer timer that reuses its slot.
    let f = fired.clone();
    let fired_timer = lp.call_later(Duration::from_secs(1), move || f.set(f.get() + 10));
    let out = lp.block_on(async {
        corio::sleep(Duration::from_secs(2)).await.unwrap();
    });
    out.unwrap();
    assert_eq!(fired.get(), 10);
    let f = fired.clone();
    let newer = lp.call_later(Duration::from_secs(1), move || f.set(f.get() + 100));
    fired_timer.cancel();
    fired_timer.cancel();
    assert!(!newer.cancelled());
    lp.block_on(corio::sleep(Duration::from_secs(2))).unwrap().unwrap();
    assert_eq!(fired.get(), 110, "the newer timer still fired");

    // After the loop closed, too.
    let late = lp.call_later(Duration::from_secs(1), || unreachable!("closed"));
    drop(lp);
    late.cancel();
    late.cancel();
}

#[test]
fn cancelling_a_handle_twice_is_harmless() {
    let lp = virtual_loop();
    let handle = lp.call_soon(|| unreachable!("cancelled"));
    handle.cancel();
    handle.cancel();
    lp.call_soon(corio::stop);
    lp.run_forever().unwrap();
    handle.cancel();
    assert!(handle.cancelled());
}

// ----- the loop itself ----------------------------------------------------------

#[test]
fn stop_before_the_future_finishes_is_reported() {
    let lp = virtual_loop();
    let out = lp.block_on(async {
        corio::stop();
        corio::sleep(Duration::from_secs(1)).await.unwrap();
    });
    assert!(matches!(out, Err(LoopError::Stopped)), "{out:?}");
}

#[test]
fn a_panicking_main_future_is_an_error_not_a_panic() {
    let lp = virtual_loop();
    let out = lp.block_on(async { panic!("boom") });
    match out {
        Err(LoopError::Panicked(p)) => assert_eq!(p.message(), Some("boom")),
        other => panic!("expected Panicked, got {:?}", other.map(|_: ()| ())),
    }
    // The loop survives.
    assert_eq!(lp.block_on(async { 1 }).unwrap(), 1);
}

#[test]
fn no_loop_means_no_handle() {
    assert!(corio::try_handle().is_none());
    assert!(corio::current_task().is_none());
}
