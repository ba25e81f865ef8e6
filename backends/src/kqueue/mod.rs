//! The kqueue reactor (BSD, macOS): the translation between corio's
//! `Reactor` contract and kevent changes, in plain Rust over a syscall
//! trait.
//!
//! * `sys`: [`Kevent`] and [`KqueueSys`], the one system call.
//! * this module: [`KqueueReactor<S>`], generic over `S: KqueueSys`. It
//!   compiles and is unit-tested everywhere (on Linux against a mockall
//!   mock of `KqueueSys`).
//! * `shim` (only on macOS, iOS, FreeBSD, NetBSD, DragonFly): `OsKqueue`,
//!   the real `kqueue(2)`/`kevent(2)`, and `KqueueReactor::new()`.
//!   OpenBSD lacks `EVFILT_USER`, which `notify` uses, and is not supported.
//!
//! # Translation
//!
//! * **register** — one `EV_ADD | EV_CLEAR | EV_RECEIPT` change per wanted
//!   filter (`EVFILT_READ`, `EVFILT_WRITE`), `udata` = the loop's key.
//!   `EV_CLEAR` makes the filter edge-triggered and it stays installed:
//!   persistent, no re-arm. kqueue itself would treat a second `EV_ADD` as a
//!   modification, so `EEXIST` is enforced here from the registered set.
//!   `EV_RECEIPT` makes each change report its own errno: a closed
//!   descriptor fails with `EBADF`; `EPIPE` for the write filter of a pipe
//!   whose reader is gone is not an error (macOS reports it, the source is
//!   simply writable-and-broken).
//! * **modify** — `EV_ADD` (with the new key) for each wanted filter,
//!   `EV_DELETE` for each filter no longer wanted.
//! * **deregister** — `EV_DELETE` for each installed filter; `ENOENT` is
//!   ignored (closing a descriptor removes its filters already).
//! * **poll** — `EVFILT_READ` is readable, `EVFILT_WRITE` writable;
//!   `EV_ERROR` is both (the operation meets the error); events for one key
//!   that arrive next to each other are merged. The notifier's user event is
//!   consumed and reported as nothing.
//! * **notify** — `NOTE_TRIGGER` on the user event (`EVFILT_USER`, ident 0,
//!   installed with `EV_CLEAR`): callable from any thread, latched by the
//!   kernel until a `kevent` wait reports it.

mod sys;

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
mod shim;

#[cfg(test)]
mod tests;

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "dragonfly"
    )))
)]
pub use shim::OsKqueue;
pub use sys::{Filter, Flags, Kevent, KqueueSys, NOTE_TRIGGER};

use corio_core::reactor::{Event, Interest, Reactor};
use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The user event `notify` triggers.
pub const NOTIFY_IDENT: usize = 0;

/// Events fetched per `kevent` wait.
const EVENT_CAPACITY: usize = 1024;

/// A readiness reactor over a kqueue reached through `S`.
///
/// ```
/// use corio_backends::kqueue::{Kevent, KqueueReactor, KqueueSys};
/// use corio_core::reactor::{Interest, Reactor};
/// use std::time::Duration;
///
/// /// A kqueue that accepts every change and never has events.
/// struct Quiet;
/// impl KqueueSys for Quiet {
///     fn kevent(&self, changes: &[Kevent], events: &mut [Kevent], _: Option<Duration>) -> std::io::Result<usize> {
///         // With EV_RECEIPT, every change comes back with data = 0 (success).
///         let n = changes.len().min(events.len());
///         events[..n].copy_from_slice(&changes[..n]);
///         events[..n].iter_mut().for_each(|e| e.data = 0);
///         Ok(n)
///     }
/// }
/// let reactor = KqueueReactor::with_sys(Quiet).unwrap();
/// reactor.register(5, 1, Interest::BOTH).unwrap();
/// assert!(reactor.register(5, 2, Interest::BOTH).is_err()); // EEXIST
/// ```
#[derive(Debug)]
pub struct KqueueReactor<S> {
    sys: S,
    /// fd -> (key, interest). Only the loop's thread touches it.
    sources: Mutex<HashMap<RawFd, (usize, Interest)>>,
    /// The event buffer; taken once per `poll`, by the loop's thread only.
    buffer: Mutex<Vec<Kevent>>,
    registered: AtomicUsize,
}

fn filters(interest: Interest) -> impl Iterator<Item = Filter> {
    [(interest.readable, Filter::Read), (interest.writable, Filter::Write)]
        .into_iter()
        .filter_map(|(wanted, filter)| wanted.then_some(filter))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl<S: KqueueSys> KqueueReactor<S> {
    /// A reactor over `sys`; installs the notifier's user event.
    pub fn with_sys(sys: S) -> io::Result<Self> {
        let reactor = KqueueReactor {
            sys,
            sources: Mutex::new(HashMap::new()),
            buffer: Mutex::new(vec![Kevent::EMPTY; EVENT_CAPACITY]),
            registered: AtomicUsize::new(0),
        };
        let user = Kevent::change(NOTIFY_IDENT, Filter::User, Flags::ADD | Flags::CLEAR | Flags::RECEIPT, 0);
        reactor.apply(&[user], &[])?;
        Ok(reactor)
    }

    /// The syscall layer.
    pub fn sys(&self) -> &S {
        &self.sys
    }

    /// Descriptors currently registered.
    pub fn registered(&self) -> usize {
        self.registered.load(Ordering::Relaxed)
    }

    /// Applies `changes` with receipts; the first errno not in `ignore` is
    /// the error. Every change is applied either way (kqueue does not stop
    /// at a failed one when receipts are asked for).
    fn apply(&self, changes: &[Kevent], ignore: &[i32]) -> io::Result<()> {
        let mut receipts = [Kevent::EMPTY; 2];
        let receipts = &mut receipts[..changes.len().min(2)];
        debug_assert!(changes.len() <= 2, "at most one change per filter");
        let n = self.sys.kevent(changes, receipts, Some(Duration::ZERO))?;
        for receipt in &receipts[..n] {
            let errno = receipt.data as i32;
            if receipt.flags.contains(Flags::ERROR) && errno != 0 && !ignore.contains(&errno) {
                return Err(io::Error::from_raw_os_error(errno));
            }
        }
        Ok(())
    }
}

impl<S: KqueueSys> Reactor for KqueueReactor<S> {
    fn register(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        let mut sources = lock(&self.sources);
        if sources.contains_key(&fd) {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        let ident = fd as usize;
        let add = Flags::ADD | Flags::CLEAR | Flags::RECEIPT;
        let changes: Vec<Kevent> = filters(interest).map(|f| Kevent::change(ident, f, add, key)).collect();
        if let Err(err) = self.apply(&changes, &[libc::EPIPE]) {
            // Undo a filter that did get installed (ENOENT for the others).
            let undo: Vec<Kevent> =
                changes.iter().map(|c| Kevent::change(ident, c.filter, Flags::DELETE | Flags::RECEIPT, 0)).collect();
            let _ = self.apply(&undo, &[libc::ENOENT, libc::EBADF]);
            return Err(err);
        }
        sources.insert(fd, (key, interest));
        self.registered.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn modify(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        let mut sources = lock(&self.sources);
        let Some(entry) = sources.get_mut(&fd) else {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        };
        let ident = fd as usize;
        let old = entry.1;
        let mut changes: Vec<Kevent> = filters(interest)
            .map(|f| Kevent::change(ident, f, Flags::ADD | Flags::CLEAR | Flags::RECEIPT, key))
            .collect();
        changes.extend(
            filters(old)
                .filter(|f| !filters(interest).any(|g| g == *f))
                .map(|f| Kevent::change(ident, f, Flags::DELETE | Flags::RECEIPT, 0)),
        );
        self.apply(&changes, &[libc::EPIPE, libc::ENOENT])?;
        *entry = (key, interest);
        Ok(())
    }

    fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let mut sources = lock(&self.sources);
        let Some((_, interest)) = sources.remove(&fd) else {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        };
        self.registered.fetch_sub(1, Ordering::Relaxed);
        let changes: Vec<Kevent> =
            filters(interest).map(|f| Kevent::change(fd as usize, f, Flags::DELETE | Flags::RECEIPT, 0)).collect();
        self.apply(&changes, &[libc::ENOENT])
    }

    fn poll(&self, events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        let mut buffer = lock(&self.buffer);
        let n = match self.sys.kevent(&[], &mut buffer, timeout) {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => 0,
            Err(err) => return Err(err),
        };
        for kevent in &buffer[..n] {
            let error = kevent.flags.contains(Flags::ERROR);
            let (readable, writable) = match kevent.filter {
                Filter::User => continue, // the notification: consumed, no event
                Filter::Read => (true, error),
                Filter::Write => (error, true),
            };
            match events.last_mut() {
                Some(last) if last.key == kevent.udata => {
                    last.readable |= readable;
                    last.writable |= writable;
                }
                _ => events.push(Event { key: kevent.udata, readable, writable }),
            }
        }
        Ok(())
    }

    fn notify(&self) -> io::Result<()> {
        let mut trigger = Kevent::change(NOTIFY_IDENT, Filter::User, Flags::NONE, 0);
        trigger.fflags = NOTE_TRIGGER;
        self.sys.kevent(&[trigger], &mut [], Some(Duration::ZERO)).map(drop)
    }

    /// No registered descriptor means only `notify` can wake a poll.
    fn is_quiescent(&self) -> bool {
        self.registered() == 0
    }

    fn name(&self) -> &'static str {
        "kqueue"
    }
}
