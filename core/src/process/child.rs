//! `Child`: a running child process, its pipes, and waiting for its exit.

use super::hub::Hub;
use super::pipe::{poll_drain, ChildStderr, ChildStdin, ChildStdout};
use super::{orphans, sys, Reaping};
use crate::io::{Async, Direction};
use crate::runtime::current;
use futures_io::AsyncWrite;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::process::{ExitStatus, Output};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// A child process (tokio's `tokio::process::Child`, asyncio's `Process`).
///
/// Its exit is watched by the loop — through a pidfd registered with the
/// reactor where the kernel has them, else through the loop's one
/// `SIGCHLD` listener — so waiting costs no thread. [`wait`](Child::wait)
/// reaps it. A child dropped before it was reaped keeps running (unless
/// [`kill_on_drop`](super::Command::kill_on_drop) was set: then it is
/// killed), and corio's reaper reaps it once it exits: no zombie is left,
/// also after its loop tore down.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use corio_core::process::{Command, Stdio};
///
/// let mut child = Command::new("sort").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
/// let (out, _) = child.communicate(Some(b"b\na\n")).await?;
/// assert_eq!(out, b"a\nb\n");
/// assert!(child.wait().await?.success());
/// # Ok(()) }
/// ```
pub struct Child {
    pid: u32,
    /// Set once reaped; the pid is not ours after that.
    status: Option<ExitStatus>,
    watch: Watch,
    kill_on_drop: bool,
    /// The child's standard input, if it was `Stdio::piped()`.
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, if it was `Stdio::piped()`.
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, if it was `Stdio::piped()`.
    pub stderr: Option<ChildStderr>,
}

/// How the loop learns that the child exited.
enum Watch {
    /// Readable when the child exits; also signals without pid reuse.
    Pidfd(Async<OwnedFd>),
    /// The loop's `SIGCHLD` listener, and this child's slot in it.
    Sigchld { hub: Arc<Hub>, slot: Option<usize> },
}

impl Watch {
    fn new(pid: u32, reaping: Reaping) -> io::Result<Watch> {
        if reaping == Reaping::Pidfd {
            if let Some(pidfd) = sys::pidfd_open(pid) {
                return Ok(Watch::Pidfd(Async::new(pidfd)?));
            }
        }
        Ok(Watch::Sigchld { hub: Hub::current()?, slot: None })
    }
}

impl Child {
    /// Takes over a child `std` spawned: registers its pipes and its exit
    /// watch with the running loop. On failure the child is killed and
    /// reaped, so that nothing outlives the error.
    pub(super) fn adopt(mut std: std::process::Child, kill_on_drop: bool, reaping: Reaping) -> io::Result<Child> {
        let pid = std.id();
        let mut setup = || -> io::Result<Child> {
            Ok(Child {
                pid,
                status: None,
                watch: Watch::new(pid, reaping)?,
                kill_on_drop,
                stdin: std.stdin.take().map(ChildStdin::from_std).transpose()?,
                stdout: std.stdout.take().map(ChildStdout::from_std).transpose()?,
                stderr: std.stderr.take().map(ChildStderr::from_std).transpose()?,
            })
        };
        setup().inspect_err(|_| {
            let _ = sys::kill(pid, libc::SIGKILL);
            orphans::adopt(pid);
        })
    }

    /// The process id, until the child has been reaped (then `None`: the
    /// number may belong to another process).
    pub fn id(&self) -> Option<u32> {
        self.status.is_none().then_some(self.pid)
    }

    /// asyncio's `returncode`: the exit code, or minus the signal that
    /// ended the child; `None` until it has been reaped.
    pub fn returncode(&self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        let status = self.status?;
        status.code().or_else(|| status.signal().map(|s| -s))
    }

    /// Waits for the child to exit and reaps it (a checkpoint). Closes the
    /// child's standard input first, so a child reading it to its end
    /// cannot wait for us forever. Once reaped, returns the same status
    /// again.
    ///
    /// Cancelled, the wait leaves the child as it was: a later `wait`,
    /// `try_wait` or the drop still reaps it.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    /// Polls for the exit; see [`wait`](Child::wait) (the standard input is
    /// left open here).
    pub fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        current::checkpoint()?;
        if let Some(status) = self.status {
            return Poll::Ready(Ok(status));
        }
        let pid = self.pid;
        let status = match &mut self.watch {
            Watch::Pidfd(pidfd) => ready!(pidfd.poll_io(Direction::Read, cx, |_| {
                sys::try_reap(pid)?.ok_or_else(|| io::ErrorKind::WouldBlock.into())
            })),
            Watch::Sigchld { hub, slot } => ready!(hub.poll_exit(slot, cx, || sys::try_reap(pid))),
        }?;
        self.reaped(status);
        Poll::Ready(Ok(status))
    }

    /// Reaps the child if it has exited, without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let reaped = sys::try_reap(self.pid)?;
        if let Some(status) = reaped {
            self.reaped(status);
        }
        Ok(reaped)
    }

    fn reaped(&mut self, status: ExitStatus) {
        self.status = Some(status);
        if let Watch::Sigchld { hub, slot } = &mut self.watch {
            if let Some(id) = slot.take() {
                hub.unregister(id);
            }
        }
    }

    /// Sends `signal` (a number, e.g. `libc::SIGTERM`) to the child
    /// (asyncio's `send_signal`). A child that has exited but is not yet
    /// reaped accepts it silently; a reaped one is an error (its pid may
    /// have been reused).
    pub fn send_signal(&mut self, signal: i32) -> io::Result<()> {
        if self.status.is_some() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot signal a child that was already reaped"));
        }
        let sent = match &self.watch {
            Watch::Pidfd(pidfd) => sys::pidfd_send_signal(pidfd.get_ref().as_raw_fd(), signal),
            Watch::Sigchld { .. } => sys::kill(self.pid, signal),
        };
        match sent {
            // Exited, not yet reaped: nothing to signal.
            Err(err) if err.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            other => other,
        }
    }

    /// Asks the child to stop with `SIGTERM` (asyncio's `terminate`).
    pub fn terminate(&mut self) -> io::Result<()> {
        self.send_signal(libc::SIGTERM)
    }

    /// Sends `SIGKILL` without waiting (tokio's `start_kill`, asyncio's
    /// `kill`).
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.send_signal(libc::SIGKILL)
    }

    /// Kills the child with `SIGKILL` and waits for it (tokio's `kill`).
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// asyncio's `communicate(input)`: writes `input` to the standard input
    /// and closes it, reads the standard output and error to their ends
    /// (each empty if not piped), all at once, then waits for the exit.
    ///
    /// A child that exits without reading all of `input` is not an error
    /// (`BrokenPipe` on its input is ignored, as asyncio does).
    pub async fn communicate(&mut self, input: Option<&[u8]>) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let mut stdin = self.stdin.take();
        let input = input.unwrap_or_default();
        let mut written = 0;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (mut stdout, mut stderr) = (self.stdout.take(), self.stderr.take());
        poll_fn(|cx| {
            current::checkpoint()?;
            let fed = poll_feed(&mut stdin, cx, input, &mut written)?;
            let out_done = poll_drain(&mut stdout, cx, &mut out)?;
            let err_done = poll_drain(&mut stderr, cx, &mut err)?;
            match (fed, out_done, err_done) {
                (Poll::Ready(()), Poll::Ready(()), Poll::Ready(())) => Poll::Ready(Ok::<_, io::Error>(())),
                _ => Poll::Pending,
            }
        })
        .await?;
        self.wait().await?;
        Ok((out, err))
    }

    /// Reads the standard output and error to their ends and waits for the
    /// exit (tokio's `wait_with_output`).
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        let (stdout, stderr) = self.communicate(None).await?;
        let status = self.wait().await?;
        Ok(Output { status, stdout, stderr })
    }
}

/// Polls writing `input[*written..]` to the child's input, then closes it.
fn poll_feed(
    stdin: &mut Option<ChildStdin>,
    cx: &mut Context<'_>,
    input: &[u8],
    written: &mut usize,
) -> Poll<io::Result<()>> {
    let Some(pipe) = stdin.as_mut() else { return Poll::Ready(Ok(())) };
    while *written < input.len() {
        match Pin::new(&mut *pipe).poll_write(cx, &input[*written..]) {
            Poll::Ready(Ok(0)) => break,
            Poll::Ready(Ok(n)) => *written += n,
            Poll::Ready(Err(err))
                if matches!(err.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset) =>
            {
                break
            }
            Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
            Poll::Pending => return Poll::Pending,
        }
    }
    *stdin = None; // closes the pipe: the child reads end-of-file
    Poll::Ready(Ok(()))
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        if self.kill_on_drop {
            let _ = self.start_kill();
        }
        if let Watch::Sigchld { hub, slot: Some(id) } = &self.watch {
            hub.unregister(*id);
        }
        orphans::adopt(self.pid);
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let watch = match self.watch {
            Watch::Pidfd(_) => "pidfd",
            Watch::Sigchld { .. } => "SIGCHLD",
        };
        f.debug_struct("Child")
            .field("pid", &self.pid)
            .field("status", &self.status)
            .field("watch", &watch)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}
