//! Children nobody will wait for: dropped before they were reaped (killed
//! first with `kill_on_drop`), typically when their task was cancelled or
//! their loop tore down.
//!
//! One reaper thread, started when the first orphan still runs and gone
//! when the last one is reaped, waits for all of them at once with
//! `poll(2)` on their pidfds (or, without pidfds, looks every 50 ms), and
//! reaps each as it exits: no zombie is left behind, whichever loop (if
//! any) is still alive. It is one thread for every orphan of the process,
//! never one per child.

use super::sys;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Without pidfds, how often the reaper looks.
const POLL_EVERY: Duration = Duration::from_millis(50);

struct Orphan {
    pid: u32,
    pidfd: Option<OwnedFd>,
}

#[derive(Default)]
struct Reaper {
    orphans: Vec<Orphan>,
    running: bool,
    /// The running reaper's eventfd, written to when an orphan arrives so
    /// that its `poll` includes it; closed when the reaper exits.
    wake: Option<Arc<OwnedFd>>,
}

static REAPER: Mutex<Reaper> = Mutex::new(Reaper { orphans: Vec::new(), running: false, wake: None });

fn lock() -> MutexGuard<'static, Reaper> {
    REAPER.lock().unwrap_or_else(|e| e.into_inner())
}

/// How many orphans are still waited for (for tests and debugging).
pub(crate) fn pending() -> usize {
    lock().orphans.len()
}

/// Takes `pid` (an unreaped child of ours) into the reaper's care.
pub(crate) fn adopt(pid: u32) {
    if !matches!(sys::try_reap(pid), Ok(None)) {
        return; // reaped now (or not ours to reap)
    }
    let orphan = Orphan { pid, pidfd: sys::pidfd_open(pid) };
    let mut reaper = lock();
    reaper.orphans.push(orphan);
    if reaper.running {
        let wake = reaper.wake.clone();
        drop(reaper);
        if let Some(wake) = wake {
            notify(&wake);
        }
        return;
    }
    reaper.running = true;
    reaper.wake = eventfd();
    drop(reaper);
    let started = std::thread::Builder::new().name("corio-reaper".into()).spawn(run);
    if started.is_err() {
        // No thread: the next orphan tries again; meanwhile these stay
        // zombies (the OS could not give us a thread).
        let mut reaper = lock();
        reaper.running = false;
        reaper.wake = None;
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn eventfd() -> Option<Arc<OwnedFd>> {
    use std::os::fd::FromRawFd;
    // SAFETY: eventfd takes no pointers; the result is checked.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    // SAFETY: a new descriptor nobody else owns.
    (fd >= 0).then(|| Arc::new(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// No eventfd off Linux: the reaper then looks again on a timer (`blind`).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn eventfd() -> Option<Arc<OwnedFd>> {
    None
}

fn notify(wake: &OwnedFd) {
    let one = 1u64.to_ne_bytes();
    // SAFETY: writes 8 bytes from a buffer of 8 to our eventfd.
    unsafe { libc::write(wake.as_raw_fd(), one.as_ptr().cast(), one.len()) };
}

/// The reaper thread: reap what exited, wait for the next exit, repeat
/// until nobody is left.
fn run() {
    loop {
        let mut fds = Vec::new();
        let mut blind = false;
        let wake = {
            let mut reaper = lock();
            reaper.orphans.retain(|o| matches!(sys::try_reap(o.pid), Ok(None)));
            if reaper.orphans.is_empty() {
                reaper.running = false;
                reaper.wake = None;
                return;
            }
            for orphan in &reaper.orphans {
                match &orphan.pidfd {
                    Some(fd) => fds.push(libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 }),
                    None => blind = true,
                }
            }
            match &reaper.wake {
                Some(wake) => fds.push(libc::pollfd { fd: wake.as_raw_fd(), events: libc::POLLIN, revents: 0 }),
                None => blind = true,
            }
            reaper.wake.clone()
        };
        // The pidfds stay open while we wait: only this thread removes
        // orphans, after the wait.
        let timeout = if blind { POLL_EVERY.as_millis() as libc::c_int } else { -1 };
        // SAFETY: `fds` is a valid array of pollfd for its length.
        let polled = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if polled == -1 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            std::thread::sleep(POLL_EVERY);
        }
        if let Some(wake) = wake {
            let mut counter = [0u8; 8];
            // SAFETY: reads 8 bytes into a buffer of 8; non-blocking.
            unsafe { libc::read(wake.as_raw_fd(), counter.as_mut_ptr().cast(), counter.len()) };
        }
    }
}
