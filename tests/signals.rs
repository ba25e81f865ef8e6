//! Signals: the `Signals` stream, `ctrl_c`, and asyncio's
//! `add_signal_handler` / `remove_signal_handler`, on the epoll reactor.
//!
//! A test raises a signal at its own thread with `raise(3)`, so the handler
//! has run (flag set, byte written) before `raise` returns: no waiting on the
//! OS. Signal dispositions are process-wide, so the tests take turns
//! (`serial()`).

use corio::runtime::ExceptionKind;
use corio::signal::{add_signal_handler, remove_signal_handler, Signal, Signals};
use corio::Completion;
use futures_util::FutureExt;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::Duration;

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn raise(signal: Signal) {
    // SAFETY: raise(3) delivers a signal to the calling thread; the tests
    // only raise signals that corio (or the test) handles.
    assert_eq!(unsafe { libc::raise(signal.as_raw()) }, 0);
}

/// The handler currently installed for `signal` (its address).
fn disposition(signal: Signal) -> libc::sighandler_t {
    // SAFETY: sigaction with a null new action only reads the current one
    // into the zeroed value we own.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(signal.as_raw(), std::ptr::null(), &mut current), 0);
        current.sa_sigaction
    }
}

#[test]
fn a_stream_receives_a_raised_signal() {
    let _serial = serial();
    corio::run(async {
        let mut signals = Signals::new([Signal::USR1])?;
        raise(Signal::USR1);
        assert_eq!(signals.recv().await?, Signal::USR1);
        Ok::<_, std::io::Error>(())
    })
    .unwrap()
    .unwrap();
}

#[test]
fn arrivals_coalesce_per_signal_and_come_lowest_numbered_first() {
    let _serial = serial();
    corio::run(async {
        let mut signals = Signals::new([Signal::USR2, Signal::USR1])?;
        raise(Signal::USR2);
        raise(Signal::USR2);
        raise(Signal::USR1);
        assert_eq!(signals.recv().await?, Signal::USR1);
        assert_eq!(signals.recv().await?, Signal::USR2);
        // The two USR2s were one arrival: nothing is left.
        assert!(signals.recv().now_or_never().is_none());
        Ok::<_, std::io::Error>(())
    })
    .unwrap()
    .unwrap();
}

#[test]
fn every_listener_receives_every_arrival_also_on_another_loop() {
    let _serial = serial();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (raised_tx, raised_rx) = mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        corio::run(async move {
            let mut signals = Signals::new([Signal::USR1])?;
            ready_tx.send(()).unwrap();
            let got = signals.recv().await?;
            raised_rx.recv().unwrap(); // stay subscribed until the main thread is done
            Ok::<_, std::io::Error>(got)
        })
        .unwrap()
        .unwrap()
    });
    ready_rx.recv_timeout(Duration::from_secs(60)).expect("the other loop listens");
    let (first, second) = corio::run(async {
        let mut a = Signals::new([Signal::USR1])?;
        let mut b = Signals::new([Signal::USR1])?;
        raise(Signal::USR1);
        Ok::<_, std::io::Error>((a.recv().await?, b.recv().await?))
    })
    .unwrap()
    .unwrap();
    raised_tx.send(()).unwrap();
    assert_eq!((first, second), (Signal::USR1, Signal::USR1));
    assert_eq!(other.join().unwrap(), Signal::USR1);
}

#[test]
fn the_previous_disposition_is_restored_when_the_last_listener_goes() {
    let _serial = serial();
    assert_eq!(disposition(Signal::WINCH), libc::SIG_DFL);
    corio::run(async {
        let a = Signals::new([Signal::WINCH])?;
        let b = Signals::new([Signal::WINCH])?;
        assert_ne!(disposition(Signal::WINCH), libc::SIG_DFL, "corio handles it while listened to");
        drop(a);
        assert_ne!(disposition(Signal::WINCH), libc::SIG_DFL, "one listener is left");
        drop(b);
        assert_eq!(disposition(Signal::WINCH), libc::SIG_DFL);
        Ok::<_, std::io::Error>(())
    })
    .unwrap()
    .unwrap();
}

#[test]
fn waiting_is_a_checkpoint() {
    let _serial = serial();
    corio::run(async {
        let waiter = corio::spawn(async {
            let mut signals = Signals::new([Signal::USR1])?;
            signals.recv().await
        });
        corio::yield_now().await.unwrap();
        waiter.cancel_with("enough");
        let err = waiter.await.unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
    })
    .unwrap();
    assert_eq!(disposition(Signal::USR1), libc::SIG_DFL, "the cancelled listener let go of the signal");
}

#[test]
fn bad_signals_and_missing_loops_are_clear_errors() {
    for (n, why) in [
        (0, "not a signal number"),
        (65, "not a signal number"),
        (-3, "not a signal number"),
        (libc::SIGKILL, "cannot be caught"),
        (libc::SIGSTOP, "cannot be caught"),
        (libc::SIGSEGV, "fault"),
        (libc::SIGFPE, "fault"),
    ] {
        let err = Signal::from_raw(n).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains(why), "{n}: {err}");
    }
    let err = Signals::new([Signal::USR1]).unwrap_err();
    assert!(err.to_string().contains("no event loop"), "{err}");
    let err = Signals::new([]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    // The refused listeners changed nothing.
    let _serial = serial();
    assert_eq!(disposition(Signal::USR1), libc::SIG_DFL);
    let err = add_signal_handler(Signal::USR1, || {}).unwrap_err();
    assert!(err.to_string().contains("needs a running event loop"), "{err}");
    assert!(!remove_signal_handler(Signal::USR1));
    assert_eq!(disposition(Signal::USR1), libc::SIG_DFL);
}

#[test]
fn add_signal_handler_calls_back_on_the_loop_until_removed() {
    let _serial = serial();
    corio::run(async {
        let calls = Rc::new(Cell::new(0)); // not Send: the callback runs on the loop
        let called = Rc::new(RefCell::new(Completion::new()));
        let (c, done) = (calls.clone(), called.clone());
        add_signal_handler(Signal::USR2, move || {
            c.set(c.get() + 1);
            done.borrow().set_result(()).unwrap();
        })?;
        raise(Signal::USR2);
        let first = called.borrow().clone();
        first.wait().await.unwrap();
        assert_eq!(calls.get(), 1);

        *called.borrow_mut() = Completion::new();
        raise(Signal::USR2);
        let second = called.borrow().clone();
        second.wait().await.unwrap();
        assert_eq!(calls.get(), 2);

        assert!(remove_signal_handler(Signal::USR2));
        assert!(!remove_signal_handler(Signal::USR2), "nothing left to remove");
        corio::yield_now().await.unwrap(); // the handler's task is dropped
        assert_eq!(disposition(Signal::USR2), libc::SIG_DFL);
        Ok::<_, std::io::Error>(())
    })
    .unwrap()
    .unwrap();
}

#[test]
fn add_signal_handler_replaces_the_previous_handler() {
    let _serial = serial();
    corio::run(async {
        let old_calls = Rc::new(Cell::new(0));
        let o = old_calls.clone();
        add_signal_handler(Signal::HUP, move || o.set(o.get() + 1))?;
        let called = Completion::new();
        let c = called.clone();
        add_signal_handler(Signal::HUP, move || {
            let _ = c.set_result(());
        })?;
        corio::yield_now().await.unwrap(); // the old handler's task is dropped
        raise(Signal::HUP);
        called.wait().await.unwrap();
        for _ in 0..3 {
            corio::yield_now().await.unwrap();
        }
        assert_eq!(old_calls.get(), 0, "the replaced handler never runs");
        assert!(remove_signal_handler(Signal::HUP));
        Ok::<_, std::io::Error>(())
    })
    .unwrap()
    .unwrap();
}

#[test]
fn a_panicking_handler_is_reported_and_stays_installed() {
    let _serial = serial();
    let lp = corio::new_event_loop().unwrap();
    let reports = Rc::new(RefCell::new(Vec::new()));
    let seen = reports.clone();
    lp.set_exception_handler(move |context| seen.borrow_mut().push(context.kind));
    lp.block_on(async {
        let calls = Rc::new(Cell::new(0));
        let c = calls.clone();
        add_signal_handler(Signal::USR1, move || {
            c.set(c.get() + 1);
            panic!("handler failed");
        })
        .unwrap();
        for expected in 1..=2 {
            raise(Signal::USR1);
            while calls.get() < expected {
                corio::yield_now().await.unwrap();
            }
        }
        assert!(remove_signal_handler(Signal::USR1));
    })
    .unwrap();
    lp.shutdown(Duration::from_secs(5)).unwrap();
    assert_eq!(*reports.borrow(), [ExceptionKind::CallbackPanicked, ExceptionKind::CallbackPanicked]);
}
