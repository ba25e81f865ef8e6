//! `MockReactor`: readiness by injection, faults on demand, and a record of
//! every call the loop makes.

use corio_core::reactor::{Event, Interest, Reactor};
use std::collections::{HashMap, VecDeque};
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
        self.inner.injectors.fetch_sub(1, Ordering::SeqCst);
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

impl MockInjector {
    /// See [`MockReactor::inject`].
    pub fn inject(&self, fd: RawFd, readable: bool, writable: bool) -> bool {
        inject(&self.inner, fd, readable, writable)
    }
}

impl MockReactor {
    /// A mock with nothing registered.
    pub fn new() -> MockReactor {
        MockReactor::default()
    }

    /// A handle that can inject from anywhere.
    pub fn injector(&self) -> MockInjector {
        self.inner.injectors.fetch_add(1, Ordering::SeqCst);
        MockInjector { inner: self.inner.clone() }
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
