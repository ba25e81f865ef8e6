//! Waiting for several things at once: asyncio's `gather`, `wait` and
//! `as_completed`, and a `select`-style race.
//!
//! Each is a checkpoint in its own right where asyncio's is, and decides
//! what the awaiting task's cancel does to the things it waits for:
//!
//! | combinator | inputs | a cancel of the awaiting task |
//! |---|---|---|
//! | [`gather`](fn@gather), [`gather_settled`] | futures, each spawned as a task | cancels every child, waits for them, ends `Cancelled` (K1) |
//! | [`wait`](fn@wait) | tasks | ends the wait with `Err(Cancelled)`; the tasks keep running (K2) |
//! | [`as_completed`](fn@as_completed) | any futures, polled in place | `next()` returns `Err(Cancelled)`; the futures stay (K3) |
//! | [`select`](fn@select), [`select_all`] | any futures, polled in place | reaches them: their own checkpoints return it |

mod as_completed;
mod gather;
mod select;
mod wait;

pub use as_completed::{as_completed, AsCompleted, Next};
pub use gather::{gather, gather_settled, Gather, GatherError, GatherHandle, GatherSettled};
pub use select::{select, select_all, Either, Select, SelectAll};
pub use wait::{wait, Outcome, ReturnWhen, WaitTasks};
