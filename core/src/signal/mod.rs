//! Unix signals as loop events: an async stream ([`Signals`], [`ctrl_c`])
//! and asyncio's [`add_signal_handler`] / [`remove_signal_handler`].
//!
//! # How a signal reaches a task
//!
//! ```text
//! kernel ─▶ handler (os.rs): flag[n] = true; write(pipe, 1 byte)
//!        ─▶ the pipe is readable: each listener's loop sees it in its reactor
//!        ─▶ a listener drains the pipe, takes the flags (registry.rs) and
//!           marks and wakes every listener that wants them, on any loop
//! ```
//!
//! The handler only sets a flag and writes a byte, which is all a signal
//! handler may safely do; everything else happens on the loops, as asyncio
//! does with `signal.set_wakeup_fd` and a self-pipe.
//!
//! # Invariants
//!
//! * corio's handler is installed for a signal exactly while something
//!   listens to it; afterwards the previous disposition is back.
//! * Every listener sees every arrival (coalesced per signal until it
//!   receives it), whichever loop it is on.
//! * Waiting is a checkpoint: a cancelled task stops waiting with an
//!   `io::Error` carrying its [`Cancelled`](crate::task::Cancelled).
//! * Signals that report a fault of the running code (`SIGSEGV`, `SIGBUS`,
//!   `SIGFPE`, `SIGILL`) and those that cannot be caught (`SIGKILL`,
//!   `SIGSTOP`) are refused: handling the first kind by setting a flag
//!   and returning would re-run the faulting instruction forever.

mod handler;
mod os;
mod registry;
mod stream;

pub use handler::{add_signal_handler, remove_signal_handler};
pub use stream::{ctrl_c, Signals};

use std::fmt;
use std::io;

/// A signal number that corio can listen to.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::signal::Signal;
///
/// assert_eq!(Signal::from_raw(libc::SIGTERM).unwrap(), Signal::TERM);
/// assert_eq!(Signal::INT.to_string(), "SIGINT");
/// assert!(Signal::from_raw(libc::SIGKILL).is_err()); // cannot be caught
/// assert!(Signal::from_raw(0).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(pub(crate) i32);

impl Signal {
    /// `SIGINT`: interrupt from the terminal (Ctrl-C).
    pub const INT: Signal = Signal(libc::SIGINT);
    /// `SIGTERM`: polite termination request.
    pub const TERM: Signal = Signal(libc::SIGTERM);
    /// `SIGHUP`: the terminal hung up; by convention, "reload".
    pub const HUP: Signal = Signal(libc::SIGHUP);
    /// `SIGQUIT`: quit from the terminal (Ctrl-\).
    pub const QUIT: Signal = Signal(libc::SIGQUIT);
    /// `SIGUSR1`: user-defined.
    pub const USR1: Signal = Signal(libc::SIGUSR1);
    /// `SIGUSR2`: user-defined.
    pub const USR2: Signal = Signal(libc::SIGUSR2);
    /// `SIGWINCH`: the terminal was resized.
    pub const WINCH: Signal = Signal(libc::SIGWINCH);
    /// `SIGALRM`: a timer set with `alarm(2)` expired.
    pub const ALRM: Signal = Signal(libc::SIGALRM);
    /// `SIGCHLD`: a child process stopped or exited.
    pub const CHLD: Signal = Signal(libc::SIGCHLD);
    /// `SIGPIPE`: a write to a pipe or socket with no reader.
    pub const PIPE: Signal = Signal(libc::SIGPIPE);

    /// The signal numbered `n`, if corio can listen to it.
    ///
    /// Errors (`InvalidInput`): not a signal number (1 to 64), a fault
    /// signal (`SIGSEGV`, `SIGBUS`, `SIGFPE`, `SIGILL`), or one that cannot
    /// be caught (`SIGKILL`, `SIGSTOP`).
    pub fn from_raw(n: i32) -> io::Result<Signal> {
        let refused = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("signal {n}: {why}"));
        if !(1..=os::MAX_SIGNAL).contains(&n) {
            return Err(refused("not a signal number (expected 1 to 64)"));
        }
        if [libc::SIGKILL, libc::SIGSTOP].contains(&n) {
            return Err(refused("cannot be caught"));
        }
        if [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL].contains(&n) {
            return Err(refused("reports a fault of the running code and cannot be handled asynchronously"));
        }
        Ok(Signal(n))
    }

    /// The signal's number.
    pub fn as_raw(self) -> i32 {
        self.0
    }

    /// The conventional name, e.g. `SIGINT`; `SIG<n>` for others.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        let known = [
            (Signal::INT, "SIGINT"),
            (Signal::TERM, "SIGTERM"),
            (Signal::HUP, "SIGHUP"),
            (Signal::QUIT, "SIGQUIT"),
            (Signal::USR1, "SIGUSR1"),
            (Signal::USR2, "SIGUSR2"),
            (Signal::WINCH, "SIGWINCH"),
            (Signal::ALRM, "SIGALRM"),
            (Signal::CHLD, "SIGCHLD"),
            (Signal::PIPE, "SIGPIPE"),
        ];
        match known.iter().find(|(s, _)| *s == self) {
            Some((_, name)) => (*name).into(),
            None => format!("SIG{}", self.0).into(),
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signal({})", self.name())
    }
}
