//! Waiting: `sleep`, `sleep_until`, `yield_now` — all checkpoints.
//!
//! A sleep registers one timer with the running loop on its first poll (no
//! allocation: timers live in the loop's slab) and cancels it when dropped
//! early (W8's register + cancel). `sleep(Duration::ZERO)` registers nothing
//! and yields once, as `asyncio.sleep(0)` does.

mod sleep;
mod yield_now;

pub use sleep::{sleep, sleep_until, Sleep};
pub use yield_now::{yield_now, YieldNow};
