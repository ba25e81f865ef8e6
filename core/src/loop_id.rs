//! A loop's process-unique identity, for objects that must name a loop
//! without keeping it alive (I/O sources, timers, signal handlers).

/// A loop's process-unique identity. Never zero, so an `Option<LoopId>` (and
/// a sleep's state that holds one) costs no extra word. Objects that do not
/// keep the loop alive name it by id, not by address: an address can be
/// reused by a later loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct LoopId(std::num::NonZeroU64);

impl LoopId {
    /// A fresh id, never handed out before in this process.
    pub(crate) fn next() -> LoopId {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        LoopId(std::num::NonZeroU64::new(id).expect("2^64 loops"))
    }
}
