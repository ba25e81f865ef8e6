//! Bounded spinning: how a thread about to park waits a little first for
//! work another thread is about to hand it (the loop for a blocking job's
//! result, a pool worker for its next job).
//!
//! A spin is worth it only when the hand-off usually comes within
//! microseconds and waking a parked thread costs more (5–30 µs on a virtual
//! machine). The check is cheap (an atomic load); the clock is read once per
//! 64 checks.

use std::time::{Duration, Instant};

/// Spins until `arrived()` is true (`true`) or `limit` has passed (`false`).
pub(crate) fn spin_until(limit: Duration, mut arrived: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            if arrived() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= limit {
            return false;
        }
    }
}
