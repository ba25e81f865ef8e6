//! A child's standard streams as pipes on the loop's reactor.

use crate::io::Async;
use futures_io::{AsyncRead, AsyncWrite};
use std::fmt;
use std::fs::File;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// One end of a pipe to or from a child, registered with the running loop.
struct Pipe {
    io: Async<File>,
}

impl Pipe {
    fn new(fd: OwnedFd) -> io::Result<Pipe> {
        Ok(Pipe { io: Async::new(File::from(fd))? })
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(crate::io::Direction::Read, cx, |mut f| f.read(buf))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(crate::io::Direction::Write, cx, |mut f| f.write(buf))
    }
}

macro_rules! pipe_type {
    ($(#[$doc:meta])* $name:ident, $std:ty) => {
        $(#[$doc])*
        pub struct $name {
            pipe: Pipe,
        }

        impl $name {
            /// Registers `std`'s end of the pipe with the running loop.
            pub fn from_std(std: $std) -> io::Result<$name> {
                Ok($name { pipe: Pipe::new(OwnedFd::from(std))? })
            }

            /// Deregisters and returns the descriptor (left non-blocking).
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.pipe.io.into_inner().map(OwnedFd::from)
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe.io.get_ref().as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.pipe.io.get_ref().as_raw_fd()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("fd", &self.as_raw_fd()).finish()
            }
        }
    };
}

macro_rules! read_half {
    ($name:ident) => {
        impl $name {
            /// Reads some bytes; `Ok(0)` once the child closed its end (a
            /// checkpoint).
            pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                poll_fn(|cx| self.pipe.poll_read(cx, buf)).await
            }

            /// Reads until the child closes its end, appending to `buf`.
            pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
                let start = buf.len();
                poll_fn(|cx| poll_read_to_end(&self.pipe, cx, buf)).await?;
                Ok(buf.len() - start)
            }
        }

        impl AsyncRead for $name {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                self.pipe.poll_read(cx, buf)
            }
        }
    };
}

pipe_type!(
    /// The child's standard input, to write to (`futures_io::AsyncWrite`).
    /// Dropping it (or `close`) closes the pipe: the child reads
    /// end-of-file.
    ChildStdin,
    std::process::ChildStdin
);
pipe_type!(
    /// The child's standard output, to read from (`futures_io::AsyncRead`).
    ChildStdout,
    std::process::ChildStdout
);
pipe_type!(
    /// The child's standard error, to read from (`futures_io::AsyncRead`).
    ChildStderr,
    std::process::ChildStderr
);
read_half!(ChildStdout);
read_half!(ChildStderr);

impl ChildStdin {
    /// Writes some bytes (a checkpoint; waits while the pipe is full).
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.pipe.poll_write(cx, buf)).await
    }

    /// Writes all of `buf`. A child that exited (or closed its input) makes
    /// this fail with `BrokenPipe`.
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }
}

impl AsyncWrite for ChildStdin {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.pipe.poll_write(cx, buf)
    }

    /// Nothing is buffered: a no-op.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Nothing to do until the pipe is dropped, which closes it.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Polls reads from `pipe` into `buf` until end-of-file.
fn poll_read_to_end(pipe: &Pipe, cx: &mut Context<'_>, buf: &mut Vec<u8>) -> Poll<io::Result<()>> {
    let mut chunk = [0u8; 8192];
    loop {
        match pipe.poll_read(cx, &mut chunk) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
            Poll::Ready(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

/// Polls one of the child's outputs to its end, for `communicate` and
/// `wait_with_output`.
pub(super) fn poll_drain(
    pipe: &mut Option<impl AsyncRead + Unpin>,
    cx: &mut Context<'_>,
    out: &mut Vec<u8>,
) -> Poll<io::Result<()>> {
    let Some(reader) = pipe.as_mut() else { return Poll::Ready(Ok(())) };
    let mut chunk = [0u8; 8192];
    loop {
        match Pin::new(&mut *reader).poll_read(cx, &mut chunk) {
            Poll::Ready(Ok(0)) => {
                *pipe = None;
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Ok(n)) => out.extend_from_slice(&chunk[..n]),
            Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
            Poll::Pending => return Poll::Pending,
        }
    }
}
