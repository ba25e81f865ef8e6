//! Name resolution off the loop's thread and Happy Eyeballs (issue 23,
//! part 1).
//!
//! * `lookup_host` and the `Resolver`: addresses need no lookup, names
//!   resolve on the pool while the loop keeps running, at most
//!   `max_concurrent` at once, a cancelled lookup's result is dropped and
//!   its slot comes back, bad input and unknown names are clear errors.
//! * Happy Eyeballs on the mock backend's simulated network, to the
//!   virtual millisecond: a black-holed address, a refusing one and a slow
//!   one; the first to connect wins and the loser is closed.
//! * Happy Eyeballs for real: an IPv6 and an IPv4 listener on loopback, the
//!   IPv6 one black-holed (a full accept queue drops SYNs).

mod toolbox;

use corio::net::{lookup_host, HappyEyeballs, Resolver, TcpListener, TcpStream};
use corio_backends::mock::{NetConfig, Route, SimListener, SimNet, SimStream, Simulation};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use toolbox::{no_fd_leak, serial};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

// ----- lookup_host --------------------------------------------------------------

#[test]
fn addresses_need_no_lookup_and_names_resolve() {
    let _serial = serial();
    corio::run(async {
        let literal: Vec<_> = lookup_host("127.0.0.1:80").await.unwrap().collect();
        assert_eq!(literal, [sa("127.0.0.1:80")]);
        let v6: Vec<_> = lookup_host(("::1", 443)).await.unwrap().collect();
        assert_eq!(v6, [sa("[::1]:443")]);
        let many: Vec<_> = lookup_host(&[sa("10.0.0.1:1"), sa("10.0.0.2:2")][..]).await.unwrap().collect();
        assert_eq!(many.len(), 2);
        let local: Vec<_> = lookup_host("localhost:8080").await.unwrap().collect();
        assert!(!local.is_empty(), "localhost resolves");
        assert!(local.iter().all(|a| a.ip().is_loopback() && a.port() == 8080), "{local:?}");
        let string: Vec<_> = lookup_host(String::from("localhost:1")).await.unwrap().collect();
        assert!(string.iter().all(|a| a.port() == 1));
    })
    .unwrap();
}

#[test]
fn an_unknown_name_is_an_error_naming_the_host() {
    let _serial = serial();
    corio::run(async {
        // `.invalid` never resolves (RFC 6761).
        let err = lookup_host("no-such-host.invalid:80").await.expect_err("must not resolve");
        assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
        let err = TcpStream::connect("no-such-host.invalid:80").await.expect_err("must not connect");
        assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
    })
    .unwrap();
}

#[test]
fn malformed_input_is_invalid_input() {
    let _serial = serial();
    corio::run(async {
        for bad in ["localhost", "localhost:", "localhost:65536", "localhost:-1", ":80", ""] {
            let err = lookup_host(bad).await.expect_err(bad);
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}: {err}");
            assert!(err.to_string().contains(&format!("{bad:?}")), "{bad:?}: {err}");
        }
        // A NUL byte cannot reach getaddrinfo: std refuses it.
        let err = lookup_host("a\0b:80").await.expect_err("nul");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        // Huge input: an error, not a panic.
        let long = format!("{}:80", "a".repeat(100_000));
        assert!(lookup_host(long.as_str()).await.is_err());
    })
    .unwrap();
}

#[test]
fn lookup_outside_a_loop_is_an_error_not_a_panic() {
    let resolver = Resolver::builder().build();
    let lookup = resolver.lookup("localhost:80");
    // Polled on no loop: there is no default pool to use.
    let err = futures_util::FutureExt::now_or_never(lookup).expect("fails at once").expect_err("no loop");
    assert!(err.to_string().contains("no event loop"), "{err}");
}

/// A lookup function that blocks until the test opens the gate, counting
/// how many run at once.
#[derive(Clone, Default)]
struct SlowDns {
    state: Arc<(Mutex<DnsState>, Condvar)>,
}

/// (open, running, max running, finished)
type DnsState = (bool, usize, usize, usize);

impl SlowDns {
    fn resolver(&self, max_concurrent: usize) -> Resolver {
        let dns = self.clone();
        Resolver::builder()
            .max_concurrent(max_concurrent)
            .lookup(move |host, port| {
                let (lock, cond) = &*dns.state;
                let mut s = lock.lock().unwrap();
                s.1 += 1;
                s.2 = s.2.max(s.1);
                cond.notify_all();
                while !s.0 {
                    s = cond.wait(s).unwrap();
                }
                s.1 -= 1;
                s.3 += 1;
                cond.notify_all();
                Ok(vec![SocketAddr::from(([192, 0, 2, host.len() as u8], port))])
            })
            .build()
    }

    fn open(&self) {
        self.state.0.lock().unwrap().0 = true;
        self.state.1.notify_all();
    }

    fn running(&self) -> usize {
        self.state.0.lock().unwrap().1
    }

    fn max_running(&self) -> usize {
        self.state.0.lock().unwrap().2
    }

    fn finished(&self) -> usize {
        self.state.0.lock().unwrap().3
    }
}

#[test]
fn the_loop_keeps_running_while_a_name_resolves() {
    let _serial = serial();
    let dns = SlowDns::default();
    let resolver = dns.resolver(4);
    let ticks = corio::run(async move {
        let ticker = corio::spawn(async {
            let mut ticks = 0;
            while ticks < 5 {
                corio::sleep(Duration::from_millis(2)).await?;
                ticks += 1;
            }
            Ok::<_, corio::Cancelled>(ticks)
        });
        let lookup = corio::spawn(async move { resolver.lookup("slow.test:53").await.map(|a| a.count()) });
        let ticks = ticker.await.unwrap().unwrap();
        // The lookup is still blocked in its thread: the loop ran on.
        assert_eq!(dns.running(), 1);
        assert!(!lookup.done());
        dns.open();
        assert_eq!(lookup.await.unwrap().unwrap(), 1);
        ticks
    })
    .unwrap();
    assert_eq!(ticks, 5);
}

#[test]
fn at_most_max_concurrent_lookups_run_at_once() {
    let _serial = serial();
    let dns = SlowDns::default();
    let resolver = dns.resolver(2);
    let d = dns.clone();
    corio::run(async move {
        let lookups: Vec<_> = (0..6)
            .map(|i| {
                let r = resolver.clone();
                corio::spawn(async move { r.lookup((format!("host{i}.test"), 80)).await.map(|a| a.count()) })
            })
            .collect();
        // Let every task start and the first two lookups reach the pool.
        while d.running() < 2 {
            corio::sleep(Duration::from_millis(1)).await.unwrap();
        }
        corio::sleep(Duration::from_millis(20)).await.unwrap();
        assert_eq!(d.running(), 2, "the other four wait for a slot");
        assert_eq!(resolver.running(), 2);
        d.open();
        for l in lookups {
            assert_eq!(l.await.unwrap().unwrap(), 1);
        }
        assert_eq!(resolver.running(), 0);
    })
    .unwrap();
    assert_eq!(dns.max_running(), 2);
    assert_eq!(dns.finished(), 6);
}

#[test]
fn a_cancelled_lookup_is_dropped_and_its_slot_comes_back_when_it_ends() {
    let _serial = serial();
    let dns = SlowDns::default();
    let resolver = dns.resolver(1);
    let d = dns.clone();
    corio::run(async move {
        let r = resolver.clone();
        let first = corio::spawn(async move { r.lookup("first.test:1").await.map(|a| a.count()) });
        while d.running() < 1 {
            corio::sleep(Duration::from_millis(1)).await.unwrap();
        }
        let r = resolver.clone();
        let queued = corio::spawn(async move { r.lookup("queued.test:1").await.map(|a| a.count()) });
        corio::sleep(Duration::from_millis(5)).await.unwrap();
        // Cancel both: the running lookup cannot be stopped, the queued one
        // never starts.
        first.cancel();
        queued.cancel();
        // Each task ends cancelled (its `?` passed the Cancelled on).
        assert!(first.await.expect_err("cancelled").is_cancelled());
        assert!(queued.await.expect_err("cancelled").is_cancelled());
        // The started lookup still holds the only slot.
        assert_eq!(resolver.running(), 1);
        d.open();
        // Its late result is dropped; the slot comes back and a new lookup
        // gets it.
        let again = resolver.lookup("again.test:1").await.unwrap().count();
        assert_eq!(again, 1);
        assert_eq!(resolver.running(), 0);
    })
    .unwrap();
    assert_eq!(dns.finished(), 2, "first (result dropped) and again; queued never ran");
}

#[test]
fn lookups_leak_no_descriptors() {
    let _serial = serial();
    no_fd_leak("lookups", || {
        corio::run(async {
            for _ in 0..100 {
                lookup_host("localhost:80").await.unwrap().for_each(drop);
            }
            // Failing lookups ask the DNS server, which may take seconds
            // to answer here: a few suffice.
            for _ in 0..3 {
                assert!(lookup_host("no-such-host.invalid:80").await.is_err());
            }
        })
        .unwrap();
    });
}

// ----- Happy Eyeballs: ordering --------------------------------------------------

#[test]
fn interleave_orders_as_asyncio_does() {
    let (a6, b6, c6) = (sa("[::1]:1"), sa("[::2]:1"), sa("[::3]:1"));
    let (a4, b4) = (sa("10.0.0.1:1"), sa("10.0.0.2:1"));
    let he = HappyEyeballs::new();
    // asyncio: _interleave_addrinfos(infos, 1)
    assert_eq!(he.order(vec![a6, b6, c6, a4, b4]), [a6, a4, b6, b4, c6]);
    assert_eq!(he.order(vec![a4, a6, b6, c6]), [a4, a6, b6, c6]);
    // first_address_family_count = 2: one extra of the first family first.
    assert_eq!(he.clone().interleave(2).order(vec![a6, b6, c6, a4, b4]), [a6, b6, a4, c6, b4]);
    // Larger than the family: all of it, then the rest.
    assert_eq!(he.clone().interleave(10).order(vec![a6, b6, a4]), [a6, b6, a4]);
    // 0: the resolver's order.
    assert_eq!(he.clone().interleave(0).order(vec![a6, b6, a4]), [a6, b6, a4]);
    assert_eq!(he.order(vec![]), Vec::<SocketAddr>::new());
}

// ----- Happy Eyeballs on the simulated network -------------------------------------

const LATENCY: Duration = Duration::from_millis(10);

/// Runs `body` on a mock loop with a simulated network (10 ms latency).
fn sim<T>(seed: u64, body: impl AsyncFnOnce(SimNet) -> T) -> T {
    Simulation::new(seed).run(|lp| {
        let net = SimNet::new(lp.reactor(), seed, NetConfig::default().latency(LATENCY));
        lp.block_on(body(net)).expect("loop")
    })
}

#[test]
fn sim_black_holed_refusing_and_slow_addresses() {
    // Three addresses, interleaved v6/v4: a black hole (never answers), one
    // that refuses, and a slow one (400 ms each way) that works.
    let (hole, refusing, slow) = (sa("[2001:db8::1]:80"), sa("192.0.2.1:80"), sa("[2001:db8::2]:80"));
    let (winner, elapsed, accepted) = sim(1, async |net: SimNet| {
        net.set_route(hole, Route::BlackHole);
        net.set_route(slow, Route::Latency(Duration::from_millis(400)));
        let listener = SimListener::bind(&net, slow).unwrap();
        let start = corio::time();
        let n = net.clone();
        let stream = HappyEyeballs::new()
            .race([hole, slow, refusing], |addr| SimStream::connect(&n, addr))
            .await
            .expect("the slow address connects");
        let elapsed = corio::time() - start;
        let (_, _) = listener.accept().await.unwrap();
        (stream.peer_addr(), elapsed, 1)
    });
    assert_eq!(winner, slow);
    assert_eq!(accepted, 1);
    // Order: hole (v6), refusing (v4), slow (v6). t=0 hole; t=250 refusing
    // (the stagger); refused at 260 → slow starts at once; connected at 660.
    assert_eq!(elapsed, Duration::from_millis(660));
}

#[test]
fn sim_sequential_connects_stall_on_a_black_hole() {
    // asyncio without happy_eyeballs_delay: one address after another, so a
    // black-holed first address holds everything up until a timeout.
    let (hole, good) = (sa("[2001:db8::1]:80"), sa("192.0.2.1:80"));
    let outcome = sim(2, async |net: SimNet| {
        net.set_route(hole, Route::BlackHole);
        let _listener = SimListener::bind(&net, good).unwrap();
        let n = net.clone();
        let sequential = HappyEyeballs::new().delay(None);
        let race = sequential.race([hole, good], |a| SimStream::connect(&n, a));
        corio::wait_for(Duration::from_secs(30), race).await.map(|r| r.map(|s| s.peer_addr()))
    });
    assert!(outcome.is_err(), "timed out on the black hole");
    let connected = sim(2, async |net: SimNet| {
        net.set_route(hole, Route::BlackHole);
        let _listener = SimListener::bind(&net, good).unwrap();
        let n = net.clone();
        let start = corio::time();
        let s = HappyEyeballs::new().race([hole, good], |a| SimStream::connect(&n, a)).await.unwrap();
        (s.peer_addr(), corio::time() - start)
    });
    assert_eq!(connected, (good, Duration::from_millis(260)));
}

#[test]
fn sim_first_to_connect_wins_and_the_loser_is_closed() {
    // The first address is slow (1 s); the second, started 250 ms later,
    // answers in 10 ms and wins at 260 ms. The first attempt is abandoned:
    // its request still reaches the listener, whose server end reads
    // end-of-stream at once.
    let (slow, fast) = (sa("[2001:db8::1]:80"), sa("192.0.2.1:80"));
    let (winner, elapsed, loser_read) = sim(3, async |net: SimNet| {
        net.set_route(slow, Route::Latency(Duration::from_secs(1)));
        let slow_listener = SimListener::bind(&net, slow).unwrap();
        let _fast_listener = SimListener::bind(&net, fast).unwrap();
        let n = net.clone();
        let start = corio::time();
        let stream = HappyEyeballs::new().race([slow, fast], |a| SimStream::connect(&n, a)).await.unwrap();
        let elapsed = corio::time() - start;
        let (abandoned, _) = slow_listener.accept().await.unwrap();
        let mut buf = [0u8; 8];
        let read = abandoned.read(&mut buf).await.unwrap();
        (stream.peer_addr(), elapsed, read)
    });
    assert_eq!((winner, elapsed), (fast, Duration::from_millis(260)));
    assert_eq!(loser_read, 0, "the abandoned connection was closed");
}

#[test]
fn sim_every_address_failing_names_each() {
    let (a, b, c) = (sa("[2001:db8::1]:80"), sa("192.0.2.1:80"), sa("192.0.2.2:80"));
    let err = sim(4, async |net: SimNet| {
        let n = net.clone();
        HappyEyeballs::new().race([a, b, c], |x| SimStream::connect(&n, x)).await.map(|s| s.peer_addr())
    })
    .expect_err("nothing listens");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    let text = err.to_string();
    for addr in [a, b, c] {
        assert!(text.contains(&addr.to_string()), "{text}");
    }
    let err = sim(5, async |net: SimNet| {
        let n = net.clone();
        HappyEyeballs::new().race([], |x| SimStream::connect(&n, x)).await.map(|s| s.peer_addr())
    })
    .expect_err("no address");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn sim_cancelling_the_race_drops_every_attempt() {
    let (hole, slow) = (sa("[2001:db8::1]:80"), sa("192.0.2.1:80"));
    let (cancelled, loser_read) = sim(6, async |net: SimNet| {
        net.set_route(hole, Route::BlackHole);
        net.set_route(slow, Route::Latency(Duration::from_secs(1)));
        let listener = SimListener::bind(&net, slow).unwrap();
        let n = net.clone();
        let race = corio::spawn(async move {
            HappyEyeballs::new().race([hole, slow], |a| SimStream::connect(&n, a)).await.map(|s| s.peer_addr())
        });
        corio::sleep(Duration::from_millis(300)).await.unwrap();
        race.cancel();
        let cancelled = race.await.expect_err("cancelled").is_cancelled();
        let (abandoned, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4];
        (cancelled, abandoned.read(&mut buf).await.unwrap())
    });
    assert!(cancelled);
    assert_eq!(loser_read, 0);
}

#[test]
fn sim_a_name_resolves_through_a_resolver_then_races() {
    let (v6, v4) = (sa("[2001:db8::7]:443"), sa("192.0.2.7:443"));
    let (winner, elapsed) = sim(7, async |net: SimNet| {
        net.set_route(v6, Route::BlackHole);
        let _l = SimListener::bind(&net, v4).unwrap();
        let table = Resolver::builder()
            .lookup(move |host, port| {
                assert_eq!((host, port), ("dual.test", 443));
                Ok(vec![v6, v4])
            })
            .build();
        let start = corio::time();
        let addrs: Vec<_> = table.lookup("dual.test:443").await.unwrap().collect();
        let n = net.clone();
        let s = HappyEyeballs::new().race(addrs, |a| SimStream::connect(&n, a)).await.unwrap();
        (s.peer_addr(), corio::time() - start)
    });
    assert_eq!((winner, elapsed), (v4, Duration::from_millis(260)));
}

// ----- Happy Eyeballs for real -------------------------------------------------------

/// A listener whose accept queue is full, so that the kernel drops further
/// SYNs: a real black hole. Returns it and the connection filling it.
fn black_hole(addr: SocketAddr) -> io::Result<(std::net::TcpListener, std::net::TcpStream)> {
    let listener = std::net::TcpListener::bind(addr)?;
    // SAFETY: listen(2) on a descriptor we own; a new backlog of 0 lets one
    // connection queue.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
    let filler = std::net::TcpStream::connect(listener.local_addr()?)?;
    Ok((listener, filler))
}

fn ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

#[test]
fn real_dual_stack_with_a_black_holed_ipv6_listener() {
    let _serial = serial();
    if !ipv6_loopback() {
        eprintln!("skipped: this machine has no IPv6 loopback (::1)");
        return;
    }
    no_fd_leak("happy eyeballs over loopback", || {
        let (hole, _filler) = black_hole(sa("[::1]:0")).unwrap();
        let hole_addr = hole.local_addr().unwrap();
        corio::run(async move {
            let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
            let v4_addr = v4.local_addr().unwrap();
            // What a dual-stack `localhost` returns: IPv6 first.
            let dual = Resolver::builder().lookup(move |_, _| Ok(vec![hole_addr, v4_addr])).build();
            let start = Instant::now();
            let stream = HappyEyeballs::new().resolver(dual).connect("localhost.test:1").await.unwrap();
            let took = start.elapsed();
            assert_eq!(stream.peer_addr().unwrap(), v4_addr);
            // The stagger: not before 250 ms, and well before the SYN
            // retransmission would have answered (1 s).
            assert!(took >= Duration::from_millis(250) && took < Duration::from_millis(900), "{took:?}");
            let (_server, _) = v4.accept().await.unwrap();
        })
        .unwrap();
    });
}

#[test]
fn real_dual_stack_the_first_family_wins_when_it_answers() {
    let _serial = serial();
    if !ipv6_loopback() {
        eprintln!("skipped: this machine has no IPv6 loopback (::1)");
        return;
    }
    corio::run(async {
        let v6 = TcpListener::bind("[::1]:0").unwrap();
        let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
        let addrs = [v6.local_addr().unwrap(), v4.local_addr().unwrap()];
        let start = Instant::now();
        let stream = TcpStream::connect(&addrs[..]).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), addrs[0]);
        assert!(start.elapsed() < Duration::from_millis(250), "no stagger was needed");
        // Reversed: IPv4 first, and it wins.
        let stream = TcpStream::connect([addrs[1], addrs[0]]).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), addrs[1]);
    })
    .unwrap();
}

#[test]
fn real_localhost_resolves_on_the_pool_and_connects() {
    let _serial = serial();
    corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let families: Vec<_> = lookup_host(("localhost", port)).await.unwrap().map(|a| a.is_ipv4()).collect();
        if !(families.contains(&true) && families.contains(&false)) {
            eprintln!("note: localhost resolves to one family here ({families:?}): the dual-stack race is tested above with both loopback addresses");
        }
        let stream = TcpStream::connect(("localhost", port)).await.unwrap();
        assert!(stream.peer_addr().unwrap().ip().is_loopback());
        let stream = TcpStream::connect(format!("localhost:{port}")).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap().port(), port);
    })
    .unwrap();
}

#[test]
fn connect_refused_everywhere_names_each_address() {
    let _serial = serial();
    if !ipv6_loopback() {
        eprintln!("skipped: this machine has no IPv6 loopback (::1)");
        return;
    }
    corio::run(async {
        // Bound but not listening: refused.
        let a = std::net::TcpListener::bind("[::1]:0").unwrap().local_addr().unwrap();
        let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let err = TcpStream::connect([a, b]).await.expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert!(err.to_string().contains(&a.to_string()) && err.to_string().contains(&b.to_string()), "{err}");
        // One address: its own error, unchanged.
        let err = TcpStream::connect(b).await.expect_err("refused");
        assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
    })
    .unwrap();
}

#[test]
fn many_lookups_from_many_tasks_finish() {
    let _serial = serial();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    corio::run(async move {
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let c = c.clone();
                corio::spawn(async move {
                    lookup_host("localhost:1").await.unwrap();
                    c.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    })
    .unwrap();
    assert_eq!(count.load(Ordering::Relaxed), 50);
}
