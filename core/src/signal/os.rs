//! The operating-system side: the signal handler, the self-pipe it writes
//! to, and installing or restoring a signal's disposition.
//!
//! # Invariants
//!
//! * The handler is async-signal-safe: it stores to a static atomic flag,
//!   `write(2)`s one byte to the pipe, and restores `errno`. It allocates,
//!   locks and panics never.
//! * The flag is set before the byte is written, so whoever reads the byte
//!   and then takes the flags sees the signal (a later reader sees it too:
//!   flags are only cleared by taking them).
//! * The pipe is created once and never closed: a handler running on some
//!   thread while the last listener goes away still writes to a valid
//!   descriptor. Both ends are non-blocking and close-on-exec; a full pipe
//!   drops the byte, which is harmless (a byte is already waiting).
//!
//! This state is process-wide, like signal dispositions themselves, so it
//! lives in `std` statics rather than the loom seam: no loom model runs a
//! signal handler.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::OnceLock;

/// Signal numbers handled: 1..=64 (Linux's `SIGRTMAX` is 64).
pub(crate) const MAX_SIGNAL: i32 = 64;

/// `PENDING[n]`: signal `n` arrived and nobody has taken it yet.
static PENDING: [AtomicBool; MAX_SIGNAL as usize + 1] = [const { AtomicBool::new(false) }; MAX_SIGNAL as usize + 1];

/// The pipe's write end, for the handler (-1 before the pipe exists).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

/// The pipe's read end; listeners read duplicates of it.
static PIPE: OnceLock<OwnedFd> = OnceLock::new();

extern "C" fn on_signal(signal: libc::c_int) {
    let errno = errno();
    if (1..=MAX_SIGNAL).contains(&signal) {
        PENDING[signal as usize].store(true, Ordering::SeqCst);
    }
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; `fd` is the pipe's write
        // end, which is never closed; the buffer is one live byte. A full
        // pipe (EAGAIN) already holds a wake-up byte, so the result is moot.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    set_errno(errno);
}

/// Takes signal `n`'s pending flag.
pub(crate) fn take_pending(signal: i32) -> bool {
    let flag = &PENDING[signal as usize];
    // A plain load first: a listener looks at all 64 flags per wake-up, and
    // almost all of them are clear.
    flag.load(Ordering::SeqCst) && flag.swap(false, Ordering::SeqCst)
}

/// A new descriptor for the pipe's read end (creating the pipe on first
/// use), for one listener to register with its loop's reactor.
pub(crate) fn pipe_reader() -> io::Result<OwnedFd> {
    let read = match PIPE.get() {
        Some(read) => read,
        None => {
            let (read, write) = new_pipe()?;
            match PIPE.set(read) {
                Ok(()) => {
                    // Published after the read end: a handler that sees
                    // the write end can always be read from. Leaked on
                    // purpose: see the module invariants.
                    WAKE_FD.store(std::mem::ManuallyDrop::new(write).as_raw_fd(), Ordering::SeqCst);
                }
                Err(_) => drop(write), // another thread made the pipe first
            }
            PIPE.get().expect("set above or by the winner")
        }
    };
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a descriptor we own; no memory is
    // passed. The new descriptor is ours alone.
    let fd = unsafe { libc::fcntl(read.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if fd == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by fcntl and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn new_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2(2) writes two descriptors into the array we pass; both
    // are created non-blocking and close-on-exec in one step.
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let created = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != -1;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let created = pipe_with_flags(&mut fds);
    if !created {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and belong to us.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Where there is no pipe2: pipe, then the flags (a fork in between could
/// leak the descriptors into a child; acceptable where the OS leaves no
/// choice).
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn pipe_with_flags(fds: &mut [RawFd; 2]) -> bool {
    // SAFETY: pipe(2) writes two descriptors into the array; fcntl on
    // descriptors we own passes no memory.
    unsafe {
        libc::pipe(fds.as_mut_ptr()) != -1
            && fds.iter().all(|&fd| {
                let flags = libc::fcntl(fd, libc::F_GETFL);
                flags != -1
                    && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) != -1
                    && libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) != -1
            })
    }
}

/// A signal's disposition before corio took it over.
pub(crate) struct Previous(libc::sigaction);

// SAFETY: a `sigaction` is plain data (a handler address, flags, a mask).
unsafe impl Send for Previous {}

/// Routes `signal` to the handler; returns the disposition it replaced.
pub(crate) fn install(signal: i32) -> io::Result<Previous> {
    // SAFETY: a zeroed sigaction is a valid "default, no flags, empty mask"
    // value; we fill in the handler and flags before use.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SA_RESTART: blocking calls on other threads resume instead of failing
    // with EINTR because of us. (The loop's own wait returns early anyway.)
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: sigemptyset initializes the mask we own.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: as above; sigaction reads `action` and writes `previous`.
    let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live sigaction values.
    if unsafe { libc::sigaction(signal, &action, &mut previous) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(Previous(previous))
}

/// Puts back the disposition `install` replaced.
pub(crate) fn restore(signal: i32, previous: &Previous) {
    // SAFETY: `previous.0` is what sigaction gave us for this signal; the
    // old-action pointer may be null.
    unsafe { libc::sigaction(signal, &previous.0, std::ptr::null_mut()) };
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: returns the calling thread's errno slot; always valid.
    unsafe { libc::__errno_location() }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: as above (the BSDs' and macOS's name for it).
    unsafe { libc::__error() }
}

fn errno() -> libc::c_int {
    // SAFETY: the thread's errno slot is valid for the thread's lifetime.
    unsafe { *errno_location() }
}

fn set_errno(value: libc::c_int) {
    // SAFETY: as above.
    unsafe { *errno_location() = value };
}
