//! Where a task is suspended: the checkpoint a task dump shows and a slow
//! poll report names.
//!
//! # Invariants
//!
//! * Recording costs nothing on the ready path: a wait calls
//!   [`suspend_at`] only when it is about to return `Pending`, and that is
//!   one thread-local write (`task::current`). The loop copies the value
//!   into the task's header after a poll that returned `Pending`.
//! * A suspension is 32 bits: the [`WaitKind`] in the low 5, and the await's
//!   source location (from `#[track_caller]`) as a 27-bit code
//!   (`location_code.rs`, ±512 MiB around corio's anchor) above, or 0 for
//!   none. A location out of that reach is dropped and the kind kept; the
//!   dump then shows the wait without its line. `Option<Suspension>` is the
//!   header's "never polled" too (`None`), beside the task's origin code.
//! * Dynamic detail — a sleep's deadline, a socket's fd — is not stored: the
//!   dump finds it in the loop's timer heap and I/O registry, by the task's
//!   waker, only when a dump is asked for.

use super::location_code::{self, LocationCode};
use std::fmt;
use std::num::NonZeroU32;
use std::panic::Location;

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

/// A suspension point in 32 bits: see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Suspension(NonZeroU32);

const KIND_BITS: u32 = 5;
const LOCATION_BITS: u32 = 32 - KIND_BITS;
const _: () = assert!(WaitKind::ALL.len() < 1 << KIND_BITS);

impl Suspension {
    #[inline]
    pub(crate) fn new(kind: WaitKind, location: Option<&'static Location<'static>>) -> Suspension {
        let code = location.and_then(location_code::encode::<LOCATION_BITS>).map_or(0, |code| code.bits().get());
        // Never zero: every kind's tag is.
        Suspension(NonZeroU32::new(kind as u32 | code << KIND_BITS).expect("kind tags are non-zero"))
    }

    /// A `Pending` poll that recorded no checkpoint.
    /// The suspension as 32 bits (never 0), for an atomic.
    #[inline]
    pub(crate) fn bits(self) -> u32 {
        self.0.get()
    }

    /// Back from [`bits`](Self::bits); 0 is `None`.
    #[inline]
    pub(crate) fn from_bits(bits: u32) -> Option<Suspension> {
        NonZeroU32::new(bits).map(Suspension)
    }

    #[inline]
    pub(crate) fn unknown() -> Suspension {
        Suspension::new(WaitKind::Unknown, None)
    }

    pub(crate) fn kind(self) -> WaitKind {
        WaitKind::from_tag((self.0.get() & ((1 << KIND_BITS) - 1)) as u8)
    }

    pub(crate) fn location(self) -> Option<&'static Location<'static>> {
        let bits = NonZeroU32::new(self.0.get() >> KIND_BITS)?;
        // SAFETY: the bits above the kind are a `LocationCode<LOCATION_BITS>`
        // (see `new`, the only constructor).
        Some(unsafe { LocationCode::<LOCATION_BITS>::from_bits(bits) }.location())
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
    super::current::set_suspension(Suspension::new(kind, location));
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
    fn a_suspension_keeps_kind_and_location_in_32_bits() {
        assert_eq!(std::mem::size_of::<Option<Suspension>>(), 4);
        let here = Location::caller();
        for kind in WaitKind::ALL {
            let with = Suspension::new(kind, Some(here));
            assert_eq!((with.kind(), with.location()), (kind, Some(here)));
            let without = Suspension::new(kind, None);
            assert_eq!((without.kind(), without.location()), (kind, None));
        }
    }
}
