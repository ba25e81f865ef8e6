//! What a task group reports: a cancellation, or every failure together.

use crate::task::{Cancelled, TaskId};
use std::fmt;
use std::io;

/// Why a [`task_group`](super::task_group) produced no value.
///
/// * `Cancelled` — the group's task was cancelled from outside and no child
///   failed (rule G4): a plain cancellation, never a group. The token is the
///   task's own, so propagating it with `?` ends the task cancelled.
/// * `Failed` — one or more children (or the body) failed (G3): every
///   failure, in the order the group saw them end. An outer cancel that
///   arrived as well is delivered again at the task's next checkpoint (G5).
#[derive(Debug)]
pub enum GroupError<E> {
    /// Cancelled from outside, with no failure.
    Cancelled(Cancelled),
    /// The failures.
    Failed(ErrorGroup<E>),
}

impl<E> GroupError<E> {
    /// Whether the group ended cancelled (no failure).
    pub fn is_cancelled(&self) -> bool {
        matches!(self, GroupError::Cancelled(_))
    }

    /// The failures, if it failed.
    pub fn failures(&self) -> Option<&ErrorGroup<E>> {
        match self {
            GroupError::Failed(group) => Some(group),
            GroupError::Cancelled(_) => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Cancelled(c) => write!(f, "task group {c}"),
            GroupError::Failed(group) => group.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GroupError<E> {}

impl<E: Into<io::Error>> From<GroupError<E>> for io::Error {
    /// A cancellation stays a cancellation (the token is kept, so the task
    /// still ends cancelled); a failed group becomes its first failure.
    fn from(err: GroupError<E>) -> io::Error {
        match err {
            GroupError::Cancelled(c) => c.into(),
            GroupError::Failed(group) => match group.into_failures().into_iter().next() {
                Some(failure) => failure.error.into(),
                None => io::Error::other("a task group failed"),
            },
        }
    }
}

/// Every failure of a task group (asyncio's `ExceptionGroup`), in the order
/// the group saw them: children in the order they ended, then the body's
/// own error, if it failed.
#[derive(Debug)]
pub struct ErrorGroup<E> {
    failures: Vec<Failure<E>>,
}

impl<E> ErrorGroup<E> {
    pub(crate) fn new(failures: Vec<Failure<E>>) -> Self {
        debug_assert!(!failures.is_empty(), "an error group holds at least one failure");
        ErrorGroup { failures }
    }

    /// The failures, in order.
    pub fn failures(&self) -> &[Failure<E>] {
        &self.failures
    }

    /// The errors alone, in order.
    pub fn errors(&self) -> impl Iterator<Item = &E> {
        self.failures.iter().map(|f| &f.error)
    }

    /// How many failures (at least one).
    pub fn len(&self) -> usize {
        self.failures.len()
    }

    /// Always `false`: a group fails with at least one failure.
    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }

    /// The failures, by value.
    pub fn into_failures(self) -> Vec<Failure<E>> {
        self.failures
    }
}

impl<E: fmt::Display> fmt::Display for ErrorGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.failures.len();
        write!(f, "{n} unhandled error{} in a task group", if n == 1 { "" } else { "s" })?;
        for (i, failure) in self.failures.iter().enumerate() {
            write!(f, "{} {failure}", if i == 0 { ":" } else { ";" })?;
        }
        Ok(())
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ErrorGroup<E> {}

/// One failure in an [`ErrorGroup`]: the error, and where it came from.
#[derive(Debug)]
pub struct Failure<E> {
    /// The child that failed, or the body.
    pub source: Source,
    /// What it failed with.
    pub error: E,
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.error)
    }
}

/// Where a failure came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A child task.
    Child {
        /// Its id.
        id: TaskId,
        /// Its name.
        name: String,
    },
    /// The group's body.
    Body,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Child { name, .. } => f.write_str(name),
            Source::Body => f.write_str("the body"),
        }
    }
}

/// Why [`TaskGroup::spawn`](super::TaskGroup::spawn) refused a future
/// (rule G6); the future was dropped without being polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnError {
    /// The group has finished (or is about to: its body returned and no
    /// child is left), or it was dropped.
    Finished,
    /// The group is shutting down: a child or the body failed, or the
    /// group's task was cancelled, and the children are being cancelled.
    ShuttingDown,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpawnError::Finished => "the task group has finished",
            SpawnError::ShuttingDown => "the task group is shutting down",
        })
    }
}

impl std::error::Error for SpawnError {}

impl From<SpawnError> for io::Error {
    fn from(err: SpawnError) -> io::Error {
        io::Error::other(err)
    }
}

impl From<SpawnError> for Cancelled {
    /// A refused spawn as a cancellation with the refusal's message, so that
    /// `tg.spawn(..)?` works in a body whose error type is `Cancelled`. It is
    /// not a cancellation delivered to the task: a body that returns it
    /// *fails* (asyncio: the body raised `RuntimeError`), as its group
    /// reports.
    ///
    /// ```
    /// # use corio_core::runtime::EventLoop;
    /// # use corio_core::reactor::ParkReactor;
    /// use corio_core::task::Cancelled;
    /// # let lp = EventLoop::new(ParkReactor::new());
    /// lp.block_on(async {
    ///     let value = corio_core::task_group(|tg| async move {
    ///         let child = tg.spawn(async { Ok::<_, Cancelled>(20) })?; // SpawnError -> Cancelled
    ///         Ok::<_, Cancelled>(child)
    ///     })
    ///     .await
    ///     .unwrap();
    ///     assert_eq!(value.await.unwrap(), 20);
    /// })
    /// .unwrap();
    /// ```
    fn from(err: SpawnError) -> Cancelled {
        Cancelled::with_message(err.to_string())
    }
}

/// Why awaiting a [`Child`](super::Child) gave no value.
#[derive(Debug, Clone)]
pub enum ChildError {
    /// The child ended cancelled. Awaited from a task, the token is that
    /// task's own (as with [`JoinError::Cancelled`](crate::task::JoinError)).
    Cancelled(Cancelled),
    /// The child failed; its error is in the group's [`ErrorGroup`].
    Failed,
    /// The child panicked; the group resumes the panic once every child is
    /// done (rule G7).
    Panicked,
}

impl ChildError {
    /// Whether the child ended cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, ChildError::Cancelled(_))
    }
}

impl fmt::Display for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Cancelled(c) => write!(f, "child task {c}"),
            ChildError::Failed => f.write_str("child task failed (its error is in the task group's error)"),
            ChildError::Panicked => f.write_str("child task panicked (the task group resumes the panic)"),
        }
    }
}

impl std::error::Error for ChildError {}

impl From<Cancelled> for ChildError {
    fn from(c: Cancelled) -> ChildError {
        ChildError::Cancelled(c)
    }
}

impl From<ChildError> for io::Error {
    /// A cancellation keeps its token (so it still cancels the task).
    fn from(err: ChildError) -> io::Error {
        match err {
            ChildError::Cancelled(c) => c.into(),
            other => io::Error::other(other),
        }
    }
}
