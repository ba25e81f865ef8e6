//! The system-call seam under the kqueue reactor: a plain-Rust `Kevent` and
//! the one call the reactor makes, [`KqueueSys::kevent`].
//!
//! `struct kevent` differs between the BSDs (field types, FreeBSD's `ext`
//! array), and it does not exist on Linux; the translation works on this
//! type instead, and the OS shim converts at the boundary. Under test the
//! trait is mocked with mockall.

use std::io;
use std::time::Duration;

/// Which kernel filter a change or event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    /// `EVFILT_READ`: readable (or end of stream, or an error).
    Read,
    /// `EVFILT_WRITE`: writable (or the peer stopped reading).
    Write,
    /// `EVFILT_USER`: a user event, triggered by `notify`.
    User,
}

/// `EV_*` flags (the bits are corio's own; the shim maps them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Flags(pub u16);

impl Flags {
    /// No flag.
    pub const NONE: Flags = Flags(0);
    /// `EV_ADD`: add the filter, or modify it if present.
    pub const ADD: Flags = Flags(1 << 0);
    /// `EV_DELETE`: remove the filter.
    pub const DELETE: Flags = Flags(1 << 1);
    /// `EV_CLEAR`: reset the state after reporting — edge-triggered.
    pub const CLEAR: Flags = Flags(1 << 2);
    /// `EV_RECEIPT`: report each change's result as an event, with
    /// `EV_ERROR` set and the errno (or 0) in `data`.
    pub const RECEIPT: Flags = Flags(1 << 3);
    /// `EV_EOF`: the other side is gone (in events).
    pub const EOF: Flags = Flags(1 << 4);
    /// `EV_ERROR`: an error (in events), or a receipt.
    pub const ERROR: Flags = Flags(1 << 5);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// `NOTE_TRIGGER`: fire a user event.
pub const NOTE_TRIGGER: u32 = 0x0100_0000;

/// One change or event, as `struct kevent` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kevent {
    /// The descriptor (or the user event's id).
    pub ident: usize,
    /// The filter.
    pub filter: Filter,
    /// `EV_*` flags.
    pub flags: Flags,
    /// Filter-specific flags (`NOTE_TRIGGER`).
    pub fflags: u32,
    /// Filter-specific data; the errno of a receipt.
    pub data: i64,
    /// The reactor's key for the source.
    pub udata: usize,
}

impl Kevent {
    /// A change: `filter` on `ident` with `flags`, tagged `udata`.
    pub const fn change(ident: usize, filter: Filter, flags: Flags, udata: usize) -> Kevent {
        Kevent { ident, filter, flags, fflags: 0, data: 0, udata }
    }

    /// An empty slot for `kevent` to fill.
    pub const EMPTY: Kevent = Kevent::change(0, Filter::User, Flags::NONE, 0);
}

/// The kqueue system call, on one kqueue.
#[cfg_attr(test, mockall::automock)]
pub trait KqueueSys: Send + Sync + 'static {
    /// `kevent(2)`: applies `changes` in order, then fills `events` with up
    /// to `events.len()` events (receipts first), waiting at most `timeout`
    /// (`None`: until something happens) when there is nothing to report.
    /// Returns how many entries of `events` were filled.
    fn kevent(&self, changes: &[Kevent], events: &mut [Kevent], timeout: Option<Duration>) -> io::Result<usize>;
}
