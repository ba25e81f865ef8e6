//! Debug mode (asyncio's `loop.set_debug`, rule D1) and task dumps (D3).
//!
//! # Invariants
//!
//! * Off, debug mode costs the poll path one predictable branch on a
//!   `Cell<bool>`: no clock read, no allocation.
//! * On, every task poll and callback is timed on the loop's clock; one that
//!   takes longer than `slow_callback_duration` is reported to the exception
//!   handler with the task's name, spawn location and the checkpoint it
//!   resumed from. On a virtual clock a "slow" poll is one that advances the
//!   clock while it runs ([`VirtualClock::advance`](crate::clock::VirtualClock::advance)).
//! * `CORIO_DEBUG` is read once, when the loop is built; `1`, `true`, `yes`
//!   and `on` switch debug mode on. An explicit `Builder::debug` wins.

use super::event_loop::{LoopCore, Timer};
use super::exception::ExceptionContext;
use crate::clock::Clock;
use crate::context::ContextStore;
use crate::executor::Executor;
use crate::io::Direction;
use crate::reactor::Reactor;
use crate::task::checkpoint::{Suspension, WaitKind};
use crate::task::dump::{TaskDump, TaskSnapshot, TaskState};
use crate::task::raw::RawTask;
use crate::task::state::{RUNNING, SCHEDULED};
use crate::task::{task_name, TaskId};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// asyncio's default `slow_callback_duration`: 100 ms.
pub const DEFAULT_SLOW_CALLBACK_DURATION: Duration = Duration::from_millis(100);

/// The environment variable that switches debug mode on for every loop built
/// afterwards (asyncio's `PYTHONASYNCIODEBUG`).
pub const DEBUG_ENV: &str = "CORIO_DEBUG";

/// Whether `CORIO_DEBUG` asks for debug mode.
pub(crate) fn debug_from_env() -> bool {
    std::env::var(DEBUG_ENV)
        .map(|value| matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
        .unwrap_or(false)
}

/// A loop's debug settings.
#[derive(Debug)]
pub(crate) struct DebugMode {
    enabled: Cell<bool>,
    slow: Cell<Duration>,
}

impl DebugMode {
    pub(crate) fn new(enabled: bool, slow: Duration) -> DebugMode {
        DebugMode { enabled: Cell::new(enabled), slow: Cell::new(slow) }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled.get()
    }

    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.set(enabled);
    }

    pub(crate) fn slow(&self) -> Duration {
        self.slow.get()
    }

    pub(crate) fn set_slow(&self, slow: Duration) {
        self.slow.set(slow);
    }

    /// The start of a timed step: `None` (and no clock read) unless debug
    /// mode is on.
    #[inline]
    pub(crate) fn start(&self, clock: &impl Clock) -> Option<Instant> {
        if self.enabled.get() {
            Some(clock.now())
        } else {
            None
        }
    }

    /// How long the step that began at `start` took, if that is too long.
    pub(crate) fn too_slow(&self, clock: &impl Clock, start: Instant) -> Option<Duration> {
        let elapsed = clock.now().saturating_duration_since(start);
        (elapsed > self.slow.get()).then_some(elapsed)
    }
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> LoopCore<R, C, E, X> {
    /// Reports a task poll that took `elapsed` (D1).
    pub(crate) fn report_slow_poll(&self, raw: RawTask, elapsed: Duration, resumed_from: Option<Suspension>) {
        let resumed_from = resumed_from.map(|at| at.checkpoint(None));
        self.report(ExceptionContext::slow_poll(raw, elapsed, resumed_from));
    }

    /// Every live task, with its checkpoint (D3).
    pub(crate) fn dump_tasks(&self) -> TaskDump {
        let now = self.clock.now();
        // Collected first: a snapshot borrows the timer queue and the I/O
        // registry, never the task registry.
        let entries: Vec<_> = self.tasks.borrow().entries().collect();
        let mut tasks: Vec<_> =
            entries.into_iter().map(|(raw, suspended)| self.snapshot(raw, suspended, now)).collect();
        // A member of a pool (a multi-loop runtime) also lists the pool's
        // tasks, wherever they run.
        if let Some(member) = self.membership() {
            tasks.extend(member.pool.snapshots());
        }
        TaskDump::new(tasks)
    }

    /// One live task's snapshot (`AnyTask::checkpoint`); `None` if it is
    /// not registered on this loop (done).
    pub(crate) fn task_snapshot(&self, raw: RawTask) -> Option<TaskSnapshot> {
        let suspended = self.tasks.borrow_mut().get_mut(raw).map(|entry| entry.task.raw().suspended())?;
        Some(self.snapshot(raw, suspended, self.clock.now()))
    }

    fn snapshot(&self, raw: RawTask, suspended: Option<Suspension>, now: Instant) -> TaskSnapshot {
        let state = raw.state().load();
        let state = if suspended.is_none() {
            TaskState::NotStarted
        } else if state.has(RUNNING) && !raw.queued_running() {
            TaskState::Running
        } else if state.has(SCHEDULED) || raw.queued_running() {
            // A task that yielded waits in the ready queue still `RUNNING`
            // (`task/state.rs`).
            TaskState::Scheduled
        } else {
            TaskState::Suspended
        };
        let checkpoint = suspended
            .filter(|_| state != TaskState::NotStarted && state != TaskState::Running)
            .map(|at| at.checkpoint(self.wait_detail(raw, at.kind(), now)));
        TaskSnapshot {
            id: TaskId(raw.header().id),
            name: task_name(raw),
            state,
            spawned_at: raw.location(),
            checkpoint,
            cancelling: raw.cancel_requests(),
        }
    }

    /// What the loop knows about a wait besides its kind: a sleep's deadline
    /// (from the timer queue), the fd of an I/O wait (from the I/O registry).
    /// Found by the task's own waker; a wait behind a wrapped waker has none.
    fn wait_detail(&self, raw: RawTask, kind: WaitKind, now: Instant) -> Option<String> {
        match kind {
            WaitKind::Sleep => {
                let timers = self.timers.borrow();
                let when = timers.iter().find_map(|(when, timer)| match timer {
                    Timer::Wake(waker) if raw.owns_waker(waker) => Some(when),
                    _ => None,
                })?;
                Some(format!("until +{:?}", when.saturating_duration_since(now)))
            }
            WaitKind::Readable | WaitKind::Writable => {
                let direction = if kind == WaitKind::Readable { Direction::Read } else { Direction::Write };
                let io = self.io.borrow();
                let fd =
                    io.waiters().find_map(|(fd, d, waker)| (d == direction && raw.owns_waker(waker)).then_some(fd))?;
                Some(format!("fd {fd}"))
            }
            _ => None,
        }
    }
}
