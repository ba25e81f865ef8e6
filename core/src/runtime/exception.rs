//! What the loop's exception handler receives (asyncio's
//! `call_exception_handler` context).
//!
//! The loop never lets a panic from a callback or task unwind through it
//! (rule L8): callbacks' panics, panics of tasks nobody can join, panics that
//! were never retrieved, and tasks that ignored cancellation at shutdown all
//! arrive here, and the loop keeps running. In debug mode, slow polls and
//! callbacks arrive here too (D1). The default handler logs through the
//! `log` crate at error level (slow steps at warn level) when a logger is
//! enabled for that level, and prints to standard error otherwise (Python's
//! logging "last resort" handler); `tracing` users get the records through
//! tracing's `log` bridge.

use crate::task::checkpoint::Checkpoint;
use crate::task::raw::RawTask;
use crate::task::{task_name, Panic, TaskId};
use std::fmt;
use std::panic::Location;
use std::time::Duration;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExceptionKind {
    /// A `call_soon`/`call_later` callback panicked.
    CallbackPanicked,
    /// A task panicked and its handle had been dropped: nobody can join it.
    TaskPanicked,
    /// A task's handle was dropped without reading the panic it ended with
    /// (asyncio's "Task exception was never retrieved").
    PanicNeverRetrieved,
    /// At shutdown a task did not finish within the grace period after being
    /// cancelled; it was aborted.
    IgnoredCancellation,
    /// At shutdown, blocking-pool jobs were still running after the time
    /// limit; their threads finish them and their results are dropped.
    BlockingJobsStillRunning,
    /// Debug mode: a task's poll took longer than `slow_callback_duration`
    /// (D1). `task` names the task; `resumed_from` is where it resumed.
    SlowPoll,
    /// Debug mode: a callback took longer than `slow_callback_duration`.
    SlowCallback,
    /// A task's future or output panicked while being dropped: when the
    /// task was aborted, cancelled before it ran, torn down at shutdown or
    /// close, or its output dropped unread (asyncio reports exceptions
    /// raised during cleanup the same way). The outcome stays as it was.
    DropPanicked,
}

/// The report passed to the exception handler.
#[derive(Debug)]
pub struct ExceptionContext {
    /// What happened.
    pub kind: ExceptionKind,
    /// A human-readable summary.
    pub message: String,
    /// The task involved, if any: id, name and spawn location.
    pub task: Option<(TaskId, String, &'static Location<'static>)>,
    /// The panic, if there was one.
    pub panic: Option<Panic>,
    /// For a slow poll: the checkpoint the task resumed from (none for its
    /// first poll).
    pub resumed_from: Option<Checkpoint>,
}

impl ExceptionContext {
    pub(crate) fn callback_panic(panic: Panic) -> Self {
        ExceptionContext {
            kind: ExceptionKind::CallbackPanicked,
            message: format!("exception in callback: {panic}"),
            task: None,
            panic: Some(panic),
            resumed_from: None,
        }
    }

    fn for_task(kind: ExceptionKind, what: &str, task: RawTask, panic: Option<Panic>) -> Self {
        let name = task_name(task);
        let location = task.location();
        let detail = panic.as_ref().map(|p| format!(": {p}")).unwrap_or_default();
        ExceptionContext {
            kind,
            message: format!("{what} ({name}, spawned at {location}){detail}"),
            task: Some((TaskId(task.header().id), name, location)),
            panic,
            resumed_from: None,
        }
    }

    pub(crate) fn task_panic(task: RawTask, panic: Panic) -> Self {
        Self::for_task(ExceptionKind::TaskPanicked, "a detached task panicked", task, Some(panic))
    }

    pub(crate) fn unretrieved_panic(task: RawTask, panic: Panic) -> Self {
        Self::for_task(ExceptionKind::PanicNeverRetrieved, "Task exception was never retrieved", task, Some(panic))
    }

    pub(crate) fn drop_panic(task: RawTask, panic: Panic) -> Self {
        Self::for_task(
            ExceptionKind::DropPanicked,
            "a task's future or output panicked while being dropped",
            task,
            Some(panic),
        )
    }

    pub(crate) fn ignored_cancellation(task: RawTask) -> Self {
        Self::for_task(
            ExceptionKind::IgnoredCancellation,
            "task did not finish after cancellation within the shutdown grace period; aborted",
            task,
            None,
        )
    }

    pub(crate) fn blocking_jobs_still_running(jobs: usize, limit: std::time::Duration) -> Self {
        ExceptionContext {
            kind: ExceptionKind::BlockingJobsStillRunning,
            message: format!(
                "{jobs} blocking job(s) still running {limit:?} after the pool was shut down; \
                 their threads are left to finish them"
            ),
            task: None,
            panic: None,
            resumed_from: None,
        }
    }

    pub(crate) fn slow_poll(task: RawTask, elapsed: Duration, resumed_from: Option<Checkpoint>) -> Self {
        let what = match &resumed_from {
            Some(at) => format!("task poll took {elapsed:?}, resumed from {at}"),
            None => format!("task poll took {elapsed:?}, its first step"),
        };
        ExceptionContext { resumed_from, ..Self::for_task(ExceptionKind::SlowPoll, &what, task, None) }
    }

    pub(crate) fn slow_callback(elapsed: Duration) -> Self {
        ExceptionContext {
            kind: ExceptionKind::SlowCallback,
            message: format!("callback took {elapsed:?}"),
            task: None,
            panic: None,
            resumed_from: None,
        }
    }

    /// The level the default handler logs at: warn for slow steps, error
    /// for the rest.
    pub fn level(&self) -> log::Level {
        match self.kind {
            ExceptionKind::SlowPoll | ExceptionKind::SlowCallback => log::Level::Warn,
            _ => log::Level::Error,
        }
    }

    /// What the default handler does: log the message through `log` (target
    /// `corio`) if a logger is enabled at [`level`](Self::level), else print
    /// it to standard error.
    pub fn print_default(&self) {
        let level = self.level();
        let logged = level <= log::max_level() && log::log_enabled!(target: "corio", level);
        if logged {
            log::log!(target: "corio", level, "{self}");
        } else {
            eprintln!("corio: {self}");
        }
    }
}

impl fmt::Display for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
