//! Where a task is suspended: the checkpoint a task dump shows and a slow
//! poll report names.
//!
//! # Invariants
//!
//! * Recording costs nothing on the ready path: a wait calls
//!   [`suspend_at`] only when it is about to return `Pending`, and that is
//!   one thread-local write (`runtime::current`). The loop copies the value
//!   into the task's registry entry after a poll that returned `Pending`
//!   (the entry is borrowed there anyway to swap the task's context back).
//! * A suspension is one word: a `&'static Location` (the await's source
//!   location, from `#[track_caller]`, or none) with the [`WaitKind`] in the
//!   pointer's top byte. Static data lives far below 2^56 on every 64-bit
//!   platform Rust supports; should a location ever sit above, the kind is
//!   kept and the location dropped (on 32-bit targets, where the top byte is
//!   often part of the address, that can be every location). The task header does not grow: the word
//!   replaces the registry entry's former `started` flag (`None` = never
//!   polled).
//! * Dynamic detail — a sleep's deadline, a socket's fd — is not stored: the
//!   dump finds it in the loop's timer heap and I/O registry, by the task's
//!   waker, only when a dump is asked for.

use std::fmt;
use std::panic::Location;
use std::ptr::NonNull;

/// What a suspended task waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum WaitKind {
    /// Suspended in a future corio does not know (no checkpoint recorded).
    Unknown = 1,
    /// `sleep` / `sleep_until` (the dump adds the deadline).
    Sleep,
    /// `yield_now`, or a zero sleep.
    Yield,
    /// Waiting for a socket or fd to become readable (the dump adds the fd).
    Readable,
    /// Waiting for a socket or fd to become writable (the dump adds the fd).
    Writable,
    /// `Lock::acquire` (also a `Condition`'s lock).
    Lock,
    /// `Semaphore::acquire` / `BoundedSemaphore::acquire`.
    Semaphore,
    /// `Event::wait`.
    Event,
    /// `Condition::wait` (waiting to be notified).
    Condition,
    /// `Queue::get` on an empty queue.
    QueueGet,
    /// `Queue::put` on a full queue.
    QueuePut,
    /// `Queue::join`.
    QueueJoin,
    /// `Barrier::wait`.
    Barrier,
    /// A channel's `recv` or `send`.
    Channel,
    /// Awaiting another task's handle; the location is that task's spawn
    /// location.
    Join,
    /// A task group waiting for its children.
    TaskGroup,
    /// Awaiting a job on the blocking pool (`spawn_blocking`, `to_thread`).
    Blocking,
    /// Awaiting a [`Completion`](crate::Completion).
    Completion,
}

impl WaitKind {
    const ALL: [WaitKind; 18] = [
        WaitKind::Unknown,
        WaitKind::Sleep,
        WaitKind::Yield,
        WaitKind::Readable,
        WaitKind::Writable,
        WaitKind::Lock,
        WaitKind::Semaphore,
        WaitKind::Event,
        WaitKind::Condition,
        WaitKind::QueueGet,
        WaitKind::QueuePut,
        WaitKind::QueueJoin,
        WaitKind::Barrier,
        WaitKind::Channel,
        WaitKind::Join,
        WaitKind::TaskGroup,
        WaitKind::Blocking,
        WaitKind::Completion,
    ];

    fn from_tag(tag: u8) -> WaitKind {
        WaitKind::ALL.get(usize::from(tag).wrapping_sub(1)).copied().unwrap_or(WaitKind::Unknown)
    }

    /// A short description: "sleeping", "waiting on Lock", ...
    pub fn describe(self) -> &'static str {
        match self {
            WaitKind::Unknown => "suspended (not at a corio checkpoint)",
            WaitKind::Sleep => "sleeping",
            WaitKind::Yield => "yielding",
            WaitKind::Readable => "reading",
            WaitKind::Writable => "writing",
            WaitKind::Lock => "waiting on Lock",
            WaitKind::Semaphore => "waiting on Semaphore",
            WaitKind::Event => "waiting on Event",
            WaitKind::Condition => "waiting on Condition",
            WaitKind::QueueGet => "waiting on Queue.get",
            WaitKind::QueuePut => "waiting on Queue.put",
            WaitKind::QueueJoin => "waiting on Queue.join",
            WaitKind::Barrier => "waiting on Barrier",
            WaitKind::Channel => "waiting on a channel",
            WaitKind::Join => "joining the task",
            WaitKind::TaskGroup => "waiting for a task group's children",
            WaitKind::Blocking => "waiting for a blocking job",
            WaitKind::Completion => "waiting on a Completion",
        }
    }
}

impl fmt::Display for WaitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A suspension point in one word: see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Suspension(NonNull<Location<'static>>);

const KIND_SHIFT: u32 = usize::BITS - 8;
const ADDR_MASK: usize = (1 << KIND_SHIFT) - 1;

impl Suspension {
    #[inline]
    pub(crate) fn new(kind: WaitKind, location: Option<&'static Location<'static>>) -> Suspension {
        let tag = (kind as usize) << KIND_SHIFT;
        let ptr = match location {
            Some(location) if (location as *const Location<'static>).addr() & !ADDR_MASK == 0 => {
                NonNull::from(location).map_addr(|addr| addr | tag)
            }
            // No location (or one we cannot tag): the kind alone, as an
            // address that is never dereferenced.
            _ => NonNull::new(std::ptr::without_provenance_mut(tag)).expect("kind tags are non-zero"),
        };
        Suspension(ptr)
    }

    /// A `Pending` poll that recorded no checkpoint.
    #[inline]
    pub(crate) fn unknown() -> Suspension {
        Suspension::new(WaitKind::Unknown, None)
    }

    pub(crate) fn kind(self) -> WaitKind {
        WaitKind::from_tag((self.0.addr().get() >> KIND_SHIFT) as u8)
    }

    pub(crate) fn location(self) -> Option<&'static Location<'static>> {
        let untagged = self.0.as_ptr().map_addr(|addr| addr & ADDR_MASK);
        if untagged.addr() == 0 {
            return None; // the kind-only form
        }
        // SAFETY: an untagged address other than the kind-only form is the
        // `&'static Location` given to `new`, with its provenance kept by
        // `map_addr`.
        Some(unsafe { &*untagged })
    }

    pub(crate) fn checkpoint(self, detail: Option<String>) -> Checkpoint {
        Checkpoint { kind: self.kind(), location: self.location(), detail }
    }
}

impl fmt::Debug for Suspension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Suspension").field("kind", &self.kind()).field("location", &self.location()).finish()
    }
}

/// Records that the task being polled suspends here (`kind`, and where the
/// user awaited). Call it only on the way to returning `Pending`.
#[inline]
pub(crate) fn suspend_at(kind: WaitKind, location: Option<&'static Location<'static>>) {
    crate::runtime::current::set_suspension(Suspension::new(kind, location));
}

/// Where a task is suspended, as a dump reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// What it waits for.
    pub kind: WaitKind,
    /// The source location of the await, if corio knows it.
    pub location: Option<&'static Location<'static>>,
    /// What the loop knows besides: "until +1.5s", "fd 7", ...
    pub detail: Option<String>,
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())?;
        if let Some(detail) = &self.detail {
            write!(f, " {detail}")?;
        }
        if let Some(location) = self.location {
            // A join's location is the awaited task's spawn location.
            let at = if self.kind == WaitKind::Join { "spawned at" } else { "at" };
            write!(f, " {at} {location}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suspension_keeps_kind_and_location_in_one_word() {
        assert_eq!(std::mem::size_of::<Option<Suspension>>(), std::mem::size_of::<usize>());
        let here = Location::caller();
        for kind in WaitKind::ALL {
            let with = Suspension::new(kind, Some(here));
            assert_eq!((with.kind(), with.location()), (kind, Some(here)));
            let without = Suspension::new(kind, None);
            assert_eq!((without.kind(), without.location()), (kind, None));
        }
    }
}
