//! `AnyTask`: a task without its output — what you can do to a task whose
//! output type you do not know (asyncio's `current_task()`, done-callbacks,
//! task dumps).

use super::host::{self, WrongThread};
use super::join::{task_name, TaskId, TaskInfo};
use super::raw::{RawTask, TaskRef};
use super::state::{CANCELLED, COMPLETE, PANICKED};
use std::borrow::Cow;
use std::fmt;
use std::panic::Location;

/// A reference to a task that can observe and cancel it but not take its
/// output. [`Task<T>`](super::Task) dereferences to one, so every method here
/// is also a method of `Task<T>`.
///
/// ```
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// # let lp = EventLoop::builder(ParkReactor::new()).build();
/// lp.block_on(async {
///     let me = corio_core::current_task().unwrap();
///     assert_eq!(me.name(), "Task-1");
///     assert_eq!(me.cancelling(), 0);
/// })
/// .unwrap();
/// ```
#[repr(transparent)]
pub struct AnyTask {
    /// Owns one reference when owned; borrowed from a `Task<T>` otherwise.
    raw: RawTask,
}

impl AnyTask {
    pub(crate) fn from_ref(task: TaskRef) -> AnyTask {
        AnyTask { raw: task.into_raw() }
    }

    pub(crate) fn borrowed(raw: &RawTask) -> &AnyTask {
        // SAFETY: `AnyTask` is a transparent wrapper of `RawTask`; a borrowed
        // one is never dropped, so it does not release the reference.
        unsafe { &*(raw as *const RawTask as *const AnyTask) }
    }

    pub(crate) fn raw(&self) -> RawTask {
        self.raw
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        TaskId(self.raw.header().id)
    }

    /// The task's name: the one given at spawn, or `Task-{id}` (rule T3).
    pub fn name(&self) -> String {
        task_name(self.raw)
    }

    /// Where the task was spawned (rule T3).
    pub fn location(&self) -> &'static Location<'static> {
        self.raw.location()
    }

    /// Where the task is suspended (asyncio's `get_stack()`: corio's one
    /// frame), with a sleep's deadline or an I/O wait's fd; see
    /// [`task::dump`](fn@crate::task::dump). `None` if the task is done, has
    /// not started, is running, or this is not its loop's thread.
    ///
    /// ```
    /// # use corio_core::runtime::EventLoop;
    /// # use corio_core::reactor::ParkReactor;
    /// # use corio_core::clock::VirtualClock;
    /// use corio_core::task::WaitKind;
    /// use std::time::Duration;
    /// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
    /// lp.block_on(async {
    ///     let task = corio_core::spawn(corio_core::sleep(Duration::from_secs(2)));
    ///     corio_core::yield_now().await.unwrap();
    ///     let at = task.checkpoint().unwrap();
    ///     assert_eq!((at.kind, at.detail.as_deref()), (WaitKind::Sleep, Some("until +2s")));
    ///     task.await.unwrap().unwrap();
    /// })
    /// .unwrap();
    /// ```
    pub fn checkpoint(&self) -> Option<super::Checkpoint> {
        host::task_snapshot(self.raw)?.checkpoint
    }

    /// Whether the task has finished (value, cancellation or panic).
    #[inline]
    pub fn done(&self) -> bool {
        self.raw.state().load().has(COMPLETE)
    }

    /// Whether the task finished cancelled.
    pub fn cancelled(&self) -> bool {
        self.raw.state().load().has(CANCELLED)
    }

    /// Whether the task finished by panicking.
    pub fn panicked(&self) -> bool {
        self.raw.state().load().has(PANICKED)
    }

    /// Requests cancellation (rule C1): the task's next checkpoint returns
    /// `Err(Cancelled)`. Returns `false` if the task is already done.
    ///
    /// Each call counts ([`cancelling`](AnyTask::cancelling), rule C2); the
    /// task sees one delivery however many requests are pending (C3). From a
    /// thread other than the task's loop the request is posted to the loop
    /// and takes effect at its next iteration.
    pub fn cancel(&self) -> bool {
        self.request_cancel(None)
    }

    /// Like [`cancel`](AnyTask::cancel), with a message the task will see in
    /// its `Cancelled` (the first pending message wins).
    pub fn cancel_with(&self, message: impl Into<Cow<'static, str>>) -> bool {
        self.request_cancel(Some(message.into()))
    }

    fn request_cancel(&self, message: Option<Cow<'static, str>>) -> bool {
        if self.done() {
            return false;
        }
        host::cancel_task(self.raw, message)
    }

    /// asyncio's `cancelling()`: cancel requests not yet taken back.
    pub fn cancelling(&self) -> u32 {
        self.raw.cancel_requests()
    }

    /// asyncio's `uncancel()`: takes one cancel request back and returns the
    /// remaining count; at zero a request not yet delivered is withdrawn
    /// (rule C2). Meant for the task itself and scopes around it, on the
    /// task's loop; from another thread it is posted.
    pub fn uncancel(&self) -> u32 {
        host::uncancel_task(self.raw)
    }

    /// Hard cancellation (rule C7): the future is dropped on the task's loop
    /// at the next opportunity without running any more of it, and the task
    /// ends cancelled. Any thread.
    pub fn abort(&self) {
        host::abort_task(self.raw);
    }

    /// Schedules `callback` with `call_soon` when the task finishes — or
    /// right away if it has — never inline (rule F3). It runs in the context
    /// that is current now. Must be called on the task's loop thread.
    pub fn add_done_callback(&self, callback: impl FnOnce(&TaskInfo) + 'static) -> Result<(), WrongThread> {
        host::add_done_callback(self.raw, Box::new(callback))
    }

    /// A snapshot of the task.
    pub fn info(&self) -> TaskInfo {
        TaskInfo::of(self.raw)
    }

    /// Waits until the task has ended, without taking its output (asyncio's
    /// `await asyncio.wait([task])`): any number of waits, from any task or
    /// thread, while the output stays with the [`Task`](super::Task) handle.
    /// Then ask [`cancelled`](Self::cancelled), [`panicked`](Self::panicked)
    /// or [`info`](Self::info) how it ended.
    ///
    /// A checkpoint: a cancel of the waiting task ends the wait with
    /// `Err(Cancelled)` and leaves the task running (unlike awaiting a
    /// `Task`, which passes the cancel on, C6).
    ///
    /// ```
    /// # use corio_core::runtime::EventLoop;
    /// # use corio_core::reactor::ParkReactor;
    /// # use corio_core::clock::VirtualClock;
    /// use std::time::Duration;
    /// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
    /// lp.block_on(async {
    ///     let task = corio_core::spawn(corio_core::sleep(Duration::from_secs(1)));
    ///     let watcher = task.wait(); // an observer; the handle keeps the output
    ///     let other = corio_core::spawn(task.wait());
    ///     watcher.await.unwrap();
    ///     other.await.unwrap().unwrap();
    ///     assert!(task.done() && !task.cancelled());
    ///     task.await.unwrap().unwrap();
    /// })
    /// .unwrap();
    /// ```
    pub fn wait(&self) -> super::WaitEnd {
        super::WaitEnd::new(self.clone())
    }
}

impl Clone for AnyTask {
    fn clone(&self) -> AnyTask {
        self.raw.state().ref_inc();
        AnyTask { raw: self.raw }
    }
}

impl Drop for AnyTask {
    fn drop(&mut self) {
        // SAFETY: an owned `AnyTask` holds one reference (borrowed ones are
        // never dropped).
        unsafe { self.raw.drop_ref() }
    }
}

impl PartialEq for AnyTask {
    fn eq(&self, other: &AnyTask) -> bool {
        self.raw == other.raw
    }
}

impl Eq for AnyTask {}

impl fmt::Debug for AnyTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyTask")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("state", &self.raw.state().load())
            .finish()
    }
}
