//! Tasks: futures the loop drives, with asyncio's lifecycle and cancellation.
//!
//! # Model
//!
//! A task is one heap allocation holding a header (state word, reference
//! count, vtables, id, spawn location) and the future, which is replaced by
//! its output when it finishes (`raw.rs`). The loop polls it when it is
//! scheduled; its waker schedules it again (`waker.rs`). A [`Task`] handle
//! awaits the output as `Result<T, JoinError>`, once; [`Task::shared`]
//! makes a [`SharedTask`] that any number of awaiters share, and
//! [`AnyTask::wait`] waits for a task's end without its output.
//!
//! # Invariants
//!
//! * A task is polled only on its loop's thread, never concurrently with
//!   itself, and never after it completed. Its future is dropped on that
//!   thread too — when it returns, panics, is aborted or the loop closes.
//! * Scheduling is idempotent: however many wakes arrive, a task is queued at
//!   most once, and a wake during a poll re-queues it after the poll
//!   (`state.rs`).
//! * The output is handed over exactly once: to the handle if it still
//!   exists at completion, otherwise dropped by the loop.
//! * Cancellation requests are counted; delivery is edge-triggered: one
//!   pending request is delivered at the next checkpoint, after which awaits
//!   run normally until the next `cancel()` ([`Cancelled`] describes how a
//!   task ends cancelled).
//!
//! The same invariants are stated next to the code that keeps them, and loom
//! models 1, 3, 5 and 7 in `corio-verify` check them under every interleaving
//! they can reach.
//!
//! # Below the loop
//!
//! This layer imports nothing from the runtime. What a task needs of the
//! loop that runs it — queueing it, cancel bookkeeping, done-callbacks,
//! spawning on the loop of this thread — is the seam in `host.rs`, which
//! the runtime implements; what this thread is polling (the current task,
//! its cancel scopes, where it suspends) is `current.rs`. `docs/design.md`
//! ("Layers") has the whole table, and `verify/layers.sh` keeps it.

mod any;
mod cancel;
pub(crate) mod cell_cache;
pub(crate) mod checkpoint;
pub(crate) mod context_slot;
pub(crate) mod current;
pub(crate) mod dump;
pub(crate) mod host;
mod join;
pub(crate) mod join_waker;
pub(crate) mod location_code;
pub(crate) mod origin;
pub(crate) mod owners;
pub(crate) mod raw;
mod shared;
mod spawn;
pub(crate) mod state;
mod wait_end;
pub(crate) mod waker;

pub use any::AnyTask;
pub use cancel::Cancelled;
pub use checkpoint::{Checkpoint, WaitKind};
pub use current::current_task_handle;
pub use dump::{dump, TaskDump, TaskSnapshot, TaskState};
pub use host::WrongThread;
pub(crate) use join::{join_checkpoint, task_name};
pub use join::{JoinError, Panic, Task, TaskId, TaskInfo};
pub use shared::SharedTask;
pub use spawn::spawn;
pub(crate) use spawn::spawn_local;
pub use wait_end::WaitEnd;

use std::borrow::Cow;
use std::future::Future;
use std::panic::Location;

/// Spawns with options: a name, or an eager start.
///
/// ```
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// # let lp = EventLoop::builder(ParkReactor::new()).build();
/// lp.block_on(async {
///     let task = corio_core::task::Builder::new().name("fetcher").spawn(async { 1 });
///     assert_eq!(task.name(), "fetcher");
///     assert_eq!(task.await.unwrap(), 1);
/// })
/// .unwrap();
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<Cow<'static, str>>,
    eager: bool,
}

impl Builder {
    /// Default options: named `Task-{id}`, first run in a later iteration.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task.
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Runs the task's first step immediately, inside `spawn`, until its
    /// first suspension (asyncio's eager task factory, rule T1's option).
    pub fn eager(mut self, eager: bool) -> Builder {
        self.eager = eager;
        self
    }

    /// Spawns `future` on the running loop; see [`spawn`](crate::spawn).
    ///
    /// # Panics
    ///
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let location = Location::caller();
        spawn_local(future, self.name, self.eager, location)
    }
}
