//! The loop over the mock reactor: readiness exists only when injected, with
//! faults (spurious and duplicate events) on demand, and deadlock detection
//! (rule L5) on the virtual clock.
//!
//! Sockets are real `UnixStream` pairs, so reads and writes are real system
//! calls; only readiness is simulated.

use corio::io_source::{Async, Direction};
use corio::reactor::{Interest, Reactor};
use corio::runtime::EventLoop;
use corio::LoopError;
use corio_backends::epoll::EpollReactor;
use corio_backends::mock::{MockReactor, VirtualClock};
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

type MockLoop = EventLoop<MockReactor, VirtualClock>;

fn mock_loop() -> MockLoop {
    EventLoop::builder(MockReactor::new()).clock(VirtualClock::new()).build()
}

/// A descriptor number that cannot be open: above any per-process limit the
/// kernel allows (`fs.nr_open` is at most about 2^30).
const NEVER_OPEN: RawFd = i32::MAX - 1;

/// Reads once through `source`, counting each read system call.
async fn counted_read(source: &Async<UnixStream>, attempts: &Cell<u32>) -> io::Result<Vec<u8>> {
    let mut buf = [0u8; 64];
    let n = source
        .read_with(|s| {
            attempts.set(attempts.get() + 1);
            (&*s).read(&mut buf)
        })
        .await?;
    Ok(buf[..n].to_vec())
}

#[test]
fn data_becomes_visible_only_after_injected_readiness() {
    let lp = mock_loop();
    let reactor = lp.reactor();
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let out = lp.block_on(async {
        let a = Async::new(a)?;
        assert!(reactor.key_of(fd).is_some(), "registered with the mock");
        let attempts = Rc::new(Cell::new(0));
        let reader = {
            let attempts = attempts.clone();
            corio::spawn(async move { counted_read(&a, &attempts).await })
        };
        corio::yield_now().await.unwrap();
        // The reader tried once (a new source is assumed ready), found
        // nothing, and now waits for an event.
        assert_eq!(attempts.get(), 1);
        assert!(!reader.done());

        // Data arrives, but no readiness is reported: the reader cannot know.
        b.write_all(b"hello").unwrap();
        for _ in 0..100 {
            corio::yield_now().await.unwrap();
        }
        assert!(!reader.done(), "no readiness was injected yet");
        assert_eq!(attempts.get(), 1, "the waiting reader was never retried");

        assert!(reactor.inject_readable(fd));
        let got = reader.await.expect("reader task")?;
        assert_eq!(got, b"hello");
        assert_eq!(attempts.get(), 2);
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("read");
    // The reader's Async was dropped (deregistered) when its task ended.
    assert_eq!(lp.reactor().registered(), 0);
}

#[test]
fn spurious_readiness_makes_the_read_wait_again_without_spinning() {
    let lp = mock_loop();
    let reactor = lp.reactor();
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let out = lp.block_on(async {
        let a = Async::new(a)?;
        let attempts = Rc::new(Cell::new(0));
        let reader = {
            let attempts = attempts.clone();
            corio::spawn(async move { counted_read(&a, &attempts).await })
        };
        corio::yield_now().await.unwrap();
        assert_eq!(attempts.get(), 1);

        // Readiness with no data behind it.
        assert!(reactor.inject_spurious(fd));
        let polls_before = reactor.polls().len();
        let attempts_before = attempts.get();
        // Let the loop go idle for a while (virtual time: instant). A reader
        // that spins on the spurious event would be polled again and again.
        corio::sleep(Duration::from_secs(10)).await.unwrap();
        assert!(!reader.done(), "a spurious event must not end the read");
        assert_eq!(attempts.get(), attempts_before + 1, "exactly one retry for one spurious event");
        let polls = reactor.polls().len() - polls_before;
        assert!(polls <= 4, "the reactor was polled {polls} times while idle: spinning");

        // Several spurious events in a row: still one retry each at most.
        for _ in 0..3 {
            assert!(reactor.inject_spurious(fd));
        }
        corio::sleep(Duration::from_secs(10)).await.unwrap();
        assert!(!reader.done());
        assert!(attempts.get() <= attempts_before + 4);

        // The real thing.
        b.write_all(b"real").unwrap();
        assert!(reactor.inject_readable(fd));
        assert_eq!(reader.await.expect("reader task")?, b"real");
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("read");
}

#[test]
fn duplicate_readiness_is_harmless() {
    let lp = mock_loop();
    let reactor = lp.reactor();
    reactor.set_duplicates(3);
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let out = lp.block_on(async {
        let a = Rc::new(Async::new(a)?);
        let attempts = Rc::new(Cell::new(0));
        let read = |a: Rc<Async<UnixStream>>, attempts: Rc<Cell<u32>>| {
            corio::spawn(async move { counted_read(&a, &attempts).await })
        };

        let first = read(a.clone(), attempts.clone());
        corio::yield_now().await.unwrap();
        b.write_all(b"one").unwrap();
        assert!(reactor.inject_readable(fd)); // delivered four times
        assert_eq!(first.await.expect("first")?, b"one");
        assert!(reactor.polls().iter().any(|p| p.events == 4), "{:?}", reactor.polls());

        // The duplicates left the source marked ready; the next read finds
        // no data, and must wait rather than fail or return 0.
        let second = read(a.clone(), attempts.clone());
        corio::sleep(Duration::from_secs(1)).await.unwrap();
        assert!(!second.done(), "duplicates must not fake data");
        b.write_all(b"two").unwrap();
        assert!(reactor.inject_readable(fd));
        assert_eq!(second.await.expect("second")?, b"two");
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("read");
}

#[test]
fn writes_wait_for_injected_writability() {
    let lp = mock_loop();
    let reactor = lp.reactor();
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let out = lp.block_on(async {
        let a = Rc::new(Async::new(a)?);
        // Fill the socket buffer until the kernel says WouldBlock.
        let chunk = [1u8; 16 * 1024];
        let mut written = 0usize;
        loop {
            match a.get_ref().write(&chunk) {
                Ok(n) => written += n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => return Err(err),
            }
        }
        let writer = {
            let a = a.clone();
            corio::spawn(async move { a.write_with(|s| (&*s).write(b"x")).await })
        };
        corio::yield_now().await.unwrap();
        assert!(!writer.done(), "the buffer is full");

        // Drain the peer; still no writability until it is injected.
        let mut sink = vec![0u8; written];
        b.read_exact(&mut sink).unwrap();
        corio::sleep(Duration::from_secs(1)).await.unwrap();
        assert!(!writer.done());

        assert!(reactor.inject_writable(fd));
        assert_eq!(writer.await.expect("writer")?, 1);
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("write");
}

#[test]
fn readable_and_clear_ready() {
    let lp = mock_loop();
    let reactor = lp.reactor();
    let (a, _b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let out = lp.block_on(async {
        let a = Rc::new(Async::new(a)?);
        // New sources are assumed ready in both directions.
        a.readable().await?;
        a.writable().await?;
        a.clear_ready(Direction::Read);
        let waiter = {
            let a = a.clone();
            corio::spawn(async move { a.readable().await })
        };
        corio::sleep(Duration::from_secs(1)).await.unwrap();
        assert!(!waiter.done(), "cleared readiness waits for the next event");
        assert!(reactor.inject_readable(fd));
        waiter.await.expect("waiter")?;
        // Writability was not cleared.
        a.writable().await?;
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("readiness");
}

#[test]
fn injection_for_an_unregistered_fd_is_refused() {
    let reactor = MockReactor::new();
    let (a, _b) = UnixStream::pair().unwrap();
    assert!(!reactor.inject_readable(a.as_raw_fd()));
    assert!(!reactor.inject_spurious(a.as_raw_fd()));
}

// ----- registration errors ----------------------------------------------------

fn assert_ebadf(err: &io::Error) {
    assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err:?}");
}

fn assert_eexist(err: &io::Error) {
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err:?}");
    assert_eq!(err.raw_os_error(), Some(libc::EEXIST), "{err:?}");
}

/// The reactor contract, checked on any reactor: a closed descriptor is
/// refused with EBADF, a second registration with EEXIST, and a failed
/// registration leaves the first one intact.
fn registration_errors(reactor: &impl Reactor) {
    assert_ebadf(&reactor.register(NEVER_OPEN, 1, Interest::BOTH).unwrap_err());

    let (a, _b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let fd = a.as_raw_fd();
    reactor.register(fd, 2, Interest::BOTH).unwrap();
    assert_eexist(&reactor.register(fd, 3, Interest::READABLE).unwrap_err());
    reactor.modify(fd, 2, Interest::READABLE).unwrap();
    reactor.deregister(fd).unwrap();
    // Deregistered: it may be registered again.
    reactor.register(fd, 4, Interest::BOTH).unwrap();
    reactor.deregister(fd).unwrap();
    assert!(reactor.deregister(fd).is_err(), "deregistering twice is an error");
    assert!(reactor.modify(fd, 4, Interest::BOTH).is_err(), "modifying an unregistered fd is an error");
}

#[test]
fn registration_errors_on_the_mock() {
    registration_errors(&MockReactor::new());
}

#[test]
fn registration_errors_on_epoll() {
    registration_errors(&EpollReactor::new().unwrap());
}

/// Through `Async::new` on a running loop: the same errors, as io::Errors.
fn async_registration_errors<R: Reactor>(lp: &EventLoop<R, VirtualClock>) {
    let (a, _b) = UnixStream::pair().unwrap();
    let out = lp.block_on(async {
        let first = Async::new(&a).expect("first registration");
        let second = Async::new(&a).expect_err("the same descriptor twice");
        assert_eexist(&second);
        // The failed registration did not disturb the first one.
        first.writable().await.expect("still registered");
        drop(first);
        // Dropping deregistered it: registering again works.
        let again = Async::new(&a).expect("registration after drop");
        drop(again);
    });
    out.expect("loop");
}

#[test]
fn async_new_twice_on_the_mock() {
    async_registration_errors(&mock_loop());
}

#[test]
fn async_new_twice_on_epoll() {
    let lp = EventLoop::builder(EpollReactor::new().unwrap()).clock(VirtualClock::new()).build();
    async_registration_errors(&lp);
}

// ----- deadlock detection (L5) ------------------------------------------------

#[test]
fn waiting_on_readiness_with_no_injector_is_a_deadlock() {
    let lp = mock_loop();
    let (a, _b) = UnixStream::pair().unwrap();
    let result = lp.block_on(async move {
        let a = Async::new(a)?;
        let reader = corio::task::Builder::new().name("stuck-reader").spawn(async move {
            let mut buf = [0u8; 8];
            a.read_with(|s| (&*s).read(&mut buf)).await
        });
        reader.await.expect("never finishes")
    });
    match result {
        Err(LoopError::Deadlock { tasks }) => {
            assert!(tasks.iter().any(|t| t.contains("stuck-reader")), "{tasks:?}");
            assert!(tasks.iter().any(|t| t.contains("backend_mock.rs")), "spawn locations: {tasks:?}");
        }
        other => panic!("expected a deadlock, got {other:?}"),
    }
    // The message names the task too.
    let lp = mock_loop();
    let (a, _b) = UnixStream::pair().unwrap();
    let err = lp
        .block_on(async move {
            let a = Async::new(a)?;
            a.read_with(|s| (&*s).read(&mut [0u8; 1])).await
        })
        .expect_err("deadlock");
    let message = err.to_string();
    assert!(message.contains("deadlock") && message.contains("Task-"), "{message}");
}

#[test]
fn an_injector_on_another_thread_prevents_the_deadlock() {
    let lp = mock_loop();
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let injector = lp.reactor().injector();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        b.write_all(b"from afar").unwrap();
        assert!(injector.inject(fd, true, false));
        drop(injector);
        b // keep the peer open until joined
    });
    let out = lp.block_on(async move {
        let a = Async::new(a)?;
        let attempts = Rc::new(Cell::new(0));
        let reader = {
            let attempts = attempts.clone();
            corio::spawn(async move { counted_read(&a, &attempts).await })
        };
        corio::yield_now().await.unwrap();
        assert_eq!(attempts.get(), 1, "the reader waits");
        // Only now may the thread write and inject: the loop parks in the
        // mock's poll until the injection arrives.
        go_tx.send(()).unwrap();
        reader.await.expect("reader task")
    });
    let got = out.expect("no deadlock while an injector lives").expect("read");
    assert_eq!(got, b"from afar");
    let _b = thread.join().unwrap();
    assert!(lp.reactor().polls().iter().any(|p| p.timeout.is_none()), "the loop parked with no timeout");
}

#[test]
fn the_last_injector_dropped_while_the_loop_waits_reports_the_deadlock() {
    // The loop parks because an injector exists; when that injector goes
    // away without injecting, nothing can ever wake the reader. The loop
    // must notice and report the deadlock instead of waiting forever.
    let lp = mock_loop();
    let (a, _b) = UnixStream::pair().unwrap();
    let injector = lp.reactor().injector();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        drop(injector);
    });
    let result = lp.block_on(async move {
        let a = Async::new(a)?;
        let reader = corio::task::Builder::new().name("abandoned-reader").spawn(async move {
            let mut buf = [0u8; 8];
            a.read_with(|s| (&*s).read(&mut buf)).await
        });
        corio::yield_now().await.unwrap();
        go_tx.send(()).unwrap();
        reader.await.expect("never finishes")
    });
    thread.join().unwrap();
    match result {
        Err(LoopError::Deadlock { tasks }) => {
            assert!(tasks.iter().any(|t| t.contains("abandoned-reader")), "{tasks:?}")
        }
        other => panic!("expected a deadlock, got {other:?}"),
    }
}

#[test]
fn the_last_loop_handle_dropped_while_the_loop_waits_reports_the_deadlock() {
    // Same with a LoopHandle: while another thread holds one the loop may
    // not call it a deadlock; once the last one is dropped it must.
    let lp = mock_loop();
    let handle = lp.handle();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        drop(handle);
    });
    let result = lp.block_on(async move {
        let never = corio::Completion::<()>::new();
        go_tx.send(()).unwrap();
        never.wait().await
    });
    thread.join().unwrap();
    assert!(matches!(result, Err(LoopError::Deadlock { .. })), "{result:?}");
}

#[test]
fn several_tasks_waiting_on_one_source_are_all_woken() {
    // Two readers share a source (like several acceptors sharing a
    // listener). One event must not leave either of them waiting forever.
    let lp = mock_loop();
    let reactor = lp.reactor();
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let out = lp.block_on(async {
        let a = Rc::new(Async::new(a)?);
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let a = a.clone();
                corio::spawn(async move {
                    let mut byte = [0u8; 1];
                    a.read_with(|s| (&*s).read(&mut byte)).await?;
                    Ok::<_, io::Error>(byte[0])
                })
            })
            .collect();
        corio::yield_now().await.unwrap();
        assert!(readers.iter().all(|r| !r.done()));
        b.write_all(b"xyz").unwrap();
        assert!(reactor.inject_readable(fd));
        let mut got = Vec::new();
        for reader in readers {
            got.push(reader.await.expect("reader")?);
        }
        got.sort();
        assert_eq!(got, b"xyz");
        Ok::<_, io::Error>(())
    });
    out.expect("no reader may be left waiting").expect("reads");
}

#[test]
fn aborting_a_task_that_owns_a_source_deregisters_it() {
    let lp = mock_loop();
    let reactor = lp.reactor();
    let (a, _b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let out = lp.block_on(async {
        let a = Async::new(a)?;
        let reader = corio::spawn(async move {
            let mut buf = [0u8; 1];
            a.read_with(|s| (&*s).read(&mut buf)).await
        });
        corio::yield_now().await.unwrap();
        assert!(reactor.key_of(fd).is_some());
        reader.abort();
        assert!(matches!(reader.await, Err(corio::JoinError::Cancelled(_))));
        assert_eq!(reactor.key_of(fd), None, "dropping the future deregistered the source");
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("abort");
}

#[test]
fn closing_the_loop_deregisters_sources_of_blocked_tasks() {
    let lp = mock_loop();
    let (a, _b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let out = lp.block_on(async {
        let a = Async::new(a)?;
        corio::spawn(async move {
            let mut buf = [0u8; 1];
            a.read_with(|s| (&*s).read(&mut buf)).await
        })
        .detach();
        corio::yield_now().await.unwrap();
        Ok::<_, io::Error>(())
    });
    out.expect("loop").expect("spawn");
    assert!(lp.reactor().key_of(fd).is_some());
    let injector = lp.reactor().injector(); // a way to look after the loop is gone
    drop(lp);
    assert!(!injector.inject(fd, true, false), "the source was deregistered while the loop closed");
}
