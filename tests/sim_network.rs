//! The mock backend's simulated network on its own: exact latency on the
//! virtual clock, reordering reassembled, storms and resets survived,
//! accept failures backed off, deadlocks reported — and every run replayed
//! exactly by its seed.

use corio::LoopError;
use corio_backends::mock::{NetConfig, NetStats, SimListener, SimNet, SimStream, Simulation};
use std::cell::RefCell;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

fn addr() -> SocketAddr {
    "127.0.0.1:8080".parse().unwrap()
}

async fn read_to_eof(stream: &SimStream) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 700];
    loop {
        match stream.read(&mut buf).await? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Several clients send to one server at once; returns the order in which
/// the server saw each client's first byte, the virtual time taken and
/// the network's stats.
fn clients_race(seed: u64, config: NetConfig) -> (Vec<u8>, Duration, NetStats) {
    Simulation::new(seed).run(|lp| {
        let net = SimNet::new(lp.reactor(), seed, config);
        let order = Rc::new(RefCell::new(Vec::new()));
        let o = order.clone();
        let n = net.clone();
        let out = lp.block_on(async move {
            let start = corio::time();
            let listener = SimListener::bind(&n, addr())?;
            let server = corio::spawn(async move {
                let mut handlers = Vec::new();
                for _ in 0..8 {
                    let (stream, _) = listener.accept().await?;
                    let o = o.clone();
                    handlers.push(corio::spawn(async move {
                        let data = read_to_eof(&stream).await?;
                        o.borrow_mut().push(data[0]);
                        assert!(data.iter().all(|&b| b == data[0]), "bytes of one client stay together and in order");
                        Ok::<_, io::Error>(data.len())
                    }));
                }
                let mut total = 0;
                for h in handlers {
                    total += h.await.expect("handler")?;
                }
                Ok::<_, io::Error>(total)
            });
            let clients: Vec<_> = (0..8u8)
                .map(|id| {
                    let n = n.clone();
                    corio::spawn(async move {
                        let stream = SimStream::connect(&n, addr()).await?;
                        stream.write_all(&vec![id; 5000]).await?;
                        stream.shutdown(Shutdown::Write);
                        Ok::<_, io::Error>(())
                    })
                })
                .collect();
            for c in clients {
                c.await.expect("client")?;
            }
            assert_eq!(server.await.expect("server")?, 8 * 5000);
            Ok::<_, io::Error>(corio::time() - start)
        });
        let elapsed = out.expect("loop").expect("run");
        let order = order.borrow().clone();
        (order, elapsed, net.stats())
    })
}

#[test]
fn a_seed_replays_the_same_run_and_seeds_differ() {
    if std::env::var_os("CORIO_SEED").is_some() {
        return; // every simulation runs that one seed then
    }
    let config = NetConfig::default().latency(Duration::from_millis(2)).jitter(Duration::from_millis(20));
    let first = clients_race(1, config);
    assert_eq!(first, clients_race(1, config), "same seed, same order, times and stats");
    let runs: std::collections::HashSet<_> = (0..6).map(|seed| clients_race(seed, config).0).collect();
    assert!(runs.len() > 1, "different seeds give different arrival orders");
    assert!(first.2.reordered > 0, "jitter makes segments overtake each other: {:?}", first.2);
}

#[test]
fn latency_is_exact_on_the_virtual_clock() {
    let lp = Simulation::new(3).build();
    let net = SimNet::new(lp.reactor(), 3, NetConfig::default().latency(Duration::from_millis(25)));
    let out = lp.block_on(async {
        let listener = SimListener::bind(&net, addr())?;
        let server = corio::spawn(async move {
            let (stream, _) = listener.accept().await?;
            let mut buf = [0u8; 4];
            let n = stream.read(&mut buf).await?;
            stream.write_all(&buf[..n]).await
        });
        let t0 = corio::time();
        let client = SimStream::connect(&net, addr()).await?;
        assert_eq!(corio::time() - t0, Duration::from_millis(25), "connect: one trip");
        let t1 = corio::time();
        client.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        client.read(&mut buf).await?;
        assert_eq!(&buf, b"ping");
        assert_eq!(corio::time() - t1, Duration::from_millis(50), "a round trip: two trips");
        server.await.expect("server")
    });
    out.expect("loop").expect("echo");
}

#[test]
fn storms_and_reordering_lose_nothing() {
    let config = NetConfig::default()
        .latency(Duration::from_millis(1))
        .jitter(Duration::from_millis(5))
        .segment(100)
        .capacity(2048)
        .eagain_per_mille(300);
    let (order, _, stats) = clients_race(9, config);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, (0..8).collect::<Vec<_>>(), "every client's bytes arrived");
    assert!(stats.eagain > 100, "the storm happened: {stats:?}");
    assert!(stats.reordered > 0, "{stats:?}");
    assert_eq!(stats.delivered, 8 * 5000);
}

#[test]
fn injected_resets_end_connections_with_connection_reset() {
    let lp = Simulation::new(4).build();
    let net = SimNet::new(lp.reactor(), 4, NetConfig::default().reset_per_mille(1000));
    let out = lp.block_on(async {
        let listener = SimListener::bind(&net, addr())?;
        let server = corio::spawn(async move {
            let (stream, _) = listener.accept().await?;
            read_to_eof(&stream).await
        });
        let client = SimStream::connect(&net, addr()).await?;
        let err = client.write_all(b"doomed").await.expect_err("every write resets");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        let err = server.await.expect("server").expect_err("the peer sees the reset too");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        Ok::<_, io::Error>(net.stats().resets)
    });
    assert_eq!(out.expect("loop").expect("run"), 2, "both ends");
}

#[test]
fn accept_failures_are_backed_off_by_incoming() {
    let lp = Simulation::new(5).build();
    let net = SimNet::new(lp.reactor(), 5, NetConfig::default());
    let out = lp.block_on(async {
        let listener = SimListener::bind(&net, addr())?;
        assert!(net.fail_accepts(addr(), 5, libc::EMFILE));
        let _client = SimStream::connect(&net, addr()).await?;
        let t0 = corio::time();
        let mut incoming = listener.incoming();
        let (stream, _) = incoming.accept().await?;
        assert_eq!(incoming.backoffs(), 5);
        // 1 + 2 + 4 + 8 + 16 ms of back-off before the sixth attempt.
        assert_eq!(corio::time() - t0, Duration::from_millis(31));
        drop(stream);
        // A plain accept reports the failure instead.
        assert!(net.fail_accepts(addr(), 1, libc::EMFILE));
        let err = listener.accept().await.map(drop).expect_err("EMFILE");
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE));
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("run");
}

#[test]
fn a_reader_nobody_writes_to_is_a_reported_deadlock() {
    let lp = Simulation::new(6).build();
    let net = SimNet::new(lp.reactor(), 6, NetConfig::default());
    let result = lp.block_on(async {
        let listener = SimListener::bind(&net, addr())?;
        let _client = SimStream::connect(&net, addr()).await?;
        let (server, _) = listener.accept().await?;
        server.read(&mut [0u8; 4]).await // the client never writes
    });
    match result {
        Err(LoopError::Deadlock { tasks }) => assert!(!tasks.is_empty()),
        other => panic!("expected a deadlock report, got {other:?}"),
    }
}

#[test]
fn bind_twice_is_addr_in_use_and_a_dropped_listener_resets_its_queue() {
    let lp = Simulation::new(8).build();
    let net = SimNet::new(lp.reactor(), 8, NetConfig::default());
    let out = lp.block_on(async {
        let listener = SimListener::bind(&net, addr())?;
        let err = SimListener::bind(&net, addr()).expect_err("taken");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let client = SimStream::connect(&net, addr()).await?;
        drop(listener); // never accepted
        let err = client.read(&mut [0u8; 1]).await.expect_err("reset");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        let ephemeral = SimListener::bind(&net, "127.0.0.1:0".parse().unwrap())?;
        assert_ne!(ephemeral.local_addr().port(), 0);
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("run");
}
