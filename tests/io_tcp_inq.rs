//! TCP reads that know when they emptied the socket (`TCP_INQ`; see
//! `corio_core::io::inq`), on every real reactor: epoll, io_uring and the
//! portable one.
//!
//! A read after which the kernel reports nothing queued forgets the
//! stream's read readiness, so the next read waits for the reactor's next
//! edge instead of making a system call that returns `EAGAIN`. A read that
//! leaves bytes behind keeps it. Each test looks at the readiness itself
//! (one poll of `readable()`), then checks that the next bytes still arrive:
//! nothing may wait for an edge that has already come.
//!
//! Real loopback sockets, no sleeps, no timing assertions.

mod common;

use common::net::{Epoll, Net, Portable, Uring};
use corio::net::{TcpListener, TcpStream};
use futures_util::io::AsyncReadExt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// Whether the stream's cached read readiness is set: one poll of
/// `readable()` (a wait that would block is `false`).
async fn read_ready(stream: &TcpStream) -> bool {
    let mut readable = pin!(stream.as_async().readable());
    std::future::poll_fn(|cx| Poll::Ready(readable.as_mut().poll(cx))).await.is_ready()
}

async fn connected_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?).await?;
    let (server, _) = listener.accept().await?;
    Ok((client, server))
}

/// An exactly-full read that emptied the socket: the case the `WouldBlock`
/// rule alone cannot tell from "more to come".
fn a_read_that_empties_the_socket_forgets_readiness<N: Net>() {
    N::block_on(async {
        let (client, server) = connected_pair().await?;
        for round in 0..3u8 {
            client.write_all(&[round; 1024]).await?;
            let mut buf = [0u8; 1024];
            (&server).read_exact(&mut buf).await?;
            assert_eq!(buf, [round; 1024]);
            assert!(!read_ready(&server).await, "{}: round {round}: nothing is left, yet readiness stayed", N::NAME);
        }
        // The next bytes bring an edge that wakes the reader; the FIN after
        // them keeps readiness (the kernel counts it), so end of stream is
        // read, not waited for.
        client.write_all(b"last").await?;
        client.shutdown(Shutdown::Write)?;
        let mut buf = [0u8; 4];
        (&server).read_exact(&mut buf).await?;
        assert_eq!(&buf, b"last");
        // A reader left waiting for the FIN's edge would hang: a timeout (on
        // the system clock, far beyond a loopback FIN) makes that a failure.
        let end = corio::wait_for(Duration::from_secs(10), server.read(&mut buf)).await;
        let end = end.unwrap_or_else(|_| panic!("{}: the read after the data waits for a FIN that came", N::NAME));
        assert_eq!(end?, 0, "{}: end of stream", N::NAME);
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn a_read_that_leaves_bytes_keeps_readiness<N: Net>() {
    N::block_on(async {
        let (client, server) = connected_pair().await?;
        client.write_all(&[7; 2048]).await?;
        // Until all of it is queued (a peek consumes nothing).
        let mut peeked = [0u8; 2048];
        while server.peek(&mut peeked).await? < peeked.len() {
            corio::yield_now().await.unwrap();
        }
        let mut buf = [0u8; 1024];
        assert_eq!(server.read(&mut buf).await?, 1024);
        assert!(read_ready(&server).await, "{}: 1024 bytes are left, yet readiness was cleared", N::NAME);
        assert_eq!(server.read(&mut buf).await?, 1024);
        assert!(!read_ready(&server).await, "{}: the second read emptied the socket", N::NAME);
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

macro_rules! on_real_reactors {
    ($($test:ident),* $(,)?) => {
        mod epoll {
            $( #[test] fn $test() { super::$test::<super::Epoll>() } )*
        }
        mod uring {
            $( #[test] fn $test() { super::$test::<super::Uring>() } )*
        }
        mod portable {
            $( #[test] fn $test() { super::$test::<super::Portable>() } )*
        }
    };
}

on_real_reactors!(a_read_that_empties_the_socket_forgets_readiness, a_read_that_leaves_bytes_keeps_readiness);
