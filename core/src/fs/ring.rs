//! File operations as completion-based operations, where the loop's
//! reactor runs them (io_uring): see `reactor::ops` for who owns the
//! buffers while the kernel works.

use super::pool::with_path;
use crate::reactor::ops::{Completed, Op, OpKind};
use crate::runtime::current;
use std::ffi::CString;
use std::future::poll_fn;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::task::Poll;

/// Whether the running loop's reactor runs file operations itself.
pub(super) fn available() -> bool {
    current::with_running(|l| l.completions_available()).unwrap_or(false)
}

/// Submits an operation to the running loop's reactor.
pub(super) fn submit(kind: OpKind, buffer: Vec<u8>, keep_alive: Option<Arc<dyn Send + Sync>>) -> io::Result<Op> {
    let (op, ring) = Op::new(kind, buffer, keep_alive);
    current::with_running(|l| l.submit_op(ring))
        .ok_or_else(|| io::Error::other("corio::fs: no event loop is running on this thread"))??;
    Ok(op)
}

/// Runs an operation to its end (a checkpoint). Cancelled, the operation
/// is asked to stop and abandoned: if the kernel still does it, its result
/// is dropped (a descriptor it opened is closed).
pub(super) async fn run(
    kind: OpKind,
    buffer: Vec<u8>,
    keep_alive: Option<Arc<dyn Send + Sync>>,
) -> io::Result<Completed> {
    let mut op = submit(kind, buffer, keep_alive)?;
    poll_fn(|cx| {
        if let Err(cancelled) = current::checkpoint() {
            cancel(&op);
            return Poll::Ready(Err(cancelled.into()));
        }
        op.poll_complete(cx).map(Ok)
    })
    .await
}

/// Asks the running loop's reactor to stop `op` early (best effort).
pub(super) fn cancel(op: &Op) {
    current::with_running(|l| l.cancel_op(op));
}

/// Closes `fd` through the ring without waiting for it (errors of a close
/// are not reported, as `std`'s drop does not report them); with the
/// reactor unreachable, closes it here.
pub(super) fn close_detached(fd: OwnedFd) {
    use std::os::fd::IntoRawFd;
    let raw = fd.into_raw_fd();
    if submit(OpKind::Close { fd: raw }, Vec::new(), None).is_err() {
        // SAFETY: we own `raw` (taken from the OwnedFd above) and nothing
        // was submitted.
        drop(unsafe { OwnedFd::from_raw_fd(raw) });
    }
}

/// `openat` through the ring; the error names the path.
pub(super) async fn open(path: &Path, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        with_path(
            io::Error::new(io::ErrorKind::InvalidInput, "file name contained an unexpected NUL byte"),
            "open",
            path,
        )
    })?;
    let done = run(OpKind::Open { path: c_path, flags: flags | libc::O_CLOEXEC, mode }, Vec::new(), None).await?;
    let fd = done.io_result().map_err(|err| with_path(err, "open", path))?;
    // SAFETY: the kernel gave us this new descriptor; nobody else has it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Reads a whole file: open, `statx` for its size, reads until end of
/// file, close — each an io_uring operation.
pub(super) async fn read(path: &Path) -> io::Result<Vec<u8>> {
    let fd = open(path, libc::O_RDONLY, 0).await?;
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    let result = read_all(raw, path).await;
    close_detached(fd);
    result
}

/// How much the first read of a whole-file read asks for, together with
/// the `statx` (most files read whole are small: one round trip).
const FIRST_READ: usize = 16 * 1024;

async fn read_all(fd: RawFd, path: &Path) -> io::Result<Vec<u8>> {
    // The size and a first chunk at once: one round trip through the ring.
    let mut stat = submit(OpKind::Statx { fd }, Vec::new(), None)?;
    let mut first = submit(OpKind::Read { fd }, vec![0; FIRST_READ], None)?;
    let (mut stat_done, mut first_done) = (None, None);
    poll_fn(|cx| {
        if let Err(cancelled) = current::checkpoint() {
            cancel(&stat);
            cancel(&first);
            return Poll::Ready(Err(io::Error::from(cancelled)));
        }
        if stat_done.is_none() {
            if let Poll::Ready(done) = stat.poll_complete(cx) {
                stat_done = Some(done);
            }
        }
        if first_done.is_none() {
            if let Poll::Ready(done) = first.poll_complete(cx) {
                first_done = Some(done);
            }
        }
        if stat_done.is_some() && first_done.is_some() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    })
    .await?;
    let (stat, first) = (stat_done.expect("polled to the end"), first_done.expect("polled to the end"));
    stat.io_result().map_err(|err| with_path(err, "stat", path))?;
    let n = first.io_result().map_err(|err| with_path(err, "read", path))? as usize;
    let mut out = first.buffer;
    // A regular file's short read is its end: done, as most small files are.
    if n < FIRST_READ && stat.statx_is_regular() {
        return Ok(out);
    }
    if n == 0 {
        return Ok(out);
    }
    let hint = usize::try_from(stat.statx_size().unwrap_or(0)).unwrap_or(usize::MAX).min(1 << 30);
    let max = super::file::DEFAULT_MAX_BUF_SIZE;
    out.reserve(hint.saturating_sub(out.len()));
    loop {
        // What is left by the size, a probe for the end of the file, or
        // more for a file longer than it said (or one that does not say).
        let chunk = if out.len() < hint {
            (hint - out.len()).min(max)
        } else if out.len() == hint && hint > 0 {
            32
        } else {
            8192.max(out.len() / 2).min(max)
        };
        let done = run(OpKind::Read { fd }, vec![0; chunk], None).await?;
        let n = done.io_result().map_err(|err| with_path(err, "read", path))? as usize;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&done.buffer);
    }
}

/// Writes a whole file: open (create, truncate), writes, close.
pub(super) async fn write(path: &Path, contents: Vec<u8>) -> io::Result<()> {
    let fd = open(path, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, 0o666).await?;
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    let result = write_all(raw, contents).await.map_err(|err| with_path(err, "write", path));
    close_detached(fd);
    result
}

/// Writes all of `contents` at the file position, however many writes it
/// takes.
pub(super) async fn write_all(fd: RawFd, mut contents: Vec<u8>) -> io::Result<()> {
    while !contents.is_empty() {
        let done = run(OpKind::Write { fd }, contents, None).await?;
        let n = done.io_result()? as usize;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        contents = done.buffer;
        contents.drain(..n.min(contents.len()));
    }
    Ok(())
}
