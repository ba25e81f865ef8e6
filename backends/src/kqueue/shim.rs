//! The OS side of the kqueue reactor: `kqueue(2)` and `kevent(2)`, and the
//! conversion between corio's [`Kevent`] and the platform's `struct kevent`.
//!
//! Compiled only on macOS, iOS, FreeBSD, NetBSD and DragonFly: everything
//! above it (the translation) is tested on Linux against a mock, this file
//! only where it can run.

use super::sys::{Filter, Flags, Kevent, KqueueSys};
use super::KqueueReactor;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// A kqueue descriptor.
#[derive(Debug)]
pub struct OsKqueue {
    fd: OwnedFd,
}

impl OsKqueue {
    /// Creates a kqueue (close-on-exec).
    pub fn new() -> io::Result<OsKqueue> {
        // SAFETY: kqueue takes no arguments; the result is checked.
        let fd = unsafe { libc::kqueue() };
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: fcntl on a descriptor we own.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(OsKqueue { fd })
    }
}

impl KqueueReactor<OsKqueue> {
    /// A reactor over a new kqueue.
    pub fn new() -> io::Result<Self> {
        KqueueReactor::with_sys(OsKqueue::new()?)
    }
}

fn to_os(ev: &Kevent) -> libc::kevent {
    // SAFETY: `struct kevent` is plain data; all-zero is a valid value
    // (and clears FreeBSD's `ext` array).
    let mut out: libc::kevent = unsafe { std::mem::zeroed() };
    out.ident = ev.ident as _;
    out.filter = match ev.filter {
        Filter::Read => libc::EVFILT_READ,
        Filter::Write => libc::EVFILT_WRITE,
        Filter::User => libc::EVFILT_USER,
    };
    let mut flags = 0;
    for (ours, theirs) in [
        (Flags::ADD, libc::EV_ADD),
        (Flags::DELETE, libc::EV_DELETE),
        (Flags::CLEAR, libc::EV_CLEAR),
        (Flags::RECEIPT, libc::EV_RECEIPT),
    ] {
        if ev.flags.contains(ours) {
            flags |= theirs;
        }
    }
    out.flags = flags as _;
    out.fflags = if ev.fflags & super::sys::NOTE_TRIGGER != 0 { libc::NOTE_TRIGGER } else { 0 };
    out.data = ev.data as _;
    out.udata = ev.udata as _;
    out
}

fn from_os(ev: &libc::kevent) -> Kevent {
    let filter = if ev.filter == libc::EVFILT_READ {
        Filter::Read
    } else if ev.filter == libc::EVFILT_WRITE {
        Filter::Write
    } else {
        Filter::User
    };
    // `flags` and the `EV_*` constants are u16 on macOS and FreeBSD, u32 on
    // NetBSD: compared as u32 everywhere.
    let os_flags = ev.flags as u32;
    let mut flags = Flags::NONE;
    if os_flags & libc::EV_EOF as u32 != 0 {
        flags = flags | Flags::EOF;
    }
    if os_flags & libc::EV_ERROR as u32 != 0 {
        flags = flags | Flags::ERROR;
    }
    Kevent { ident: ev.ident as usize, filter, flags, fflags: 0, data: ev.data as i64, udata: ev.udata as usize }
}

impl KqueueSys for OsKqueue {
    fn kevent(&self, changes: &[Kevent], events: &mut [Kevent], timeout: Option<Duration>) -> io::Result<usize> {
        // Converted on the stack: the reactor sends at most two changes and
        // the poll path must not allocate. `struct kevent` holds a raw
        // pointer on some systems, so it cannot live in a shared buffer.
        const CHANGES: usize = 4;
        const EVENTS: usize = 256;
        assert!(changes.len() <= CHANGES, "the reactor sends at most {CHANGES} changes at once");
        // SAFETY: `struct kevent` is plain data; all-zero is a valid value.
        let mut os_changes: [libc::kevent; CHANGES] = unsafe { std::mem::zeroed() };
        for (slot, change) in os_changes.iter_mut().zip(changes) {
            *slot = to_os(change);
        }
        // SAFETY: as above.
        let mut out: [libc::kevent; EVENTS] = unsafe { std::mem::zeroed() };
        let capacity = events.len().min(EVENTS);
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: t.subsec_nanos() as _,
        });
        let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: the pointers and lengths describe live arrays of
        // `struct kevent`; the kernel writes at most `capacity` entries.
        let n = unsafe {
            libc::kevent(
                self.fd.as_raw_fd(),
                os_changes.as_ptr(),
                changes.len() as _,
                out.as_mut_ptr(),
                capacity as _,
                ts_ptr,
            )
        };
        if n == -1 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for (slot, ev) in events.iter_mut().zip(&out[..n]) {
            *slot = from_os(ev);
        }
        Ok(n)
    }
}
