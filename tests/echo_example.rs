//! `examples/echo.rs` as a real process: it echoes, it holds 1,000
//! concurrent connections with every byte coming back, and SIGINT (Ctrl-C)
//! stops it cleanly.
//!
//! The load generator is a corio loop in this process. Bounded in count
//! (1,000 connections x 16 KiB each way) and in time (a watchdog stops the
//! generator's loop after two minutes, which fails the test); no timing is
//! asserted.

mod support;

use corio::net::TcpStream;
use corio::Completion;
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use support::{announced_addr, raise_fd_limit, Server, HANG};

const CONNECTIONS: usize = 1_000;
const BYTES_PER_CONNECTION: usize = 16 * 1024;

/// A payload no other connection sends.
fn payload(id: usize) -> Vec<u8> {
    (0..BYTES_PER_CONNECTION).map(|i| (i.wrapping_mul(131) ^ id.wrapping_mul(7919) ^ (i >> 8)) as u8).collect()
}

#[test]
fn sigint_stops_the_echo_server_cleanly() {
    let (mut server, announced) = Server::start("echo", &["127.0.0.1:0"]);
    let addr = announced_addr(&announced);

    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(HANG)).unwrap();
    client.write_all(b"hello, echo\n").unwrap();
    let mut echoed = [0u8; 12];
    client.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"hello, echo\n");

    // SIGUSR1: a task dump, with the connection waiting for its next read.
    server.signal(libc::SIGUSR1);
    let header = server.next_line().unwrap();
    assert!(header.ends_with(" live task(s)"), "{header}");
    // The connection's task was spawned last, so its lines end the dump.
    let mut dump = vec![header];
    while !dump.last().unwrap().contains("conn 127.0.0.1:") {
        dump.push(server.next_line().unwrap_or_else(|| panic!("{dump:#?}")));
    }
    dump.push(server.next_line().unwrap());
    assert!(dump.iter().any(|l| l.contains("accept-loop (id ")), "{dump:#?}");
    assert!(dump.last().unwrap().trim_start().starts_with("reading fd "), "{dump:#?}");

    // The connection stays open across the SIGINT: shutdown must close it.
    server.signal(libc::SIGINT);
    assert_eq!(server.next_line().as_deref(), Some("SIGINT: closing 1 open connection(s)"));
    let (status, output) = server.wait();
    assert!(status.success(), "exit status {status}; output {output:#?}");
    assert_eq!(output.last().map(String::as_str), Some("stopped: served 1 connection(s), echoed 12 byte(s)"));
    let mut rest = Vec::new();
    assert_eq!(client.read_to_end(&mut rest).unwrap(), 0, "the server closed the connection");
}

/// One client: prove the server holds the connection (a round trip), wait
/// until all clients do, then send the payload, half-close, and read every
/// byte back.
async fn client(id: usize, addr: SocketAddr, connected: Rc<Cell<usize>>, all_connected: Completion<()>) -> usize {
    let stream = TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("client {id}: connect: {e}"));
    stream.write_all(b"?").await.unwrap();
    let mut one = [0u8; 1];
    assert_eq!(stream.read(&mut one).await.unwrap(), 1, "client {id}: the server accepted and echoed");
    connected.set(connected.get() + 1);
    if connected.get() == CONNECTIONS {
        all_connected.set_result(()).unwrap();
    }
    all_connected.wait().await.unwrap();

    let sent = payload(id);
    let mut received = Vec::with_capacity(sent.len());
    let mut buf = vec![0u8; 8192];
    // Write and read together: a server that echoes as it reads needs the
    // client to drain its socket while it still writes (back-pressure).
    let writer = async {
        stream.write_all(&sent).await.unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
    };
    let reader = async {
        loop {
            match stream.read(&mut buf).await.unwrap() {
                0 => break,
                n => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    futures_util::future::join(writer, reader).await;
    assert_eq!(received.len(), sent.len(), "client {id}: every byte came back");
    assert!(received == sent, "client {id}: the bytes came back unchanged");
    received.len()
}

#[test]
fn the_echo_server_serves_a_thousand_concurrent_connections() {
    let limit = raise_fd_limit();
    assert!(limit >= 2 * CONNECTIONS as u64 + 64, "RLIMIT_NOFILE {limit} is too low for {CONNECTIONS} connections");
    let (server, announced) = Server::start("echo", &["127.0.0.1:0"]);
    let addr = announced_addr(&announced);

    let lp = corio::new_event_loop().unwrap();
    let echoed = lp
        .block_on(async {
            // The bound in time: a run past it stops the loop and fails.
            corio::call_later(HANG, corio::stop);
            let connected = Rc::new(Cell::new(0));
            let all_connected = Completion::new();
            let clients: Vec<_> = (0..CONNECTIONS)
                .map(|id| corio::spawn(client(id, addr, connected.clone(), all_connected.clone())))
                .collect();
            let mut total = 0;
            for client in clients {
                total += client.await.expect("every client succeeds");
            }
            total
        })
        .unwrap_or_else(|err| panic!("the load run did not finish within {HANG:?}: {err}"));
    assert_eq!(echoed, CONNECTIONS * BYTES_PER_CONNECTION);
    drop(lp);

    // The server's own account agrees, and it still stops cleanly.
    server.signal(libc::SIGINT);
    let (status, output) = server.wait();
    assert!(status.success(), "exit status {status}");
    let expected = format!(
        "stopped: served {CONNECTIONS} connection(s), echoed {} byte(s)",
        CONNECTIONS * (BYTES_PER_CONNECTION + 1)
    );
    assert_eq!(output.last(), Some(&expected), "{output:#?}");
}
