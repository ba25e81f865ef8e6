//! How deep in the stack a repetition runs: one process is one draw of the stack's address.
//!
//! Linux starts each process's stack at a random 16-byte-aligned offset (ASLR), while the heap, static TLS and the
//! code start at page boundaries. So from one process to the next, the one thing that moves within a page is the
//! stack. A hot loop that stores to a heap word and then loads a stack slot with the same low 12 address bits (or
//! the other way round) stalls on every iteration: the core holds the load back behind the store it seems to
//! alias ("4K aliasing"). Which stack offsets do that depends on the loop's code and on where its heap data
//! landed, so a runtime can be slow in one process and fast in the next, with nothing else changed.
//!
//! Measured with `--stack-scan W9b` (docs/benchmarks.md): corio's `wait_for` costs 47 ns instead of 39 ns at a few
//! of the 256 offsets, tokio's `timeout` 50–56 ns instead of 45 at a few others. A table made in one process
//! shows each runtime at one offset, good or bad; the harness therefore runs each repetition at a different
//! depth, the same depths for every runtime, so the median is the typical layout's and min–max shows the spread.
//!
//! Rust has no `alloca`; [`run_at`] reaches a depth through two calls whose frames hold a padding array of a
//! size fixed at compile time (16 × 16 coarse sizes, 16 fine ones), so the 256 depths cost 32 small functions.

use std::mem::MaybeUninit;

/// The depths: 4096 / 16, every 16-byte-aligned offset within a page.
pub const SLOTS: usize = 256;

/// Runs `f` with the stack `16 * slot` bytes deeper than at slot 0 (`slot` is taken modulo [`SLOTS`]).
pub fn run_at<R>(slot: usize, f: impl FnOnce() -> R) -> R {
    let slot = slot % SLOTS;
    let mut f = Some(f);
    let mut output = None;
    let mut body = || output = f.take().map(|f| f());
    let mut fine = || fine(slot % 16, &mut body);
    coarse(slot / 16, &mut fine);
    output.expect("run_at calls its body once")
}

/// The depth of slot `k` of a run's repetitions: consecutive repetitions land far apart (97 is odd, so `k` in
/// 0..256 visits every slot once), starting from `base`, which a run draws at random as ASLR would.
pub fn slot(base: usize, k: usize) -> usize {
    (base + 97 * k) % SLOTS
}

/// A base for [`slot`], drawn per run as ASLR draws the stack's start per process (the clock's nanoseconds: the
/// draw needs to differ between runs, not to be unpredictable).
pub fn random_base() -> usize {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    now.subsec_nanos() as usize % SLOTS
}

/// A frame `BYTES` bytes larger than `pad::<0>`'s, around a call of `next`.
#[inline(never)]
fn pad<const BYTES: usize>(next: &mut dyn FnMut()) {
    let padding = [MaybeUninit::<u8>::uninit(); BYTES];
    // The array must exist in the frame while `next` runs: looked at before and after the call.
    std::hint::black_box(&padding);
    next();
    std::hint::black_box(&padding);
}

macro_rules! pad_by {
    ($k:expr, $unit:literal, $next:expr; $($n:literal)*) => {
        match $k {
            $($n => pad::<{ $n * $unit }>($next),)*
            _ => unreachable!("k < 16"),
        }
    };
}

fn coarse(k: usize, next: &mut dyn FnMut()) {
    pad_by!(k, 256, next; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
}

fn fine(k: usize, next: &mut dyn FnMut()) {
    pad_by!(k, 16, next; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(slot: usize) -> usize {
        run_at(slot, || {
            let local = 0u8;
            std::hint::black_box(&local) as *const u8 as usize
        })
    }

    /// Slot `s` runs exactly `16 * s` bytes deeper than slot 0, for every slot: the padding is really on the stack.
    #[test]
    fn every_slot_is_sixteen_bytes_deeper_than_the_last() {
        let top = depth(0);
        for slot in 0..SLOTS {
            assert_eq!(top - depth(slot), 16 * slot, "slot {slot}");
        }
    }

    #[test]
    fn a_run_visits_every_slot_once() {
        let mut seen: Vec<usize> = (0..SLOTS).map(|k| slot(41, k)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..SLOTS).collect::<Vec<_>>());
    }

    #[test]
    fn run_at_returns_its_bodys_output() {
        assert_eq!(run_at(300, || 7), 7);
    }
}
