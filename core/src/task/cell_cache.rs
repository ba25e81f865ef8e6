//! A per-thread cache of freed task cells.
//!
//! Every spawn allocates one cell (header and future) and every finished task
//! frees it. On a loop that spawns and finishes tasks steadily, the global
//! allocator's round trip is the largest single cost of a spawn: about 135 of
//! W6's 1 070 instructions per spawn with glibc. This cache keeps up to
//! [`PER_CLASS`] freed cells per size class on the thread that freed them and
//! hands them to the next allocation of the same class on that thread: a pop
//! and a push of a singly linked list.
//!
//! # Invariants
//!
//! * A block of class `c` is always allocated from, and returned to, the
//!   global allocator with [`class_layout`]`(c)`, whether or not the cache is
//!   on, so a block may move between the cache and the allocator freely.
//! * A cached block holds no live value: its cell was dropped in place before
//!   [`free`]. Its first word is the list's link.
//! * The cache is the thread's own (a thread-local); a block freed on one
//!   thread is cached there, and memory is memory, so another task may reuse
//!   it on that thread. At most `CLASSES × PER_CLASS` blocks of at most 512
//!   bytes stay cached per thread, and the thread's exit returns them.
//! * Off under loom and Miri, and when the environment variable
//!   `CORIO_NO_CELL_CACHE` is set: a memory checker (valgrind's memcheck,
//!   AddressSanitizer) cannot flag a use after free of a cell that sits in
//!   the cache, so the CI runs memcheck with the cache off.

// Under loom and Miri only the allocator's path is compiled in.
#![cfg_attr(any(corio_loom, miri), allow(dead_code))]

use std::alloc::{self, Layout};
use std::ptr::NonNull;

/// Size classes are multiples of this; it is also every class's alignment.
const GRANULE: usize = 16;
/// Classes 16, 32, ..., 512 bytes. Larger cells (large futures) bypass.
const CLASSES: usize = 32;
/// How many freed blocks a class keeps per thread.
const PER_CLASS: u16 = 32;

/// The class of `layout`, if it has one.
#[inline(always)]
fn class_of(layout: Layout) -> Option<usize> {
    let class = layout.size().div_ceil(GRANULE).checked_sub(1)?;
    (class < CLASSES && layout.align() <= GRANULE).then_some(class)
}

/// The layout every block of `class` is allocated with.
#[inline(always)]
fn class_layout(class: usize) -> Layout {
    // Cannot fail: the size is a multiple of the alignment, far below isize::MAX.
    Layout::from_size_align((class + 1) * GRANULE, GRANULE).expect("a class layout")
}

/// Memory for a cell of `layout`: a cached block of its class, or the global
/// allocator's. Aborts like `Box::new` if the allocator fails.
#[inline]
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    let Some(class) = class_of(layout) else { return global_alloc(layout) };
    if let Some(block) = thread_cache::pop(class) {
        return block;
    }
    global_alloc(class_layout(class))
}

/// Returns a cell's memory, allocated by [`alloc()`] with the same `layout`.
///
/// # Safety
///
/// `ptr` came from [`alloc()`] with `layout`, is not used again, and holds
/// no live value (the cell was dropped in place).
#[inline]
pub(crate) unsafe fn free(ptr: NonNull<u8>, layout: Layout) {
    let Some(class) = class_of(layout) else {
        // SAFETY: allocated by `global_alloc(layout)` (no class), per the contract.
        unsafe { alloc::dealloc(ptr.as_ptr(), layout) };
        return;
    };
    // SAFETY: a block of `class` with no live value, per the contract.
    if unsafe { thread_cache::push(class, ptr) } {
        return;
    }
    // SAFETY: every block of `class` is allocated with `class_layout(class)`.
    unsafe { alloc::dealloc(ptr.as_ptr(), class_layout(class)) };
}

/// Inline, so that a constant layout reaches the allocator as one (`Box::new`
/// is inlined the same way).
#[inline(always)]
fn global_alloc(layout: Layout) -> NonNull<u8> {
    // SAFETY: every cell has a non-zero size (its header).
    let ptr = unsafe { alloc::alloc(layout) };
    NonNull::new(ptr).unwrap_or_else(|| alloc::handle_alloc_error(layout))
}

/// The free lists themselves: one thread's cached blocks, by class.
struct Bins {
    heads: [Option<NonNull<FreeBlock>>; CLASSES],
    lens: [u16; CLASSES],
}

/// A cached block's first word: the next block of its class.
struct FreeBlock {
    next: Option<NonNull<FreeBlock>>,
}

impl Bins {
    const fn new() -> Bins {
        Bins { heads: [None; CLASSES], lens: [0; CLASSES] }
    }

    /// A cached block of `class`, if any.
    #[inline]
    fn pop(&mut self, class: usize) -> Option<NonNull<u8>> {
        let block = self.heads[class]?;
        // SAFETY: a cached block is owned by this list and starts with its link.
        self.heads[class] = unsafe { block.as_ref().next };
        self.lens[class] -= 1;
        Some(block.cast())
    }

    /// Caches `block` unless its class is full; `false` if it is.
    ///
    /// # Safety
    ///
    /// `block` is a block of `class` (allocated with `class_layout(class)`)
    /// that nobody uses any more.
    #[inline]
    unsafe fn push(&mut self, class: usize, block: NonNull<u8>) -> bool {
        if self.lens[class] >= PER_CLASS {
            return false;
        }
        let block = block.cast::<FreeBlock>();
        // SAFETY: the block is at least 16 bytes, 16-aligned, and unused.
        unsafe { block.as_ptr().write(FreeBlock { next: self.heads[class] }) };
        self.heads[class] = Some(block);
        self.lens[class] += 1;
        true
    }

    #[cfg(test)]
    fn len(&self, class: usize) -> u16 {
        self.lens[class]
    }
}

impl Drop for Bins {
    fn drop(&mut self) {
        for class in 0..CLASSES {
            while let Some(block) = self.pop(class) {
                // SAFETY: every block of `class` is allocated with `class_layout(class)`.
                unsafe { alloc::dealloc(block.as_ptr(), class_layout(class)) };
            }
        }
    }
}

#[cfg(not(any(corio_loom, miri)))]
mod thread_cache {
    use super::Bins;
    use std::cell::UnsafeCell;
    use std::ptr::NonNull;
    use std::sync::atomic::{AtomicU8, Ordering};

    std::thread_local! {
        static BINS: UnsafeCell<Bins> = const { UnsafeCell::new(Bins::new()) };
    }

    /// 0: not looked up yet; 1: on; 2: off (`CORIO_NO_CELL_CACHE`).
    static ENABLED: AtomicU8 = AtomicU8::new(0);

    #[inline]
    fn enabled() -> bool {
        match ENABLED.load(Ordering::Relaxed) {
            1 => true,
            2 => false,
            _ => look_up(),
        }
    }

    #[cold]
    fn look_up() -> bool {
        let on = std::env::var_os("CORIO_NO_CELL_CACHE").is_none();
        ENABLED.store(if on { 1 } else { 2 }, Ordering::Relaxed);
        on
    }

    #[inline]
    pub(super) fn pop(class: usize) -> Option<NonNull<u8>> {
        if !enabled() {
            return None;
        }
        // SAFETY: `pop` and `push` are leaf operations that never re-enter,
        // so this is the only reference to the thread's bins. After the
        // thread's destructors ran, `try_with` fails and the block comes from
        // the allocator.
        BINS.try_with(|bins| unsafe { (*bins.get()).pop(class) }).ok().flatten()
    }

    /// # Safety
    ///
    /// As [`Bins::push`].
    #[inline]
    pub(super) unsafe fn push(class: usize, block: NonNull<u8>) -> bool {
        if !enabled() {
            return false;
        }
        // SAFETY: as in `pop`; the block's contract is the caller's.
        BINS.try_with(|bins| unsafe { (*bins.get()).push(class, block) }).unwrap_or(false)
    }
}

#[cfg(any(corio_loom, miri))]
mod thread_cache {
    use std::ptr::NonNull;

    pub(super) fn pop(_class: usize) -> Option<NonNull<u8>> {
        None
    }

    pub(super) unsafe fn push(_class: usize, _block: NonNull<u8>) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(class: usize) -> NonNull<u8> {
        global_alloc(class_layout(class))
    }

    #[test]
    fn classes_are_16_byte_steps_up_to_512_and_16_aligned() {
        assert_eq!(class_of(Layout::from_size_align(1, 1).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(16, 8).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(17, 8).unwrap()), Some(1));
        assert_eq!(class_of(Layout::from_size_align(64, 16).unwrap()), Some(3));
        assert_eq!(class_of(Layout::from_size_align(512, 8).unwrap()), Some(31));
        assert_eq!(class_of(Layout::from_size_align(513, 8).unwrap()), None, "too large");
        assert_eq!(class_of(Layout::from_size_align(64, 32).unwrap()), None, "over-aligned");
        for class in 0..CLASSES {
            let layout = class_layout(class);
            assert_eq!(class_of(layout), Some(class));
            assert_eq!(layout.align(), GRANULE);
        }
    }

    #[test]
    fn a_freed_block_goes_to_the_next_allocation_of_its_class_only() {
        let mut bins = Bins::new();
        let (a, b) = (block(3), block(3));
        // SAFETY: fresh blocks of class 3, unused.
        unsafe {
            assert!(bins.push(3, a));
            assert!(bins.push(3, b));
        }
        assert_eq!(bins.pop(4), None, "another class gets none of them");
        assert_eq!(bins.pop(2), None);
        assert_eq!(bins.pop(3), Some(b), "last freed, first reused");
        assert_eq!(bins.pop(3), Some(a));
        assert_eq!(bins.pop(3), None);
        // SAFETY: back to the allocator with the layout they came with.
        unsafe {
            alloc::dealloc(a.as_ptr(), class_layout(3));
            alloc::dealloc(b.as_ptr(), class_layout(3));
        }
    }

    #[test]
    fn a_class_keeps_at_most_per_class_blocks() {
        let mut bins = Bins::new();
        for _ in 0..PER_CLASS {
            // SAFETY: fresh blocks of class 5; the bins own them from here.
            assert!(unsafe { bins.push(5, block(5)) });
        }
        let extra = block(5);
        // SAFETY: as above.
        assert!(!unsafe { bins.push(5, extra) }, "a full class refuses the block");
        assert_eq!(bins.len(5), PER_CLASS);
        // SAFETY: refused, so still ours.
        unsafe { alloc::dealloc(extra.as_ptr(), class_layout(5)) };
        // `bins` returns its blocks when dropped.
    }

    #[test]
    fn alloc_and_free_round_trip_through_every_class_and_beyond() {
        // Two rounds per size: the second takes blocks the first parked in
        // the cache (when it is on). Live blocks must be aligned and disjoint.
        for size in [1, 56, 64, 100, 512, 513, 4096] {
            let layout = Layout::from_size_align(size, 8).unwrap();
            for _round in 0..2 {
                let ptrs: Vec<_> = (0..2 * PER_CLASS).map(|_| alloc(layout)).collect();
                for (i, &ptr) in ptrs.iter().enumerate() {
                    assert_eq!(ptr.as_ptr() as usize % layout.align(), 0, "size {size}: misaligned");
                    // SAFETY: the block is at least `size` bytes.
                    unsafe { ptr.as_ptr().write_bytes(i as u8, size) };
                }
                for (i, &ptr) in ptrs.iter().enumerate() {
                    // SAFETY: written above, still live.
                    let bytes = unsafe { std::slice::from_raw_parts(ptr.as_ptr(), size) };
                    assert!(bytes.iter().all(|&b| b == i as u8), "size {size}: block {i} overlaps another");
                }
                for ptr in ptrs {
                    // SAFETY: from `alloc(layout)`, unused from here.
                    unsafe { free(ptr, layout) };
                }
            }
        }
    }
}
