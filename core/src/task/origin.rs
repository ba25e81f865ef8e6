//! Where a task came from — its spawn location and, if it was given one, its
//! name — in one word of the task header.
//!
//! # Invariants
//!
//! * Every task has a spawn location; few have a custom name. So the word is
//!   the `&'static Location` itself for an unnamed task (no allocation), and
//!   a `Box<Named>` holding the name and the location for a named one (the
//!   allocation a name needs anyway).
//! * The two are told apart by the low bit: a `Location` holds a `&str`, so
//!   it is at least 2-aligned and its address has the bit clear; a `Named`
//!   pointer is stored with the bit set.
//! * The word is written once, at spawn, and read from any thread: it is
//!   immutable for the task's life and freed with the header.

use std::panic::Location;
use std::ptr::NonNull;

/// A named task's origin.
struct Named {
    name: Box<str>,
    location: &'static Location<'static>,
}

const NAMED: usize = 1;

/// See the [module docs](self).
pub(crate) struct Origin(NonNull<()>);

// Both alignments leave the tag bit free.
const _: () = assert!(std::mem::align_of::<Location<'static>>() > NAMED);
const _: () = assert!(std::mem::align_of::<Named>() > NAMED);

impl Origin {
    #[inline]
    pub(crate) fn new(location: &'static Location<'static>, name: Option<Box<str>>) -> Origin {
        match name {
            None => Origin(NonNull::from(location).cast()),
            Some(name) => {
                let named = NonNull::from(Box::leak(Box::new(Named { name, location })));
                Origin(named.cast::<u8>().map_addr(|a| a | NAMED).cast())
            }
        }
    }

    #[inline]
    fn named(&self) -> Option<&Named> {
        if self.0.addr().get() & NAMED == 0 {
            return None;
        }
        let ptr = self.0.cast::<u8>().map_addr(untag).cast::<Named>();
        // SAFETY: a tagged word is a leaked `Box<Named>` owned by this origin
        // until it is dropped.
        Some(unsafe { ptr.as_ref() })
    }

    pub(crate) fn location(&self) -> &'static Location<'static> {
        match self.named() {
            Some(named) => named.location,
            // SAFETY: an untagged word is a `&'static Location` (see `new`).
            None => unsafe { self.0.cast::<Location<'static>>().as_ref() },
        }
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.named().map(|named| &*named.name)
    }
}

/// Clears the tag bit (never zero: the untagged address is a box's).
fn untag(addr: std::num::NonZeroUsize) -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::new(addr.get() & !NAMED).expect("a boxed address is not zero")
}

impl Drop for Origin {
    #[inline]
    fn drop(&mut self) {
        if let Some(named) = self.named() {
            // SAFETY: the tagged word came from `Box::leak` in `new` and is
            // dropped once, here.
            drop(unsafe { Box::from_raw(named as *const Named as *mut Named) });
        }
    }
}

// SAFETY: the origin is immutable after construction and owns only a
// `Box<str>` and a `&'static Location`, both `Send + Sync`.
unsafe impl Send for Origin {}
// SAFETY: as above.
unsafe impl Sync for Origin {}

#[cfg(test)]
mod tests {
    use super::Origin;
    use std::panic::Location;

    #[test]
    fn unnamed_and_named_keep_their_location() {
        let here = Location::caller();
        let plain = Origin::new(here, None);
        assert_eq!((plain.location(), plain.name()), (here, None));
        let named = Origin::new(here, Some("worker".into()));
        assert_eq!((named.location(), named.name()), (here, Some("worker")));
        assert_eq!(std::mem::size_of::<Origin>(), 8);
    }
}
