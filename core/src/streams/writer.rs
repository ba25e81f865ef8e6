//! `StreamWriter`: asyncio's writer — `write` never waits, a buffer sends
//! in the background, `drain` waits on the water marks.
//!
//! # How bytes move
//!
//! `write` tries to send at once when nothing is queued (one system call,
//! as asyncio's transport does); what the socket does not take is
//! appended to the buffer, and a flusher task (spawned when needed, gone
//! when the buffer is empty) sends it as the socket accepts more. Above
//! the high-water mark the writer is *paused*: `drain` waits until the
//! flusher brings the buffer down to the low-water mark (asyncio's
//! defaults: 64 KiB and 16 KiB).
//!
//! # Invariants
//!
//! * Bytes go out in `write` order, each once; a failed send loses the
//!   connection: the buffer is dropped, the transport closed, and every
//!   later `write`, `drain` and `wait_closed` reports the error.
//! * `write_eof` and `close` take effect after the buffer is sent.
//!   `close` (and dropping the writer) then closes the transport: the
//!   reader of the same connection sees the end of the stream.
//! * `write` is not a checkpoint (it never waits) and never consumes a
//!   pending cancellation: with one pending, it only queues.

use super::transport::{Address, Shared};
use crate::runtime::current;
use futures_io::AsyncWrite;
use std::cell::RefCell;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// asyncio's default high-water mark.
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// The writing half of a connection (asyncio's `StreamWriter`).
///
/// ```no_run
/// # async fn demo(writer: corio_core::streams::StreamWriter) -> std::io::Result<()> {
/// writer.write(b"hello ")?;
/// writer.writelines([&b"wor"[..], b"ld\n"])?;
/// writer.drain().await?; // waits only above the high-water mark
/// writer.close();
/// writer.wait_closed().await?;
/// # Ok(()) }
/// ```
pub struct StreamWriter {
    inner: Rc<Inner>,
}

struct Inner {
    shared: Rc<Shared>,
    state: RefCell<State>,
}

struct State {
    /// Queued bytes are `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
    high: usize,
    low: usize,
    paused: bool,
    eof: bool,
    eof_sent: bool,
    closing: bool,
    closed: bool,
    /// How the connection was lost, if it was.
    lost: Option<(io::ErrorKind, String)>,
    /// A flusher task is running.
    flusher: bool,
    /// `drain` and `poll_flush` waiters.
    drain_waiters: Vec<Waker>,
    /// `wait_closed` waiters.
    close_waiters: Vec<Waker>,
}

impl State {
    fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    fn lost_error(&self) -> Option<io::Error> {
        self.lost.as_ref().map(|(kind, message)| io::Error::new(*kind, message.clone()))
    }

    fn wake(waiters: &mut Vec<Waker>) {
        waiters.drain(..).for_each(Waker::wake);
    }

    fn register(waiters: &mut Vec<Waker>, cx: &Context<'_>) {
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
    }
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("StreamWriter")
            .field("buffered", &state.pending())
            .field("paused", &state.paused)
            .field("closing", &state.closing)
            .field("peer", &self.inner.shared.peer())
            .finish()
    }
}

fn writer_closing() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "write() on a StreamWriter that is closing")
}

impl StreamWriter {
    pub(super) fn new(shared: Rc<Shared>) -> StreamWriter {
        let state = State {
            buf: Vec::new(),
            start: 0,
            high: DEFAULT_HIGH_WATER,
            low: DEFAULT_HIGH_WATER / 4,
            paused: false,
            eof: false,
            eof_sent: false,
            closing: false,
            closed: false,
            lost: None,
            flusher: false,
            drain_waiters: Vec::new(),
            close_waiters: Vec::new(),
        };
        StreamWriter { inner: Rc::new(Inner { shared, state: RefCell::new(state) }) }
    }

    /// Queues `data` to be sent and returns at once (asyncio's `write`).
    /// Call [`drain`](StreamWriter::drain) to wait while too much is
    /// queued.
    ///
    /// Errors: the writer is closing, `write_eof` was called, or the
    /// connection was lost (its error).
    pub fn write(&self, data: &[u8]) -> io::Result<()> {
        self.inner.write(data)
    }

    /// Writes each buffer in turn (asyncio's `writelines`).
    pub fn writelines<'a>(&self, lines: impl IntoIterator<Item = &'a [u8]>) -> io::Result<()> {
        lines.into_iter().try_for_each(|line| self.write(line))
    }

    /// Waits until the queue is below the low-water mark if it went above
    /// the high-water mark (asyncio's `drain`; a checkpoint). Reports a
    /// lost connection.
    pub async fn drain(&self) -> io::Result<()> {
        poll_fn(|cx| {
            current::checkpoint()?;
            let mut state = self.inner.state.borrow_mut();
            if let Some(err) = state.lost_error() {
                return Poll::Ready(Err(err));
            }
            if state.closed {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "connection lost: the writer was closed",
                )));
            }
            if !state.paused {
                return Poll::Ready(Ok(()));
            }
            State::register(&mut state.drain_waiters, cx);
            Poll::Pending
        })
        .await
    }

    /// Sets the water marks (asyncio's `set_write_buffer_limits`): `high`
    /// defaults to 64 KiB (or 4 × `low`), `low` to `high / 4`.
    /// `InvalidInput` unless `high >= low`.
    pub fn set_write_buffer_limits(&self, high: Option<usize>, low: Option<usize>) -> io::Result<()> {
        let high = high.unwrap_or_else(|| low.map_or(DEFAULT_HIGH_WATER, |low| low.saturating_mul(4)));
        let low = low.unwrap_or(high / 4);
        if high < low {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("high ({high}) must be >= low ({low}) must be >= 0"),
            ));
        }
        let mut state = self.inner.state.borrow_mut();
        state.high = high;
        state.low = low;
        if state.pending() > high {
            state.paused = true;
        } else if state.paused && state.pending() <= low {
            state.paused = false;
            State::wake(&mut state.drain_waiters);
        }
        Ok(())
    }

    /// `(low, high)`, as asyncio's `get_write_buffer_limits`.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        let state = self.inner.state.borrow();
        (state.low, state.high)
    }

    /// Bytes queued and not yet sent (asyncio's `get_write_buffer_size`).
    pub fn get_write_buffer_size(&self) -> usize {
        self.inner.state.borrow().pending()
    }

    /// Always `true`: TCP and Unix streams can half-close.
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// Shuts down the sending side once the queue is sent (asyncio's
    /// `write_eof`): the peer reads the end of the stream, and can still
    /// send to us. Later writes are errors.
    pub fn write_eof(&self) -> io::Result<()> {
        let mut state = self.inner.state.borrow_mut();
        if state.closing || state.eof {
            return Ok(());
        }
        state.eof = true;
        if state.pending() == 0 && !state.flusher {
            // Nothing queued: shut down now, as asyncio does.
            let mut cx = Context::from_waker(Waker::noop());
            match self.inner.shared.poll_shutdown_write(&mut cx) {
                Poll::Ready(Ok(())) => {
                    state.eof_sent = true;
                    return Ok(());
                }
                Poll::Ready(Err(err)) => {
                    drop(state);
                    self.inner.lose(&err);
                    return Err(err);
                }
                Poll::Pending => {}
            }
        }
        drop(state);
        self.inner.kick()
    }

    /// Closes the connection once the queue is sent (asyncio's `close`;
    /// dropping the writer does the same). The reader of the connection
    /// then sees the end of the stream.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Closes at once, dropping whatever is queued (asyncio's
    /// `transport.abort()`).
    pub fn abort(&self) {
        let mut state = self.inner.state.borrow_mut();
        state.buf.clear();
        state.start = 0;
        state.closing = true;
        drop(state);
        self.inner.close_now();
    }

    /// Whether `close` was called (or the connection was lost).
    pub fn is_closing(&self) -> bool {
        let state = self.inner.state.borrow();
        state.closing || state.lost.is_some()
    }

    /// Waits until the connection is closed (asyncio's `wait_closed`; a
    /// checkpoint). Reports how it was lost, if it was.
    pub async fn wait_closed(&self) -> io::Result<()> {
        poll_fn(|cx| {
            current::checkpoint()?;
            let mut state = self.inner.state.borrow_mut();
            if let Some(err) = state.lost_error() {
                return Poll::Ready(Err(err));
            }
            if state.closed {
                return Poll::Ready(Ok(()));
            }
            State::register(&mut state.close_waiters, cx);
            Poll::Pending
        })
        .await
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`).
    pub fn peer_addr(&self) -> Option<&Address> {
        self.inner.shared.peer()
    }

    /// The local address (asyncio's `get_extra_info("sockname")`).
    pub fn local_addr(&self) -> Option<&Address> {
        self.inner.shared.local()
    }
}

impl Inner {
    fn write(self: &Rc<Self>, mut data: &[u8]) -> io::Result<()> {
        let mut state = self.state.borrow_mut();
        if let Some(err) = state.lost_error() {
            return Err(err);
        }
        if state.closing {
            return Err(writer_closing());
        }
        if state.eof {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "write() after write_eof()"));
        }
        if data.is_empty() {
            return Ok(());
        }
        if state.pending() == 0 && !current::current_cancel_pending() {
            // Nothing queued: send now, as far as the socket takes it.
            let mut cx = Context::from_waker(Waker::noop());
            while !data.is_empty() {
                match self.shared.poll_write(&mut cx, data) {
                    Poll::Ready(Ok(0)) | Poll::Pending => break,
                    Poll::Ready(Ok(n)) => data = &data[n..],
                    Poll::Ready(Err(err)) => {
                        drop(state);
                        self.lose(&err);
                        return Err(err);
                    }
                }
            }
            if data.is_empty() {
                return Ok(());
            }
        }
        if state.start > 0 && state.start == state.buf.len() {
            state.buf.clear();
            state.start = 0;
        }
        state.buf.extend_from_slice(data);
        if state.pending() > state.high {
            state.paused = true;
        }
        drop(state);
        self.kick()
    }

    /// Makes sure a flusher will send the queue and carry out `write_eof`
    /// and `close`.
    fn kick(self: &Rc<Self>) -> io::Result<()> {
        let mut state = self.state.borrow_mut();
        if state.flusher {
            return Ok(());
        }
        if state.pending() == 0 && !state.eof_pending() && !state.closing {
            return Ok(());
        }
        if current::with_running(|_| ()).is_none() {
            return Err(io::Error::other("corio::streams: no event loop is running on this thread to send the data"));
        }
        state.flusher = true;
        drop(state);
        let inner = self.clone();
        crate::task::Builder::new()
            .name("corio-stream-flusher")
            .spawn(async move { poll_fn(|cx| inner.poll_flusher(cx)).await })
            .detach();
        Ok(())
    }

    /// The flusher: sends the queue, then the EOF, then closes, as asked.
    fn poll_flusher(&self, cx: &mut Context<'_>) -> Poll<()> {
        if current::checkpoint().is_err() {
            // The loop is tearing down: what is queued is lost.
            self.state.borrow_mut().flusher = false;
            return Poll::Ready(());
        }
        loop {
            let mut state = self.state.borrow_mut();
            if state.lost.is_some() {
                state.flusher = false;
                return Poll::Ready(());
            }
            if state.pending() > 0 {
                let polled = self.shared.poll_write(cx, &state.buf[state.start..]);
                match polled {
                    Poll::Ready(Ok(n)) if n > 0 => {
                        state.start += n;
                        if state.start == state.buf.len() {
                            state.buf.clear();
                            state.start = 0;
                        }
                        if state.paused && state.pending() <= state.low {
                            state.paused = false;
                            State::wake(&mut state.drain_waiters);
                        }
                        continue;
                    }
                    Poll::Ready(Ok(_)) => {
                        drop(state);
                        self.lose(&io::Error::from(io::ErrorKind::WriteZero));
                        return Poll::Ready(());
                    }
                    Poll::Ready(Err(err)) => {
                        drop(state);
                        self.lose(&err);
                        return Poll::Ready(());
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            // The queue is empty.
            State::wake(&mut state.drain_waiters);
            if state.eof_pending() {
                match self.shared.poll_shutdown_write(cx) {
                    Poll::Ready(Ok(())) => state.eof_sent = true,
                    Poll::Ready(Err(err)) => {
                        drop(state);
                        self.lose(&err);
                        return Poll::Ready(());
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            state.flusher = false;
            let closing = state.closing;
            drop(state);
            if closing {
                self.close_now();
            }
            return Poll::Ready(());
        }
    }

    fn close(self: &Rc<Self>) {
        let mut state = self.state.borrow_mut();
        if state.closing {
            return;
        }
        state.closing = true;
        let idle = state.pending() == 0 && !state.eof_pending() && !state.flusher;
        drop(state);
        if idle || self.kick().is_err() {
            self.close_now();
        }
    }

    /// Drops the transport and wakes everyone waiting for the close.
    fn close_now(&self) {
        self.shared.close();
        let mut state = self.state.borrow_mut();
        state.closed = true;
        state.paused = false;
        State::wake(&mut state.drain_waiters);
        State::wake(&mut state.close_waiters);
    }

    /// The connection is lost: drop the queue, close, tell the waiters.
    fn lose(&self, err: &io::Error) {
        {
            let mut state = self.state.borrow_mut();
            state.lost.get_or_insert_with(|| (err.kind(), err.to_string()));
            state.buf.clear();
            state.start = 0;
            state.flusher = false;
        }
        self.close_now();
    }
}

impl State {
    fn eof_pending(&self) -> bool {
        self.eof && !self.eof_sent
    }
}

impl Drop for StreamWriter {
    /// As asyncio's writer does when it is collected: closes the connection
    /// (after sending the queue).
    fn drop(&mut self) {
        self.inner.close();
    }
}

impl AsyncWrite for StreamWriter {
    /// Waits while the writer is paused, then queues all of `buf`.
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        current::checkpoint()?;
        {
            let mut state = self.inner.state.borrow_mut();
            if state.paused && state.lost.is_none() && !state.closed {
                State::register(&mut state.drain_waiters, cx);
                return Poll::Pending;
            }
        }
        self.inner.write(buf).map(|()| buf.len()).into()
    }

    /// Waits until the queue is empty.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        current::checkpoint()?;
        let mut state = self.inner.state.borrow_mut();
        if let Some(err) = state.lost_error() {
            return Poll::Ready(Err(err));
        }
        if state.pending() == 0 || state.closed {
            return Poll::Ready(Ok(()));
        }
        State::register(&mut state.drain_waiters, cx);
        Poll::Pending
    }

    /// Closes (after sending the queue) and waits until closed.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.close();
        current::checkpoint()?;
        let mut state = self.inner.state.borrow_mut();
        if let Some(err) = state.lost_error() {
            return Poll::Ready(Err(err));
        }
        if state.closed {
            return Poll::Ready(Ok(()));
        }
        State::register(&mut state.close_waiters, cx);
        Poll::Pending
    }
}
