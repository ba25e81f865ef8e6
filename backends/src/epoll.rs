//! The epoll reactor, on the system calls directly.
//!
//! Sources are registered once, edge-triggered (`EPOLLET`), for both
//! directions: after an event the source stays armed, so no `epoll_ctl` call
//! follows an event (smol's `async-io` re-arms one-shot registrations with
//! `epoll_ctl(MOD)` after each event, about 300 ns apiece). The loop caches
//! readiness and clears it on `WouldBlock` (see `corio_core::io`).
//!
//! A wait is one `epoll_wait` with a millisecond timeout, rounded up so the
//! loop never wakes before its deadline and spins. (The `polling` crate,
//! used before, arms a timerfd and re-arms it and its notifier with
//! `epoll_ctl` around every wait: three system calls more per wait.) The
//! wake-up descriptor is an eventfd registered edge-triggered once: each
//! write is a new edge, and it is drained only when it fired.

use corio_core::reactor::{Event, Interest, Reactor};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The key of the wake-up eventfd; sources' keys are the loop's slab
/// indices, which never reach it.
const NOTIFY_KEY: u64 = u64::MAX;

/// Events taken per `epoll_wait`; more wait for the next call.
const BATCH: usize = 1024;

const READABLE: u32 = (libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
const WRITABLE: u32 = (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;

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
    epoll: OwnedFd,
    wake: OwnedFd,
    /// The event buffer. Only the loop's thread polls, so the lock is never
    /// contended; it is taken once per `poll` (not per operation), next to
    /// an `epoll_wait` that costs far more.
    events: Mutex<Vec<libc::epoll_event>>,
    registered: AtomicUsize,
}

/// A system call's `-1` as the thread's `errno`.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl EpollReactor {
    /// Creates the epoll instance and its wake-up eventfd.
    pub fn new() -> io::Result<EpollReactor> {
        // SAFETY: plain system calls; each new descriptor is owned at once.
        let epoll = unsafe { OwnedFd::from_raw_fd(check(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
        // SAFETY: as above.
        let wake = unsafe { OwnedFd::from_raw_fd(check(libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK))?) };
        let reactor = EpollReactor {
            epoll,
            wake,
            events: Mutex::new(Vec::with_capacity(BATCH)),
            registered: AtomicUsize::new(0),
        };
        reactor.ctl(
            libc::EPOLL_CTL_ADD,
            reactor.wake.as_raw_fd(),
            libc::EPOLLIN as u32 | libc::EPOLLET as u32,
            NOTIFY_KEY,
        )?;
        Ok(reactor)
    }

    /// Descriptors currently registered.
    pub fn registered(&self) -> usize {
        self.registered.load(Ordering::Relaxed)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, key: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: key };
        // SAFETY: `event` lives across the call; a bad `fd` is an error, not UB.
        check(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }

    /// Takes the eventfd's count, so the counter never fills up.
    fn drain_wake(&self) {
        let mut count = 0u64;
        // SAFETY: reads 8 bytes into `count`; the eventfd is non-blocking, so
        // an empty counter is EAGAIN, which is fine to ignore.
        let _ = unsafe { libc::read(self.wake.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
    }
}

fn to_epoll(interest: Interest) -> u32 {
    let mut events = libc::EPOLLET as u32;
    if interest.readable {
        events |= (libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLRDHUP) as u32;
    }
    if interest.writable {
        events |= libc::EPOLLOUT as u32;
    }
    events
}

/// `timeout` in whole milliseconds, rounded up (`-1`: no timeout).
fn timeout_ms(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(t) => {
            let ms = t.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    }
}

impl Reactor for EpollReactor {
    fn register(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        // The reactor contract: the loop deregisters `fd` before it is
        // closed. A closed `fd` fails here with EBADF, a registered one with
        // EEXIST.
        self.ctl(libc::EPOLL_CTL_ADD, fd, to_epoll(interest), key as u64)?;
        self.registered.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn modify(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, to_epoll(interest), key as u64)
    }

    fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)?;
        self.registered.fetch_sub(1, Ordering::Relaxed);
        Ok(())
    }

    fn poll(&self, events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        let mut buffer = self.events.lock().unwrap_or_else(|e| e.into_inner());
        buffer.clear();
        // SAFETY: the kernel writes at most `BATCH` events into the buffer's
        // spare capacity, which holds at least that many.
        let n = check(unsafe {
            libc::epoll_wait(self.epoll.as_raw_fd(), buffer.as_mut_ptr(), BATCH as libc::c_int, timeout_ms(timeout))
        })?;
        // SAFETY: the kernel initialised the first `n <= BATCH` entries.
        unsafe { buffer.set_len(n as usize) };
        for e in buffer.iter() {
            let (flags, key) = (e.events, e.u64);
            if key == NOTIFY_KEY {
                self.drain_wake();
                continue;
            }
            events.push(Event { key: key as usize, readable: flags & READABLE != 0, writable: flags & WRITABLE != 0 });
        }
        Ok(())
    }

    fn notify(&self) -> io::Result<()> {
        let one = 1u64;
        // SAFETY: writes 8 bytes from `one`.
        let ret = unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
        if ret < 0 {
            let err = io::Error::last_os_error();
            // A full counter already guarantees a wake-up.
            if err.kind() != io::ErrorKind::WouldBlock {
                return Err(err);
            }
        }
        Ok(())
    }

    /// No registered descriptor means only `notify` can wake a poll.
    fn is_quiescent(&self) -> bool {
        self.registered() == 0
    }

    fn name(&self) -> &'static str {
        "epoll"
    }
}

#[cfg(test)]
mod tests {
    use super::timeout_ms;
    use std::time::Duration;

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_millis(3))), 3);
        assert_eq!(timeout_ms(Some(Duration::from_micros(3001))), 4);
        assert_eq!(timeout_ms(Some(Duration::from_secs(u64::MAX))), libc::c_int::MAX);
    }
}

#[cfg(test)]
mod contract_tests {
    use super::EpollReactor;
    crate::contract::reactor_contract_tests!(EpollReactor::new().unwrap());
}
