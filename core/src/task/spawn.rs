//! Spawning on the loop running on this thread: the task is allocated here
//! and handed to the loop through the seam (`host.rs`).

use super::host;
use super::origin::Origin;
use super::raw::{self, RawTask, TaskRef};
use super::Task;
use std::borrow::Cow;
use std::future::Future;
use std::panic::Location;

/// Spawns `future` on the loop running on this thread; the common path of
/// [`spawn`], [`Builder::spawn`](super::Builder::spawn) and the
/// combinators' children.
///
/// # Panics
///
/// At the caller's location, if no loop is running on this thread.
#[track_caller]
pub(crate) fn spawn_local<F>(
    future: F,
    name: Option<Cow<'static, str>>,
    eager: bool,
    location: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    host::expect_running(|running| {
        let (spawner, id) = running.spawner();
        let origin = Origin::new(location, name.map(Into::into));
        // SAFETY: `F` is 'static; three references: registry, queue, handle.
        let raw = RawTask::from_header(unsafe { raw::allocate(future, spawner, id, origin, 3) });
        // SAFETY: the three references just created are handed out once each.
        unsafe {
            running.adopt(TaskRef::from_raw(raw), TaskRef::from_raw(raw), eager);
            Task::from_raw(raw)
        }
    })
}

/// Spawns `future` as a task on the running loop (asyncio's `create_task`).
///
/// The task first runs in a later loop iteration (rule T1) and is named
/// `Task-{id}`; use [`task::Builder`](super::Builder) for a name or an
/// eager start. The future need not be `Send`: the loop is bound to its
/// thread. To spawn from another thread, use `LoopHandle::spawn`.
///
/// # Panics
///
/// If no loop is running on this thread (the panic names the caller's line).
///
/// ```
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// # let lp = EventLoop::builder(ParkReactor::new()).build();
/// let out = lp.block_on(async {
///     let shared = std::rc::Rc::new(5); // not Send: fine on the loop's thread
///     let s = shared.clone();
///     corio_core::spawn(async move { *s * 2 }).await.unwrap()
/// });
/// assert_eq!(out.unwrap(), 10);
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_local(future, None, false, Location::caller())
}
