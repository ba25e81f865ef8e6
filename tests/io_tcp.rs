//! TCP over the default (epoll) reactor on real loopback sockets.
//!
//! Real sockets and the system clock, but no sleeps and no timing
//! assertions: every wait is on I/O or on another task, so each test ends as
//! soon as the bytes have moved.

use corio::io_source::Async;
use corio::net::{TcpListener, TcpStream};
use corio::{Cancelled, JoinError};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

/// Reads until end of stream.
async fn read_to_eof(stream: &TcpStream) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Echoes everything back, then closes the write half at end of stream.
async fn echo(stream: TcpStream) -> io::Result<usize> {
    let mut buf = vec![0u8; 4096];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            stream.shutdown(Shutdown::Write)?;
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n;
    }
}

/// A loopback listener whose accept queue holds `backlog` connections
/// (calling `listen` again on a listening socket changes its backlog).
fn std_listener_with_backlog(backlog: i32) -> io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    // SAFETY: listen(2) on a socket we own; no memory is passed.
    if unsafe { libc::listen(listener.as_raw_fd(), backlog) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(listener)
}

fn listener_with_backlog(backlog: i32) -> io::Result<TcpListener> {
    TcpListener::from_std(std_listener_with_backlog(backlog)?)
}

/// A deterministic payload for connection `id`.
fn payload(id: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ id.wrapping_mul(7)) as u8).collect()
}

#[test]
fn echo_round_trip_over_loopback() {
    let out = corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = corio::spawn(async move {
            let (stream, peer) = listener.accept().await?;
            assert!(peer.ip().is_loopback());
            echo(stream).await
        });

        let client = TcpStream::connect(addr).await?;
        assert_eq!(client.peer_addr()?, addr);
        client.write_all(b"hello, corio").await?;
        client.shutdown(Shutdown::Write)?;
        let echoed = read_to_eof(&client).await?;
        assert_eq!(echoed, b"hello, corio");

        // At end of stream, reads keep returning 0 rather than waiting.
        let mut buf = [0u8; 8];
        assert_eq!(client.read(&mut buf).await?, 0);

        let served = server.await.expect("server task")?;
        assert_eq!(served, b"hello, corio".len());
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("echo");
}

#[test]
fn many_concurrent_connections_each_verified() {
    const CONNECTIONS: usize = 200;
    const BYTES: usize = 4 * 1024 + 123;

    let out = corio::run(async {
        // A backlog above the number of simultaneous connects, so the kernel
        // drops no SYN (a drop costs a one-second retransmission).
        let listener = listener_with_backlog(1024)?;
        let addr = listener.local_addr()?;
        let server = corio::spawn(async move {
            let mut handlers = Vec::new();
            for _ in 0..CONNECTIONS {
                let (stream, _) = listener.accept().await?;
                handlers.push(corio::spawn(echo(stream)));
            }
            let mut total = 0;
            for handler in handlers {
                total += handler.await.expect("handler task")?;
            }
            Ok::<_, io::Error>(total)
        });

        let mut clients = Vec::new();
        for id in 0..CONNECTIONS {
            clients.push(corio::spawn(async move {
                let stream = TcpStream::connect(addr).await?;
                let data = payload(id, BYTES);
                // Write in uneven pieces so reads and writes interleave.
                for chunk in data.chunks(1000) {
                    stream.write_all(chunk).await?;
                }
                stream.shutdown(Shutdown::Write)?;
                let echoed = read_to_eof(&stream).await?;
                assert_eq!(echoed.len(), data.len(), "connection {id}: length");
                assert!(echoed == data, "connection {id}: bytes differ");
                Ok::<_, io::Error>(echoed.len())
            }));
        }
        let mut received = 0;
        for client in clients {
            received += client.await.expect("client task")?;
        }
        let served = server.await.expect("server task")?;
        assert_eq!(received, CONNECTIONS * BYTES);
        assert_eq!(served, CONNECTIONS * BYTES);
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("echo");
}

#[test]
fn several_tasks_accepting_on_one_listener() {
    // Acceptor tasks sharing a listener all get a connection.
    const ACCEPTORS: usize = 4;
    let out = corio::run(async {
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0")?);
        let addr = listener.local_addr()?;
        let acceptors: Vec<_> = (0..ACCEPTORS)
            .map(|_| {
                let listener = listener.clone();
                corio::spawn(async move {
                    let (stream, _) = listener.accept().await?;
                    let mut byte = [0u8; 1];
                    stream.read(&mut byte).await?;
                    Ok::<_, io::Error>(byte[0])
                })
            })
            .collect();
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
        let mut clients = Vec::new();
        for i in 0..ACCEPTORS {
            let client = TcpStream::connect(addr).await?;
            client.write_all(&[i as u8]).await?;
            clients.push(client);
        }
        let mut got = Vec::new();
        for acceptor in acceptors {
            got.push(acceptor.await.expect("acceptor task")?);
        }
        got.sort();
        assert_eq!(got, (0..ACCEPTORS as u8).collect::<Vec<_>>());
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("accept");
}

#[test]
fn connect_to_closed_port_is_refused() {
    // Take a free port, then close it: nobody listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let result = corio::run(async move { TcpStream::connect(addr).await.map(|_| ()) }).expect("loop");
    let err = result.expect_err("nobody listens on a closed port");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
}

#[test]
fn connect_waits_for_the_handshake_and_is_cancellable() {
    // A listener whose accept queue is full drops new SYNs, so a connect
    // stays in progress. `connect` must wait for the handshake (not report
    // "not connected" because a new source is assumed writable), and the
    // wait is a checkpoint.
    let listener = std_listener_with_backlog(0).unwrap();
    let addr = listener.local_addr().unwrap();
    // Fills the queue (a backlog of 0 still admits one connection).
    let _queued = std::net::TcpStream::connect(addr).unwrap();
    let out = corio::run(async move {
        let connecting = corio::spawn(async move { TcpStream::connect(addr).await.map(|_| ()) });
        for _ in 0..50 {
            corio::yield_now().await.unwrap();
        }
        assert!(!connecting.done(), "the handshake cannot finish while the queue is full");
        connecting.cancel();
        match connecting.await {
            Err(JoinError::Cancelled(_)) => {}
            other => panic!("expected a cancelled connect, got {other:?}"),
        }
    });
    out.expect("loop");
    drop(listener);
}

#[test]
fn futures_io_read_and_write_traits() {
    let out = corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = corio::spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut header = [0u8; 4];
            stream.read_exact(&mut header).await?;
            let len = u32::from_be_bytes(header) as usize;
            let mut body = vec![0u8; len];
            stream.read_exact(&mut body).await?;
            body.reverse();
            stream.write_all(&body).await?;
            stream.flush().await?;
            stream.close().await?; // shuts down the write half
            Ok::<_, io::Error>(len)
        });

        let mut client = TcpStream::connect(addr).await?;
        let body = payload(1, 10_000);
        client.write_all(&(body.len() as u32).to_be_bytes()).await?;
        client.write_all(&body).await?;
        let mut echoed = Vec::new();
        client.read_to_end(&mut echoed).await?;
        let mut expected = body.clone();
        expected.reverse();
        assert!(echoed == expected, "reversed body");
        assert_eq!(server.await.expect("server task")?, body.len());
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("futures_io");
}

#[test]
fn futures_io_vectored_write() {
    let out = corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = corio::spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut all = Vec::new();
            stream.read_to_end(&mut all).await?;
            Ok::<_, io::Error>(all)
        });
        let mut client = TcpStream::connect(addr).await?;
        let parts = [io::IoSlice::new(b"abc"), io::IoSlice::new(b"defg")];
        let mut written = client.write_vectored(&parts).await?;
        // A short vectored write is allowed; finish by hand.
        let all = b"abcdefg";
        if written < all.len() {
            client.write_all(&all[written..]).await?;
            written = all.len();
        }
        assert_eq!(written, 7);
        client.close().await?;
        assert_eq!(server.await.expect("server task")?, b"abcdefg");
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("vectored");
}

#[test]
fn cancelling_a_task_blocked_in_read_ends_it_cancelled() {
    let out = corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let accepted = corio::spawn(async move { listener.accept().await });
        let client = TcpStream::connect(addr).await?;
        let (server_side, _) = accepted.await.expect("accept task")?;

        let seen: Rc<RefCell<Option<io::Error>>> = Rc::new(RefCell::new(None));
        let attempts = Rc::new(RefCell::new(0u32));
        let reader = {
            let seen = seen.clone();
            let attempts = attempts.clone();
            corio::spawn(async move {
                let mut buf = [0u8; 16];
                *attempts.borrow_mut() += 1;
                // Nobody writes: this blocks until the cancel arrives.
                match server_side.read(&mut buf).await {
                    Ok(n) => Ok(n),
                    Err(err) => {
                        let kind = err.kind();
                        let message = Cancelled::find(&err).and_then(|c| c.message().map(str::to_owned));
                        *seen.borrow_mut() = Some(io::Error::new(kind, message.unwrap_or_default()));
                        Err(err) // still carries the cancellation
                    }
                }
            })
        };
        // Let the reader reach its wait.
        for _ in 0..3 {
            corio::yield_now().await.unwrap();
        }
        assert_eq!(*attempts.borrow(), 1);
        assert!(!reader.done(), "the reader has no data and must be waiting");

        assert!(reader.cancel_with("stop reading"));
        match reader.await {
            Err(JoinError::Cancelled(c)) => assert_eq!(c.message(), Some("stop reading")),
            other => panic!("expected a cancelled reader, got {other:?}"),
        }
        let seen = seen.borrow_mut().take().expect("the read returned an error");
        assert_eq!(seen.kind(), io::ErrorKind::Interrupted);
        assert_eq!(seen.to_string(), "stop reading", "the io::Error carried the Cancelled");
        drop(client);
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("cancel read");
}

#[test]
fn cancelling_a_task_blocked_in_accept_ends_it_cancelled() {
    let out = corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let carried = Rc::new(RefCell::new(None));
        let acceptor = {
            let carried = carried.clone();
            corio::spawn(async move {
                let result = listener.accept().await;
                let err = result.as_ref().expect_err("nobody connects: accept only ends by the cancel");
                *carried.borrow_mut() = Some(Cancelled::find(err).is_some());
                result.map(|_| ())
            })
        };
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
        assert!(!acceptor.done());
        acceptor.cancel();
        let joined = acceptor.await;
        assert!(matches!(joined, Err(JoinError::Cancelled(_))), "{joined:?}");
        assert_eq!(*carried.borrow(), Some(true), "accept's io::Error carries Cancelled");
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("cancel accept");
}

#[test]
fn a_task_that_swallows_the_io_cancellation_ends_normally() {
    let out = corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let acceptor = corio::spawn(async move {
            match listener.accept().await {
                Ok(_) => "accepted",
                // Converting the error into something else swallows the cancel.
                Err(err) if Cancelled::find(&err).is_some() => "cancelled, cleaned up",
                Err(_) => "other error",
            }
        });
        corio::yield_now().await.unwrap();
        acceptor.cancel();
        assert_eq!(acceptor.await.expect("ended normally"), "cancelled, cleaned up");
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("swallow");
}

#[test]
fn shutdown_elsewhere_wakes_a_blocked_reader() {
    // A reader blocked on a socket whose read half another task shuts down
    // sees end of stream instead of hanging.
    let out = corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let accepted = corio::spawn(async move { listener.accept().await });
        let client = TcpStream::connect(addr).await?;
        let (server_side, _) = accepted.await.expect("accept task")?;
        let server_side = Rc::new(server_side);
        let reader = {
            let stream = server_side.clone();
            corio::spawn(async move {
                let mut buf = [0u8; 16];
                stream.read(&mut buf).await
            })
        };
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
        assert!(!reader.done());
        server_side.shutdown(Shutdown::Both)?;
        assert_eq!(reader.await.expect("reader task")?, 0);
        drop(client);
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("shutdown elsewhere");
}

#[test]
fn peer_closing_wakes_a_blocked_reader_and_writer_errors() {
    let out = corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let accepted = corio::spawn(async move { listener.accept().await });
        let client = TcpStream::connect(addr).await?;
        let (server_side, _) = accepted.await.expect("accept task")?;
        let reader = corio::spawn(async move {
            let mut buf = [0u8; 16];
            let n = server_side.read(&mut buf).await?;
            Ok::<_, io::Error>((n, server_side))
        });
        corio::yield_now().await.unwrap();
        assert!(!reader.done());
        drop(client); // the peer closes
        let (n, server_side) = reader.await.expect("reader task")?;
        assert_eq!(n, 0, "end of stream");
        // Writing to a closed peer eventually fails (EPIPE or ECONNRESET);
        // it must not hang waiting for writability.
        let chunk = [7u8; 64 * 1024];
        let err = loop {
            match server_side.write(&chunk).await {
                Ok(_) => continue,
                Err(err) => break err,
            }
        };
        assert!(
            matches!(err.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset),
            "unexpected error {err:?}"
        );
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("peer close");
}

#[test]
fn read_with_cached_readiness_but_no_data_waits() {
    // A new source is assumed ready, so the first read finds no data
    // (WouldBlock) — the same path a spurious event takes. The read must
    // wait for the real data, not fail, return 0 or spin.
    let out = corio::run(async {
        let (a, b) = UnixStream::pair()?;
        let a = Async::new(a)?;
        let b = Async::new(b)?;
        let attempts = Rc::new(Cell::new(0u32));
        let reader = {
            let attempts = attempts.clone();
            corio::spawn(async move {
                let mut buf = [0u8; 16];
                let mut got = Vec::new();
                while got.len() < 5 {
                    let n = a
                        .read_with(|s| {
                            attempts.set(attempts.get() + 1);
                            (&*s).read(&mut buf)
                        })
                        .await?;
                    assert!(n > 0, "no end of stream before the data");
                    got.extend_from_slice(&buf[..n]);
                }
                Ok::<_, io::Error>(got)
            })
        };
        for _ in 0..4 {
            corio::yield_now().await.unwrap();
        }
        assert!(!reader.done());
        assert_eq!(attempts.get(), 1, "one WouldBlock, then a wait (no spinning)");
        b.write_with(|s| (&*s).write(b"ab")).await?;
        b.write_with(|s| (&*s).write(b"cde")).await?;
        assert_eq!(reader.await.expect("reader task")?, b"abcde");
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("spurious");
}

#[test]
fn tcp_from_std_and_addresses() {
    let out = corio::run(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = std_listener.local_addr()?;
        let listener = TcpListener::from_std(std_listener)?;
        let accepted = corio::spawn(async move { listener.accept().await });
        // A std stream connected in blocking mode, then handed to the loop.
        let std_client = std::net::TcpStream::connect(addr)?;
        let client = TcpStream::from_std(std_client)?;
        let (server_side, peer) = accepted.await.expect("accept task")?;
        assert_eq!(peer, client.local_addr()?);
        assert_eq!(server_side.peer_addr()?, client.local_addr()?);
        client.set_nodelay(true)?;
        client.write_all(b"x").await?;
        let mut buf = [0u8; 1];
        assert_eq!(server_side.read(&mut buf).await?, 1);
        assert_eq!(&buf, b"x");
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("from_std");
}

#[test]
fn a_large_transfer_applies_back_pressure_both_ways() {
    // Megabytes through an echo server: both sides fill their socket buffers,
    // so writers wait for writability edges and readers for readability.
    const BYTES: usize = 8 * 1024 * 1024;
    let out = corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = corio::spawn(async move {
            let (stream, _) = listener.accept().await?;
            echo(stream).await
        });
        let client = Rc::new(TcpStream::connect(addr).await?);
        let data = Rc::new(payload(9, BYTES));
        let writer = {
            let (client, data) = (client.clone(), data.clone());
            corio::spawn(async move {
                for chunk in data.chunks(64 * 1024) {
                    client.write_all(chunk).await?;
                }
                client.shutdown(Shutdown::Write)
            })
        };
        let echoed = read_to_eof(&client).await?;
        writer.await.expect("writer task")?;
        assert_eq!(echoed.len(), BYTES);
        assert!(echoed == *data, "bytes differ");
        assert_eq!(server.await.expect("server task")?, BYTES);
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("transfer");
}

#[test]
fn a_busy_loop_does_not_starve_io() {
    // One task yields in a loop until a reader got its data: the loop must
    // still look at the reactor while work is always ready.
    let out = corio::run(async {
        let (a, b) = UnixStream::pair()?;
        let (a, b) = (Async::new(a)?, Async::new(b)?);
        let got = Rc::new(Cell::new(false));
        let reader = {
            let got = got.clone();
            corio::spawn(async move {
                let mut buf = [0u8; 4];
                let n = a.read_with(|s| (&*s).read(&mut buf)).await?;
                got.set(true);
                Ok::<_, io::Error>(n)
            })
        };
        let spinner = {
            let got = got.clone();
            corio::spawn(async move {
                let mut spins = 0u64;
                while !got.get() {
                    corio::yield_now().await.unwrap();
                    spins += 1;
                }
                spins
            })
        };
        corio::yield_now().await.unwrap();
        b.write_with(|s| (&*s).write(b"ping")).await?;
        assert_eq!(reader.await.expect("reader")?, 4);
        let spins = spinner.await.expect("spinner");
        assert!(spins < 1000, "the reader waited {spins} iterations for ready data");
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("starvation");
}

#[test]
fn run_returns_while_a_detached_task_is_blocked_in_io() {
    // asyncio.run's teardown cancels what is left; a task blocked in accept
    // gets the cancellation at its checkpoint and ends.
    let finished = Rc::new(Cell::new(false));
    let f = finished.clone();
    let out = corio::run(async move {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        corio::spawn(async move {
            let result = listener.accept().await;
            assert!(Cancelled::find(result.as_ref().unwrap_err()).is_some());
            f.set(true);
            result.map(|_| ())
        })
        .detach();
        corio::yield_now().await.unwrap();
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("body");
    assert!(finished.get(), "the blocked task was cancelled and ran its cleanup");
}

#[test]
fn dropping_a_loop_with_tasks_blocked_in_io() {
    let lp = corio::new_event_loop().unwrap();
    let registered = lp.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        corio::spawn(async move {
            let (stream, _) = listener.accept().await?;
            stream.read(&mut [0u8; 1]).await // nobody writes
        })
        .detach();
        let client = TcpStream::connect(addr).await.unwrap();
        corio::spawn(async move {
            let mut buf = [0u8; 1];
            client.read(&mut buf).await
        })
        .detach();
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
    });
    registered.unwrap();
    assert_eq!(lp.reactor().registered(), 3, "listener, accepted stream, client");
    drop(lp); // drops the blocked futures (and their sockets) without a panic
}
