//! The I/O suite, run once per backend: epoll and io_uring on real loopback
//! TCP, and the mock on the simulated network (latency, reordering, small
//! buffers, spurious `EAGAIN`s; virtual clock, fixed seed). Each test is a
//! generic function over `common::net::Net`; `per_backend!` at the bottom
//! makes `epoll::*`, `uring::*` and `mock::*` of them.
//!
//! The second half is the faults list of issue 5: refused, reset by peer,
//! half-close, a peer that never reads, a source deregistered while a task
//! waits on it — each with a clear error and nothing lost. (EMFILE on
//! accept changes a process-wide limit, so it has its own binary,
//! `tests/io_emfile.rs`.)
//!
//! No sleeps and no timing assertions: every wait is on I/O or on another
//! task.

mod common;

use common::net::Net;
use corio::{Cancelled, JoinError};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use std::cell::Cell;
use std::io;
use std::rc::Rc;

/// A deterministic payload for connection `id`.
fn payload(id: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ id.wrapping_mul(7)) as u8).collect()
}

async fn read_to_eof<N: Net>(stream: &N::Stream) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match N::read(stream, &mut buf).await? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

async fn write_all<N: Net>(stream: &N::Stream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = N::write(stream, buf).await?;
        assert!(n > 0, "{}: a write of {} bytes wrote nothing", N::NAME, buf.len());
        buf = &buf[n..];
    }
    Ok(())
}

/// Echoes until end of stream, then half-closes; returns the byte count.
async fn echo<N: Net>(stream: N::Stream) -> io::Result<usize> {
    let mut buf = vec![0u8; 4096];
    let mut total = 0;
    loop {
        let n = N::read(&stream, &mut buf).await?;
        if n == 0 {
            N::shutdown_write(&stream)?;
            return Ok(total);
        }
        write_all::<N>(&stream, &buf[..n]).await?;
        total += n;
    }
}

/// A connected pair: (client, server side).
async fn pair<N: Net>() -> io::Result<(N::Stream, N::Stream)> {
    let listener = N::listen()?;
    let addr = N::addr(&listener);
    let accepted = corio::spawn(async move { N::accept(&listener).await });
    let client = N::connect(addr).await?;
    let server = accepted.await.expect("accept task")?;
    Ok((client, server))
}

// ----- the suite -------------------------------------------------------------------

fn echo_round_trip<N: Net>() {
    N::block_on(async {
        let listener = N::listen()?;
        let addr = N::addr(&listener);
        let server = corio::spawn(async move { echo::<N>(N::accept(&listener).await?).await });
        let client = N::connect(addr).await?;
        write_all::<N>(&client, b"hello, corio").await?;
        N::shutdown_write(&client)?;
        assert_eq!(read_to_eof::<N>(&client).await?, b"hello, corio");
        // At end of stream reads keep returning 0 instead of waiting.
        assert_eq!(N::read(&client, &mut [0u8; 8]).await?, 0);
        assert_eq!(server.await.expect("server task")?, 12);
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn many_connections_every_byte_echoed<N: Net>() {
    const CONNECTIONS: usize = 64;
    const BYTES: usize = 10 * 1024 + 7;
    N::block_on(async {
        let listener = N::listen()?;
        let addr = N::addr(&listener);
        let server = corio::spawn(async move {
            let mut handlers = Vec::new();
            for _ in 0..CONNECTIONS {
                handlers.push(corio::spawn(echo::<N>(N::accept(&listener).await?)));
            }
            let mut total = 0;
            for handler in handlers {
                total += handler.await.expect("handler task")?;
            }
            Ok::<_, io::Error>(total)
        });
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|id| {
                corio::spawn(async move {
                    let stream = N::connect(addr).await?;
                    let data = payload(id, BYTES);
                    let reader = {
                        // Read while writing: a peer that echoes needs its
                        // output drained, or both sides fill up.
                        let stream = Rc::new(stream);
                        let s = stream.clone();
                        let reader = corio::spawn(async move { read_to_eof::<N>(&s).await });
                        for chunk in data.chunks(1000) {
                            write_all::<N>(&stream, chunk).await?;
                        }
                        N::shutdown_write(&stream)?;
                        reader
                    };
                    let echoed = reader.await.expect("reader task")?;
                    assert!(echoed == data, "{}: connection {id}: bytes differ", N::NAME);
                    Ok::<_, io::Error>(echoed.len())
                })
            })
            .collect();
        let mut received = 0;
        for client in clients {
            received += client.await.expect("client task")?;
        }
        assert_eq!(received, CONNECTIONS * BYTES);
        assert_eq!(server.await.expect("server task")?, CONNECTIONS * BYTES);
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn futures_io_traits<N: Net>() {
    N::block_on(async {
        let (mut client, mut server) = pair::<N>().await?;
        let server = corio::spawn(async move {
            let mut header = [0u8; 4];
            server.read_exact(&mut header).await?;
            let mut body = vec![0u8; u32::from_be_bytes(header) as usize];
            server.read_exact(&mut body).await?;
            body.reverse();
            server.write_all(&body).await?;
            server.flush().await?;
            server.close().await?; // half-close
            Ok::<_, io::Error>(body.len())
        });
        let body = payload(1, 20_000);
        client.write_all(&(body.len() as u32).to_be_bytes()).await?;
        client.write_all(&body).await?;
        let mut echoed = Vec::new();
        client.read_to_end(&mut echoed).await?;
        let mut expected = body.clone();
        expected.reverse();
        assert!(echoed == expected, "{}: reversed body", N::NAME);
        assert_eq!(server.await.expect("server task")?, body.len());
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn buffered_reads_through_bufreader<N: Net>() {
    // AsyncBufRead comes from futures' BufReader over any corio stream.
    use futures_util::io::{AsyncBufReadExt, BufReader};
    N::block_on(async {
        let (client, server) = pair::<N>().await?;
        let writer = corio::spawn(async move {
            write_all::<N>(&client, b"first line\nsecond line\nno newline").await?;
            N::shutdown_write(&client)
        });
        let mut reader = BufReader::new(server);
        let mut lines = Vec::new();
        let mut line = String::new();
        while reader.read_line(&mut line).await? > 0 {
            lines.push(std::mem::take(&mut line));
        }
        assert_eq!(lines, ["first line\n", "second line\n", "no newline"]);
        writer.await.expect("writer task")?;
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn a_large_transfer_applies_back_pressure<N: Net>() {
    const BYTES: usize = 2 * 1024 * 1024;
    N::block_on(async {
        let listener = N::listen()?;
        let addr = N::addr(&listener);
        let server = corio::spawn(async move { echo::<N>(N::accept(&listener).await?).await });
        let client = Rc::new(N::connect(addr).await?);
        let data = Rc::new(payload(9, BYTES));
        let writer = {
            let (client, data) = (client.clone(), data.clone());
            corio::spawn(async move {
                for chunk in data.chunks(64 * 1024) {
                    write_all::<N>(&client, chunk).await?;
                }
                N::shutdown_write(&client)
            })
        };
        let echoed = read_to_eof::<N>(&client).await?;
        writer.await.expect("writer task")?;
        assert_eq!(echoed.len(), BYTES);
        assert!(echoed == *data, "{}: bytes differ", N::NAME);
        assert_eq!(server.await.expect("server task")?, BYTES);
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn cancelling_a_blocked_read_ends_the_task_cancelled<N: Net>() {
    N::block_on(async {
        let (client, server) = pair::<N>().await?;
        let reader = corio::spawn(async move {
            let mut buf = [0u8; 16];
            N::read(&server, &mut buf).await // nobody writes
        });
        for _ in 0..5 {
            corio::yield_now().await.unwrap();
        }
        assert!(!reader.done(), "{}: the reader must be waiting", N::NAME);
        assert!(reader.cancel_with("stop reading"));
        match reader.await {
            Err(JoinError::Cancelled(c)) => assert_eq!(c.message(), Some("stop reading")),
            other => panic!("{}: expected a cancelled reader, got {other:?}", N::NAME),
        }
        drop(client);
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

// ----- faults ------------------------------------------------------------------------

fn connection_refused<N: Net>() {
    let err = N::block_on(async { N::connect(N::closed_addr()).await.map(drop) }).expect_err("nobody listens there");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{}: {err:?}", N::NAME);
}

fn reset_by_peer<N: Net>() {
    N::block_on(async {
        let (client, server) = pair::<N>().await?;
        write_all::<N>(&client, b"partial").await?;
        let mut buf = [0u8; 7];
        let mut got = 0;
        while got < 7 {
            got += N::read(&server, &mut buf[got..]).await?;
        }
        assert_eq!(&buf, b"partial", "{}: bytes sent before the reset arrive", N::NAME);
        let reader = corio::spawn(async move {
            let mut buf = [0u8; 16];
            N::read(&server, &mut buf).await
        });
        corio::yield_now().await.unwrap();
        N::reset(client)?;
        let err = reader.await.expect("reader task").expect_err("the peer reset");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{}: {err:?}", N::NAME);
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn half_close_lets_the_peer_answer<N: Net>() {
    N::block_on(async {
        let (client, server) = pair::<N>().await?;
        let server = corio::spawn(async move {
            // Read the whole request (until the client's end of stream)...
            let request = read_to_eof::<N>(&server).await?;
            // ...then answer on the still-open other direction.
            write_all::<N>(&server, format!("got {} bytes", request.len()).as_bytes()).await?;
            N::shutdown_write(&server)?;
            Ok::<_, io::Error>(request)
        });
        write_all::<N>(&client, &payload(3, 5000)).await?;
        N::shutdown_write(&client)?;
        let answer = read_to_eof::<N>(&client).await?;
        assert_eq!(answer, b"got 5000 bytes", "{}", N::NAME);
        assert_eq!(server.await.expect("server task")?, payload(3, 5000));
        // Writing after our own shutdown is an error, not a hang.
        let err = N::write(&client, b"late").await.expect_err("write half is shut");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{}: {err:?}", N::NAME);
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn a_peer_that_never_reads_makes_writes_wait<N: Net>() {
    N::block_on(async {
        let (client, server) = pair::<N>().await?;
        let client = Rc::new(client);
        let written = Rc::new(Cell::new(0usize));
        let data = Rc::new(payload(5, 8 * 1024 * 1024));
        let writer = {
            let (client, written, data) = (client.clone(), written.clone(), data.clone());
            corio::spawn(async move {
                for chunk in data.chunks(16 * 1024) {
                    write_all::<N>(&client, chunk).await?;
                    written.set(written.get() + chunk.len());
                }
                N::shutdown_write(&client)
            })
        };
        // The writer fills the buffers and then waits: its writes are
        // pending, not failing and not dropping bytes.
        let mut stalled = 0;
        let mut last = usize::MAX;
        while stalled < 20 {
            corio::yield_now().await.unwrap();
            if written.get() == last {
                stalled += 1;
            } else {
                (last, stalled) = (written.get(), 0);
            }
            assert!(!writer.done(), "{}: all 8 MiB fit without a reader?", N::NAME);
        }
        assert!(written.get() < data.len(), "{}: back-pressure stopped the writer", N::NAME);
        // Now the peer reads: every byte arrives, in order.
        let received = read_to_eof::<N>(&server).await?;
        writer.await.expect("writer task")?;
        assert_eq!(received.len(), data.len(), "{}", N::NAME);
        assert!(received == *data, "{}: bytes differ", N::NAME);
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn a_source_deregistered_while_a_task_waits_gives_an_error<N: Net>() {
    N::block_on(async {
        let (client, server) = pair::<N>().await?;
        let server = Rc::new(server);
        let reader = {
            let server = server.clone();
            corio::spawn(async move {
                let mut buf = [0u8; 16];
                N::read(&server, &mut buf).await
            })
        };
        for _ in 0..3 {
            corio::yield_now().await.unwrap();
        }
        assert!(!reader.done(), "{}: the reader waits", N::NAME);
        N::deregister(&server)?;
        let err = reader.await.expect("reader task").expect_err("the source is gone");
        assert_eq!(err.kind(), io::ErrorKind::NotConnected, "{}: {err:?}", N::NAME);
        assert!(err.to_string().contains("deregistered"), "{}: a clear message: {err}", N::NAME);
        assert!(Cancelled::find(&err).is_none(), "an error, not a cancellation");
        // Later operations fail the same way; deregistering twice too.
        let again = N::read(&server, &mut [0u8; 1]).await.expect_err("still gone");
        assert_eq!(again.kind(), io::ErrorKind::NotConnected);
        assert!(N::deregister(&server).is_err());
        drop(client);
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn writing_to_a_closed_peer_fails<N: Net>() {
    N::block_on(async {
        let (client, server) = pair::<N>().await?;
        drop(client);
        assert_eq!(read_to_eof::<N>(&server).await?, b"", "{}: end of stream first", N::NAME);
        let chunk = vec![7u8; 64 * 1024];
        let err = loop {
            match N::write(&server, &chunk).await {
                Ok(_) => corio::yield_now().await.unwrap(),
                Err(err) => break err,
            }
        };
        assert!(
            matches!(err.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset),
            "{}: {err:?}",
            N::NAME
        );
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

per_backend!(
    echo_round_trip,
    many_connections_every_byte_echoed,
    futures_io_traits,
    buffered_reads_through_bufreader,
    a_large_transfer_applies_back_pressure,
    cancelling_a_blocked_read_ends_the_task_cancelled,
    connection_refused,
    reset_by_peer,
    half_close_lets_the_peer_answer,
    a_peer_that_never_reads_makes_writes_wait,
    a_source_deregistered_while_a_task_waits_gives_an_error,
    writing_to_a_closed_peer_fails,
);
