//! The epoll reactor, over the `polling` crate.
//!
//! Sources are registered once, edge-triggered (`PollMode::Edge`), for both
//! directions: after an event the source stays armed, so no `epoll_ctl` call
//! follows an event (smol's `async-io` re-arms one-shot registrations with
//! `epoll_ctl(MOD)` after each event, about 300 ns apiece). The loop caches
//! readiness and clears it on `WouldBlock` (see `corio_core::io`).

use corio_core::reactor::{Event, Interest, Reactor};
use polling::{PollMode, Poller};
use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// An epoll instance with an eventfd for [`Reactor::notify`].
///
/// ```
/// use corio_backends::epoll::EpollReactor;
/// use corio_core::reactor::Reactor;
/// use std::time::Duration;
///
/// let reactor = EpollReactor::new().unwrap();
/// reactor.notify().unwrap();
/// let mut events = Vec::new();
/// reactor.poll(&mut events, Some(Duration::from_secs(10))).unwrap(); // returns at once
/// assert!(events.is_empty());
/// ```
#[derive(Debug)]
pub struct EpollReactor {
    poller: Poller,
    /// The event buffer. Only the loop's thread polls, so the lock is never
    /// contended; it is taken once per `poll` (not per operation), next to
    /// an `epoll_wait` that costs far more.
    events: Mutex<polling::Events>,
    registered: AtomicUsize,
}

impl EpollReactor {
    /// Creates the epoll instance.
    pub fn new() -> io::Result<EpollReactor> {
        let poller = Poller::new()?;
        debug_assert!(poller.supports_edge(), "epoll supports edge-triggered mode");
        Ok(EpollReactor { poller, events: Mutex::new(polling::Events::new()), registered: AtomicUsize::new(0) })
    }

    /// Descriptors currently registered.
    pub fn registered(&self) -> usize {
        self.registered.load(Ordering::Relaxed)
    }
}

fn to_event(key: usize, interest: Interest) -> polling::Event {
    polling::Event::new(key, interest.readable, interest.writable)
}

impl Reactor for EpollReactor {
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
}

#[cfg(test)]
mod contract_tests {
    use super::EpollReactor;
    crate::contract::reactor_contract_tests!(EpollReactor::new().unwrap());
}
