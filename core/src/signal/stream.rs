//! `Signals`: an async stream of the signals a task listens to.

use super::registry::{self, Subscriber};
use super::Signal;
use crate::io::{Async, Direction};
use crate::task::current;
use std::fs::File;
use std::future::poll_fn;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A stream of signals arriving at the process, on the running loop.
///
/// While it exists, each signal it listens to is handled by corio instead of
/// its previous disposition (for `SIGINT`: terminating the process); when
/// the last listener of a signal goes, the previous disposition is put back.
/// Every listener receives every arrival; arrivals of a signal not yet
/// received coalesce into one (as the OS coalesces them), and several
/// different signals come out lowest-numbered first.
///
/// Waking the loop goes through its reactor: the handler writes to a pipe
/// that each stream registers with its loop, so signals need a reactor with
/// real readiness (epoll; not the mock or `ParkReactor`).
///
/// ```no_run
/// use corio_core::signal::{Signal, Signals};
/// # async fn demo() -> std::io::Result<()> {
/// let mut signals = Signals::new([Signal::TERM, Signal::HUP])?;
/// loop {
///     match signals.recv().await? {
///         Signal::HUP => println!("reloading"),
///         _ => return Ok(()),
///     }
/// }
/// # }
/// ```
pub struct Signals {
    subscriber: Arc<Subscriber>,
    signals: Vec<Signal>,
    /// This listener's own descriptor for the pipe, registered with its loop.
    pipe: Async<File>,
}

impl Signals {
    /// Listens to `signals` on the running loop.
    ///
    /// Errors: no loop is running on this thread, the loop's reactor has no
    /// I/O (`ParkReactor`), or the OS refused a signal.
    pub fn new(signals: impl IntoIterator<Item = Signal>) -> io::Result<Signals> {
        let signals: Vec<Signal> = signals.into_iter().collect();
        if signals.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "Signals::new needs at least one signal"));
        }
        // Register first: if there is no loop, nothing global changes.
        let pipe = Async::new(File::from(super::os::pipe_reader()?))?;
        let subscriber = registry::subscribe(&signals)?;
        Ok(Signals { subscriber, signals, pipe })
    }

    /// The signals this stream listens to.
    pub fn signals(&self) -> &[Signal] {
        &self.signals
    }

    /// Waits for the next signal (a checkpoint).
    ///
    /// **Cancel safety:** cancel-safe: a signal that arrived stays queued in
    /// the `Signals` for the next call.
    pub async fn recv(&mut self) -> io::Result<Signal> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next signal; see [`recv`](Signals::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Signal>> {
        if let Err(cancelled) = current::checkpoint() {
            return Poll::Ready(Err(cancelled.into()));
        }
        if let Some(signal) = self.subscriber.take() {
            return Poll::Ready(Ok(signal));
        }
        // Before draining: an arrival another listener dispatches from now
        // on wakes us (see `registry`).
        self.subscriber.set_waker(cx.waker());
        loop {
            self.drain()?;
            registry::dispatch();
            if let Some(signal) = self.subscriber.take() {
                return Poll::Ready(Ok(signal));
            }
            match self.pipe.poll_ready(Direction::Read, cx) {
                Poll::Ready(Ok(())) => continue, // new bytes since the drain
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Reads the pipe empty.
    fn drain(&self) -> io::Result<()> {
        let mut buf = [0u8; 64];
        loop {
            match self.pipe.get_ref().read(&mut buf) {
                Ok(0) => return Err(io::Error::other("the signal pipe was closed")),
                Ok(_) => continue,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.pipe.clear_ready(Direction::Read);
                    return Ok(());
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
    }
}

impl futures_core::Stream for Signals {
    type Item = io::Result<Signal>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx).map(Some)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        registry::unsubscribe(&self.subscriber, &self.signals);
    }
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals").field("signals", &self.signals).finish()
    }
}

/// Waits for `SIGINT` (Ctrl-C) on the running loop (tokio's `ctrl_c`).
///
/// While it waits, Ctrl-C no longer terminates the process; once it
/// returns (or is dropped), it does again unless something else listens.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// corio_core::signal::ctrl_c().await?;
/// println!("shutting down");
/// # Ok(()) }
/// ```
///
/// **Cancel safety:** not cancel-safe: dropping it stops listening (see above);
/// keep a [`Signals`] to listen across calls.
pub async fn ctrl_c() -> io::Result<()> {
    Signals::new([Signal::INT])?.recv().await.map(drop)
}
