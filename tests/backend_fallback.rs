//! A backend the kernel refuses, as container runtimes refuse io_uring: a
//! seccomp filter on the test's thread makes `io_uring_setup` (or
//! `epoll_create1`) fail with `EPERM`, and the loop must
//!
//! * return the error, naming the cause, when the program chose the
//!   backend — never run on another one;
//! * move on to the next backend of the default order when nothing chose
//!   one, record the skipped backend, and log it in debug mode.
//!
//! Every case involves io_uring, so the file is compiled with the `uring`
//! feature only; each case within it for the feature sets it applies to,
//! so the same file runs in every build of `.ci/run`'s feature matrix
//! (io_uring alone: nothing to fall back to, the error names the cause).

#![cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), feature = "uring"))]

#[path = "support/seccomp.rs"]
mod seccomp;

use corio::backend::{BackendError, ChosenBy, BACKEND_ENV};
use corio::Backend;
use std::io;

/// Whether `CORIO_BACKEND` leaves the choice to the default order (the
/// default-order cases are about that order, not about the variable).
#[allow(dead_code)] // not every feature set has a default-order case
fn default_order_applies() -> bool {
    let set = std::env::var_os(BACKEND_ENV).is_some_and(|value| !value.is_empty());
    if set {
        eprintln!("CORIO_BACKEND is set: the default order does not apply, case skipped");
    }
    !set
}

/// The `BackendError` inside an `io::Error`.
fn backend_error(err: &io::Error) -> &BackendError {
    err.get_ref().and_then(|inner| inner.downcast_ref()).unwrap_or_else(|| panic!("not a BackendError: {err:?}"))
}

/// The refusal in the words the io_uring backend uses.
fn assert_names_the_refusal(message: &str) {
    assert!(message.contains("io_uring_setup failed: Operation not permitted"), "{message}");
    assert!(message.contains("seccomp"), "the likely cause is named: {message}");
}

#[test]
fn io_uring_chosen_by_the_program_and_refused_is_an_error_naming_the_cause() {
    // The control: without the filter this machine runs io_uring.
    let lp = corio::builder().backend(Backend::Uring).build().expect("io_uring works here without the filter");
    assert_eq!(lp.backend(), "uring");
    drop(lp);

    seccomp::with_refused(&[seccomp::IO_URING_SETUP], || {
        let err = corio::builder().backend(Backend::Uring).build().expect_err("io_uring is refused");
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(
            matches!(
                backend_error(&err),
                BackendError::Failed { backend: Backend::Uring, chosen_by: ChosenBy::Program, .. }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.starts_with("backend uring (chosen by the program) could not start: "), "{message}");
        assert_names_the_refusal(&message);
        // The multi-loop runtime and the reactor itself say the same.
        let err = corio::multi_loop().loops(2).backend(Backend::Uring).build().expect_err("refused");
        assert_names_the_refusal(&err.to_string());
        let err = corio::backend::AnyReactor::new(Backend::Uring).expect_err("refused");
        assert_names_the_refusal(&err.to_string());
    });
}

#[test]
#[cfg(feature = "epoll")]
fn a_chosen_backend_that_is_refused_is_not_replaced_by_another() {
    // epoll refused, io_uring available: the program asked for epoll, so it
    // gets the error, not an io_uring loop.
    seccomp::with_refused(&seccomp::EPOLL_CREATE, || {
        let err = corio::builder().backend(Backend::Epoll).build().expect_err("epoll is refused");
        assert!(
            matches!(
                backend_error(&err),
                BackendError::Failed { backend: Backend::Epoll, chosen_by: ChosenBy::Program, .. }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("Operation not permitted"), "{err}");
        // The other backend is there all along.
        assert_eq!(corio::builder().backend(Backend::Uring).build().unwrap().backend(), "uring");
    });
}

#[test]
#[cfg(feature = "epoll")]
fn the_default_order_moves_past_a_refused_backend_and_says_so() {
    if !default_order_applies() {
        return;
    }
    log::set_logger(&capture::CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    seccomp::with_refused(&seccomp::EPOLL_CREATE, || {
        // epoll (native) is refused, so is portable (the `polling` crate
        // creates an epoll too), and io_uring, last, starts.
        let lp = corio::builder().debug(true).build().expect("the default order finds io_uring");
        assert_eq!(lp.backend(), "uring");
        let reactor = lp.reactor();
        assert_eq!(reactor.chosen_by(), ChosenBy::Default);
        let skipped: Vec<Backend> = reactor.fallbacks().iter().map(|f| f.backend).collect();
        let expected: Vec<Backend> =
            [Backend::Epoll, Backend::Portable].into_iter().filter(|b| b.is_compiled()).collect();
        assert_eq!(skipped, expected);
        for fallback in reactor.fallbacks() {
            assert_eq!(fallback.error.kind(), io::ErrorKind::PermissionDenied, "{}", fallback.error);
        }
        // Debug mode logs each skipped backend as a warning.
        let warnings = capture::take();
        assert_eq!(warnings.len(), expected.len(), "{warnings:?}");
        assert!(warnings[0].starts_with("WARN backend epoll could not start ("), "{warnings:?}");
        assert!(warnings[0].ends_with("the loop runs on uring, the next in the default order"), "{warnings:?}");

        // corio::run takes the same path, and the loop's metrics name it.
        let backend = corio::run(async { corio::runtime::metrics().backend }).unwrap();
        assert_eq!(backend, "uring");
        // Outside debug mode the record is a debug one.
        drop(lp);
        let _quiet = corio::builder().debug(false).build().unwrap();
        assert!(capture::take()
            .iter()
            .all(|line| line.starts_with("DEBUG backend epoll") || line.starts_with("DEBUG backend portable")));
    });
}

#[test]
#[cfg(all(not(feature = "epoll"), not(feature = "portable")))]
fn io_uring_alone_and_refused_has_nothing_to_fall_back_to() {
    if !default_order_applies() {
        return;
    }
    seccomp::with_refused(&[seccomp::IO_URING_SETUP], || {
        let err = corio::new_event_loop().expect_err("the only OS backend is refused");
        let message = err.to_string();
        assert!(message.starts_with("no backend of the default order could start: uring: "), "{message}");
        assert_names_the_refusal(&message);
        assert!(matches!(backend_error(&err), BackendError::AllFailed { failures } if failures.len() == 1));
        // corio::run reports it as the loop's reactor error.
        let err = corio::run(async {}).expect_err("no loop");
        assert!(matches!(err, corio::LoopError::Reactor(_)), "{err:?}");
    });
}

/// The records of the `corio::backend` log target.
#[allow(dead_code)] // used by the cases that log
mod capture {
    use std::sync::Mutex;

    pub struct Capture(Mutex<Vec<String>>);

    pub static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

    impl log::Log for Capture {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            metadata.target() == "corio::backend"
        }

        fn log(&self, record: &log::Record<'_>) {
            if self.enabled(record.metadata()) {
                self.0.lock().unwrap().push(format!("{} {}", record.level(), record.args()));
            }
        }

        fn flush(&self) {}
    }

    /// The records so far, emptied.
    pub fn take() -> Vec<String> {
        std::mem::take(&mut *CAPTURE.0.lock().unwrap())
    }
}
