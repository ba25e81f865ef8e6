//! `File`: an open file whose reads, writes and seeks run on the blocking
//! pool — or, where the loop's reactor is io_uring, as io_uring operations
//! — one operation in flight at a time (tokio's design).
//!
//! # Two drivers
//!
//! * **Pool**: each read, write, seek or sync is a blocking-pool job.
//! * **Ring** (the loop's reactor runs completion-based operations, see
//!   `reactor::ops`): reads, writes and `fsync` are io_uring operations at
//!   the file position, owning their buffer while the kernel works; a seek
//!   is one `lseek` on the loop's thread (it never blocks); dropping the
//!   file closes it through the ring. `set_len`, `metadata`,
//!   `set_permissions` and `try_clone` stay on the pool.
//!
//! The driver is chosen at the file's first operation, from the running
//! loop.
//!
//! # The state machine
//!
//! ```text
//!   Idle(buffer) ── read / write / seek / set_len / sync ──▶ Busy(job)
//!   Busy(job) ── the job ends (its buffer comes back) ─────▶ Idle(buffer)
//! ```
//!
//! * **Read**: unread bytes in the buffer are served first, without a job;
//!   else a job reads into the buffer and the caller gets what fits. The
//!   job reads what was asked (at most `max_buf_size`) — and, while the
//!   reads are sequential (no write or seek between), twice as much as the
//!   last one, up to `max_buf_size` (2 MiB): a sequential reader makes one
//!   job per 2 MiB, not one per read. (tokio reads exactly what is asked.)
//! * **Write**: the bytes are copied into the buffer (up to
//!   `max_buf_size`), a job writes them all, and the write returns at once
//!   (write-behind). If the buffer held unread bytes, the job first seeks
//!   back over them, so the file position is where the caller thinks it is.
//!   A failed write-behind is reported by the next write, `flush`, or
//!   sync; reads and seeks keep it for them.
//! * **Seek**: unread bytes are dropped (a `Current` offset accounts for
//!   them) and a job seeks.
//! * Every operation first waits for the one in flight. A cancelled await
//!   leaves the job in the file: the next operation waits for it, so read
//!   data is kept and a write-behind always runs. Dropping the file lets a
//!   job in flight finish on its thread (the descriptor closes after it).

use super::pool::pool;
use crate::blocking::{Blocking, BlockingPool};
use crate::reactor::ops::{Op, OpKind};
use crate::runtime::current;
use crate::task::JoinError;
use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};
use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::poll_fn;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// The default largest read or write one job does (tokio's figure).
pub(super) const DEFAULT_MAX_BUF_SIZE: usize = 2 * 1024 * 1024;

/// An open file on the loop's blocking pool (tokio's `tokio::fs::File`).
///
/// Implements `futures_io::AsyncRead`, `AsyncWrite` and `AsyncSeek`, and
/// has the common calls as methods (`read`, `read_to_end`, `write_all`,
/// `flush`, `seek`, ...). Writes are buffered and written behind: call
/// [`flush`](File::flush) (or `sync_all`) to learn that they reached the
/// kernel, and to see their errors. See the module docs of `corio::fs` for
/// the rules.
///
/// ```
/// # let lp = corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new());
/// # lp.block_on(async {
/// use corio_core::fs::File;
/// use std::io::SeekFrom;
///
/// let path = std::env::temp_dir().join(format!("corio-file-doc-{}", std::process::id()));
/// let mut file = File::options().read(true).write(true).create(true).truncate(true).open(&path).await?;
/// file.write_all(b"0123456789").await?;
/// file.seek(SeekFrom::Start(4)).await?;
/// let mut four = [0u8; 4];
/// file.read_exact(&mut four).await?;
/// assert_eq!(&four, b"4567");
/// file.set_len(2).await?;
/// assert_eq!(file.metadata().await?.len(), 2);
/// # corio_core::fs::remove_file(&path).await?;
/// # Ok::<_, std::io::Error>(()) }).unwrap().unwrap();
/// ```
pub struct File {
    std: Arc<Handle>,
    state: State,
    /// The error of a write-behind, for the next write, flush or sync.
    last_write_err: Option<io::Error>,
    max_buf_size: usize,
    /// The loop's pool, taken at the first operation that needs it.
    pool: Option<BlockingPool>,
    /// Whether the ring driver is used; decided at the first operation.
    ring: Option<bool>,
    /// Reads in a row with nothing else between: each asks the kernel for
    /// twice as much as the last (up to `max_buf_size`), so a sequential
    /// reader pays one job per 2 MiB instead of one per read.
    streak: u32,
}

enum State {
    Idle(Buf),
    Busy(Job),
}

/// The operation in flight.
enum Job {
    Pool(Blocking<(Operation, Buf)>),
    Ring { op: Op, what: RingWhat },
}

/// What a ring operation is for, to turn its completion into an
/// [`Operation`].
#[derive(Clone, Copy)]
enum RingWhat {
    Read,
    Write,
    Other,
}

/// What a job did.
enum Operation {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
    /// `sync_all`, `sync_data`, `set_len`: their result goes to their
    /// caller, or (if it was cancelled) to the next write or flush.
    Other(io::Result<()>),
}

/// The file's buffer: read-ahead bytes, or bytes to write — `buf[pos..end]`.
/// `buf` itself stays allocated and initialised between uses, so reusing it
/// costs no zeroing.
#[derive(Debug, Default)]
struct Buf {
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

impl Buf {
    fn from_vec(buf: Vec<u8>, end: usize) -> Buf {
        Buf { buf, pos: 0, end }
    }

    fn len(&self) -> usize {
        self.end - self.pos
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn clear(&mut self) {
        self.pos = 0;
        self.end = 0;
    }

    /// Moves unread bytes into `dst`.
    fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = self.len().min(dst.len());
        dst[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.end {
            self.clear();
        }
        n
    }

    /// Takes up to `max` bytes of `src` to write. The buffer is empty.
    fn copy_from(&mut self, src: &[u8], max: usize) -> usize {
        debug_assert!(self.is_empty());
        let n = src.len().min(max);
        self.buf.clear();
        self.buf.extend_from_slice(&src[..n]);
        self.pos = 0;
        self.end = n;
        n
    }

    /// Drops the unread bytes; returns the offset that moves the file
    /// position back over them.
    fn discard_read(&mut self) -> i64 {
        let back = -(self.len() as i64);
        self.clear();
        back
    }

    /// The vector, sized to exactly `len` bytes (only new bytes are zeroed).
    fn into_vec(self, len: usize) -> Vec<u8> {
        let mut buf = self.buf;
        buf.resize(len, 0);
        buf
    }

    /// Pool thread: reads up to `max` bytes from `file`.
    fn read_from(&mut self, mut file: &std::fs::File, max: usize) -> io::Result<usize> {
        self.clear();
        if self.buf.len() < max {
            self.buf.resize(max, 0);
        }
        let result = loop {
            match file.read(&mut self.buf[..max]) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.end = *result.as_ref().unwrap_or(&0);
        result
    }

    /// Pool thread: writes everything to `file`.
    fn write_to(&mut self, mut file: &std::fs::File) -> io::Result<()> {
        let result = file.write_all(&self.buf[self.pos..self.end]);
        self.clear();
        result
    }
}

/// The open file, shared by the `File` and the operation in flight (which
/// must keep the descriptor open until the kernel is done). The last holder
/// closes it — through the ring where the loop's reactor has one, without
/// waiting.
struct Handle {
    file: std::mem::ManuallyDrop<std::fs::File>,
}

impl Handle {
    fn new(file: std::fs::File) -> Handle {
        Handle { file: std::mem::ManuallyDrop::new(file) }
    }

    fn into_inner(self) -> std::fs::File {
        let mut this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the file is taken once.
        unsafe { std::mem::ManuallyDrop::take(&mut this.file) }
    }
}

impl std::ops::Deref for Handle {
    type Target = std::fs::File;

    fn deref(&self) -> &std::fs::File {
        &self.file
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: dropped once, here.
        let file = unsafe { std::mem::ManuallyDrop::take(&mut self.file) };
        if super::ring::available() {
            super::ring::close_detached(OwnedFd::from(file));
        }
    }
}

/// Why a job has no outcome: the pool refused it (shut down) or it panicked.
fn lost(err: JoinError) -> io::Error {
    match err {
        JoinError::Panicked(panic) => io::Error::other(format!("a file operation panicked: {panic}")),
        JoinError::Cancelled(_) => {
            io::Error::other("corio::fs: the blocking pool shut down before the file operation ran")
        }
    }
}

impl File {
    /// Opens a file for reading (`std::fs::File::open`; a checkpoint).
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        super::OpenOptions::new().read(true).open(path).await
    }

    /// Creates (or truncates) a file for writing (`std::fs::File::create`).
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        super::OpenOptions::new().write(true).create(true).truncate(true).open(path).await
    }

    /// Creates a new file for reading and writing, failing with
    /// `AlreadyExists` if it exists.
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        super::OpenOptions::new().read(true).write(true).create_new(true).open(path).await
    }

    /// The builder for other ways of opening ([`OpenOptions`](super::OpenOptions)).
    pub fn options() -> super::OpenOptions {
        super::OpenOptions::new()
    }

    /// Wraps an open `std` file (no loop needed until the first operation).
    pub fn from_std(std: std::fs::File) -> File {
        File {
            std: Arc::new(Handle::new(std)),
            state: State::Idle(Buf::default()),
            last_write_err: None,
            max_buf_size: DEFAULT_MAX_BUF_SIZE,
            pool: None,
            ring: None,
            streak: 0,
        }
    }

    /// A file opened through the ring (its operations use it too, and it
    /// is closed through it).
    pub(super) fn from_ring(std: std::fs::File) -> File {
        let mut file = File::from_std(std);
        file.ring = Some(true);
        file
    }

    /// The largest read or write one job does (default 2 MiB, at least 1).
    pub fn set_max_buf_size(&mut self, max_buf_size: usize) {
        self.max_buf_size = max_buf_size.max(1);
    }

    /// The `std` file, once the operation in flight has ended. Unread
    /// buffered bytes are given back by seeking over them; the error of a
    /// write-behind is returned.
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        self.flush().await?;
        self.seek_back_over_buffer().await?;
        self.try_into_std().map_err(|_| io::Error::other("corio::fs: the file is still shared with a job"))
    }

    /// The `std` file if nothing is in flight or buffered, else `self` back.
    pub fn try_into_std(self) -> Result<std::fs::File, File> {
        let idle = matches!(&self.state, State::Idle(buf) if buf.is_empty()) && self.last_write_err.is_none();
        if !idle {
            return Err(self);
        }
        let File { std, state, last_write_err, max_buf_size, pool, ring, streak } = self;
        Arc::try_unwrap(std).map(Handle::into_inner).map_err(|std| File {
            std,
            state,
            last_write_err,
            max_buf_size,
            pool,
            ring,
            streak,
        })
    }

    /// The file's metadata (`std::fs::File::metadata`; a checkpoint).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        super::pool::asyncify(move || std.metadata()).await
    }

    /// A second handle to the same open file (`dup`); it shares the file
    /// position, but not this handle's buffer.
    pub async fn try_clone(&self) -> io::Result<File> {
        let std = self.std.clone();
        super::pool::asyncify(move || std.try_clone()).await.map(File::from_std)
    }

    /// Changes the file's permissions (`fchmod`).
    pub async fn set_permissions(&self, permissions: Permissions) -> io::Result<()> {
        let std = self.std.clone();
        super::pool::asyncify(move || std.set_permissions(permissions)).await
    }

    /// Flushes buffered writes, then syncs data and metadata to the disk
    /// (`fsync`). A checkpoint; cancelled, the sync still runs.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.flush().await?;
        if self.use_ring() {
            return self.run_ring_other(OpKind::Fsync { fd: self.std.as_raw_fd(), datasync: false }).await;
        }
        self.run_other(|file| file.sync_all()).await
    }

    /// As [`sync_all`](File::sync_all), without the metadata not needed to
    /// read the data back (`fdatasync`).
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.flush().await?;
        if self.use_ring() {
            return self.run_ring_other(OpKind::Fsync { fd: self.std.as_raw_fd(), datasync: true }).await;
        }
        self.run_other(|file| file.sync_data()).await
    }

    /// Truncates or extends the file to `size` bytes (`ftruncate`); the
    /// position does not move. Buffered writes are flushed first.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.flush().await?;
        self.seek_back_over_buffer().await?;
        self.run_other(move |file| file.set_len(size)).await
    }

    /// Reads some bytes; `Ok(0)` at the end of the file.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_inner(cx, buf)).await
    }

    /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the file ends
    /// first.
    pub async fn read_exact(&mut self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read(buf).await? {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file ended before the buffer was full",
                    ))
                }
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    /// Reads to the end of the file, appending to `buf`; returns the bytes
    /// read.
    pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let start = buf.len();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match self.read(&mut chunk).await? {
                0 => return Ok(buf.len() - start),
                n => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads to the end of the file as UTF-8, appending to `buf`.
    /// Invalid UTF-8 is an `InvalidData` error and leaves `buf` unchanged.
    pub async fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        let mut bytes = Vec::new();
        self.read_to_end(&mut bytes).await?;
        let text = String::from_utf8(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the file is not valid UTF-8"))?;
        buf.push_str(&text);
        Ok(text.len())
    }

    /// Writes some bytes (buffered: see [`flush`](File::flush)).
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_inner(cx, buf)).await
    }

    /// Writes all of `buf` (buffered: see [`flush`](File::flush)).
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Waits until buffered writes have reached the kernel, and reports
    /// the error of any that failed.
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_inner(cx)).await
    }

    /// Moves the file position; returns the new one from the start.
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        poll_fn(|cx| self.poll_seek_inner(cx, pos)).await
    }

    /// The pool, found at the first operation that needs it.
    fn pool(&mut self) -> io::Result<BlockingPool> {
        if let Some(pool) = &self.pool {
            return Ok(pool.clone());
        }
        let pool = pool()?;
        self.pool = Some(pool.clone());
        Ok(pool)
    }

    /// Whether reads, writes, seeks and syncs use the ring driver.
    fn use_ring(&mut self) -> bool {
        *self.ring.get_or_insert_with(super::ring::available)
    }

    /// Starts `job` on the pool with the idle buffer.
    fn start(
        &mut self,
        buf: Buf,
        job: impl FnOnce(&std::fs::File, Buf) -> (Operation, Buf) + Send + 'static,
    ) -> io::Result<()> {
        let pool = match self.pool() {
            Ok(pool) => pool,
            Err(err) => {
                self.state = State::Idle(buf);
                return Err(err);
            }
        };
        let std = self.std.clone();
        // `spawn`, not `run`: dropping the file must not withdraw a
        // write-behind; the job finishes on its own.
        self.state = State::Busy(Job::Pool(pool.spawn(move || job(&std, buf))));
        Ok(())
    }

    /// Starts a ring operation; the file stays open until it is done.
    fn start_ring(&mut self, kind: OpKind, buffer: Vec<u8>, what: RingWhat) -> io::Result<()> {
        let keep: Arc<dyn Send + Sync> = self.std.clone();
        match super::ring::submit(kind, buffer, Some(keep)) {
            Ok(op) => {
                self.state = State::Busy(Job::Ring { op, what });
                Ok(())
            }
            Err(err) => {
                self.state = State::Idle(Buf::default());
                Err(err)
            }
        }
    }

    /// Waits for the job in flight, if any; returns what it did (the
    /// buffer is back in `Idle`).
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Operation>>> {
        loop {
            let State::Busy(job) = &mut self.state else {
                return Poll::Ready(Ok(None));
            };
            let (operation, buf) = match job {
                Job::Pool(job) => match ready!(job.poll_unchecked(cx)) {
                    Ok(done) => done,
                    Err(err) => {
                        self.state = State::Idle(Buf::default());
                        return Poll::Ready(Err(lost(err)));
                    }
                },
                Job::Ring { op, what } => {
                    let what = *what;
                    let done = ready!(op.poll_complete(cx));
                    let result = done.io_result().map(|n| n as usize);
                    let mut buffer = done.buffer;
                    match what {
                        RingWhat::Read => {
                            let n = *result.as_ref().unwrap_or(&0);
                            (Operation::Read(result), Buf::from_vec(buffer, n))
                        }
                        RingWhat::Write => match result {
                            Ok(n) if n > 0 && n < buffer.len() => {
                                // A short write: the rest goes next.
                                buffer.drain(..n);
                                let fd = self.std.as_raw_fd();
                                if let Err(err) = self.start_ring(OpKind::Write { fd }, buffer, RingWhat::Write) {
                                    return Poll::Ready(Ok(Some(Operation::Write(Err(err)))));
                                }
                                continue;
                            }
                            Ok(0) if !buffer.is_empty() => {
                                (Operation::Write(Err(io::ErrorKind::WriteZero.into())), Buf::from_vec(buffer, 0))
                            }
                            result => (Operation::Write(result.map(drop)), Buf::from_vec(buffer, 0)),
                        },
                        RingWhat::Other => (Operation::Other(result.map(drop)), Buf::from_vec(buffer, 0)),
                    }
                }
            };
            self.state = State::Idle(buf);
            return Poll::Ready(Ok(Some(operation)));
        }
    }

    fn take_buf(&mut self) -> Buf {
        match &mut self.state {
            State::Idle(buf) => std::mem::take(buf),
            State::Busy(_) => unreachable!("only taken when idle"),
        }
    }

    fn buf_mut(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(buf) => buf,
            State::Busy(_) => unreachable!("only used when idle"),
        }
    }

    fn poll_read_inner(&mut self, cx: &mut Context<'_>, dst: &mut [u8]) -> Poll<io::Result<usize>> {
        current::checkpoint()?;
        loop {
            match ready!(self.poll_idle(cx))? {
                None => {}
                Some(Operation::Read(Ok(_))) => return Poll::Ready(Ok(self.buf_mut().copy_to(dst))),
                Some(Operation::Read(Err(err))) => return Poll::Ready(Err(err)),
                Some(Operation::Write(Err(err)) | Operation::Other(Err(err))) => {
                    self.last_write_err.get_or_insert(err);
                }
                Some(_) => {}
            }
            // Idle now.
            let buf = self.buf_mut();
            if !buf.is_empty() || dst.is_empty() {
                return Poll::Ready(Ok(buf.copy_to(dst)));
            }
            // Read ahead while the reads are sequential (see `streak`).
            let wanted = dst.len().saturating_mul(1 << self.streak.min(6));
            let max = wanted.min(self.max_buf_size).max(dst.len().min(self.max_buf_size));
            self.streak = self.streak.saturating_add(1);
            let buf = self.take_buf();
            if self.use_ring() {
                let fd = self.std.as_raw_fd();
                self.start_ring(OpKind::Read { fd }, buf.into_vec(max), RingWhat::Read)?;
                continue;
            }
            self.start(buf, move |file, mut buf| {
                let result = buf.read_from(file, max);
                (Operation::Read(result), buf)
            })?;
        }
    }

    fn poll_write_inner(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        current::checkpoint()?;
        self.streak = 0;
        if let Some(err) = self.last_write_err.take() {
            return Poll::Ready(Err(err));
        }
        loop {
            match ready!(self.poll_idle(cx))? {
                None => {}
                Some(Operation::Write(Err(err)) | Operation::Other(Err(err))) => return Poll::Ready(Err(err)),
                // A read's bytes stay buffered: the write seeks back over them.
                Some(_) => continue,
            }
            if src.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let mut buf = self.take_buf();
            let seek = (!buf.is_empty()).then(|| SeekFrom::Current(buf.discard_read()));
            let n = buf.copy_from(src, self.max_buf_size);
            if self.use_ring() {
                if let Some(seek) = seek {
                    // On the loop's thread: an lseek never blocks.
                    if let Err(err) = (&**self.std).seek(seek) {
                        self.state = State::Idle(Buf::default());
                        return Poll::Ready(Err(err));
                    }
                }
                let fd = self.std.as_raw_fd();
                let Buf { buf: bytes, .. } = buf;
                self.start_ring(OpKind::Write { fd }, bytes, RingWhat::Write)?;
                return Poll::Ready(Ok(n));
            }
            self.start(buf, move |mut file, mut buf| {
                let result = match seek {
                    Some(seek) => file.seek(seek).and_then(|_| buf.write_to(file)),
                    None => buf.write_to(file),
                };
                (Operation::Write(result), buf)
            })?;
            return Poll::Ready(Ok(n));
        }
    }

    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        current::checkpoint()?;
        if let Some(err) = self.last_write_err.take() {
            return Poll::Ready(Err(err));
        }
        match ready!(self.poll_idle(cx))? {
            Some(Operation::Write(Err(err)) | Operation::Other(Err(err))) => Poll::Ready(Err(err)),
            _ => Poll::Ready(Ok(())),
        }
    }

    fn poll_seek_inner(&mut self, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        current::checkpoint()?;
        self.streak = 0;
        loop {
            match ready!(self.poll_idle(cx))? {
                None => {}
                Some(Operation::Seek(result)) => return Poll::Ready(result),
                Some(Operation::Write(Err(err)) | Operation::Other(Err(err))) => {
                    self.last_write_err.get_or_insert(err);
                    continue;
                }
                Some(_) => continue,
            }
            let mut buf = self.take_buf();
            let mut pos = pos;
            if !buf.is_empty() {
                let back = buf.discard_read();
                if let SeekFrom::Current(offset) = &mut pos {
                    *offset += back;
                }
            }
            if self.use_ring() {
                // On the loop's thread: an lseek never blocks.
                self.state = State::Idle(buf);
                return Poll::Ready((&**self.std).seek(pos));
            }
            self.start(buf, move |mut file, buf| (Operation::Seek(file.seek(pos)), buf))?;
        }
    }

    /// Moves the position back over unread buffered bytes (before an
    /// operation that must see the caller's position).
    async fn seek_back_over_buffer(&mut self) -> io::Result<()> {
        let State::Idle(buf) = &self.state else { return Ok(()) };
        if buf.is_empty() {
            return Ok(());
        }
        self.seek(SeekFrom::Current(0)).await.map(drop)
    }

    /// Runs `op` as the file's job and waits for it. Cancelled, the job
    /// still runs; its error then goes to the next write or flush.
    async fn run_other(
        &mut self,
        op: impl FnOnce(&std::fs::File) -> io::Result<()> + Send + 'static,
    ) -> io::Result<()> {
        let mut op = Some(op);
        poll_fn(|cx| {
            current::checkpoint()?;
            loop {
                match ready!(self.poll_idle(cx))? {
                    None => {}
                    Some(Operation::Other(result)) if op.is_none() => return Poll::Ready(result),
                    Some(Operation::Write(Err(err)) | Operation::Other(Err(err))) => {
                        self.last_write_err.get_or_insert(err);
                    }
                    Some(_) => {}
                }
                match op.take() {
                    Some(op) => {
                        let buf = self.take_buf();
                        self.start(buf, move |file, buf| (Operation::Other(op(file)), buf))?;
                    }
                    // Our job ended and someone else's result was taken:
                    // cannot happen, `&mut self` is held throughout.
                    None => return Poll::Ready(Ok(())),
                }
            }
        })
        .await
    }
}

impl File {
    /// Runs a ring operation as the file's job (an `fsync`) and waits for
    /// it. Cancelled, it still runs; its error then goes to the next write
    /// or flush.
    async fn run_ring_other(&mut self, kind: OpKind) -> io::Result<()> {
        let mut kind = Some(kind);
        poll_fn(|cx| {
            current::checkpoint()?;
            loop {
                match ready!(self.poll_idle(cx))? {
                    None => {}
                    Some(Operation::Other(result)) if kind.is_none() => return Poll::Ready(result),
                    Some(Operation::Write(Err(err)) | Operation::Other(Err(err))) => {
                        self.last_write_err.get_or_insert(err);
                    }
                    Some(_) => {}
                }
                match kind.take() {
                    Some(kind) => {
                        let buf = self.take_buf();
                        self.state = State::Idle(buf);
                        self.start_ring(kind, Vec::new(), RingWhat::Other)?;
                    }
                    None => return Poll::Ready(Ok(())),
                }
            }
        })
        .await
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let busy = matches!(self.state, State::Busy(_));
        f.debug_struct("File").field("std", &*self.std.file).field("busy", &busy).field("ring", &self.ring).finish()
    }
}

impl From<std::fs::File> for File {
    fn from(std: std::fs::File) -> Self {
        File::from_std(std)
    }
}

impl std::os::fd::AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.std.as_raw_fd()
    }
}

impl std::os::fd::AsFd for File {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.std.as_fd()
    }
}

impl AsyncRead for File {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_inner(cx, buf)
    }
}

impl AsyncWrite for File {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }

    /// Flushes; the descriptor closes when the file is dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(self: Pin<&mut Self>, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        self.get_mut().poll_seek_inner(cx, pos)
    }
}
