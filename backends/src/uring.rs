//! The io_uring reactor, in readiness mode.
//!
//! corio's `Reactor` contract is readiness, edge-triggered and persistent
//! (see `corio_core::reactor`). io_uring provides it with **multishot
//! `IORING_OP_POLL_ADD`**: one submission per source keeps posting a
//! completion each time the source's wait queue signals readiness. Without
//! `IORING_POLL_ADD_LEVEL` the kernel arms it with `EPOLLET`, so it is the
//! same edge-triggered watch epoll gives, and it reports the state at arming
//! once, as `epoll_ctl(ADD)` does.
//!
//! # How the contract maps
//!
//! * **Batching.** `register`, `modify` and `deregister` only queue
//!   submission entries; `poll` pushes the whole batch and submits it with
//!   the same `io_uring_enter` that waits for completions — one system call
//!   per loop iteration, whatever changed.
//! * **Persistence.** A multishot poll can end on its own (the kernel
//!   posts a completion without `IORING_CQE_F_MORE`, e.g. when the
//!   completion queue overflowed). The reactor then re-arms it in the next
//!   batch; since arming reports current readiness, no edge is lost, at
//!   worst one is reported twice (spurious events are allowed).
//! * **Stale completions.** Each registration has a token (slot index and
//!   generation) as `user_data`; `deregister` frees the slot at once and
//!   queues a `POLL_REMOVE`, and a completion whose token is stale is
//!   ignored. So a descriptor number reused right away cannot receive the
//!   old registration's events.
//! * **Errors at registration.** `register` checks synchronously what the
//!   batch would report late: a closed descriptor is `EBADF`, a registered
//!   one `EEXIST`.
//! * **Closing.** While its `POLL_REMOVE` has not been submitted, the ring
//!   holds a reference to a deregistered socket's file, so a close takes
//!   effect (a FIN is sent) at the loop's next `poll`, not inside `close`.
//! * **notify.** An eventfd watched by a multishot poll of its own: a write
//!   from any thread posts a completion, which wakes (or pre-empts) the
//!   `io_uring_enter` wait. The counter is latched until `poll` reads it.
//!
//! Needs Linux 5.13 (multishot poll; the wait timeout needs 5.11's
//! `IORING_FEAT_EXT_ARG`). [`UringReactor::new`] fails with a clear error
//! where io_uring is missing or disabled (`kernel.io_uring_disabled`).

mod completion;

use corio_core::reactor::{Event, Interest, Reactor};
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Submission queue entries; a longer batch is submitted in pieces.
const RING_ENTRIES: u32 = 256;
/// Completion queue entries: room for many readiness reports per wait.
const CQ_ENTRIES: u32 = 4096;

/// `user_data` of the notifier's poll.
const NOTIFY_TOKEN: u64 = u64::MAX;
/// `user_data` of `POLL_REMOVE` requests (their completions are ignored).
const REMOVE_TOKEN: u64 = u64::MAX - 1;

const READ_MASK: u32 = (libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP) as u32;
const WRITE_MASK: u32 = libc::POLLOUT as u32;
const READABLE: u32 = (libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) as u32;
const WRITABLE: u32 = (libc::POLLOUT | libc::POLLHUP | libc::POLLERR) as u32;

/// An io_uring instance watching sources with multishot polls.
///
/// ```
/// use corio_backends::uring::UringReactor;
/// use corio_core::reactor::Reactor;
/// use std::time::Duration;
///
/// let reactor = UringReactor::new().unwrap();
/// reactor.notify().unwrap();
/// let mut events = Vec::new();
/// reactor.poll(&mut events, Some(Duration::from_secs(10))).unwrap(); // returns at once
/// assert!(events.is_empty());
/// ```
#[derive(Debug)]
pub struct UringReactor {
    /// The ring and the registrations. Only the loop's thread takes it
    /// (register, modify, deregister, poll), so it is never contended;
    /// `notify` does not touch it.
    state: Mutex<State>,
    notifier: OwnedFd,
    registered: AtomicUsize,
    /// Completion-based operations in flight (`completion`).
    ops_in_flight: AtomicUsize,
}

struct State {
    ring: IoUring,
    /// The batch for the next `poll`.
    batch: Vec<squeue::Entry>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_fd: HashMap<RawFd, u32>,
    /// Completion-based operations in flight (`completion`).
    ops: completion::InFlight,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").field("batch", &self.batch.len()).field("registered", &self.by_fd.len()).finish()
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Bumped whenever the slot's registration ends or changes.
    generation: u32,
    live: Option<Watch>,
}

#[derive(Debug, Clone, Copy)]
struct Watch {
    fd: RawFd,
    key: usize,
    interest: Interest,
}

fn token(index: u32, generation: u32) -> u64 {
    // Generations use 31 bits, so a token never reaches the reserved ones.
    (u64::from(generation & 0x7fff_ffff) << 32) | u64::from(index)
}

fn poll_mask(interest: Interest) -> u32 {
    let mut mask = 0;
    if interest.readable {
        mask |= READ_MASK;
    }
    if interest.writable {
        mask |= WRITE_MASK;
    }
    mask
}

fn poll_add(fd: RawFd, interest: Interest, user_data: u64) -> squeue::Entry {
    opcode::PollAdd::new(types::Fd(fd), poll_mask(interest)).multi(true).build().user_data(user_data)
}

fn poll_remove(user_data: u64) -> squeue::Entry {
    opcode::PollRemove::new(user_data).build().user_data(REMOVE_TOKEN)
}

fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// `io_uring_setup`'s failure, with its likely cause named.
fn setup_failed(err: io::Error) -> io::Error {
    let cause = match err.raw_os_error() {
        Some(libc::EPERM) => {
            " (disabled: the kernel.io_uring_disabled sysctl, or a seccomp filter such as a container runtime's)"
        }
        Some(libc::ENOSYS) => " (this kernel has no io_uring)",
        Some(libc::ENOMEM) => " (not enough locked memory for the ring: RLIMIT_MEMLOCK)",
        _ => "",
    };
    io::Error::new(err.kind(), format!("io_uring_setup failed: {err}{cause}"))
}

impl UringReactor {
    /// Sets up the ring and its notifier.
    ///
    /// Fails where io_uring is unavailable, with the cause in the message:
    /// `ENOSYS` (no kernel support), `EPERM` (disabled by
    /// `kernel.io_uring_disabled` or a seccomp filter, as in many
    /// containers), or `Unsupported` for a kernel without the wait timeout
    /// (`IORING_FEAT_EXT_ARG`).
    pub fn new() -> io::Result<UringReactor> {
        UringReactor::with_queue_sizes(RING_ENTRIES, CQ_ENTRIES)
    }

    /// A ring with `entries` submission and `cq_entries` completion slots.
    fn with_queue_sizes(entries: u32, cq_entries: u32) -> io::Result<UringReactor> {
        let ring = IoUring::builder().setup_cqsize(cq_entries).build(entries).map_err(setup_failed)?;
        if !ring.params().is_feature_ext_arg() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring lacks IORING_FEAT_EXT_ARG (Linux 5.11+ is needed for poll timeouts)",
            ));
        }
        // SAFETY: eventfd takes no pointers; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        let notifier = unsafe { OwnedFd::from_raw_fd(fd) };
        let state = State {
            ring,
            batch: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            by_fd: HashMap::new(),
            ops: completion::InFlight::default(),
        };
        let reactor = UringReactor {
            state: Mutex::new(state),
            notifier,
            registered: AtomicUsize::new(0),
            ops_in_flight: AtomicUsize::new(0),
        };
        let notifier_fd = reactor.notifier.as_raw_fd();
        reactor.lock().batch.push(poll_add(notifier_fd, Interest::READABLE, NOTIFY_TOKEN));
        Ok(reactor)
    }

    /// Descriptors currently registered.
    pub fn registered(&self) -> usize {
        self.registered.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Empties the eventfd's counter (the notification is consumed).
    fn drain_notifier(&self) {
        let mut counter = [0u8; 8];
        // SAFETY: reads 8 bytes into a buffer of 8; non-blocking, so an
        // empty counter is EAGAIN, which is fine to ignore.
        unsafe { libc::read(self.notifier.as_raw_fd(), counter.as_mut_ptr().cast(), counter.len()) };
    }
}

impl State {
    /// Pushes the batch into the submission queue, submitting early if it
    /// fills up.
    fn push_batch(&mut self) -> io::Result<()> {
        for entry in self.batch.drain(..) {
            // A linked entry and the next one go to the kernel in the same
            // submission: a link cut at the end of a submission would let
            // the next entry run on its own, not after this one.
            let token = entry.get_user_data();
            if completion::is_op(token) && self.ops.links_next(token) {
                let free = {
                    let queue = self.ring.submission();
                    queue.capacity() - queue.len()
                };
                if free < 2 {
                    self.ring.submit()?;
                }
            }
            loop {
                // SAFETY: poll-add, poll-remove and cancel entries
                // reference no user memory; an operation's entry points into
                // the operation's own memory, kept alive by its `OpRef` in
                // the in-flight table until its completion is reaped
                // (`completion`).
                if unsafe { self.ring.submission().push(&entry) }.is_ok() {
                    break;
                }
                self.ring.submit()?;
            }
        }
        Ok(())
    }

    fn watch(&self, user_data: u64) -> Option<Watch> {
        let index = (user_data & 0xffff_ffff) as usize;
        let slot = self.slots.get(index)?;
        (token(index as u32, slot.generation) == user_data).then_some(slot.live).flatten()
    }
}

impl Reactor for UringReactor {
    fn register(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        if !is_open(fd) {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let mut state = self.lock();
        if state.by_fd.contains_key(&fd) {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        let index = match state.free.pop() {
            Some(index) => index,
            None => {
                state.slots.push(Slot { generation: 0, live: None });
                u32::try_from(state.slots.len() - 1).map_err(|_| io::Error::other("too many io_uring sources"))?
            }
        };
        let slot = &mut state.slots[index as usize];
        slot.live = Some(Watch { fd, key, interest });
        let user_data = token(index, slot.generation);
        state.by_fd.insert(fd, index);
        state.batch.push(poll_add(fd, interest, user_data));
        self.registered.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn modify(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        let mut state = self.lock();
        let Some(&index) = state.by_fd.get(&fd) else {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        };
        let slot = &mut state.slots[index as usize];
        let old = token(index, slot.generation);
        slot.generation = slot.generation.wrapping_add(1);
        slot.live = Some(Watch { fd, key, interest });
        let new = token(index, slot.generation);
        state.batch.push(poll_remove(old));
        state.batch.push(poll_add(fd, interest, new));
        Ok(())
    }

    fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let mut state = self.lock();
        let Some(index) = state.by_fd.remove(&fd) else {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        };
        let slot = &mut state.slots[index as usize];
        let old = token(index, slot.generation);
        slot.generation = slot.generation.wrapping_add(1);
        slot.live = None;
        state.free.push(index);
        state.batch.push(poll_remove(old));
        self.registered.fetch_sub(1, Ordering::Relaxed);
        Ok(())
    }

    fn poll(&self, events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        let mut state = self.lock();
        state.push_batch()?;
        let waited = match timeout {
            Some(Duration::ZERO) => state.ring.submit(),
            None => state.ring.submit_and_wait(1),
            Some(timeout) => {
                let ts = types::Timespec::from(timeout);
                let args = types::SubmitArgs::new().timespec(&ts);
                state.ring.submitter().submit_with_args(1, &args)
            }
        };
        match waited {
            Ok(_) => {}
            // The timeout passed, a signal came, or completions are waiting
            // to be reaped (overflow): all mean "look at the queue now".
            Err(err) if matches!(err.raw_os_error(), Some(libc::ETIME | libc::EINTR | libc::EBUSY)) => {}
            Err(err) => return Err(err),
        }

        let State { ring, batch, .. } = &mut *state;
        let mut rearm = Vec::new();
        let mut finished = Vec::new();
        let mut notified = false;
        for cqe in ring.completion() {
            let user_data = cqe.user_data();
            let more = cqueue::more(cqe.flags());
            match user_data {
                REMOVE_TOKEN | completion::CANCEL_TOKEN => {}
                token if completion::is_op(token) => finished.push((token, cqe.result())),
                NOTIFY_TOKEN => {
                    notified = true;
                    if !more {
                        batch.push(poll_add(self.notifier.as_raw_fd(), Interest::READABLE, NOTIFY_TOKEN));
                    }
                }
                _ => rearm.push((user_data, cqe.result(), more)),
            }
        }
        for (user_data, result, more) in rearm {
            let Some(watch) = state.watch(user_data) else {
                continue; // deregistered or modified since: stale
            };
            let mask = match result {
                res if res >= 0 => res as u32,
                // Removed by the kernel itself (e.g. at ring teardown).
                res if res == -libc::ECANCELED => 0,
                // The poll failed: report both directions so the operation
                // meets the error itself.
                _ => READABLE | WRITABLE,
            };
            let readable = mask & READABLE != 0;
            let writable = mask & WRITABLE != 0;
            if readable || writable {
                events.push(Event { key: watch.key, readable, writable });
            }
            let permanent = matches!(-result, libc::EBADF | libc::EINVAL | libc::EOPNOTSUPP);
            if !more && !permanent {
                state.batch.push(poll_add(watch.fd, watch.interest, user_data));
            }
        }
        let finished: Vec<_> =
            finished.into_iter().filter_map(|(token, result)| Some((state.ops.finish(token)?, result))).collect();
        drop(state);
        if !finished.is_empty() {
            self.ops_in_flight.fetch_sub(finished.len(), Ordering::Relaxed);
        }
        // Outside the lock: completing wakes the awaiting task.
        for (op, result) in finished {
            op.complete(result);
        }
        if notified {
            self.drain_notifier();
        }
        Ok(())
    }

    fn notify(&self) -> io::Result<()> {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a buffer of 8 to our eventfd.
        let n = unsafe { libc::write(self.notifier.as_raw_fd(), one.as_ptr().cast(), one.len()) };
        if n == -1 {
            let err = io::Error::last_os_error();
            // EAGAIN: the counter is saturated, so a wake-up is pending anyway.
            if err.kind() != io::ErrorKind::WouldBlock {
                return Err(err);
            }
        }
        Ok(())
    }

    /// No registered descriptor and no operation in flight means only
    /// `notify` can wake a poll.
    fn is_quiescent(&self) -> bool {
        self.registered() == 0 && self.ops_in_flight.load(Ordering::Relaxed) == 0
    }

    fn completions(&self) -> Option<&dyn corio_core::reactor::ops::Completions> {
        Some(self)
    }

    fn name(&self) -> &'static str {
        "uring"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_collide_with_reserved_ones() {
        assert!(token(u32::MAX, u32::MAX) < REMOVE_TOKEN);
        assert_ne!(token(1, 0), token(1, 1));
        assert_eq!(token(7, 3) & 0xffff_ffff, 7);
    }

    #[test]
    fn interest_masks() {
        assert_eq!(poll_mask(Interest::READABLE) & WRITE_MASK, 0);
        assert_eq!(poll_mask(Interest::WRITABLE) & READ_MASK, 0);
        assert_eq!(poll_mask(Interest::BOTH), READ_MASK | WRITE_MASK);
    }

    #[test]
    fn multishot_polls_ended_by_the_kernel_are_rearmed() {
        // A completion queue far smaller than the number of ready sources:
        // the kernel ends multishot polls it cannot post to (a completion
        // without F_MORE). Every source must still be reported, and stay
        // registered: a later edge is reported again.
        use std::io::Write;
        use std::os::fd::AsRawFd;
        let reactor = UringReactor::with_queue_sizes(4, 8).unwrap();
        let pairs: Vec<_> = (0..64).map(|_| std::os::unix::net::UnixStream::pair().unwrap()).collect();
        for (i, (a, _)) in pairs.iter().enumerate() {
            reactor.register(a.as_raw_fd(), i, Interest::READABLE).unwrap();
        }
        let collect = |reactor: &UringReactor| {
            let mut keys = Vec::new();
            for _ in 0..100 {
                let mut events = Vec::new();
                reactor.poll(&mut events, Some(Duration::ZERO)).unwrap();
                keys.extend(events.iter().filter(|e| e.readable).map(|e| e.key));
            }
            keys.sort();
            keys.dedup();
            keys
        };
        for round in 0..3 {
            for (_, b) in &pairs {
                (&*b).write_all(b"x").unwrap();
            }
            assert_eq!(collect(&reactor), (0..64).collect::<Vec<_>>(), "round {round}");
        }
    }

    crate::contract::reactor_contract_tests!(UringReactor::new().unwrap());
}
