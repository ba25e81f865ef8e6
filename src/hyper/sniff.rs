//! Telling HTTP/2 (prior knowledge) from HTTP/1.1 on one port: HTTP/2
//! opens with a fixed 24-byte preface. The bytes read to decide are
//! replayed to the protocol's parser by [`Rewind`].

use futures_io::{AsyncRead, AsyncWrite};
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What every HTTP/2 client sends first (RFC 9113, section 3.4).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.0 or HTTP/1.1.
    Http1,
    /// HTTP/2.
    Http2,
}

/// Reads until the first bytes match the HTTP/2 preface or stop matching
/// it; returns the protocol and the stream with those bytes put back. An
/// HTTP/1 request is told apart by its first byte, so this costs no read
/// more than the parser would have made.
pub(crate) async fn sniff<T: AsyncRead + Unpin>(mut stream: T) -> io::Result<(Protocol, Rewind<T>)> {
    let mut seen = [0u8; 24];
    let mut len = 0;
    while len < H2_PREFACE.len() && H2_PREFACE.starts_with(&seen[..len]) {
        let n = poll_fn(|cx| Pin::new(&mut stream).poll_read(cx, &mut seen[len..])).await?;
        if n == 0 {
            break; // closed early: let HTTP/1's parser report it
        }
        len += n;
    }
    let protocol = if &seen[..len] == H2_PREFACE { Protocol::Http2 } else { Protocol::Http1 };
    Ok((protocol, Rewind { prefix: seen, len: len as u8, read: 0, stream }))
}

/// A stream whose first bytes come from a buffer.
#[derive(Debug)]
pub struct Rewind<T> {
    prefix: [u8; 24],
    len: u8,
    read: u8,
    stream: T,
}

impl<T> Rewind<T> {
    /// A stream with nothing to replay.
    pub(crate) fn plain(stream: T) -> Rewind<T> {
        Rewind { prefix: [0; 24], len: 0, read: 0, stream }
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &T {
        &self.stream
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Rewind<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.read < this.len {
            let rest = &this.prefix[this.read as usize..this.len as usize];
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            this.read += n as u8;
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Rewind<T> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out `chunks` one per read.
    struct Chunks(Vec<&'static [u8]>);

    impl AsyncRead for Chunks {
        fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
            if self.0.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let chunk = self.0.remove(0);
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            if n < chunk.len() {
                self.0.insert(0, &chunk[n..]);
            }
            Poll::Ready(Ok(n))
        }
    }

    fn run(chunks: Vec<&'static [u8]>) -> (Protocol, Vec<u8>) {
        crate::run(async move {
            let (protocol, mut rewound) = sniff(Chunks(chunks)).await.unwrap();
            let mut all = Vec::new();
            let mut buf = [0u8; 7];
            loop {
                let n = poll_fn(|cx| Pin::new(&mut rewound).poll_read(cx, &mut buf)).await.unwrap();
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
            }
            (protocol, all)
        })
        .unwrap()
    }

    #[test]
    fn http1_is_told_by_its_first_byte_and_replayed_whole() {
        let (protocol, bytes) = run(vec![b"GET / HTTP/1.1\r\n", b"Host: x\r\n\r\n"]);
        assert_eq!(protocol, Protocol::Http1);
        assert_eq!(bytes, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    }

    #[test]
    fn the_http2_preface_in_pieces_is_http2_and_replayed() {
        let (protocol, bytes) = run(vec![b"PRI * HT", b"TP/2.0\r\n\r\nSM", b"\r\n\r\nframes"]);
        assert_eq!(protocol, Protocol::Http2);
        assert_eq!(bytes, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nframes");
    }

    #[test]
    fn a_near_miss_and_an_early_close_are_http1() {
        assert_eq!(run(vec![b"PRI * HTTP/1.1\r\n"]).0, Protocol::Http1);
        let (protocol, bytes) = run(vec![b"PRI"]);
        assert_eq!((protocol, bytes.as_slice()), (Protocol::Http1, &b"PRI"[..]));
        assert_eq!(run(vec![]), (Protocol::Http1, vec![]));
    }
}
