//! Task dumps (asyncio's `all_tasks()` with each task's `get_stack()`): every
//! live task on a loop with its name, state, spawn location and the
//! checkpoint it is suspended at, as data ([`TaskDump`]) and as text (its
//! `Display`).
//!
//! Taking a dump reads the loop's registry, timer heap and I/O registry; it
//! costs nothing until it is asked for (see `checkpoint` for what recording
//! costs).

use super::checkpoint::Checkpoint;
use super::TaskId;
use std::fmt;
use std::panic::Location;

/// Where a live task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Spawned, never polled yet.
    NotStarted,
    /// Ready: queued to run in this or the next iteration.
    Scheduled,
    /// Being polled right now (the task that took the dump, or its caller).
    Running,
    /// Suspended at its checkpoint until something wakes it.
    Suspended,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::NotStarted => "not started",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Suspended => "suspended",
        })
    }
}

/// One live task in a [`TaskDump`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskSnapshot {
    /// The task's id.
    pub id: TaskId,
    /// Its name (`Task-{id}` unless named).
    pub name: String,
    /// Where it is in its life.
    pub state: TaskState,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// Where it last suspended (none if it never did). For a scheduled task
    /// this is where it will resume.
    pub checkpoint: Option<Checkpoint>,
    /// Cancellation requests not yet withdrawn (asyncio's `cancelling()`).
    pub cancelling: u32,
}

/// Every live task on a loop, in registry order; `Display` renders one line
/// per task.
///
/// ```
/// use corio_core::clock::VirtualClock;
/// use corio_core::reactor::ParkReactor;
/// use corio_core::runtime::EventLoop;
/// use corio_core::task::WaitKind;
/// use std::time::Duration;
///
/// let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// lp.block_on(async {
///     let sleeper = corio_core::task::Builder::new()
///         .name("sleeper")
///         .spawn(corio_core::sleep(Duration::from_secs(5)));
///     corio_core::yield_now().await.unwrap();
///     let dump = corio_core::task::dump();
///     let task = dump.tasks.iter().find(|t| t.name == "sleeper").unwrap();
///     assert_eq!(task.checkpoint.as_ref().unwrap().kind, WaitKind::Sleep);
///     println!("{dump}"); // sleeper  suspended  sleeping until +5s at src/main.rs:12:9 ...
///     sleeper.abort();
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TaskDump {
    /// The live tasks.
    pub tasks: Vec<TaskSnapshot>,
}

impl TaskDump {
    pub(crate) fn new(tasks: Vec<TaskSnapshot>) -> TaskDump {
        TaskDump { tasks }
    }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} live task(s)", self.tasks.len())?;
        for task in &self.tasks {
            write!(f, "  {} (id {}) {}, spawned at {}", task.name, task.id.get(), task.state, task.spawned_at)?;
            if task.cancelling > 0 {
                write!(f, ", cancelling {}", task.cancelling)?;
            }
            match &task.checkpoint {
                Some(checkpoint) => writeln!(f, "\n      {checkpoint}")?,
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}

/// Dumps every live task of the loop running on this thread (asyncio's
/// `all_tasks()` plus each task's `print_stack()`).
///
/// # Panics
///
/// If no loop is running on this thread; use
/// [`EventLoop::dump_tasks`](crate::runtime::EventLoop::dump_tasks) outside
/// one.
#[track_caller]
pub fn dump() -> TaskDump {
    super::host::expect_running(|l| l.dump())
}
