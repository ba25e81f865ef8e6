//! corio's core: the four traits and the event loop generic over them.
//!
//! * [`reactor::Reactor`] — readiness I/O (epoll, kqueue, io_uring, mock).
//! * [`clock::Clock`] — time (system, virtual).
//! * [`executor::Executor`] — the order of each iteration's ready batch
//!   (FIFO, seeded random).
//! * [`context::ContextStore`] — context-variable snapshots with O(1) copy.
//!
//! [`runtime::EventLoop`] is asyncio's event loop over them; [`task`] holds
//! tasks and cancellation; [`structured`] task groups, timeouts, shields,
//! cancel scopes and combinators; [`mod@time`] the sleeps; [`io`] sockets;
//! [`sync`] locks, events, conditions, semaphores, barriers, queues and
//! channels; [`Completion`] asyncio's settable future; [`blocking`] the
//! thread pool for blocking work; [`signal`] Unix signals as loop events;
//! [`fs`] files on the blocking pool; [`process`] child processes;
//! [`streams`] asyncio's streams API.
//! Most programs use the `corio` facade crate, which picks a backend and
//! re-exports all of this.
//!
//! ```
//! use corio_core::reactor::ParkReactor;
//! use corio_core::runtime::EventLoop;
//! use std::time::Duration;
//!
//! let lp = EventLoop::new(ParkReactor::new());
//! let answer = lp.block_on(async {
//!     let task = corio_core::spawn(async {
//!         corio_core::sleep(Duration::from_millis(1)).await?;
//!         Ok::<_, corio_core::task::Cancelled>(42)
//!     });
//!     task.await
//! });
//! assert_eq!(answer.unwrap().unwrap().unwrap(), 42);
//! ```

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod blocking;
mod cancellable;
pub mod clock;
mod completion;
pub mod context;
pub mod executor;
pub mod fs;
pub mod io;
pub(crate) mod loom;
mod loop_id;
pub mod multi_loop;
pub mod process;
pub mod reactor;
pub mod runtime;
pub mod signal;
mod spin;
pub mod streams;
pub mod structured;
pub mod sync;
pub mod task;
pub mod time;

pub use blocking::{run_in_executor, spawn_blocking, to_thread};
pub use cancellable::{cancellable, Cancellable, FutureExt};
pub use completion::{Completion, FutureError, Wait};
pub use runtime::current::{call_at, call_later, call_soon, handle, stop, time, try_handle};
pub use structured::{
    as_completed, fail_after, fail_at, gather, gather_settled, move_on_after, move_on_at, select, select_all, shield,
    task_group, timeout, timeout_at, wait, wait_for,
};
pub use task::{current_task_handle as current_task, spawn};
pub use time::{sleep, sleep_until, yield_now};
