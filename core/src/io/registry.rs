//! The loop's registered I/O sources.
//!
//! # Invariants
//!
//! * A source is registered with the reactor once, for both directions,
//!   edge-triggered; its readiness is cached here. An event sets the flag and
//!   wakes every waiter in that direction (several tasks may share a source);
//!   an operation that hits `WouldBlock` clears the flag (as does a TCP read
//!   the kernel says emptied the socket, see `io::inq`) and waits for the
//!   next edge. Both happen on the loop's thread, so there is no race
//!   between clearing and the next event.
//! * The reactor key carries the slot's generation, so an event for a source
//!   that was deregistered (and whose slot was reused) is ignored.
//! * Deregistering wakes all waiters; their next poll finds the key stale and
//!   returns an error instead of hanging.

use std::io;
use std::os::fd::RawFd;
use std::task::{Context, Poll, Waker};

use crate::reactor::{Event, Interest, Reactor};

/// Which half of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Waiting to read (or accept).
    Read,
    /// Waiting to write (or for a connect to finish).
    Write,
}

/// Identifies one registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IoKey {
    index: u32,
    generation: u32,
}

impl IoKey {
    fn reactor_key(self) -> usize {
        (self.generation as usize) << 32 | self.index as usize
    }

    fn from_reactor_key(key: usize) -> IoKey {
        IoKey { index: key as u32, generation: (key >> 32) as u32 }
    }
}

#[derive(Debug, Default)]
struct Half {
    ready: bool,
    /// Every task waiting in this direction (several tasks may share a
    /// source, e.g. acceptors on one listener); an event wakes them all.
    wakers: Vec<Waker>,
}

#[derive(Debug)]
struct Source {
    fd: RawFd,
    read: Half,
    write: Half,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    source: Option<Source>,
}

#[derive(Debug, Default)]
pub(crate) struct IoRegistry {
    slots: Vec<Slot>,
    free: Vec<u32>,
    len: usize,
}

impl IoRegistry {
    pub(crate) fn register(&mut self, reactor: &impl Reactor, fd: RawFd) -> io::Result<IoKey> {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot { generation: 0, source: None });
                u32::try_from(self.slots.len() - 1).map_err(|_| io::Error::other("too many I/O sources"))?
            }
        };
        let slot = &mut self.slots[index as usize];
        let key = IoKey { index, generation: slot.generation };
        if let Err(err) = reactor.register(fd, key.reactor_key(), Interest::BOTH) {
            self.free.push(index);
            return Err(err);
        }
        // A new source is assumed ready: the first operation finds out.
        slot.source = Some(Source {
            fd,
            read: Half { ready: true, wakers: Vec::new() },
            write: Half { ready: true, wakers: Vec::new() },
        });
        self.len += 1;
        Ok(key)
    }

    fn source_mut(&mut self, key: IoKey) -> Option<&mut Source> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.source.as_mut()
    }

    /// Every waiting waker with its source's fd and direction (for task
    /// dumps; O(n)).
    pub(crate) fn waiters(&self) -> impl Iterator<Item = (RawFd, Direction, &Waker)> + '_ {
        self.slots.iter().filter_map(|slot| slot.source.as_ref()).flat_map(|source| {
            let read = source.read.wakers.iter().map(move |w| (source.fd, Direction::Read, w));
            let write = source.write.wakers.iter().map(move |w| (source.fd, Direction::Write, w));
            read.chain(write)
        })
    }

    /// Records an event; returns the wakers to wake (after releasing `self`).
    pub(crate) fn dispatch(&mut self, event: &Event, wake: &mut Vec<Waker>) {
        let Some(source) = self.source_mut(IoKey::from_reactor_key(event.key)) else {
            return; // a stale event for a source that is gone
        };
        for (ready, half) in [(event.readable, &mut source.read), (event.writable, &mut source.write)] {
            if ready {
                half.ready = true;
                wake.append(&mut half.wakers);
            }
        }
    }

    pub(crate) fn poll_ready(
        &mut self,
        key: IoKey,
        direction: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let Some(source) = self.source_mut(key) else {
            return Poll::Ready(Err(deregistered()));
        };
        let half = match direction {
            Direction::Read => &mut source.read,
            Direction::Write => &mut source.write,
        };
        if half.ready {
            return Poll::Ready(Ok(()));
        }
        if !half.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            half.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    pub(crate) fn clear_ready(&mut self, key: IoKey, direction: Direction) {
        if let Some(source) = self.source_mut(key) {
            match direction {
                Direction::Read => source.read.ready = false,
                Direction::Write => source.write.ready = false,
            }
        }
    }

    /// Deregisters `key`; returns the waiters to wake.
    pub(crate) fn deregister(
        &mut self,
        reactor: &impl Reactor,
        key: IoKey,
        fd: RawFd,
        wake: &mut Vec<Waker>,
    ) -> io::Result<()> {
        debug_assert!(self.source_mut(key).is_none_or(|s| s.fd == fd), "deregistering a key with another descriptor");
        self.forget(key, wake)?;
        reactor.deregister(fd)
    }

    /// Forgets `key` without asking the reactor (its descriptor was closed,
    /// which removed it there); returns the waiters to wake.
    pub(crate) fn forget(&mut self, key: IoKey, wake: &mut Vec<Waker>) -> io::Result<()> {
        let Some(source) = self.source_mut(key) else {
            return Err(deregistered());
        };
        wake.append(&mut source.read.wakers);
        wake.append(&mut source.write.wakers);
        let slot = &mut self.slots[key.index as usize];
        slot.source = None;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(key.index);
        self.len -= 1;
        Ok(())
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Forgets every source, returning the waiters (loop teardown).
    pub(crate) fn clear(&mut self) -> Vec<Waker> {
        let mut wake = Vec::new();
        for slot in &mut self.slots {
            if let Some(mut source) = slot.source.take() {
                wake.append(&mut source.read.wakers);
                wake.append(&mut source.write.wakers);
            }
            slot.generation = slot.generation.wrapping_add(1);
        }
        self.free = (0..self.slots.len() as u32).collect();
        self.len = 0;
        wake
    }
}

pub(crate) fn deregistered() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the I/O source was deregistered from its event loop")
}
