//! Running a file operation on the loop's blocking pool, and errors that
//! name the path they are about.

use crate::blocking::BlockingPool;
use crate::task::JoinError;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The running loop's default pool, or a clear error off a loop.
pub(crate) fn pool() -> io::Result<BlockingPool> {
    crate::blocking::host::with_running(|h| h.default_pool()).ok_or_else(|| {
        io::Error::other("corio::fs: no event loop is running on this thread (file operations run on its pool)")
    })
}

/// Runs `f` on the pool and waits for it (a checkpoint). Cancelled before
/// it started, it never runs; once started, it finishes and its result is
/// dropped (rule B2).
pub(crate) async fn asyncify<T, F>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    joined(pool()?.run(f).await)
}

/// A pool job's outcome as an `io::Result`.
pub(crate) fn joined<T>(outcome: Result<io::Result<T>, JoinError>) -> io::Result<T> {
    match outcome {
        Ok(result) => result,
        Err(JoinError::Cancelled(cancelled)) => Err(cancelled.into()),
        Err(JoinError::Panicked(panic)) => Err(io::Error::other(format!("a file operation panicked: {panic}"))),
    }
}

/// An error about a path: `"open \"/etc/x\": No such file or directory"`.
/// The kind is the OS error's; the OS error itself is the source.
#[derive(Debug)]
struct PathError {
    op: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    source: io::Error,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.to {
            Some(to) => write!(f, "{} {:?} to {:?}: {}", self.op, self.path, to, self.source),
            None => write!(f, "{} {:?}: {}", self.op, self.path, self.source),
        }
    }
}

impl std::error::Error for PathError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Wraps `err` with the operation and the path (a cancellation passes
/// through untouched, so that it still ends the task cancelled).
pub(crate) fn with_path(err: io::Error, op: &'static str, path: &Path) -> io::Error {
    wrap(err, op, path, None)
}

/// As [`with_path`], for operations on two paths.
pub(crate) fn with_paths(err: io::Error, op: &'static str, from: &Path, to: &Path) -> io::Error {
    wrap(err, op, from, Some(to))
}

fn wrap(err: io::Error, op: &'static str, path: &Path, to: Option<&Path>) -> io::Error {
    if crate::task::Cancelled::find(&err).is_some() {
        return err;
    }
    let kind = err.kind();
    io::Error::new(kind, PathError { op, path: path.to_owned(), to: to.map(Path::to_owned), source: err })
}
