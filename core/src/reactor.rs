//! The `Reactor` trait: readiness-based I/O multiplexing.
//!
//! A reactor watches sources (file descriptors) for readiness and reports it
//! through [`Reactor::poll`]. The event loop owns one reactor and calls `poll`
//! once per iteration at most: with a zero timeout while work is ready, with
//! the time to the next deadline when idle, and with no timeout when there is
//! nothing to wait for but I/O or another thread.
//!
//! # Contract
//!
//! * `register` is called once per source, with a `key` chosen by the loop.
//!   Registration is **edge-triggered and persistent**: after an event for a
//!   key is reported, the source stays registered, and the next event is
//!   reported when the source becomes ready again (no re-arm call is needed).
//!   Implementations over level-triggered or one-shot mechanisms must emulate
//!   this. Reporting an event that did not happen (a spurious event) is
//!   allowed: the loop retries the operation and gets `WouldBlock`.
//! * Registering a descriptor that is closed fails with `EBADF`; registering
//!   one that is already registered fails with `AlreadyExists`/`EEXIST`.
//! * `deregister` is called before the descriptor is closed.
//! * `poll` appends events to `events` and returns. It may return early (with
//!   no events), but must not block past `timeout`, and must return promptly
//!   after [`Reactor::notify`] — also when `notify` was called *before* `poll`
//!   started (a notification is latched until a `poll` consumes it).
//! * `notify` is callable from any thread. The loop calls it only when it is
//!   parked (see `runtime::shared`), so it is off every hot path.
//!
//! Methods take `&self`: the loop holds the reactor in an `Arc` shared with
//! other threads, which only ever call `notify`.
//!
//! A reactor may also run completion-based operations, whose buffers the
//! operation owns while the kernel uses them ([`ops`],
//! [`Reactor::completions`]); io_uring does.

pub mod ops;

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Which readiness a source is interested in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest {
    /// Wake when the source is readable (or has hung up or failed).
    pub readable: bool,
    /// Wake when the source is writable (or has hung up or failed).
    pub writable: bool,
}

impl Interest {
    /// Readable only.
    pub const READABLE: Interest = Interest { readable: true, writable: false };
    /// Writable only.
    pub const WRITABLE: Interest = Interest { readable: false, writable: true };
    /// Both directions: what the loop registers sockets with, so that one
    /// registration serves reads and writes without re-arming.
    pub const BOTH: Interest = Interest { readable: true, writable: true };
}

/// One readiness report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The key the source was registered with.
    pub key: usize,
    /// The source is readable, hung up, or failed.
    pub readable: bool,
    /// The source is writable, hung up, or failed.
    pub writable: bool,
}

/// Readiness-based I/O multiplexer with a thread-safe wake-up.
///
/// See the [module documentation](self) for the contract.
pub trait Reactor: Send + Sync + 'static {
    /// Starts watching `fd` under `key` with `interest` (edge-triggered).
    fn register(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()>;

    /// Changes the interest of a registered source.
    fn modify(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()>;

    /// Stops watching `fd`. Called before the descriptor is closed.
    fn deregister(&self, fd: RawFd) -> io::Result<()>;

    /// Waits for readiness for at most `timeout` (`None`: until an event or a
    /// [`notify`](Reactor::notify)), appending events to `events`.
    fn poll(&self, events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()>;

    /// Wakes a blocked (or the next) [`poll`](Reactor::poll). Any thread.
    fn notify(&self) -> io::Result<()>;

    /// Whether no event can arrive except through [`notify`](Reactor::notify).
    ///
    /// The loop asks this only on a virtual clock, to report a deadlock
    /// instead of blocking forever (rule L5). The default, `false`, never
    /// reports one.
    fn is_quiescent(&self) -> bool {
        false
    }

    /// Completion-based operations, if the reactor runs them (io_uring):
    /// see [`ops`]. The default, `None`, means file operations go to the
    /// blocking pool.
    fn completions(&self) -> Option<&dyn ops::Completions> {
        None
    }

    /// The backend's short name (`"epoll"`, `"uring"`, ...), which the loop
    /// reports in [`Metrics::backend`](crate::runtime::Metrics::backend) and
    /// [`EventLoop::backend`](crate::runtime::EventLoop::backend). The
    /// default is the type's name.
    fn name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

/// A reactor without I/O: `poll` only sleeps until the timeout or a
/// [`notify`](Reactor::notify).
///
/// Useful for loops that only compute and wait on timers, and it is the
/// reactor loom models run on: under `corio_loom` its notification is loom's
/// park/unpark primitive, so the checker explores every order of a
/// cross-thread wake against the loop parking.
///
/// ```
/// use corio_core::reactor::{ParkReactor, Reactor};
/// use std::time::Duration;
///
/// let reactor = ParkReactor::new();
/// reactor.notify().unwrap();
/// // The notification was latched, so this returns at once.
/// reactor.poll(&mut Vec::new(), None).unwrap();
/// # let _ = Duration::ZERO;
/// ```
#[derive(Debug, Default)]
pub struct ParkReactor {
    notify: crate::loom::Notify,
}

impl ParkReactor {
    /// A new reactor with no pending notification.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Reactor for ParkReactor {
    fn register(&self, _fd: RawFd, _key: usize, _interest: Interest) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "ParkReactor has no I/O: build the loop with an I/O backend (epoll, mock)",
        ))
    }

    fn modify(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        self.register(fd, key, interest)
    }

    fn deregister(&self, _fd: RawFd) -> io::Result<()> {
        Ok(())
    }

    fn poll(&self, _events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        if timeout != Some(Duration::ZERO) {
            self.notify.wait(timeout);
        }
        Ok(())
    }

    fn notify(&self) -> io::Result<()> {
        self.notify.notify();
        Ok(())
    }

    fn is_quiescent(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "park"
    }
}
