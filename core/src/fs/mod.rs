//! Files and directories without blocking the loop (tokio's `tokio::fs`).
//!
//! Regular files are always "ready" to the kernel's readiness APIs, so they
//! cannot be waited on like sockets (epoll refuses them with `EPERM`). Each
//! operation here runs the `std::fs` call on the loop's blocking pool and
//! awaits it; the loop keeps running other tasks meanwhile.
//!
//! ```
//! # let lp = corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new());
//! # lp.block_on(async {
//! use corio_core::fs;
//!
//! let dir = std::env::temp_dir().join(format!("corio-fs-doc-{}", std::process::id()));
//! fs::create_dir_all(&dir).await?;
//! fs::write(dir.join("greeting.txt"), "hello").await?;
//! assert_eq!(fs::read_to_string(dir.join("greeting.txt")).await?, "hello");
//!
//! let mut file = fs::File::open(dir.join("greeting.txt")).await?;
//! let mut text = String::new();
//! file.read_to_string(&mut text).await?;
//! assert_eq!(text, "hello");
//!
//! let err = fs::read(dir.join("missing")).await.unwrap_err();
//! assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
//! assert!(err.to_string().contains("missing")); // errors name the path
//! fs::remove_dir_all(&dir).await?;
//! # Ok::<_, std::io::Error>(()) }).unwrap().unwrap();
//! ```
//!
//! * Free functions: [`read`], [`read_to_string`], [`write`](fn@write), [`copy`],
//!   [`rename`], [`remove_file`], [`remove_dir`], [`remove_dir_all`],
//!   [`create_dir`], [`create_dir_all`], [`metadata`], [`symlink_metadata`],
//!   [`read_dir`], [`canonicalize`], [`read_link`], [`hard_link`],
//!   [`symlink`], [`set_permissions`], [`try_exists`] — each one pool job.
//! * [`File`] (`open`, `create`, [`OpenOptions`]): `futures_io`'s
//!   `AsyncRead`, `AsyncWrite` and `AsyncSeek`, with tokio's buffering:
//!   a read fetches what was asked (up to 2 MiB) in one job; a write copies
//!   the data and returns at once, the job writing it behind (its error, if
//!   any, comes back from the next operation or `flush`).
//! * [`ReadDir`]: a `Stream` of [`DirEntry`], 32 entries per job.
//!
//! # Invariants
//!
//! * Every await is a checkpoint. A cancelled free function that had not
//!   started never runs; one that had finishes and its result is dropped
//!   (the pool's rule B2). A `File` keeps its operation in flight across a
//!   cancelled await: the next operation waits for it, so read data is not
//!   lost and a write-behind is never withdrawn.
//! * Errors of path operations name the operation and the path
//!   (`open "/x/y": No such file or directory (os error 2)`) and keep the
//!   OS error's kind (`NotFound`, `PermissionDenied`, `IsADirectory`,
//!   `StorageFull`, ...); the OS error itself is the error's source.
//! * Off a loop, every operation fails with an error (it needs the loop's
//!   pool); nothing panics.

mod file;
mod open_options;
mod pool;
mod read_dir;
mod ring;

pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};

use pool::{asyncify, with_path, with_paths};
use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

/// Runs `op` on `path` on the pool, naming the path in its error.
async fn on_path<T: Send + 'static>(
    name: &'static str,
    path: impl AsRef<Path>,
    op: impl FnOnce(&Path) -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let path = path.as_ref().to_owned();
    asyncify(move || op(&path).map_err(|err| with_path(err, name, &path))).await
}

/// As [`on_path`] for an operation on two paths.
async fn on_paths<T: Send + 'static>(
    name: &'static str,
    from: impl AsRef<Path>,
    to: impl AsRef<Path>,
    op: impl FnOnce(&Path, &Path) -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || op(&from, &to).map_err(|err| with_paths(err, name, &from, &to))).await
}

/// Reads a whole file (`std::fs::read`).
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    if ring::available() {
        return ring::read(path.as_ref()).await;
    }
    on_path("read", path, |p| std::fs::read(p)).await
}

/// Reads a whole file as UTF-8 (`std::fs::read_to_string`); invalid UTF-8
/// is an `InvalidData` error.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    if ring::available() {
        let path = path.as_ref();
        let bytes = ring::read(path).await?;
        return String::from_utf8(bytes).map_err(|_| {
            with_path(io::Error::new(io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"), "read", path)
        });
    }
    on_path("read", path, |p| std::fs::read_to_string(p)).await
}

/// Creates or truncates a file and writes `contents` (`std::fs::write`).
/// The bytes are copied first, as tokio does.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_owned();
    if ring::available() {
        return ring::write(path.as_ref(), contents).await;
    }
    on_path("write", path, move |p| std::fs::write(p, contents)).await
}

/// Copies a file's contents and permissions (`std::fs::copy`); returns the
/// bytes copied.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    on_paths("copy", from, to, |a, b| std::fs::copy(a, b)).await
}

/// Renames a file or directory, replacing `to` if it is a file
/// (`std::fs::rename`).
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    on_paths("rename", from, to, |a, b| std::fs::rename(a, b)).await
}

/// Creates a hard link `link` to `original` (`std::fs::hard_link`).
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    on_paths("link", original, link, |a, b| std::fs::hard_link(a, b)).await
}

/// Creates a symbolic link `link` pointing at `original`
/// (`std::os::unix::fs::symlink`).
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    on_paths("symlink", original, link, |a, b| std::os::unix::fs::symlink(a, b)).await
}

/// Removes a file (`std::fs::remove_file`).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("remove", path, |p| std::fs::remove_file(p)).await
}

/// Removes an empty directory (`std::fs::remove_dir`).
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("remove directory", path, |p| std::fs::remove_dir(p)).await
}

/// Removes a directory and everything in it (`std::fs::remove_dir_all`).
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("remove directory", path, |p| std::fs::remove_dir_all(p)).await
}

/// Creates a directory; its parent must exist (`std::fs::create_dir`).
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("create directory", path, |p| std::fs::create_dir(p)).await
}

/// Creates a directory and any missing parents (`std::fs::create_dir_all`).
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("create directory", path, |p| std::fs::create_dir_all(p)).await
}

/// A path's metadata, following symbolic links (`std::fs::metadata`).
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_path("stat", path, |p| std::fs::metadata(p)).await
}

/// A path's metadata without following a final symbolic link
/// (`std::fs::symlink_metadata`).
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_path("lstat", path, |p| std::fs::symlink_metadata(p)).await
}

/// The absolute path with every link resolved (`std::fs::canonicalize`).
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_path("canonicalize", path, |p| std::fs::canonicalize(p)).await
}

/// Where a symbolic link points (`std::fs::read_link`).
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_path("read link", path, |p| std::fs::read_link(p)).await
}

/// Changes a path's permissions (`std::fs::set_permissions`).
pub async fn set_permissions(path: impl AsRef<Path>, permissions: Permissions) -> io::Result<()> {
    on_path("set permissions of", path, move |p| std::fs::set_permissions(p, permissions)).await
}

/// Whether `path` exists: `Ok(false)` if it does not, an error if that
/// cannot be told (e.g. a parent directory is not searchable).
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    on_path("stat", path, |p| p.try_exists()).await
}
