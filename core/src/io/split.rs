//! Owned halves of a stream: [`OwnedReadHalf`] and [`OwnedWriteHalf`].
//!
//! A socket's two directions are independent (the loop caches readiness per
//! direction), so splitting needs no lock: both halves share the stream
//! through an `Arc` and each uses only its own direction. Borrowed halves
//! need no type at all: `&TcpStream` reads and writes.
//!
//! Dropping the write half shuts down the write direction (the peer reads
//! end-of-stream), as tokio's does; [`OwnedWriteHalf::forget`] skips that.
//! [`reunite`](OwnedReadHalf::reunite) puts the halves back together.

use futures_io::{AsyncRead, AsyncWrite};
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::io::TcpStream {}
    impl Sealed for crate::io::UnixStream {}
}

/// A stream that can be split ([`TcpStream`](crate::io::TcpStream),
/// [`UnixStream`](crate::io::UnixStream)): both directions usable through a
/// shared reference.
pub trait Split: sealed::Sealed {
    /// Polls a read through a shared reference.
    fn poll_read_shared(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    /// Polls a write through a shared reference.
    fn poll_write_shared(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    /// Polls a vectored write through a shared reference.
    fn poll_write_vectored_shared(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>>;
    /// Shuts down the write direction.
    fn shutdown_write(&self) -> io::Result<()>;
}

pub(crate) fn split<S: Split>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let stream = Arc::new(stream);
    (OwnedReadHalf { stream: stream.clone() }, OwnedWriteHalf { stream: Some(stream), shutdown_on_drop: true })
}

/// The read half of a stream, from `into_split`.
///
/// ```no_run
/// # async fn demo(stream: corio_core::io::TcpStream) -> std::io::Result<()> {
/// let (mut reader, mut writer) = stream.into_split();
/// corio_core::spawn(async move {
///     let mut buf = [0; 1024];
///     while reader.read(&mut buf).await? > 0 {}
///     Ok::<_, std::io::Error>(())
/// });
/// writer.write_all(b"hello").await?;
/// # Ok(()) }
/// ```
pub struct OwnedReadHalf<S: Split> {
    stream: Arc<S>,
}

/// The write half of a stream, from `into_split`. Dropping it shuts down
/// the write direction.
pub struct OwnedWriteHalf<S: Split> {
    /// `None` only after `forget`/`reunite` took it.
    stream: Option<Arc<S>>,
    shutdown_on_drop: bool,
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different
/// streams; they are handed back.
pub struct ReuniteError<S: Split>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S: Split> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl<S: Split> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves of different streams")
    }
}

impl<S: Split> std::error::Error for ReuniteError<S> {}

impl<S: Split> OwnedReadHalf<S> {
    /// Reads some bytes (a checkpoint); `Ok(0)` at end of stream.
    ///
    /// **Cancel safety:** cancel-safe: a dropped read has read nothing.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.stream.poll_read_shared(cx, buf)).await
    }

    /// Puts the halves back together; fails if they come from different
    /// streams.
    pub fn reunite(self, mut write: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        let same = write.stream.as_ref().is_some_and(|w| Arc::ptr_eq(w, &self.stream));
        if !same {
            return Err(ReuniteError(self, write));
        }
        let write = write.stream.take().expect("present until taken");
        drop(self);
        Ok(Arc::into_inner(write).expect("the two halves held the only references"))
    }
}

impl<S: Split> AsRef<S> for OwnedReadHalf<S> {
    fn as_ref(&self) -> &S {
        &self.stream
    }
}

impl<S: Split> fmt::Debug for OwnedReadHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedReadHalf(..)")
    }
}

impl<S: Split> OwnedWriteHalf<S> {
    fn stream(&self) -> &S {
        self.stream.as_deref().expect("present until taken")
    }

    /// Writes some bytes (a checkpoint; waits while the peer does not read).
    ///
    /// **Cancel safety:** cancel-safe: a dropped write has written nothing.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.stream().poll_write_shared(cx, buf)).await
    }

    /// Writes all of `buf`.
    ///
    /// **Cancel safety:** **not** cancel-safe: a dropped `write_all` may have
    /// written part of `buf`.
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Drops the half without shutting down the write direction.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl<S: Split> AsRef<S> for OwnedWriteHalf<S> {
    fn as_ref(&self) -> &S {
        self.stream.as_deref().expect("present until taken")
    }
}

impl<S: Split> fmt::Debug for OwnedWriteHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedWriteHalf(..)")
    }
}

impl<S: Split> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            if self.shutdown_on_drop {
                // Best effort, as closing is: the peer may be gone already.
                let _ = stream.shutdown_write();
            }
        }
    }
}

impl<S: Split> AsyncRead for OwnedReadHalf<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.stream.poll_read_shared(cx, buf)
    }
}

impl<S: Split> AsyncWrite for OwnedWriteHalf<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.stream().poll_write_shared(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream().poll_write_vectored_shared(cx, bufs)
    }

    /// Nothing is buffered in user space: a no-op.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down the write direction.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream().shutdown_write())
    }
}
