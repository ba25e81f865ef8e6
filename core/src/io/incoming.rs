//! The accept loop: [`Incoming`] keeps accepting through the errors a server
//! should survive, and backs off when the process runs out of descriptors.
//!
//! # Policy
//!
//! * **Out of resources** (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`): the
//!   pending connection stays in the kernel's queue, so the listener stays
//!   readable and a loop that retried at once would spin at 100% CPU without
//!   ever succeeding. `Incoming` sleeps instead — 1 ms, doubling up to 1 s,
//!   back to 1 ms after the next success — and tries again. (asyncio's
//!   selector loop waits a fixed second; hyper's `AddrIncoming` too.)
//! * **One connection failed** (`ECONNABORTED`, `EPROTO`, `ECONNRESET`,
//!   `EPERM`, `EINTR`): that connection is gone but the listener is fine;
//!   accept the next one at once.
//! * **Anything else** (including a cancellation, which arrives as an
//!   `io::Error` carrying [`Cancelled`](crate::task::Cancelled)) is returned.
//!
//! `listener.accept()` itself applies no policy: it reports every error.

use super::tcp::{TcpListener, TcpStream};
use super::unix::{UnixListener, UnixStream};
use crate::time::{sleep, Sleep};
use futures_core::Stream;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// The first back-off after a resource error.
pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(1);
/// The longest back-off.
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A listening socket [`Incoming`] can accept from: [`TcpListener`],
/// [`UnixListener`], and any listener of your own (the mock backend's
/// simulated network implements it too).
pub trait Listener {
    /// What one accept gives: the stream and the peer's address.
    type Connection;

    /// Polls for one connection (a checkpoint), reporting every error.
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Self::Connection>>;
}

impl Listener for TcpListener {
    type Connection = (TcpStream, std::net::SocketAddr);

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Self::Connection>> {
        TcpListener::poll_accept(self, cx)
    }
}

impl Listener for UnixListener {
    type Connection = (UnixStream, std::os::unix::net::SocketAddr);

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Self::Connection>> {
        UnixListener::poll_accept(self, cx)
    }
}

/// An accept loop over a listener. Made by `listener.incoming()`.
///
/// Out of descriptors (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`), it sleeps
/// — 1 ms doubling to [`ACCEPT_BACKOFF_MAX`], reset by a success — and
/// retries instead of spinning; a failed connection (`ECONNABORTED`, ...)
/// is skipped; any other error, and a cancellation, is returned.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use corio_core::io::TcpListener;
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let mut incoming = listener.incoming();
/// loop {
///     let (stream, _peer) = incoming.accept().await?; // survives EMFILE
///     corio_core::spawn(async move { drop(stream) });
/// }
/// # }
/// ```
#[derive(Debug)]
#[must_use = "an accept loop does nothing unless polled"]
pub struct Incoming<'a, L> {
    listener: &'a L,
    backoff: Option<Sleep>,
    delay: Duration,
    backoffs: u64,
}

impl<'a, L: Listener> Incoming<'a, L> {
    /// An accept loop over `listener`.
    pub fn new(listener: &'a L) -> Self {
        Incoming { listener, backoff: None, delay: ACCEPT_BACKOFF_MIN, backoffs: 0 }
    }

    /// Accepts the next connection (a checkpoint), backing off while the
    /// process is out of descriptors.
    ///
    /// **Cancel safety:** cancel-safe: no connection is taken unless it is
    /// returned; a back-off in progress is kept for the next call.
    pub async fn accept(&mut self) -> io::Result<L::Connection> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// How many times this loop has backed off so far.
    pub fn backoffs(&self) -> u64 {
        self.backoffs
    }

    /// The listener.
    pub fn listener(&self) -> &'a L {
        self.listener
    }

    /// Polls for the next connection with the loop's error policy.
    pub fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<L::Connection>> {
        loop {
            if let Some(backoff) = &mut self.backoff {
                ready!(Pin::new(backoff).poll(cx)).map_err(io::Error::from)?;
                self.backoff = None;
            }
            match ready!(self.listener.poll_accept(cx)) {
                Ok(connection) => {
                    self.delay = ACCEPT_BACKOFF_MIN;
                    return Poll::Ready(Ok(connection));
                }
                Err(err) if out_of_resources(&err) => {
                    self.backoffs += 1;
                    self.backoff = Some(sleep(self.delay));
                    {
                        self.delay = (self.delay * 2).min(ACCEPT_BACKOFF_MAX);
                    }
                }
                Err(err) if connection_failed(&err) => {}
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }
}

impl<L: Listener> Stream for Incoming<'_, L> {
    type Item = io::Result<L::Connection>;

    /// Never ends: every item is a connection or an error the policy does
    /// not absorb.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_accept(cx).map(Some)
    }
}

fn out_of_resources(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

fn connection_failed(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ECONNABORTED | libc::EPROTO | libc::ECONNRESET | libc::EPERM | libc::EINTR))
}
