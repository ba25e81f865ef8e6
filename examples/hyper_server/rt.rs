//! hyper's runtime traits on corio: the four adapters hyper needs to run on
//! a runtime other than tokio.
//!
//! * [`CorioIo`] — `hyper::rt::Read`/`Write` over any `futures_io`
//!   `AsyncRead + AsyncWrite` (corio's `TcpStream`).
//! * [`CorioExecutor`] — `hyper::rt::Executor`: `corio::spawn` (HTTP/2
//!   streams run as tasks of the connection's loop; they need not be `Send`).
//! * [`CorioTimer`] — `hyper::rt::Timer`: `corio::sleep_until` on the loop's
//!   clock (header-read timeouts, HTTP/2 keep-alive).
//!
//! Cancellation: hyper's futures are not corio checkpoints, so the server
//! wraps each connection in `.cancellable()`, which drops it when its task
//! is cancelled. The wrapper checks before it polls anything inside, so a
//! cancel is always delivered there, never swallowed by a sleep (hyper's
//! `Sleep` has no error to carry it).

use futures_util::io::{AsyncRead, AsyncWrite};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A corio I/O object as hyper I/O.
#[derive(Debug)]
pub struct CorioIo<T>(pub T);

impl<T: AsyncRead + Unpin> hyper::rt::Read for CorioIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // `AsyncRead` wants initialized bytes: zero the unfilled part (hyper
        // remembers what it initialized, so this is paid once per buffer).
        let unfilled = buf.initialize_unfilled();
        let n = std::task::ready!(Pin::new(&mut self.0).poll_read(cx, unfilled))?;
        // SAFETY: the read wrote `n` bytes into the initialized slice that
        // `initialize_unfilled` returned, which starts at the cursor.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for CorioIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true // corio's TcpStream writes vectors with one writev(2)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match std::task::ready!(Pin::new(&mut self.0).poll_close(cx)) {
            // The peer closed (or reset) the connection first: there is no
            // write half left to shut down, which is what was asked for.
            Err(err) if err.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            result => Poll::Ready(result),
        }
    }
}

/// Runs hyper's background futures as tasks on the running loop.
#[derive(Debug, Clone, Copy, Default)]
pub struct CorioExecutor;

impl<F> hyper::rt::Executor<F> for CorioExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        corio::spawn(future).detach();
    }
}

/// hyper's timer on the running loop's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct CorioTimer;

impl hyper::rt::Timer for CorioTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(CorioSleep(corio::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(CorioSleep(corio::sleep_until(deadline)))
    }

    fn now(&self) -> Instant {
        corio::time() // the loop's clock, which deadlines are measured on
    }
}

/// `corio::sleep` as hyper's `Sleep` (which resolves to `()`).
struct CorioSleep(corio::time::Sleep);

impl Future for CorioSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // `Err(Cancelled)` cannot happen under the connection's
        // `cancellable()` wrapper (see the module documentation).
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl hyper::rt::Sleep for CorioSleep {}
