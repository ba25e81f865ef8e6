//! Non-blocking connect, shared by TCP and Unix streams, and the deadline
//! `connect_timeout` puts on it.
//!
//! A non-blocking `connect(2)` returns `EINPROGRESS`; the handshake is done
//! when the socket becomes writable, and it failed if the socket then carries
//! an error (`SO_ERROR`). A new source is assumed ready (see `registry`), so
//! the first look may come before the handshake is done: "not connected yet"
//! counts as `WouldBlock`, which clears the cached readiness and waits for
//! the real edge.

use super::source::Async;
use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::AsFd;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// Starts a non-blocking connect on `socket`; `Ok` also when it is in
/// progress.
pub(crate) fn start(socket: &socket2::Socket, addr: &socket2::SockAddr) -> io::Result<()> {
    match socket.connect(addr) {
        Ok(()) => Ok(()),
        Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => Ok(()),
        Err(err) => Err(err),
    }
}

/// Waits until the connect started on `stream` has finished (a checkpoint).
pub(crate) async fn finish<T: AsFd>(stream: &Async<T>) -> io::Result<()> {
    stream
        .write_with(|io| {
            let socket = socket2::SockRef::from(io);
            if let Some(err) = socket.take_error()? {
                return Err(err);
            }
            match socket.peer_addr() {
                Ok(_) => Ok(()),
                Err(err) if err.kind() == io::ErrorKind::NotConnected => Err(io::ErrorKind::WouldBlock.into()),
                Err(err) => Err(err),
            }
        })
        .await
}

/// Runs `future` for at most `duration` of loop time; past it, fails with
/// `TimedOut` (and drops the future, closing its socket). Both waits are
/// checkpoints, so a cancel still ends it with the cancellation.
pub(crate) async fn with_timeout<T>(
    duration: Duration,
    what: &'static str,
    future: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let mut future = pin!(future);
    let mut deadline = pin!(crate::time::sleep(duration));
    poll_fn(|cx| {
        if let Poll::Ready(out) = future.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        match deadline.as_mut().poll(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{what} timed out after {duration:?}"),
            ))),
            Poll::Ready(Err(cancelled)) => Poll::Ready(Err(cancelled.into())),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}
