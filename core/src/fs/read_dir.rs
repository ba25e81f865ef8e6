//! `read_dir`: a directory's entries as a `Stream`, fetched on the pool in
//! batches.

use super::pool::{asyncify, joined, pool, with_path};
use crate::blocking::Blocking;
use crate::runtime::current;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::poll_fn;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// Entries fetched per pool job (tokio's figure).
const BATCH: usize = 32;

/// Opens a directory for listing (`std::fs::read_dir`; a checkpoint).
///
/// ```
/// # let lp = corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new());
/// # lp.block_on(async {
/// let mut names = Vec::new();
/// let mut entries = corio_core::fs::read_dir(".").await?;
/// while let Some(entry) = entries.next_entry().await? {
///     names.push(entry.file_name());
/// }
/// assert!(names.iter().any(|n| n == "Cargo.toml"));
/// # Ok::<_, std::io::Error>(()) }).unwrap().unwrap();
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let std = asyncify(move || std::fs::read_dir(&path).map_err(|err| with_path(err, "read directory", &path))).await?;
    Ok(ReadDir { state: State::Idle(Some(Batch { entries: VecDeque::new(), std, done: false })) })
}

/// A directory listing (tokio's `ReadDir`): [`next_entry`](ReadDir::next_entry),
/// or a `futures_core::Stream` of `io::Result<DirEntry>`.
pub struct ReadDir {
    state: State,
}

struct Batch {
    entries: VecDeque<io::Result<DirEntry>>,
    std: std::fs::ReadDir,
    done: bool,
}

enum State {
    Idle(Option<Batch>),
    Busy(Blocking<Batch>),
}

impl Batch {
    /// Pool thread: reads up to `BATCH` more entries.
    fn fill(mut self) -> Batch {
        for _ in 0..BATCH {
            match self.std.next() {
                Some(entry) => self.entries.push_back(entry.map(|entry| {
                    let file_type = entry.file_type().ok();
                    DirEntry { std: Arc::new(entry), file_type }
                })),
                None => {
                    self.done = true;
                    break;
                }
            }
        }
        self
    }
}

impl ReadDir {
    /// The next entry, or `None` at the end (a checkpoint). `.` and `..`
    /// are not listed.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry; see [`next_entry`](ReadDir::next_entry).
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        current::checkpoint()?;
        loop {
            match &mut self.state {
                State::Idle(batch) => {
                    let Some(batch_ref) = batch.as_mut() else {
                        return Poll::Ready(Ok(None));
                    };
                    if let Some(entry) = batch_ref.entries.pop_front() {
                        return Poll::Ready(entry.map(Some));
                    }
                    if batch_ref.done {
                        *batch = None;
                        return Poll::Ready(Ok(None));
                    }
                    let batch = batch.take().expect("checked above");
                    // Dropping the listing lets a batch in flight finish.
                    self.state = State::Busy(pool()?.spawn(move || batch.fill()));
                }
                State::Busy(job) => {
                    let batch = ready!(job.poll_unchecked(cx)).map_err(|err| match err {
                        crate::task::JoinError::Panicked(panic) => {
                            io::Error::other(format!("reading a directory panicked: {panic}"))
                        }
                        crate::task::JoinError::Cancelled(_) => {
                            io::Error::other("corio::fs: the blocking pool shut down while reading a directory")
                        }
                    });
                    match batch {
                        Ok(batch) => self.state = State::Idle(Some(batch)),
                        Err(err) => {
                            self.state = State::Idle(None);
                            return Poll::Ready(Err(err));
                        }
                    }
                }
            }
        }
    }
}

impl futures_core::Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx).map(Result::transpose)
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").field("busy", &matches!(self.state, State::Busy(_))).finish()
    }
}

/// One entry of a [`ReadDir`] (tokio's `DirEntry`).
#[derive(Debug, Clone)]
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
    /// Read with the batch (usually free: the directory entry carries it).
    file_type: Option<FileType>,
}

impl DirEntry {
    /// The full path: the directory's path joined with the name.
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The name, without the directory.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The inode number.
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&*self.std)
    }

    /// The entry's metadata, not following a symbolic link (a checkpoint).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        joined(pool()?.run(move || std.metadata().map_err(|err| with_path(err, "stat", &std.path()))).await)
    }

    /// The entry's type, not following a symbolic link (a checkpoint; no
    /// system call when the listing already knew it).
    pub async fn file_type(&self) -> io::Result<FileType> {
        current::checkpoint()?;
        match self.file_type {
            Some(file_type) => Ok(file_type),
            None => {
                let std = self.std.clone();
                asyncify(move || std.file_type().map_err(|err| with_path(err, "stat", &std.path()))).await
            }
        }
    }
}
