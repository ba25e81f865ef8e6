//! EMFILE on accept: the accept loop (`Incoming`) backs off instead of
//! spinning, and accepts the waiting connection once descriptors are free.
//!
//! This lowers the process's descriptor limit, so it is its own test binary
//! with a single test that runs the scenario on each real backend in turn.
//! The loops use the virtual clock: the back-off sleeps are exact and
//! instant, and the number of accept attempts is a count, not a timing.

use corio::clock::VirtualClock;
use corio::net::{TcpListener, ACCEPT_BACKOFF_MAX};
use corio::reactor::Reactor;
use corio_backends::epoll::EpollReactor;
use corio_backends::uring::UringReactor;
use std::io;
use std::os::fd::OwnedFd;
use std::time::Duration;

fn set_fd_limit(limit: u64) {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid struct pointer.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl), 0);
        rl.rlim_cur = limit.min(rl.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &rl), 0);
    }
}

fn fd_limit() -> u64 {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: as above.
    unsafe { assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl), 0) };
    rl.rlim_cur
}

/// Opens descriptors until the process is out of them.
fn exhaust_descriptors() -> Vec<OwnedFd> {
    let mut held = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => held.push(OwnedFd::from(file)),
            Err(err) if err.raw_os_error() == Some(libc::EMFILE) => return held,
            Err(err) => panic!("unexpected error while exhausting descriptors: {err}"),
        }
    }
}

fn scenario<R: Reactor>(name: &str, reactor: R) {
    let lp = corio::runtime::EventLoop::builder(reactor).clock(VirtualClock::new()).build();
    let out = lp.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        // A client connects; the kernel queues the connection.
        let _client = std::net::TcpStream::connect(addr)?;

        let held = exhaust_descriptors();
        // Plain accept reports EMFILE: a clear error, the connection stays queued.
        let err = listener.accept().await.map(drop).expect_err("no descriptor left");
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{name}: {err:?}");

        // The accept loop backs off; 10 s later (virtual) descriptors come back.
        let freed_at = corio::time() + Duration::from_secs(10);
        let releaser = corio::spawn(async move {
            corio::sleep(Duration::from_secs(10)).await?;
            drop(held);
            Ok::<_, corio::Cancelled>(())
        });
        let mut incoming = listener.incoming();
        let (stream, peer) = incoming.accept().await?;
        releaser.await.expect("releaser task").expect("not cancelled");
        assert!(corio::time() >= freed_at, "{name}: accepted only after descriptors were freed");
        assert!(peer.ip().is_loopback());
        // 1 ms doubling up to 1 s: 1+2+...+512 ms is about 1 s, then one
        // attempt per second — about 19 attempts for 10 s. Spinning would be
        // millions (and would never let virtual time advance at all).
        let backoffs = incoming.backoffs();
        assert!((10..=25).contains(&backoffs), "{name}: {backoffs} back-offs in 10 s");
        drop((stream, incoming));
        Ok::<_, io::Error>(backoffs)
    });
    let backoffs = out.expect("loop").unwrap_or_else(|err| panic!("{name}: {err}"));
    let iterations = lp.stats().iterations;
    assert!(iterations < 500, "{name}: the loop ran {iterations} iterations while backing off ({backoffs} back-offs)");
    assert!(ACCEPT_BACKOFF_MAX <= Duration::from_secs(1));
}

#[test]
fn emfile_on_accept_backs_off_then_accepts() {
    let original = fd_limit();
    // Low enough to exhaust quickly, high enough for the test harness.
    set_fd_limit(256);
    scenario("epoll", EpollReactor::new().unwrap());
    scenario("io_uring", UringReactor::new().unwrap());
    set_fd_limit(original);
}
