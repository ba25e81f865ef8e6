//! The portable reactor, over the `polling` crate: epoll on Linux, kqueue
//! on macOS and the BSDs, behind one API.
//!
//! It exists for platforms and builds that want one well-trodden
//! readiness layer instead of corio's own system-call backends, at a known
//! price: `polling`'s `wait` arms a timerfd (Linux) and re-arms its notifier
//! around every wait, three system calls more per wait than
//! [`epoll`](crate::epoll) makes (see `docs/backends.md`). Sources are
//! registered once, edge-triggered (`PollMode::Edge`), for both directions,
//! so no re-arm follows an event; the loop caches readiness and clears it on
//! `WouldBlock` (see `corio_core::io`). A platform whose poller cannot do
//! edge-triggered registration (illumos' event ports) gets an
//! `Unsupported` error from [`PortableReactor::new`], not a reactor that
//! breaks the contract.

use corio_core::reactor::{Event, Interest, Reactor};
use polling::{PollMode, Poller};
use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A `polling::Poller` as a corio [`Reactor`].
///
/// ```
/// use corio_backends::portable::PortableReactor;
/// use corio_core::reactor::Reactor;
/// use std::time::Duration;
///
/// let reactor = PortableReactor::new().unwrap();
/// reactor.notify().unwrap();
/// let mut events = Vec::new();
/// reactor.poll(&mut events, Some(Duration::from_secs(10))).unwrap(); // returns at once
/// assert!(events.is_empty());
/// ```
#[derive(Debug)]
pub struct PortableReactor {
    poller: Poller,
    /// The event buffer. Only the loop's thread polls, so the lock is never
    /// contended; it is taken once per `poll`, next to a system call that
    /// costs far more.
    events: Mutex<polling::Events>,
    registered: AtomicUsize,
}

impl PortableReactor {
    /// Creates the poller; `Unsupported` where it cannot be edge-triggered.
    pub fn new() -> io::Result<PortableReactor> {
        let poller = Poller::new()?;
        if !poller.supports_edge() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this platform's poller has no edge-triggered mode, which corio's reactor contract needs",
            ));
        }
        Ok(PortableReactor { poller, events: Mutex::new(polling::Events::new()), registered: AtomicUsize::new(0) })
    }

    /// Descriptors currently registered.
    pub fn registered(&self) -> usize {
        self.registered.load(Ordering::Relaxed)
    }
}

fn to_event(key: usize, interest: Interest) -> polling::Event {
    polling::Event::new(key, interest.readable, interest.writable)
}

impl Reactor for PortableReactor {
    fn register(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        // SAFETY: the reactor contract: the loop deregisters `fd` before it
        // is closed. A closed `fd` fails here with EBADF, a registered one
        // with EEXIST.
        unsafe { self.poller.add_with_mode(fd, to_event(key, interest), PollMode::Edge)? };
        self.registered.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn modify(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        // SAFETY: `fd` is registered, hence open (reactor contract).
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        self.poller.modify_with_mode(fd, to_event(key, interest), PollMode::Edge)
    }

    fn deregister(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: `fd` is registered, hence open (reactor contract).
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        self.poller.delete(fd)?;
        self.registered.fetch_sub(1, Ordering::Relaxed);
        Ok(())
    }

    fn poll(&self, events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        let mut buffer = self.events.lock().unwrap_or_else(|e| e.into_inner());
        buffer.clear();
        self.poller.wait(&mut buffer, timeout)?;
        events.extend(buffer.iter().map(|e| Event { key: e.key, readable: e.readable, writable: e.writable }));
        Ok(())
    }

    fn notify(&self) -> io::Result<()> {
        self.poller.notify()
    }

    /// No registered descriptor means only `notify` can wake a poll.
    fn is_quiescent(&self) -> bool {
        self.registered() == 0
    }

    fn name(&self) -> &'static str {
        "portable"
    }
}

#[cfg(test)]
mod contract_tests {
    use super::PortableReactor;
    crate::contract::reactor_contract_tests!(PortableReactor::new().unwrap());
}
