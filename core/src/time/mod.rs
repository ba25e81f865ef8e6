//! Waiting: `sleep`, `sleep_until`, `yield_now` and the periodic
//! [`interval`] — all checkpoints.
//!
//! ```
//! # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
//! use std::time::{Duration, Instant};
//!
//! corio::run(async {
//!     let start = Instant::now();
//!     corio::time::sleep(Duration::from_millis(5)).await?; // also `corio::sleep`
//!     assert!(start.elapsed() >= Duration::from_millis(5));
//!
//!     let mut ticks = corio::time::interval(Duration::from_millis(2)).unwrap(); // a zero period is an error
//!     for _ in 0..3 {
//!         ticks.tick().await?; // the first tick is at once, then one every 2 ms
//!     }
//!     corio::time::yield_now().await?; // let the other ready tasks run
//!     Ok::<_, corio::Cancelled>(())
//! })
//! .unwrap()
//! .unwrap();
//! ```
//!
//! Timeouts are in [`structured`](crate::structured): `corio::timeout(d).run(fut)`,
//! `corio::wait_for(fut, d)`, and tokio's drop-on-deadline `fut.timeout(d)`.
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
