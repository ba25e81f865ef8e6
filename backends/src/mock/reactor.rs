//! `MockReactor`: readiness by injection, faults on demand, and a record of
//! every call the loop makes.

use corio_core::reactor::{Event, Interest, Reactor};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// One call to [`Reactor::poll`], as the mock saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollRecord {
    /// The timeout the loop passed.
    pub timeout: Option<Duration>,
    /// How many events the call returned.
    pub events: usize,
}

#[derive(Debug, Default)]
struct State {
    /// fd -> (key, interest)
    registered: HashMap<RawFd, (usize, Interest)>,
    pending: VecDeque<Event>,
    notified: bool,
    /// Deliver each event this many extra times (fault injection).
    duplicates: usize,
    polls: Vec<PollRecord>,
    notifies: usize,
    /// Refuse descriptors that are not the simulated network's
    /// ([`MockReactor::simulated`]).
    simulated_only: bool,
    /// Simulated sockets declared by the network and not yet registered:
    /// each mark is consumed by the registration that follows it.
    simulated: HashSet<RawFd>,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    wake: Condvar,
    /// Live `MockInjector`s: while any exists, another thread may inject.
    injectors: AtomicUsize,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A reactor whose readiness is injected by the test.
///
/// Registration follows the real contract — a closed descriptor is refused
/// with `EBADF`, a registered one with `AlreadyExists` — so code under test
/// meets the same errors as on epoll. Readiness never happens by itself:
/// [`inject`](MockReactor::inject) (or an injector from another thread)
/// delivers it.
///
/// ```
/// use corio_backends::mock::MockReactor;
/// use corio_core::reactor::{Interest, Reactor};
///
/// let reactor = MockReactor::new();
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// let fd = std::os::fd::AsRawFd::as_raw_fd(&a);
/// reactor.register(fd, 7, Interest::BOTH).unwrap();
/// assert!(reactor.register(fd, 7, Interest::BOTH).is_err()); // already registered
/// reactor.inject_readable(fd);
/// let mut events = Vec::new();
/// reactor.poll(&mut events, None).unwrap();
/// assert_eq!(events[0].key, 7);
/// ```
#[derive(Debug, Default)]
pub struct MockReactor {
    inner: Arc<Inner>,
}

/// Injects readiness into a [`MockReactor`] from anywhere (another thread,
/// a task on the loop). While one exists the loop does not report a
/// deadlock, since an injection may still come.
#[derive(Debug)]
pub struct MockInjector {
    inner: Arc<Inner>,
}

impl Clone for MockInjector {
    fn clone(&self) -> Self {
        self.inner.injectors.fetch_add(1, Ordering::SeqCst);
        MockInjector { inner: self.inner.clone() }
    }
}

impl Drop for MockInjector {
    fn drop(&mut self) {
        if self.inner.injectors.fetch_sub(1, Ordering::SeqCst) == 1 {
            // The last injector: a loop parked in `poll` because one existed
            // must wake up and look again, or a deadlock (L5) would hang.
            // Latched like a notify, so a poll that starts later sees it too.
            self.inner.lock().notified = true;
            self.inner.wake.notify_all();
        }
    }
}

fn inject(inner: &Inner, fd: RawFd, readable: bool, writable: bool) -> bool {
    let mut state = inner.lock();
    let Some(&(key, _)) = state.registered.get(&fd) else {
        return false;
    };
    state.pending.push_back(Event { key, readable, writable });
    drop(state);
    inner.wake.notify_all();
    true
}

/// Injects from code running on the loop's own thread (the simulated
/// network). Unlike a [`MockInjector`] it does not keep the loop from
/// reporting a deadlock: everything it will ever inject is caused by the
/// loop running (a socket operation, a delivery timer), so a loop with
/// nothing to run cannot be waiting for it.
#[derive(Debug, Clone)]
pub(crate) struct LocalInjector {
    inner: Arc<Inner>,
}

impl LocalInjector {
    pub(crate) fn inject(&self, fd: RawFd, readable: bool, writable: bool) -> bool {
        inject(&self.inner, fd, readable, writable)
    }

    /// Declares `fd` a simulated socket that is about to be registered.
    pub(crate) fn mark_simulated(&self, fd: RawFd) {
        self.inner.lock().simulated.insert(fd);
    }
}

impl MockInjector {
    /// See [`MockReactor::inject`].
    pub fn inject(&self, fd: RawFd, readable: bool, writable: bool) -> bool {
        inject(&self.inner, fd, readable, writable)
    }
}

impl MockReactor {
    /// A mock with nothing registered, for tests that inject readiness: it
    /// accepts any open descriptor, real ones included, and reports only
    /// what is injected for them.
    pub fn new() -> MockReactor {
        MockReactor::default()
    }

    /// A mock that serves only the simulated network
    /// ([`SimNet`](crate::mock::SimNet)): registering any other descriptor
    /// — a real socket, whose readiness nothing would ever report — fails
    /// with an `Unsupported` error that says so, instead of a read that
    /// never completes. This is the reactor of the `mock` backend when it
    /// is chosen by name (`CORIO_BACKEND=mock`, `Builder::backend`).
    ///
    /// ```
    /// use corio_backends::mock::MockReactor;
    /// use corio_core::reactor::{Interest, Reactor};
    /// use std::os::fd::AsRawFd;
    ///
    /// let reactor = MockReactor::simulated();
    /// let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let err = reactor.register(socket.as_raw_fd(), 1, Interest::BOTH).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    /// assert!(err.to_string().contains("simulated network"), "{err}");
    /// ```
    pub fn simulated() -> MockReactor {
        let reactor = MockReactor::default();
        reactor.inner.lock().simulated_only = true;
        reactor
    }

    /// Whether this mock refuses descriptors other than the simulated
    /// network's ([`simulated`](MockReactor::simulated)).
    pub fn is_simulated_only(&self) -> bool {
        self.inner.lock().simulated_only
    }

    /// A handle that can inject from anywhere.
    pub fn injector(&self) -> MockInjector {
        self.inner.injectors.fetch_add(1, Ordering::SeqCst);
        MockInjector { inner: self.inner.clone() }
    }

    pub(crate) fn local_injector(&self) -> LocalInjector {
        LocalInjector { inner: self.inner.clone() }
    }

    /// Reports `fd` readable and/or writable at the next poll. Returns
    /// `false` if `fd` is not registered.
    pub fn inject(&self, fd: RawFd, readable: bool, writable: bool) -> bool {
        inject(&self.inner, fd, readable, writable)
    }

    /// Reports `fd` readable.
    pub fn inject_readable(&self, fd: RawFd) -> bool {
        self.inject(fd, true, false)
    }

    /// Reports `fd` writable.
    pub fn inject_writable(&self, fd: RawFd) -> bool {
        self.inject(fd, false, true)
    }

    /// Fault: readiness for `fd` that is not real. The operation that
    /// follows gets `WouldBlock` and must wait again, not fail or spin.
    pub fn inject_spurious(&self, fd: RawFd) -> bool {
        self.inject(fd, true, true)
    }

    /// Fault: deliver every event `extra` more times (duplicate readiness).
    pub fn set_duplicates(&self, extra: usize) {
        self.inner.lock().duplicates = extra;
    }

    /// Whether `fd` is registered, and with which key.
    pub fn key_of(&self, fd: RawFd) -> Option<usize> {
        self.inner.lock().registered.get(&fd).map(|(key, _)| *key)
    }

    /// Registered descriptors.
    pub fn registered(&self) -> usize {
        self.inner.lock().registered.len()
    }

    /// Every `poll` call so far, in order.
    pub fn polls(&self) -> Vec<PollRecord> {
        self.inner.lock().polls.clone()
    }

    /// How many times `notify` was called.
    pub fn notifies(&self) -> usize {
        self.inner.lock().notifies
    }
}

/// The mock backend's answer to a real descriptor.
fn real_descriptor_refused(fd: RawFd) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "the mock backend serves only the simulated network (corio::backend::mock::SimNet); \
             descriptor {fd} is a real one, whose readiness it would never report: \
             run on an OS backend (e.g. CORIO_BACKEND=epoll) or use SimNet's sockets"
        ),
    )
}

fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

impl Reactor for MockReactor {
    fn register(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        if !is_open(fd) {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let mut state = self.inner.lock();
        if state.registered.contains_key(&fd) {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        let simulated = state.simulated.remove(&fd);
        if state.simulated_only && !simulated {
            return Err(real_descriptor_refused(fd));
        }
        state.registered.insert(fd, (key, interest));
        Ok(())
    }

    fn modify(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        match self.inner.lock().registered.get_mut(&fd) {
            Some(entry) => {
                *entry = (key, interest);
                Ok(())
            }
            None => Err(io::Error::from_raw_os_error(libc::ENOENT)),
        }
    }

    fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let mut state = self.inner.lock();
        match state.registered.remove(&fd) {
            Some((key, _)) => {
                state.pending.retain(|e| e.key != key);
                Ok(())
            }
            None => Err(io::Error::from_raw_os_error(libc::ENOENT)),
        }
    }

    fn poll(&self, events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        let mut state = self.inner.lock();
        if state.pending.is_empty() && !state.notified && timeout != Some(Duration::ZERO) {
            let idle = |s: &mut State| s.pending.is_empty() && !s.notified;
            state = match timeout {
                None => self.inner.wake.wait_while(state, idle).unwrap_or_else(|e| e.into_inner()),
                Some(t) => self.inner.wake.wait_timeout_while(state, t, idle).unwrap_or_else(|e| e.into_inner()).0,
            };
        }
        state.notified = false;
        let before = events.len();
        let duplicates = state.duplicates;
        while let Some(event) = state.pending.pop_front() {
            for _ in 0..=duplicates {
                events.push(event);
            }
        }
        let record = PollRecord { timeout, events: events.len() - before };
        state.polls.push(record);
        Ok(())
    }

    fn notify(&self) -> io::Result<()> {
        let mut state = self.inner.lock();
        state.notified = true;
        state.notifies += 1;
        drop(state);
        self.inner.wake.notify_all();
        Ok(())
    }

    /// Quiescent when nothing is pending and no injector could add anything.
    fn is_quiescent(&self) -> bool {
        let state = self.inner.lock();
        state.pending.is_empty() && !state.notified && self.inner.injectors.load(Ordering::SeqCst) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::sync::mpsc;

    /// A descriptor number that is never open (above any per-process limit).
    const NEVER_OPEN: RawFd = i32::MAX - 1;

    fn poll_now(reactor: &MockReactor) -> Vec<Event> {
        let mut events = Vec::new();
        reactor.poll(&mut events, Some(Duration::ZERO)).unwrap();
        events
    }

    #[test]
    fn registration_follows_the_reactor_contract() {
        let reactor = MockReactor::new();
        let err = reactor.register(NEVER_OPEN, 1, Interest::BOTH).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
        assert_eq!(reactor.registered(), 0);

        let (a, _b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        reactor.register(fd, 1, Interest::BOTH).unwrap();
        let err = reactor.register(fd, 2, Interest::BOTH).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(reactor.key_of(fd), Some(1), "a refused registration changes nothing");

        reactor.modify(fd, 3, Interest::READABLE).unwrap();
        assert_eq!(reactor.key_of(fd), Some(3));
        reactor.deregister(fd).unwrap();
        assert_eq!(reactor.key_of(fd), None);
        assert_eq!(reactor.deregister(fd).unwrap_err().raw_os_error(), Some(libc::ENOENT));
        assert_eq!(reactor.modify(fd, 1, Interest::BOTH).unwrap_err().raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn the_simulated_mock_refuses_real_descriptors() {
        let reactor = MockReactor::simulated();
        assert!(reactor.is_simulated_only() && !MockReactor::new().is_simulated_only());
        let (a, _b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        let err = reactor.register(fd, 1, Interest::BOTH).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert!(err.to_string().contains(&format!("descriptor {fd} is a real one")), "{err}");
        assert_eq!(reactor.registered(), 0);

        // A descriptor the simulated network declared is taken, once: the
        // mark is used up by its registration, so a real socket that later
        // gets the same number is refused again.
        reactor.local_injector().mark_simulated(fd);
        reactor.register(fd, 2, Interest::BOTH).unwrap();
        reactor.deregister(fd).unwrap();
        assert_eq!(reactor.register(fd, 3, Interest::BOTH).unwrap_err().kind(), io::ErrorKind::Unsupported);
        // Closed descriptors are still EBADF first.
        assert_eq!(reactor.register(NEVER_OPEN, 4, Interest::BOTH).unwrap_err().raw_os_error(), Some(libc::EBADF));
    }

    #[test]
    fn readiness_exists_only_when_injected() {
        let reactor = MockReactor::new();
        let (a, b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        assert!(!reactor.inject_readable(fd), "not registered");
        reactor.register(fd, 5, Interest::BOTH).unwrap();
        std::io::Write::write_all(&mut &b, b"data").unwrap();
        assert!(poll_now(&reactor).is_empty(), "real readiness is invisible");

        assert!(reactor.inject_readable(fd));
        assert!(reactor.inject_writable(fd));
        assert!(reactor.inject(fd, true, true));
        assert_eq!(
            poll_now(&reactor),
            [
                Event { key: 5, readable: true, writable: false },
                Event { key: 5, readable: false, writable: true },
                Event { key: 5, readable: true, writable: true },
            ]
        );
        assert!(poll_now(&reactor).is_empty(), "delivered once");
    }

    #[test]
    fn spurious_and_duplicate_faults() {
        let reactor = MockReactor::new();
        let (a, _b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        reactor.register(fd, 8, Interest::BOTH).unwrap();
        assert!(reactor.inject_spurious(fd));
        assert_eq!(poll_now(&reactor), [Event { key: 8, readable: true, writable: true }]);

        reactor.set_duplicates(2);
        reactor.inject_readable(fd);
        let events = poll_now(&reactor);
        assert_eq!(events, [Event { key: 8, readable: true, writable: false }; 3]);
        reactor.set_duplicates(0);
        reactor.inject_readable(fd);
        assert_eq!(poll_now(&reactor).len(), 1);
    }

    #[test]
    fn deregistering_drops_pending_events() {
        let reactor = MockReactor::new();
        let (a, _b) = UnixStream::pair().unwrap();
        let (c, _d) = UnixStream::pair().unwrap();
        reactor.register(a.as_raw_fd(), 1, Interest::BOTH).unwrap();
        reactor.register(c.as_raw_fd(), 2, Interest::BOTH).unwrap();
        reactor.inject_readable(a.as_raw_fd());
        reactor.inject_readable(c.as_raw_fd());
        reactor.deregister(a.as_raw_fd()).unwrap();
        assert_eq!(poll_now(&reactor), [Event { key: 2, readable: true, writable: false }]);
    }

    #[test]
    fn polls_are_recorded() {
        let reactor = MockReactor::new();
        let (a, _b) = UnixStream::pair().unwrap();
        reactor.register(a.as_raw_fd(), 1, Interest::BOTH).unwrap();
        poll_now(&reactor);
        reactor.inject_readable(a.as_raw_fd());
        reactor.inject_writable(a.as_raw_fd());
        reactor.poll(&mut Vec::new(), Some(Duration::from_secs(30))).unwrap(); // events pending: no wait
        reactor.notify().unwrap();
        reactor.poll(&mut Vec::new(), None).unwrap(); // notified: no wait
        assert_eq!(
            reactor.polls(),
            [
                PollRecord { timeout: Some(Duration::ZERO), events: 0 },
                PollRecord { timeout: Some(Duration::from_secs(30)), events: 2 },
                PollRecord { timeout: None, events: 0 },
            ]
        );
        assert_eq!(reactor.notifies(), 1);
    }

    #[test]
    fn notify_is_latched() {
        let reactor = MockReactor::new();
        reactor.notify().unwrap();
        reactor.notify().unwrap();
        assert!(!reactor.is_quiescent(), "a pending notification can still wake the loop");
        reactor.poll(&mut Vec::new(), None).unwrap(); // returns at once
        assert!(reactor.is_quiescent(), "consumed by the poll");
        assert_eq!(reactor.notifies(), 2);
    }

    #[test]
    fn quiescence_tracks_pending_events_and_injectors() {
        let reactor = MockReactor::new();
        assert!(reactor.is_quiescent());
        let (a, _b) = UnixStream::pair().unwrap();
        reactor.register(a.as_raw_fd(), 1, Interest::BOTH).unwrap();
        assert!(reactor.is_quiescent(), "a registered source alone never becomes ready");
        reactor.inject_readable(a.as_raw_fd());
        assert!(!reactor.is_quiescent(), "an event is pending");
        poll_now(&reactor);
        assert!(reactor.is_quiescent());

        let injector = reactor.injector();
        let clone = injector.clone();
        assert!(!reactor.is_quiescent(), "an injector may still inject");
        drop(injector);
        assert!(!reactor.is_quiescent(), "a clone is still alive");
        drop(clone);
        // Dropping the last injector wakes the poller once, so a loop parked
        // because of it looks again (and then finds itself deadlocked).
        assert!(!reactor.is_quiescent());
        reactor.poll(&mut Vec::new(), None).unwrap(); // returns at once
        assert!(reactor.is_quiescent());
    }

    #[test]
    fn an_injector_on_another_thread_wakes_a_blocked_poll() {
        let reactor = MockReactor::new();
        let (a, _b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        reactor.register(fd, 4, Interest::BOTH).unwrap();
        let injector = reactor.injector();
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            rx.recv().unwrap();
            assert!(injector.inject(fd, true, false));
            assert!(!injector.inject(-1, true, false), "unregistered");
            injector // keep it alive: only the injection may wake the poll
        });
        tx.send(()).unwrap();
        let mut events = Vec::new();
        reactor.poll(&mut events, None).unwrap();
        assert_eq!(events, [Event { key: 4, readable: true, writable: false }]);
        drop(thread.join().unwrap());
    }

    #[test]
    fn the_last_injector_dropped_on_another_thread_wakes_a_blocked_poll() {
        let reactor = MockReactor::new();
        let injector = reactor.injector();
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            rx.recv().unwrap();
            drop(injector);
        });
        tx.send(()).unwrap();
        let mut events = Vec::new();
        reactor.poll(&mut events, None).unwrap(); // must not block forever
        assert!(events.is_empty());
        thread.join().unwrap();
        assert!(reactor.is_quiescent());
    }
}
