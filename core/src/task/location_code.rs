//! A `&'static Location` in 32 bits or fewer: its offset from an anchor in
//! the binary, in units of the type's alignment.
//!
//! # Invariants
//!
//! * The `Location`s `#[track_caller]` hands out are statics in the image
//!   that holds the caller, and Rust links crates statically, so they lie
//!   within a few MiB of this module's anchor. A code counts in units of
//!   `Location`'s alignment (8 bytes on 64-bit targets): 32 bits reach
//!   ±16 GiB, 27 bits ±512 MiB.
//! * Code 0 is never a location: the anchor is not one, and no other object
//!   shares its address. Callers use it for "none".
//! * A location out of reach (in another shared object, say) has no code:
//!   [`encode`] returns `None`, and the caller keeps it elsewhere or goes
//!   without, as its docs say.
//! * Encoding exposes the location's provenance and decoding takes it back
//!   (`with_exposed_provenance`), so the round trip yields a pointer as
//!   valid as the reference that was encoded.

use std::num::NonZeroU32;
use std::panic::Location;
use std::ptr;

/// Aligned at least as strictly as `Location`, so every offset is a whole
/// number of units.
#[repr(align(8))]
struct Anchor(#[allow(dead_code)] u8);

static ANCHOR: Anchor = Anchor(0);

const UNIT: i64 = std::mem::align_of::<Location<'static>>() as i64;
const _: () = assert!(std::mem::align_of::<Anchor>() as i64 % UNIT == 0);

/// A location's code in `BITS` bits (at most 32), or `None` if it lies out
/// of reach.
#[inline]
pub(crate) fn encode<const BITS: u32>(location: &'static Location<'static>) -> Option<LocationCode<BITS>> {
    let address = ptr::from_ref(location).expose_provenance() as i64;
    // Never zero: only the anchor itself is 0 units away.
    code_bits::<BITS>((address - anchor()) / UNIT).map(LocationCode)
}

/// `units` as a `BITS`-bit two's complement number; `None` if it does not
/// fit (or is 0).
#[inline]
fn code_bits<const BITS: u32>(units: i64) -> Option<NonZeroU32> {
    const { assert!(BITS >= 2 && BITS <= 32) };
    let reach = 1i64 << (BITS - 1);
    if !(-reach..reach).contains(&units) {
        return None;
    }
    NonZeroU32::new(units as u32 & (u32::MAX >> (32 - BITS)))
}

/// Reverses [`code_bits`]: sign-extends the `BITS`-bit number.
#[inline]
fn units_of<const BITS: u32>(bits: NonZeroU32) -> i64 {
    i64::from((bits.get() << (32 - BITS)) as i32 >> (32 - BITS))
}

fn anchor() -> i64 {
    ptr::from_ref(&ANCHOR).addr() as i64
}

/// A location encoded by [`encode`]; only `encode` makes one, so decoding
/// it is sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocationCode<const BITS: u32>(NonZeroU32);

impl<const BITS: u32> LocationCode<BITS> {
    /// The code's bits (never zero, below `2^BITS`).
    #[inline]
    pub(crate) fn bits(self) -> NonZeroU32 {
        self.0
    }

    /// Reverses [`bits`](Self::bits).
    ///
    /// # Safety
    ///
    /// `bits` came from `bits()` of a code with the same `BITS`.
    #[inline]
    pub(crate) unsafe fn from_bits(bits: NonZeroU32) -> Self {
        LocationCode(bits)
    }

    /// The location the code was made from.
    #[inline]
    pub(crate) fn location(self) -> &'static Location<'static> {
        let address = (anchor() + units_of::<BITS>(self.0) * UNIT) as usize;
        // SAFETY: only `encode` makes a code (`from_bits` requires one it
        // made), from a `&'static Location` whose provenance it exposed at
        // this address; that location lives for the whole program.
        unsafe { &*ptr::with_exposed_provenance::<Location<'static>>(address) }
    }
}

#[cfg(test)]
mod tests {
    use super::{code_bits, encode, units_of, LocationCode};
    use std::panic::Location;

    #[track_caller]
    fn here() -> &'static Location<'static> {
        Location::caller()
    }

    #[test]
    fn a_location_survives_its_code_at_both_widths() {
        let locations = [here(), here(), Location::caller()];
        for location in locations {
            let wide: LocationCode<32> = encode(location).expect("in reach");
            let narrow: LocationCode<27> = encode(location).expect("in reach");
            assert!(std::ptr::eq(wide.location(), location));
            assert!(std::ptr::eq(narrow.location(), location));
            assert!(narrow.bits().get() < 1 << 27);
        }
        let (a, b) = (encode::<32>(locations[0]).unwrap(), encode::<32>(locations[1]).unwrap());
        assert_ne!(a, b, "two call sites, two codes");
    }

    #[test]
    fn codes_reach_exactly_their_width_either_way() {
        let round_trip = |units: i64| code_bits::<27>(units).map(units_of::<27>);
        let reach = 1i64 << 26;
        for units in [1, -1, 12345, -12345, reach - 1, -reach] {
            assert_eq!(round_trip(units), Some(units));
        }
        for units in [0, reach, -reach - 1, i64::from(i32::MAX)] {
            assert_eq!(round_trip(units), None);
        }
        assert_eq!(code_bits::<32>(i64::from(i32::MIN)).map(units_of::<32>), Some(i64::from(i32::MIN)));
        assert_eq!(code_bits::<32>(i64::from(i32::MAX) + 1), None);
    }
}
