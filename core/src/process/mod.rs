//! Child processes on the loop (tokio's `tokio::process`, asyncio's
//! subprocesses).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use corio_core::process::{Command, Stdio};
//!
//! // Run to the end, output captured.
//! let out = Command::new("echo").arg("hello").output().await?;
//! assert_eq!(out.stdout, b"hello\n");
//!
//! // Talk to a child through its pipes.
//! let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
//! let (echoed, _) = cat.communicate(Some(b"ping")).await?;
//! assert_eq!(echoed, b"ping");
//! # Ok(()) }
//! ```
//!
//! * [`Command`] builds a child (std's builder plus `kill_on_drop`);
//!   [`spawn`](Command::spawn) starts it, [`output`](Command::output) and
//!   [`status`](Command::status) run it to its end.
//! * [`Child`] has the pipes you asked for ([`ChildStdin`]: `AsyncWrite`;
//!   [`ChildStdout`], [`ChildStderr`]: `AsyncRead`), and `wait`,
//!   `try_wait`, `kill`, `start_kill`, `wait_with_output`; asyncio's
//!   `communicate(input)`, `returncode`, `send_signal`, `terminate`.
//! * [`create_subprocess_exec`] and [`create_subprocess_shell`]: asyncio's
//!   shapes, the standard streams as arguments.
//!
//! # How exits are seen, and who reaps
//!
//! * **pidfd** (Linux 5.3+): each child gets a pidfd registered with the
//!   loop's reactor, readable when it exits — no thread, no signal handler,
//!   and signals sent through it can never hit a recycled pid.
//! * **`SIGCHLD`** (other kernels, or `CORIO_PROCESS_REAPER=sigchld`): one
//!   listener per loop on corio's signal machinery wakes every waiting
//!   child, which looks with `waitpid(pid, WNOHANG)` (`hub`).
//! * **Orphans**: a `Child` dropped before it was reaped (its task
//!   cancelled, its loop torn down) is killed if `kill_on_drop` was set,
//!   and handed to one reaper thread for the whole process, which reaps it
//!   when it exits (`orphans`). So no zombie is left after `wait`, after a
//!   drop, or after the loop's teardown. A child that outlives the process
//!   is the init process's to reap.
//!
//! # Invariants
//!
//! * Every await is a checkpoint; a cancelled `wait` leaves the child as it
//!   was (still watched, still to be reaped), and frees nothing it should
//!   keep: the next `wait`, `try_wait` or the drop takes over.
//! * A child is reaped exactly once, by the `Child` (`waitpid` on its own
//!   pid, never `waitpid(-1)`, so children spawned by other code are left
//!   alone) or by the reaper after the drop.
//! * `spawn` fails before anything runs if no loop is running, and with the
//!   program's name if it cannot be run (`NotFound`, `PermissionDenied`);
//!   if registering the child with the loop fails afterwards, the child is
//!   killed and reaped before the error is returned.
//! * Processes need a reactor with real readiness (epoll, io_uring,
//!   kqueue, portable); the mock backend never reports a pidfd ready.

mod child;
mod command;
mod hub;
mod orphans;
mod pipe;
mod sys;

pub use child::Child;
pub use command::Command;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};

use std::ffi::OsStr;
use std::io;
use std::sync::OnceLock;

/// asyncio's `create_subprocess_exec(program, *args, stdin=, stdout=,
/// stderr=)`: starts `program` with `args` and the given standard streams
/// (`Stdio::piped()` for asyncio's `PIPE`, `Stdio::inherit()` for `None`,
/// `Stdio::null()` for `DEVNULL`).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use corio_core::process::{create_subprocess_exec, Stdio};
///
/// let mut proc = create_subprocess_exec("ls", ["-l"], Stdio::null(), Stdio::piped(), Stdio::inherit()).await?;
/// let (listing, _) = proc.communicate(None).await?;
/// assert_eq!(proc.returncode(), Some(0));
/// # drop(listing); Ok(()) }
/// ```
pub async fn create_subprocess_exec<I, S>(
    program: impl AsRef<OsStr>,
    args: I,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
) -> io::Result<Child>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    crate::runtime::current::checkpoint()?;
    Command::new(program).args(args).stdin(stdin).stdout(stdout).stderr(stderr).spawn()
}

/// asyncio's `create_subprocess_shell(cmd, ...)`: runs `cmd` with
/// `/bin/sh -c`. Quoting is the caller's business, as in asyncio.
pub async fn create_subprocess_shell(cmd: &str, stdin: Stdio, stdout: Stdio, stderr: Stdio) -> io::Result<Child> {
    create_subprocess_exec("/bin/sh", ["-c", cmd], stdin, stdout, stderr).await
}

/// How children's exits are watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reaping {
    /// A pidfd per child where the kernel has them (the default).
    Pidfd,
    /// The loop's `SIGCHLD` listener.
    Sigchld,
}

impl Reaping {
    /// `CORIO_PROCESS_REAPER=sigchld` forces the `SIGCHLD` path (for
    /// sandboxes that refuse `pidfd_open`, and to test it); read once.
    fn configured() -> Reaping {
        static CONFIGURED: OnceLock<Reaping> = OnceLock::new();
        *CONFIGURED.get_or_init(|| match std::env::var("CORIO_PROCESS_REAPER").as_deref() {
            Ok("sigchld") => Reaping::Sigchld,
            _ => Reaping::Pidfd,
        })
    }
}

/// How many dropped children corio's reaper still waits for (they run on,
/// or were just killed). For tests and debugging.
pub fn orphans_pending() -> usize {
    orphans::pending()
}
