//! Telling HTTP/2 (prior knowledge) from HTTP/1.1 on one port: HTTP/2 opens
//! with a fixed 24-byte preface. The bytes read to decide are replayed to
//! the protocol's parser by [`Rewind`].

use corio::net::TcpStream;
use futures_util::io::{AsyncRead, AsyncWrite};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What every HTTP/2 client sends first (RFC 9113, section 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

/// Reads until the first bytes match the HTTP/2 preface or stop matching it;
/// returns the protocol and the stream with those bytes put back.
pub async fn sniff(stream: TcpStream) -> io::Result<(Protocol, Rewind)> {
    let mut seen = Vec::with_capacity(H2_PREFACE.len());
    let mut buf = [0u8; 24];
    while seen.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(&seen) {
        let n = stream.read(&mut buf[..H2_PREFACE.len() - seen.len()]).await?;
        if n == 0 {
            break; // closed early: let HTTP/1's parser report it
        }
        seen.extend_from_slice(&buf[..n]);
    }
    let protocol = if seen == H2_PREFACE { Protocol::Http2 } else { Protocol::Http1 };
    Ok((protocol, Rewind { prefix: seen, read: 0, stream }))
}

/// A stream whose first bytes come from a buffer.
#[derive(Debug)]
pub struct Rewind {
    prefix: Vec<u8>,
    read: usize,
    stream: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.read < this.prefix.len() {
            let n = (this.prefix.len() - this.read).min(buf.len());
            buf[..n].copy_from_slice(&this.prefix[this.read..this.read + n]);
            this.read += n;
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_close(cx)
    }
}
