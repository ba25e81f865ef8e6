//! The socket types beyond the stream suite — UDP, Unix streams and
//! datagrams, TCP's extras (peek, vectored I/O, options, owned halves,
//! connect timeouts) — on each real backend (epoll, io_uring).

mod common;

use common::net::{Epoll, Net, Uring};
use corio::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::time::Duration;

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("corio-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("socket")
}

fn udp_send_recv_and_connect<N: Net>() {
    N::block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0")?;
        let b = UdpSocket::bind("127.0.0.1:0")?;
        let (a_addr, b_addr) = (a.local_addr()?, b.local_addr()?);
        // Datagrams keep their boundaries.
        a.send_to(b"one", b_addr).await?;
        a.send_to(b"two!", b_addr).await?;
        let mut buf = [0u8; 64];
        let (n, from) = b.peek_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"one"[..], a_addr), "peek leaves it queued");
        let (n, from) = b.recv_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"one"[..], a_addr));
        let (n, _) = b.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"two!");
        // A receiver waits for a datagram that comes later.
        let waiter = corio::spawn(async move {
            let mut buf = [0u8; 8];
            let (n, _) = b.recv_from(&mut buf).await?;
            Ok::<_, io::Error>((buf[..n].to_vec(), b))
        });
        corio::yield_now().await.unwrap();
        assert!(!waiter.done());
        a.send_to(b"late", b_addr).await?;
        let (got, b) = waiter.await.expect("waiter")?;
        assert_eq!(got, b"late");
        // Connected sockets use send/recv.
        a.connect(b_addr)?;
        b.connect(a_addr)?;
        assert_eq!(a.peer_addr()?, b_addr);
        a.send(b"hi").await?;
        let n = b.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"hi");
        a.set_broadcast(true)?;
        assert!(a.broadcast()?);
        a.set_ttl(42)?;
        assert_eq!(a.ttl()?, 42);
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn udp_to_a_closed_port_reports_refused<N: Net>() {
    N::block_on(async {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        let closed = N::closed_addr();
        socket.connect(closed)?;
        socket.send(b"anyone?").await?;
        // The ICMP "port unreachable" comes back as ECONNREFUSED on the
        // connected socket's next receive.
        let err = socket.recv(&mut [0u8; 8]).await.expect_err("nobody listens");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn unix_streams_listener_and_pair<N: Net>() {
    let path = temp_path(&format!("stream-{}", N::NAME));
    N::block_on(async {
        let listener = UnixListener::bind(&path)?;
        let server = corio::spawn(async move {
            let mut incoming = listener.incoming();
            let (stream, _) = incoming.accept().await?;
            let mut buf = Vec::new();
            (&stream).read_to_end(&mut buf).await?;
            stream.write_all(&buf).await?;
            Ok::<_, io::Error>(buf.len())
        });
        let client = UnixStream::connect(&path).await?;
        assert!(client.peer_addr()?.as_pathname().is_some());
        let data = vec![5u8; 300_000]; // more than the socket buffers hold
        let (mut reader, mut writer) = client.into_split();
        let sender = corio::spawn(async move {
            writer.write_all(&data).await?;
            drop(writer); // shuts down the write half
            Ok::<_, io::Error>(())
        });
        let mut echoed = Vec::new();
        reader.read_to_end(&mut echoed).await?;
        sender.await.expect("sender")?;
        assert_eq!(echoed.len(), 300_000);
        assert_eq!(server.await.expect("server")?, 300_000);

        let (a, b) = UnixStream::pair()?;
        a.write_all(b"pair").await?;
        a.shutdown(Shutdown::Write)?;
        let mut got = Vec::new();
        (&b).read_to_end(&mut got).await?;
        assert_eq!(got, b"pair");
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
    let _ = std::fs::remove_file(&path);
}

fn unix_connect_to_a_missing_path_is_an_error<N: Net>() {
    let path = temp_path(&format!("missing-{}", N::NAME));
    let err = N::block_on(async { UnixStream::connect(&path).await.map(drop) }).expect_err("no listener");
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err:?}");
}

fn unix_datagrams<N: Net>() {
    let path = temp_path(&format!("dgram-{}", N::NAME));
    N::block_on(async {
        let server = UnixDatagram::bind(&path)?;
        let client = UnixDatagram::unbound()?;
        client.send_to(b"ping", &path).await?;
        let mut buf = [0u8; 16];
        let (n, _) = server.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"ping");
        let (a, b) = UnixDatagram::pair()?;
        let waiter = corio::spawn(async move {
            let mut buf = [0u8; 16];
            let n = b.recv(&mut buf).await?;
            Ok::<_, io::Error>(buf[..n].to_vec())
        });
        corio::yield_now().await.unwrap();
        a.send(b"pong").await?;
        assert_eq!(waiter.await.expect("waiter")?, b"pong");
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
    let _ = std::fs::remove_file(&path);
}

fn tcp_peek_vectored_options_and_halves<N: Net>() {
    N::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let accepted = corio::spawn(async move { listener.accept().await });
        let client = TcpStream::connect(addr).await?;
        let (server, peer) = accepted.await.expect("accept")?;
        assert_eq!(peer, client.local_addr()?);

        client.set_nodelay(true)?;
        assert!(client.nodelay()?);
        client.set_keepalive(true)?;
        assert!(client.keepalive()?);
        client.set_linger(Some(Duration::from_secs(1)))?;
        assert_eq!(client.linger()?, Some(Duration::from_secs(1)));
        client.set_ttl(33)?;
        assert_eq!(client.ttl()?, 33);
        assert!(client.take_error()?.is_none());

        let n = client.write_vectored(&[IoSlice::new(b"abc"), IoSlice::new(b"defg")]).await?;
        assert_eq!(n, 7, "a small vectored write goes out whole");
        let mut peeked = [0u8; 7];
        let mut got = 0;
        while got < 7 {
            got = server.peek(&mut peeked).await?;
        }
        assert_eq!(&peeked, b"abcdefg");
        let (mut x, mut y) = ([0u8; 3], [0u8; 4]);
        let n = server.read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)]).await?;
        assert_eq!((n, &x, &y), (7, b"abc", b"defg"), "peek left the bytes for the read");

        // Owned halves in different tasks, then back together.
        let (mut reader, mut writer) = server.into_split();
        let echo = corio::spawn(async move {
            let mut buf = [0u8; 5];
            reader.read_exact(&mut buf).await?;
            writer.write_all(&buf).await?;
            Ok::<_, io::Error>(reader.reunite(writer).expect("same stream"))
        });
        client.write_all(b"split").await?;
        let mut back = [0u8; 5];
        (&client).read_exact(&mut back).await?;
        assert_eq!(&back, b"split");
        let server = echo.await.expect("echo")?;
        // Halves of different streams do not reunite.
        let (r1, w1) = server.into_split();
        let (r2, w2) = client.into_split();
        let err = r1.reunite(w2).expect_err("different streams");
        assert!(err.to_string().contains("different streams"));
        drop((err, w1, r2));
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

fn tcp_connect_timeout<N: Net>() {
    // A full accept queue leaves a connect in progress: the timeout ends it
    // with TimedOut (on the loop's clock), and a fast connect succeeds.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen(2) on a socket we own: a backlog of 0.
    assert_eq!(unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), 0) }, 0);
    let addr = listener.local_addr().unwrap();
    let _queued = std::net::TcpStream::connect(addr).unwrap();
    N::block_on(async move {
        let err = TcpStream::connect_timeout(addr, Duration::from_millis(50)).await.map(drop).expect_err("stuck");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err:?}");
        assert!(err.to_string().contains("connect timed out"), "{err}");
        let open = TcpListener::bind("127.0.0.1:0")?;
        let stream = TcpStream::connect_timeout(open.local_addr()?, Duration::from_secs(5)).await?;
        assert_eq!(stream.peer_addr()?, open.local_addr()?);
        // A cancel during the connect still ends the task cancelled.
        let stuck = corio::spawn(async move { TcpStream::connect_timeout(addr, Duration::from_secs(60)).await });
        corio::yield_now().await.unwrap();
        stuck.cancel();
        assert!(matches!(stuck.await, Err(corio::JoinError::Cancelled(_))));
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
    drop(listener);
}

fn async_wrapper_implements_futures_io<N: Net>() {
    N::block_on(async {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        let (mut a, mut b) = (corio::io_source::Async::new(a)?, corio::io_source::Async::new(b)?);
        a.write_all(b"generic").await?;
        a.close().await?;
        drop(a);
        let mut got = String::new();
        b.read_to_string(&mut got).await?;
        assert_eq!(got, "generic");
        Ok::<_, io::Error>(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", N::NAME));
}

macro_rules! real_backends {
    ($($test:ident),* $(,)?) => {
        mod epoll { $( #[test] fn $test() { super::$test::<super::Epoll>() } )* }
        mod uring { $( #[test] fn $test() { super::$test::<super::Uring>() } )* }
    };
}

real_backends!(
    udp_send_recv_and_connect,
    udp_to_a_closed_port_reports_refused,
    unix_streams_listener_and_pair,
    unix_connect_to_a_missing_path_is_an_error,
    unix_datagrams,
    tcp_peek_vectored_options_and_halves,
    tcp_connect_timeout,
    async_wrapper_implements_futures_io,
);
