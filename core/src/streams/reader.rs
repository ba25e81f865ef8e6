//! `StreamReader`: asyncio's buffered reader over a transport.

use super::error::{IncompleteReadError, LimitOverrunError, ReadError};
use super::transport::{Address, Shared};
use crate::runtime::current;
use futures_io::AsyncRead;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

/// How much one read from the transport asks for at most.
const CHUNK: usize = 64 * 1024;

/// The reading half of a connection (asyncio's `StreamReader`), with a
/// buffer and a [`limit`](StreamReader::limit) on how far `readuntil` and
/// `readline` look for their separator.
///
/// Every read is a checkpoint. The transport is read only when the buffer
/// cannot satisfy the call, at most 64 KiB at a time, so the buffer stays
/// within about `limit` + 64 KiB (asyncio pauses its transport at twice
/// the limit instead).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let (mut reader, writer) = corio_core::streams::open_connection("example.com", 80).await?;
/// writer.write(b"HEAD / HTTP/1.0\r\n\r\n")?;
/// let status = reader.readline().await?;
/// let headers = reader.readuntil(b"\r\n\r\n").await?;
/// # drop((status, headers)); Ok(()) }
/// ```
pub struct StreamReader {
    shared: Rc<Shared>,
    buf: Vec<u8>,
    /// Unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    limit: usize,
    eof: bool,
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("buffered", &self.buffered())
            .field("limit", &self.limit)
            .field("eof", &self.eof)
            .field("peer", &self.shared.peer())
            .finish()
    }
}

impl StreamReader {
    pub(super) fn new(shared: Rc<Shared>, limit: usize) -> StreamReader {
        StreamReader { shared, buf: Vec::new(), start: 0, end: 0, limit, eof: false }
    }

    /// The limit `readuntil` and `readline` look within (asyncio's
    /// `limit`, 64 KiB by default).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes read from the transport and not yet returned.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Whether the stream ended and the buffer is empty (asyncio's
    /// `at_eof`).
    pub fn at_eof(&self) -> bool {
        self.eof && self.buffered() == 0
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`).
    pub fn peer_addr(&self) -> Option<&Address> {
        self.shared.peer()
    }

    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let out = self.buf[self.start..self.start + n].to_vec();
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        out
    }

    /// Reads once from the transport into the buffer (a checkpoint); at the
    /// end of the stream, sets `eof`.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        current::checkpoint()?;
        if self.eof {
            return Poll::Ready(Ok(()));
        }
        if self.buf.len() - self.end < CHUNK {
            // Move the unread bytes to the front, then grow if still short.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() - self.end < CHUNK {
                self.buf.resize(self.end + CHUNK, 0);
            }
        }
        let n = ready!(self.shared.poll_read(cx, &mut self.buf[self.end..]))?;
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        Poll::Ready(Ok(()))
    }

    /// Reads up to `n` bytes (asyncio's `read(n)`): what is buffered, else
    /// what one read from the transport brings; empty at the end of the
    /// stream (and for `n == 0`).
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        poll_fn(|cx| {
            if n == 0 {
                current::checkpoint()?;
                return Poll::Ready(Ok(Vec::new()));
            }
            while self.buffered() == 0 && !self.eof {
                ready!(self.poll_fill(cx))?;
            }
            let n = n.min(self.buffered());
            Poll::Ready(Ok(self.take(n)))
        })
        .await
    }

    /// Reads to the end of the stream (asyncio's `read()` / `read(-1)`).
    pub async fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        poll_fn(|cx| {
            while !self.eof {
                ready!(self.poll_fill(cx))?;
            }
            Poll::Ready(Ok(self.take(self.buffered())))
        })
        .await
    }

    /// Reads exactly `n` bytes (asyncio's `readexactly`). If the stream
    /// ends first: [`ReadError::Incomplete`] with the bytes read so far
    /// (taken from the buffer).
    pub async fn readexactly(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        poll_fn(|cx| {
            while self.buffered() < n {
                if self.eof {
                    let partial = self.take(self.buffered());
                    return Poll::Ready(Err(ReadError::Incomplete(IncompleteReadError { partial, expected: Some(n) })));
                }
                ready!(self.poll_fill(cx))?;
            }
            if n == 0 {
                current::checkpoint()?;
            }
            Poll::Ready(Ok(self.take(n)))
        })
        .await
    }

    /// Reads up to and including `separator` (asyncio's `readuntil`).
    ///
    /// * Found within the limit: the bytes up to and including it.
    /// * Not found within `limit` bytes (or found past it):
    ///   [`ReadError::LimitOverrun`], and the data **stays in the buffer**
    ///   (read it with `read`/`readexactly`, as asyncio does).
    /// * The stream ends first: [`ReadError::Incomplete`] with everything
    ///   buffered (taken).
    /// * An empty separator: an `InvalidInput` error.
    pub async fn readuntil(&mut self, separator: &[u8]) -> Result<Vec<u8>, ReadError> {
        self.readuntil_any(&[separator]).await
    }

    /// [`readuntil`](StreamReader::readuntil) with several separators
    /// (asyncio 3.13's tuple): the shortest prefix that ends with one of
    /// them.
    pub async fn readuntil_any(&mut self, separators: &[&[u8]]) -> Result<Vec<u8>, ReadError> {
        if separators.is_empty() || separators.iter().any(|s| s.is_empty()) {
            return Err(ReadError::Io(io::Error::new(io::ErrorKind::InvalidInput, "a separator must not be empty")));
        }
        let (min_len, max_len) =
            separators.iter().fold((usize::MAX, 0), |(lo, hi), s| (lo.min(s.len()), hi.max(s.len())));
        // Where the search resumes: bytes before it were looked at already.
        let mut offset = 0;
        // Before giving up on the limit, look once more at what the
        // transport already holds (asyncio's reader would have it in its
        // buffer by now: it reads ahead, up to twice the limit).
        let mut looked_ahead = false;
        poll_fn(|cx| loop {
            let data = self.data();
            if data.len() >= offset + min_len {
                if let Some((start, end)) = find_first(data, offset, separators) {
                    // asyncio compares where the separator starts with the
                    // limit.
                    if start > self.limit {
                        return Poll::Ready(Err(ReadError::LimitOverrun(LimitOverrunError {
                            message: "Separator is found, but chunk is longer than limit",
                            consumed: start,
                        })));
                    }
                    return Poll::Ready(Ok(self.take(end)));
                }
                // A separator may straddle the end: resume just before it.
                offset = (data.len() + 1).saturating_sub(max_len);
                if offset > self.limit {
                    let before = self.buffered();
                    if !looked_ahead && !self.eof {
                        looked_ahead = true;
                        if let Poll::Ready(filled) = self.poll_fill(cx) {
                            filled?;
                            if self.buffered() > before {
                                continue;
                            }
                        }
                    }
                    return Poll::Ready(Err(ReadError::LimitOverrun(LimitOverrunError {
                        message: "Separator is not found, and chunk exceed the limit",
                        consumed: offset,
                    })));
                }
            }
            if self.eof {
                let partial = self.take(self.buffered());
                return Poll::Ready(Err(ReadError::Incomplete(IncompleteReadError { partial, expected: None })));
            }
            if let Err(err) = ready!(self.poll_fill(cx)) {
                return Poll::Ready(Err(err.into()));
            }
        })
        .await
    }

    /// Reads a line, up to and including `\n` (asyncio's `readline`). At
    /// the end of the stream: the partial last line (empty once nothing is
    /// left), not an error. A line longer than the limit: its bytes are
    /// consumed (up to and including the separator, or all that is
    /// buffered) and [`ReadError::LimitOverrun`] is returned (asyncio's
    /// `ValueError`).
    pub async fn readline(&mut self) -> Result<Vec<u8>, ReadError> {
        match self.readuntil(b"\n").await {
            Ok(line) => Ok(line),
            Err(ReadError::Incomplete(err)) => Ok(err.partial),
            Err(ReadError::LimitOverrun(err)) => {
                let data = self.data();
                let consume = if data[err.consumed..].starts_with(b"\n") { err.consumed + 1 } else { data.len() };
                self.take(consume);
                Err(ReadError::LimitOverrun(err))
            }
            Err(err) => Err(err),
        }
    }
}

/// The match with the smallest end among each separator's first
/// occurrence at or after `offset` (the first separator wins a tie, as in
/// asyncio): `(start, end)`, `end` just past the separator.
fn find_first(data: &[u8], offset: usize, separators: &[&[u8]]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for sep in separators {
        let Some(at) = data.get(offset..).and_then(|tail| tail.windows(sep.len()).position(|w| w == *sep)) else {
            continue;
        };
        let (start, end) = (offset + at, offset + at + sep.len());
        if best.is_none_or(|(_, best_end)| end < best_end) {
            best = Some((start, end));
        }
    }
    best
}

impl AsyncRead for StreamReader {
    /// Buffered bytes first, else one read from the transport.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        while this.buffered() == 0 && !this.eof {
            ready!(this.poll_fill(cx))?;
        }
        let n = out.len().min(this.buffered());
        out[..n].copy_from_slice(&this.data()[..n]);
        this.take(n);
        Poll::Ready(Ok(n))
    }
}
