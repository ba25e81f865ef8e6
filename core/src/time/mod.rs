//! Waiting: `sleep`, `sleep_until`, `yield_now` and the periodic
//! [`interval`] — all checkpoints.
//!
//! A sleep registers one timer with the running loop on its first poll (no
//! allocation: timers live in the loop's slab) and cancels it when dropped
//! early (W8's register + cancel). A sleep whose deadline is not in the
//! future registers nothing and yields once, as `asyncio.sleep(0)` does.
//!
//! A timer that fires does not resume its task in the same iteration: it
//! queues a wake-up that runs with that iteration's batch, and the task runs
//! in the next — asyncio's timer only resolves the sleep's future, whose
//! callback then schedules the task. So a sleeper and a callback due at the
//! same time run callback first, as in asyncio.

mod deadline;
mod far;
mod interval;
mod sleep;
mod yield_now;

pub(crate) use deadline::Deadline;
pub(crate) use far::{deadline_after, end_of_time};
pub use interval::{interval, interval_at, Interval, MissedTickBehavior, Tick, ZeroPeriod};
pub use sleep::{sleep, sleep_until, Sleep};
pub use yield_now::{yield_now, YieldNow};
