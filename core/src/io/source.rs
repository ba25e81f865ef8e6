//! `Async<T>`: a non-blocking file descriptor registered with the loop.

use super::driver;
use super::registry::{Direction, IoKey};
use crate::loop_id::LoopId;
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use futures_io::{AsyncRead, AsyncWrite};
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A non-blocking I/O object registered with the running loop's reactor.
///
/// Operations try the system call first and wait for readiness only when it
/// returns `WouldBlock`, so a ready socket costs one syscall and no reactor
/// round trip. The source belongs to the loop it was registered on: polling
/// it on another thread fails with an error. Waiting is a checkpoint (see the
/// [module docs](super)).
///
/// ```no_run
/// # use corio_core::io::Async;
/// # async fn demo() -> std::io::Result<()> {
/// let (a, b) = std::os::unix::net::UnixStream::pair()?;
/// let (a, b) = (Async::new(a)?, Async::new(b)?);
/// a.write_with(|s| std::io::Write::write(&mut &*s, b"hi")).await?;
/// let mut buf = [0; 2];
/// b.read_with(|s| std::io::Read::read(&mut &*s, &mut buf)).await?;
/// assert_eq!(&buf, b"hi");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Async<T: AsFd> {
    io: Option<T>,
    key: IoKey,
    /// The loop it is registered with.
    loop_id: LoopId,
}

fn no_loop() -> io::Error {
    io::Error::other("corio: no event loop is running on this thread to register the I/O source with")
}

fn wrong_loop() -> io::Error {
    io::Error::other("corio: I/O source used outside the event loop it is registered with")
}

impl<T: AsFd> Async<T> {
    /// Makes `io` non-blocking and registers it with the running loop.
    ///
    /// Fails if no loop is running, or if the reactor refuses the descriptor
    /// (closed: `EBADF`; already registered: `EEXIST`).
    pub fn new(io: T) -> io::Result<Async<T>> {
        set_nonblocking(io.as_fd().as_raw_fd())?;
        let fd = io.as_fd().as_raw_fd();
        let (key, loop_id) =
            driver::with_running(|d| d.register(fd).map(|key| (key, d.id()))).ok_or_else(no_loop)??;
        Ok(Async { io: Some(io), key, loop_id })
    }

    /// The wrapped I/O object.
    pub fn get_ref(&self) -> &T {
        self.io.as_ref().expect("present until drop")
    }

    /// The wrapped I/O object, mutably. Do not replace its descriptor.
    pub fn get_mut(&mut self) -> &mut T {
        self.io.as_mut().expect("present until drop")
    }

    /// Deregisters and returns the I/O object (still non-blocking).
    pub fn into_inner(mut self) -> io::Result<T> {
        let io = self.io.take().expect("present until drop");
        self.deregister_fd(io.as_fd().as_raw_fd())?;
        Ok(io)
    }

    /// Stops watching the descriptor now, while keeping it open (asyncio's
    /// `remove_reader`/`remove_writer` for both directions).
    ///
    /// Every task waiting on this source wakes up with an error (kind
    /// `NotConnected`, "the I/O source was deregistered from its event
    /// loop"), and so does every later operation: nothing hangs on a source
    /// the loop no longer watches. Deregistering twice is an error.
    pub fn deregister(&self) -> io::Result<()> {
        self.deregister_fd(self.get_ref().as_fd().as_raw_fd())
    }

    fn deregister_fd(&self, fd: RawFd) -> io::Result<()> {
        driver::with_loop(self.loop_id, |d| d.deregister(self.key, fd)).unwrap_or(Ok(()))
    }

    /// Waits until the source may be ready in `direction` (a checkpoint).
    pub fn poll_ready(&self, direction: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(cancelled) = current::checkpoint() {
            return Poll::Ready(Err(cancelled.into()));
        }
        if let Some(poll) = driver::with_current(self.loop_id, |d| d.poll_ready(self.key, direction, cx)) {
            return poll;
        }
        // Another loop of the source's runtime (a task that moved): the wait
        // goes to the source's loop, which wakes the task there.
        let forwarded =
            driver::with_running(|d| d.forward_poll_ready(self.loop_id, self.key, direction, cx.waker().clone()));
        if forwarded == Some(true) {
            let kind = match direction {
                Direction::Read => WaitKind::Readable,
                Direction::Write => WaitKind::Writable,
            };
            suspend_at(kind, None);
            return Poll::Pending;
        }
        Poll::Ready(Err(wrong_loop()))
    }

    /// Waits until the source may be readable.
    ///
    /// **Cancel safety:** cancel-safe.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_ready(Direction::Read, cx)).await
    }

    /// Waits until the source may be writable.
    ///
    /// **Cancel safety:** cancel-safe.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_ready(Direction::Write, cx)).await
    }

    /// Forgets cached readiness: the next wait blocks until a new event.
    pub fn clear_ready(&self, direction: Direction) {
        driver::with_running(|d| d.clear_ready(self.key, direction));
    }

    /// Polls `op` until it does not return `WouldBlock`.
    pub fn poll_io<R>(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_emptying(direction, cx, |io| op(io).map(|result| (result, false)))
    }

    /// [`poll_io`](Self::poll_io) for an operation that also says whether
    /// it left the source empty (a TCP read with `TCP_INQ`, see `io::inq`).
    /// Then readiness is cleared at once, and the next operation waits for
    /// an edge instead of making a system call that would return `WouldBlock`.
    pub(crate) fn poll_io_emptying<R>(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<(R, bool)>,
    ) -> Poll<io::Result<R>> {
        loop {
            match self.poll_ready(direction, cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
            match op(self.get_ref()) {
                Ok((result, emptied)) => {
                    if emptied {
                        self.clear_ready(direction);
                    }
                    return Poll::Ready(Ok(result));
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => self.clear_ready(direction),
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    /// Runs a read-like operation until it does not return `WouldBlock`.
    ///
    /// **Cancel safety:** cancel-safe if `op` is: a dropped call runs `op` no
    /// more, and `op` runs only when it can complete.
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(Direction::Read, cx, &mut op)).await
    }

    /// Runs a write-like operation until it does not return `WouldBlock`.
    ///
    /// **Cancel safety:** cancel-safe if `op` is, as
    /// [`read_with`](Async::read_with).
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(Direction::Write, cx, &mut op)).await
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        if let Some(io) = self.io.take() {
            // Deregister before the descriptor closes (the reactor contract).
            let fd = io.as_fd().as_raw_fd();
            if driver::with_loop(self.loop_id, |d| d.deregister(self.key, fd)).is_some() {
                drop(io);
                return;
            }
            // Off the loop's thread: closing the descriptor removes it from
            // the reactor; the loop forgets the slot when told (another loop
            // of its runtime, where a task that moved dropped it) or when it
            // closes.
            drop(io);
            let _ = driver::with_running(|d| d.forward_forget(self.loop_id, self.key));
        }
    }
}

// The futures ecosystem's traits, for any source whose shared reference reads
// or writes (sockets, pipes): `Async<UnixStream>` works with
// `futures_util::io::AsyncReadExt` and friends.

impl<T: AsFd> AsyncRead for Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Read, cx, |mut io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Read, cx, |mut io| io.read_vectored(bufs))
    }
}

impl<T: AsFd> AsyncWrite for Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Write, cx, |mut io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Write, cx, |mut io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_io(Direction::Write, cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we borrow; F_GETFL/F_SETFL do not touch
    // memory. A closed descriptor yields EBADF, reported as an error.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags == -1 {
            return Err(io::Error::last_os_error());
        }
        if flags & libc::O_NONBLOCK == 0 && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
