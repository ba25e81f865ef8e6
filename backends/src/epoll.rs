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
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::sync::mpsc;

    /// A descriptor number that is never open (above any per-process limit).
    const NEVER_OPEN: RawFd = i32::MAX - 1;

    fn pair() -> (UnixStream, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    /// Polls without blocking.
    fn poll_now(reactor: &EpollReactor) -> Vec<Event> {
        let mut events = Vec::new();
        reactor.poll(&mut events, Some(Duration::ZERO)).unwrap();
        events
    }

    fn for_key(events: &[Event], key: usize) -> Vec<Event> {
        events.iter().copied().filter(|e| e.key == key).collect()
    }

    fn drain(mut s: &UnixStream) {
        let mut buf = [0u8; 4096];
        while s.read(&mut buf).is_ok_and(|n| n > 0) {}
    }

    #[test]
    fn register_reports_current_readiness_once() {
        let reactor = EpollReactor::new().unwrap();
        let (a, _b) = pair();
        reactor.register(a.as_raw_fd(), 1, Interest::BOTH).unwrap();
        assert_eq!(reactor.registered(), 1);
        // A fresh socket is writable: one edge, at registration.
        let events = for_key(&poll_now(&reactor), 1);
        assert_eq!(events, [Event { key: 1, readable: false, writable: true }]);
        // Edge-triggered: no new edge, no new event.
        assert!(poll_now(&reactor).is_empty());
        reactor.deregister(a.as_raw_fd()).unwrap();
    }

    #[test]
    fn each_edge_is_reported_once_without_rearming() {
        let reactor = EpollReactor::new().unwrap();
        let (a, mut b) = pair();
        reactor.register(a.as_raw_fd(), 7, Interest::READABLE).unwrap();
        assert!(poll_now(&reactor).is_empty(), "nothing to read yet");

        b.write_all(b"one").unwrap();
        let events = poll_now(&reactor);
        assert_eq!(events, [Event { key: 7, readable: true, writable: false }]);
        // Still readable (nothing was read), but the edge was reported.
        assert!(poll_now(&reactor).is_empty(), "an edge is reported once");

        // More data is a new edge; the registration is persistent, no re-arm.
        b.write_all(b"two").unwrap();
        assert_eq!(for_key(&poll_now(&reactor), 7).len(), 1);

        drain(&a);
        assert!(poll_now(&reactor).is_empty());
        b.write_all(b"three").unwrap();
        assert_eq!(for_key(&poll_now(&reactor), 7).len(), 1);
        reactor.deregister(a.as_raw_fd()).unwrap();
    }

    #[test]
    fn hangup_is_reported_as_readable() {
        let reactor = EpollReactor::new().unwrap();
        let (a, b) = pair();
        reactor.register(a.as_raw_fd(), 3, Interest::READABLE).unwrap();
        assert!(poll_now(&reactor).is_empty());
        drop(b);
        let events = for_key(&poll_now(&reactor), 3);
        assert_eq!(events.len(), 1);
        assert!(events[0].readable);
        reactor.deregister(a.as_raw_fd()).unwrap();
    }

    #[test]
    fn modify_changes_interest_and_key() {
        let reactor = EpollReactor::new().unwrap();
        let (a, mut b) = pair();
        let fd = a.as_raw_fd();
        reactor.register(fd, 1, Interest::BOTH).unwrap();
        poll_now(&reactor); // the initial writable edge

        reactor.modify(fd, 2, Interest::READABLE).unwrap();
        assert!(poll_now(&reactor).iter().all(|e| e.key == 2 && !e.writable), "writability is no longer watched");
        b.write_all(b"x").unwrap();
        let events = poll_now(&reactor);
        assert!(!events.is_empty());
        assert!(events.iter().all(|e| e.key == 2 && e.readable && !e.writable), "{events:?}");

        // Back to both directions: the current state is reported under the new key.
        reactor.modify(fd, 5, Interest::BOTH).unwrap();
        let events = poll_now(&reactor);
        assert!(events.iter().all(|e| e.key == 5), "{events:?}");
        assert!(events.iter().any(|e| e.writable), "{events:?}");
        reactor.deregister(fd).unwrap();
    }

    #[test]
    fn deregistered_sources_report_nothing() {
        let reactor = EpollReactor::new().unwrap();
        let (a, mut b) = pair();
        let fd = a.as_raw_fd();
        reactor.register(fd, 1, Interest::BOTH).unwrap();
        assert!(!reactor.is_quiescent());
        reactor.deregister(fd).unwrap();
        assert_eq!(reactor.registered(), 0);
        assert!(reactor.is_quiescent());
        b.write_all(b"ignored").unwrap();
        assert!(poll_now(&reactor).is_empty());
        // Errors for what is not registered; the count does not move.
        assert!(reactor.deregister(fd).is_err());
        assert!(reactor.modify(fd, 1, Interest::BOTH).is_err());
        assert_eq!(reactor.registered(), 0);
    }

    #[test]
    fn registration_errors() {
        let reactor = EpollReactor::new().unwrap();
        let err = reactor.register(NEVER_OPEN, 1, Interest::BOTH).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
        let (a, _b) = pair();
        reactor.register(a.as_raw_fd(), 1, Interest::BOTH).unwrap();
        let err = reactor.register(a.as_raw_fd(), 2, Interest::BOTH).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
        assert_eq!(reactor.registered(), 1, "failed registrations are not counted");
        reactor.deregister(a.as_raw_fd()).unwrap();
    }

    #[test]
    fn notify_is_latched_until_a_poll_consumes_it() {
        let reactor = EpollReactor::new().unwrap();
        reactor.notify().unwrap();
        reactor.notify().unwrap();
        let mut events = Vec::new();
        // Returns at once: the notification is latched.
        reactor.poll(&mut events, None).unwrap();
        assert!(events.is_empty(), "a notification is not an event");
        // Consumed: a zero-timeout poll finds nothing either.
        assert!(poll_now(&reactor).is_empty());
    }

    #[test]
    fn notify_from_another_thread_wakes_a_blocked_poll() {
        let reactor = std::sync::Arc::new(EpollReactor::new().unwrap());
        let (tx, rx) = mpsc::channel::<()>();
        let notifier = {
            let reactor = reactor.clone();
            std::thread::spawn(move || {
                rx.recv().unwrap();
                reactor.notify().unwrap();
            })
        };
        tx.send(()).unwrap();
        // Blocks until the notify (before or during this poll: either way).
        reactor.poll(&mut Vec::new(), None).unwrap();
        notifier.join().unwrap();
    }

    #[test]
    fn an_event_wakes_a_poll_with_no_timeout() {
        let reactor = std::sync::Arc::new(EpollReactor::new().unwrap());
        let (a, b) = pair();
        reactor.register(a.as_raw_fd(), 9, Interest::READABLE).unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let writer = std::thread::spawn(move || {
            rx.recv().unwrap();
            (&b).write_all(b"wake").unwrap();
            b
        });
        tx.send(()).unwrap();
        let mut events = Vec::new();
        while events.is_empty() {
            reactor.poll(&mut events, None).unwrap();
        }
        assert_eq!(events, [Event { key: 9, readable: true, writable: false }]);
        let _b = writer.join().unwrap();
        reactor.deregister(a.as_raw_fd()).unwrap();
    }

    #[test]
    fn poll_appends_to_the_buffer() {
        let reactor = EpollReactor::new().unwrap();
        let (a, _b) = pair();
        reactor.register(a.as_raw_fd(), 4, Interest::WRITABLE).unwrap();
        let sentinel = Event { key: 99, readable: false, writable: false };
        let mut events = vec![sentinel];
        reactor.poll(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events[0], sentinel, "existing entries are kept");
        assert_eq!(events[1..], [Event { key: 4, readable: false, writable: true }]);
        reactor.deregister(a.as_raw_fd()).unwrap();
    }

    #[test]
    fn large_keys_round_trip() {
        // The loop puts a generation in the high half of the key.
        let reactor = EpollReactor::new().unwrap();
        let (a, _b) = pair();
        let key = (3usize << 32) | 17;
        reactor.register(a.as_raw_fd(), key, Interest::WRITABLE).unwrap();
        assert_eq!(for_key(&poll_now(&reactor), key).len(), 1);
        reactor.deregister(a.as_raw_fd()).unwrap();
    }
}
