//! [`CorioIo`]: corio's streams as hyper I/O, and hyper I/O as
//! `futures_io` streams (hyper_util's `TokioIo`, for corio).

use futures_io::{AsyncRead, AsyncWrite};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Adapts between `futures_io` streams (corio's [`TcpStream`](crate::net::TcpStream),
/// [`UnixStream`](crate::net::UnixStream), a TLS stream) and hyper's
/// `hyper::rt::Read`/`Write`, in both directions — hyper_util's `TokioIo`
/// for corio.
///
/// * `CorioIo<T: AsyncRead + AsyncWrite>` is hyper I/O: hand it to
///   `hyper::server::conn::http1::Builder::serve_connection` or
///   `hyper::client::conn::http1::handshake`.
/// * `CorioIo<T: hyper::rt::Read + Write>` (an upgraded connection,
///   `hyper::upgrade::Upgraded`) is a `futures_io` stream again.
///
/// ```no_run
/// use corio::hyper::CorioIo;
/// use corio::net::TcpStream;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let stream = TcpStream::connect("127.0.0.1:3000").await?;
/// let (mut sender, connection) = hyper::client::conn::http1::handshake::<_, String>(CorioIo::new(stream)).await?;
/// corio::spawn(connection).detach();
/// let response = sender.send_request(hyper::Request::new(String::new())).await?;
/// # drop(response); Ok(()) }
/// ```
#[derive(Debug)]
pub struct CorioIo<T> {
    inner: T,
}

impl<T> CorioIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> CorioIo<T> {
        CorioIo { inner }
    }

    /// The wrapped stream.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for CorioIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // `AsyncRead` reads into initialized bytes: zero the unfilled part
        // first (a memset of hyper's spare read capacity, a few KiB).
        let unfilled = buf.initialize_unfilled();
        let n = ready!(Pin::new(&mut self.inner).poll_read(cx, unfilled))?;
        // A reader that claims more than it was given would make `advance`
        // expose bytes past the slice: refuse it instead.
        if n > unfilled.len() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the reader returned more than it read",
            )));
        }
        // SAFETY: the first `n` bytes of the slice `initialize_unfilled`
        // returned (which starts at the cursor) were initialized by it and
        // written by the read; `n` is within the slice (checked above).
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for CorioIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        // corio's streams write vectors with one writev(2); `AsyncWrite`'s
        // default for other streams writes the first buffer, still correct.
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match ready!(Pin::new(&mut self.inner).poll_close(cx)) {
            // The peer closed (or reset) the connection first: there is no
            // write half left to shut down, which is what was asked for.
            Err(err) if err.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            result => Poll::Ready(result),
        }
    }
}

impl<T: hyper::rt::Read + Unpin> AsyncRead for CorioIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut read_buf = hyper::rt::ReadBuf::new(buf);
        ready!(Pin::new(&mut self.inner).poll_read(cx, read_buf.unfilled()))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }
}

impl<T: hyper::rt::Write + Unpin> AsyncWrite for CorioIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        hyper::rt::Write::poll_write(Pin::new(&mut self.inner), cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        hyper::rt::Write::poll_write_vectored(Pin::new(&mut self.inner), cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        hyper::rt::Write::poll_flush(Pin::new(&mut self.inner), cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        hyper::rt::Write::poll_shutdown(Pin::new(&mut self.inner), cx)
    }
}
