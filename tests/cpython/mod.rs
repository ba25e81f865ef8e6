//! What the ports of CPython 3.13's asyncio tests share (`tests/cpython_*.rs`).
//!
//! Each port is one Rust test per CPython test, named after it, with the
//! CPython file, class and test name in a comment; it makes the same calls
//! and the same assertions, in corio's words (see `docs/semantics.md`,
//! "CPython's own tests"). `unittest.IsolatedAsyncioTestCase` runs every test
//! in a fresh loop: [`run`] does the same, on the virtual clock, so a test's
//! `asyncio.sleep(0.1)` takes no real time and timings are exact.
//!
//! Python's exceptions become the values of [`Exc`]: an `Err` where Python
//! raises, `?` where it lets an exception propagate. A `CancelledError` is
//! the `Cancelled` token a checkpoint returned, so propagating it still ends
//! the task cancelled.

#![allow(dead_code)] // each test file uses a subset

use corio::clock::VirtualClock;
use corio::runtime::EventLoop;
use corio::{Cancelled, GroupError, JoinError, SpawnError};
use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::time::Duration;

/// A loop on the virtual clock.
pub type Loop = EventLoop<corio::DefaultReactor, VirtualClock>;

/// A fresh virtual-clock loop (IsolatedAsyncioTestCase's).
pub fn new_loop() -> Loop {
    corio::builder().clock(VirtualClock::new()).build().unwrap()
}

/// Runs a test body as IsolatedAsyncioTestCase does: in its own loop, as the
/// main task; then tears the loop down (`asyncio.run`'s cancel-and-wait).
#[track_caller]
pub fn run<F: Future>(test: F) -> F::Output {
    let lp = new_loop();
    let out = lp.block_on(test).unwrap_or_else(|err| panic!("the test's main task failed: {err}"));
    lp.shutdown(Duration::from_secs(5)).unwrap();
    out
}

/// Seconds as a `Duration` (asyncio takes float seconds).
pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// `asyncio.sleep(s)`.
pub async fn sleep(s: f64) -> Result<(), Cancelled> {
    corio::sleep(secs(s)).await
}

/// The exceptions the ported tests raise (named as the Python classes).
#[derive(Debug)]
#[allow(clippy::enum_variant_names)]
pub enum Exc {
    /// `CancelledError`: the token a checkpoint returned (kept, so `?` still
    /// cancels the task).
    Cancelled(Cancelled),
    ZeroDivision,
    Value(String),
    Type,
    Runtime(String),
    Key,
    /// The tests' own `class MyExc(Exception)`.
    MyExc,
    /// The tests' own `class MyBaseExc(BaseException)`.
    MyBaseExc,
    /// A test-local `class CustomException(Exception)`.
    Custom,
    /// An `ExceptionGroup` raised by an inner task group.
    Group(Box<GroupError<Exc>>),
    /// A task that failed, awaited (`JoinError`: a cancellation or panic).
    Join(JoinError),
    /// `QueueEmpty`, `QueueFull`, `QueueShutDown`.
    Queue(String),
}

impl Exc {
    /// Python's exception class name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Exc::Cancelled(_) => "CancelledError",
            Exc::ZeroDivision => "ZeroDivisionError",
            Exc::Value(_) => "ValueError",
            Exc::Type => "TypeError",
            Exc::Runtime(_) => "RuntimeError",
            Exc::Key => "KeyError",
            Exc::MyExc => "MyExc",
            Exc::MyBaseExc => "MyBaseExc",
            Exc::Custom => "CustomException",
            Exc::Group(_) => "ExceptionGroup",
            Exc::Join(e) if e.is_cancelled() => "CancelledError",
            Exc::Join(_) => "panic",
            Exc::Queue(_) => "QueueError",
        }
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(self, Exc::Cancelled(_)) || matches!(self, Exc::Join(e) if e.is_cancelled())
    }
}

impl fmt::Display for Exc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

impl From<Cancelled> for Exc {
    fn from(c: Cancelled) -> Exc {
        Exc::Cancelled(c)
    }
}

impl From<SpawnError> for Exc {
    /// asyncio's `RuntimeError("TaskGroup ... is finished / shutting down")`.
    fn from(e: SpawnError) -> Exc {
        Exc::Runtime(e.to_string())
    }
}

impl From<GroupError<Exc>> for Exc {
    /// An inner group's `ExceptionGroup`; a group that ended cancelled
    /// stays a cancellation (its token is kept).
    fn from(e: GroupError<Exc>) -> Exc {
        match e {
            GroupError::Cancelled(c) => Exc::Cancelled(c),
            failed => Exc::Group(Box::new(failed)),
        }
    }
}

impl From<corio::sync::GetError> for Exc {
    fn from(e: corio::sync::GetError) -> Exc {
        match e {
            corio::sync::GetError::Cancelled(c) => Exc::Cancelled(c),
            other => Exc::Queue(other.to_string()),
        }
    }
}

impl<T> From<corio::sync::PutError<T>> for Exc {
    fn from(e: corio::sync::PutError<T>) -> Exc {
        match e {
            corio::sync::PutError::Cancelled(c, _) => Exc::Cancelled(c),
            other => Exc::Queue(other.to_string()),
        }
    }
}

impl From<JoinError> for Exc {
    fn from(e: JoinError) -> Exc {
        match e {
            JoinError::Cancelled(c) => Exc::Cancelled(c),
            panicked => Exc::Join(panicked),
        }
    }
}

/// `get_error_types(eg)`: the class names of a group's exceptions.
pub fn error_types(err: &GroupError<Exc>) -> BTreeSet<&'static str> {
    match err {
        GroupError::Failed(group) => group.errors().map(Exc::type_name).collect(),
        GroupError::Cancelled(_) => panic!("expected an ExceptionGroup, got a cancellation"),
    }
}

/// The group inside an `Exc::Group` (`assertRaises(ExceptionGroup)`).
#[track_caller]
pub fn group(err: &Exc) -> &GroupError<Exc> {
    match err {
        Exc::Group(group) => group,
        other => panic!("expected an ExceptionGroup, got {other:?}"),
    }
}

/// `{"A", "B"}` as a set of class names.
pub fn names<const N: usize>(names: [&'static str; N]) -> BTreeSet<&'static str> {
    names.into_iter().collect()
}
