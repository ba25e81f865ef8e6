//! File operations as completion-based operations, where the loop's
//! reactor runs them (io_uring): see `reactor::ops` for who owns the
//! buffers while the kernel works.

use super::pool::with_path;
use crate::io::driver;
use crate::reactor::ops::{Completed, Op, OpKind};
use crate::task::current;
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
    driver::with_running(|d| d.completions_available()).unwrap_or(false)
}

/// Submits an operation to the running loop's reactor.
pub(super) fn submit(kind: OpKind, buffer: Vec<u8>, keep_alive: Option<Arc<dyn Send + Sync>>) -> io::Result<Op> {
    let (op, ring) = Op::new(kind, buffer, keep_alive);
    submit_ref(ring)?;
    Ok(op)
}

/// Hands the ring's side of an operation to the running loop's reactor.
fn submit_ref(ring: crate::reactor::ops::OpRef) -> io::Result<()> {
    driver::with_running(|d| d.submit_op(ring))
        .ok_or_else(|| io::Error::other("corio::fs: no event loop is running on this thread"))?
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
    driver::with_running(|d| d.cancel_op(op));
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

/// Reads a whole file: open, a first read and a linked probe, `statx` and
/// further reads only for a larger file, close — each an io_uring
/// operation.
pub(super) async fn read(path: &Path) -> io::Result<Vec<u8>> {
    let fd = open(path, libc::O_RDONLY, 0).await?;
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    let result = read_all(raw, path).await;
    close_detached(fd);
    result
}

/// How much the first read of a whole-file read asks for: most files read
/// whole are smaller.
const FIRST_READ: usize = 16 * 1024;

/// The probe that finds the end of a file that fit in the first read.
const PROBE: usize = 32;

/// Reads `fd` (just opened) to its end, at the file position, as
/// `std::fs::read` does.
///
/// The first read and a probe after it go out together, the probe linked
/// to wait for the read: a file that fits in the first read costs one round
/// trip through the ring. A larger one asks `statx` for its size (`statx`
/// runs on io_uring's worker threads, so only then) and reads the rest in as
/// few reads as it can. Pipes and FIFOs are read the same way.
async fn read_all(fd: RawFd, path: &Path) -> io::Result<Vec<u8>> {
    let named = |err| with_path(err, "read", path);
    let (mut first, first_ring) = Op::new(OpKind::Read { fd }, vec![0; FIRST_READ], None);
    let (mut probe, probe_ring) = Op::new(OpKind::Read { fd }, vec![0; PROBE], None);
    first_ring.link_next();
    submit_ref(first_ring)?;
    if let Err(err) = submit_ref(probe_ring) {
        drop(first); // abandoned: dropped when it completes
        return Err(err);
    }
    let (mut first_done, mut probe_done) = (None, None);
    poll_fn(|cx| {
        if let Err(cancelled) = current::checkpoint() {
            cancel(&first);
            cancel(&probe);
            return Poll::Ready(Err(io::Error::from(cancelled)));
        }
        if first_done.is_none() {
            if let Poll::Ready(done) = first.poll_complete(cx) {
                first_done = Some(done);
            }
        }
        if probe_done.is_none() {
            if let Poll::Ready(done) = probe.poll_complete(cx) {
                probe_done = Some(done);
            }
        }
        if first_done.is_some() && probe_done.is_some() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    })
    .await?;
    let (first, probe) = (first_done.expect("polled to the end"), probe_done.expect("polled to the end"));
    let n = first.io_result().map_err(named)? as usize;
    let mut out = first.buffer;
    let probed = probe.io_result().map_err(named)? as usize;
    if probed == 0 && n < FIRST_READ {
        return Ok(out); // it fit
    }
    out.extend_from_slice(&probe.buffer);
    let mut hint: usize = 0;
    if n == FIRST_READ && probed == PROBE {
        let stat = run(OpKind::Statx { fd }, Vec::new(), None).await?;
        stat.io_result().map_err(|err| with_path(err, "stat", path))?;
        hint = usize::try_from(stat.statx_size().unwrap_or(0)).unwrap_or(usize::MAX).min(1 << 30);
        out.reserve(hint.saturating_sub(out.len()));
    }
    let max = super::file::DEFAULT_MAX_BUF_SIZE;
    loop {
        let chunk = if out.len() < hint { (hint - out.len()).min(max) } else { 8192.max(out.len() / 2).min(max) };
        let done = run(OpKind::Read { fd }, vec![0; chunk], None).await?;
        let n = done.io_result().map_err(named)? as usize;
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
