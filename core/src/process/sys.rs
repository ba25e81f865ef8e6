//! The system calls behind children: reaping one child without blocking,
//! pidfds, signals.

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// Reaps `pid` if it has exited: `Ok(None)` while it runs. `ECHILD` (it
/// was reaped by someone else, e.g. a `waitpid(-1)` elsewhere in the
/// process, or `SIGCHLD` set to `SIG_IGN`) is an error saying so.
pub(crate) fn try_reap(pid: u32) -> io::Result<Option<ExitStatus>> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes one int through the pointer we own.
        let reaped = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
        match reaped {
            0 => return Ok(None),
            -1 => {
                let err = io::Error::last_os_error();
                match err.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::ECHILD) => {
                        return Err(io::Error::other(format!(
                            "child {pid} was reaped by someone else (a waitpid(-1) elsewhere, or SIGCHLD ignored)"
                        )))
                    }
                    _ => return Err(err),
                }
            }
            _ => return Ok(Some(ExitStatus::from_raw(status))),
        }
    }
}

/// A descriptor that becomes readable when `pid` exits (Linux 5.3+);
/// `None` where the kernel (or a sandbox) does not offer one.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes two integers; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a new descriptor that nobody else owns; make it close-on-exec
    // as every corio descriptor is (pidfd_open sets O_CLOEXEC itself).
    Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn pidfd_open(_pid: u32) -> Option<OwnedFd> {
    None
}

/// Sends `signal` through a pidfd (never to a recycled pid).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn pidfd_send_signal(pidfd: RawFd, signal: i32) -> io::Result<()> {
    // SAFETY: integers and a null siginfo, as the call allows.
    let sent = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd, signal, std::ptr::null::<()>(), 0) };
    if sent == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn pidfd_send_signal(_pidfd: RawFd, _signal: i32) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Sends `signal` to `pid` (only while it is known not to be reaped).
pub(crate) fn kill(pid: u32, signal: i32) -> io::Result<()> {
    // SAFETY: kill takes two integers.
    if unsafe { libc::kill(pid as libc::pid_t, signal) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
