//! Where a task came from — its spawn location and, if it was given one, its
//! name — in 32 bits of the task header, or in a trailer after its stage.
//!
//! # Invariants
//!
//! * Every task has a spawn location; few have a name. An unnamed task's
//!   origin is its location's 32-bit code (`location_code.rs`): no
//!   allocation, half a word of header.
//! * A named task, or one whose location has no code, carries a [`Trailer`]
//!   (name and location) in its own allocation, after the stage (`raw.rs`),
//!   and its header code is [`OriginCode::IN_TRAILER`]. So no origin is lost,
//!   and a name lives exactly as long as the header: it outlives the output
//!   for a handle that asks after the task finished.
//! * The code is written once, at spawn, and read from any thread.

use super::location_code::{self, LocationCode};
use std::num::NonZeroU32;
use std::panic::Location;

/// A spawn's location and name, as the spawner gives them.
pub(crate) struct Origin {
    location: &'static Location<'static>,
    name: Option<Box<str>>,
}

/// A named (or far-away) task's origin, stored after its stage.
pub(crate) struct Trailer {
    pub(crate) name: Option<Box<str>>,
    pub(crate) location: &'static Location<'static>,
}

/// The header's half word: a location's code, or [`IN_TRAILER`](Self::IN_TRAILER).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OriginCode(u32);

impl Origin {
    #[inline]
    pub(crate) fn new(location: &'static Location<'static>, name: Option<Box<str>>) -> Origin {
        Origin { location, name }
    }

    /// The header's code, or the trailer the task must carry instead.
    #[inline]
    pub(crate) fn into_code(self) -> Result<OriginCode, Trailer> {
        let name = &self.name;
        match (name, location_code::encode::<32>(self.location)) {
            (None, Some(code)) => Ok(OriginCode(code.bits().get())),
            _ => Err(Trailer { name: self.name, location: self.location }),
        }
    }
}

impl OriginCode {
    /// The origin is in the task's trailer.
    pub(crate) const IN_TRAILER: OriginCode = OriginCode(0);

    /// The spawn location, unless it is in the trailer.
    #[inline]
    pub(crate) fn location(self) -> Option<&'static Location<'static>> {
        // SAFETY: a non-zero code is the bits of a `LocationCode<32>` (made
        // by `into_code`).
        NonZeroU32::new(self.0).map(|bits| unsafe { LocationCode::<32>::from_bits(bits) }.location())
    }
}

#[cfg(test)]
mod tests {
    use super::{Origin, OriginCode};
    use std::panic::Location;

    #[test]
    fn an_unnamed_origin_is_a_code_and_a_named_one_a_trailer() {
        let here = Location::caller();
        let code = Origin::new(here, None).into_code().ok().expect("a nearby location has a code");
        assert_ne!(code, OriginCode::IN_TRAILER);
        assert!(std::ptr::eq(code.location().expect("not in the trailer"), here));
        let trailer = Origin::new(here, Some("worker".into())).into_code().expect_err("a name needs the trailer");
        assert_eq!((trailer.name.as_deref(), trailer.location), (Some("worker"), here));
        assert_eq!(OriginCode::IN_TRAILER.location(), None);
        assert_eq!(std::mem::size_of::<OriginCode>(), 4);
    }
}
