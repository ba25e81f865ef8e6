//! Call contracts of the loop against its `Reactor` and `Clock` (rules L5,
//! L7): which timeouts it polls with, when it polls at all, and when it
//! calls `notify()`. Call contracts, not behaviour: mockall mocks (`mock!`,
//! since the traits live in corio-core) and the backends' `MockReactor`
//! counters.
//!
//! Each test names the bug it catches. Nothing here sleeps: time is a mocked
//! or virtual clock, and the cross-thread tests synchronise with channels
//! (a `recv_timeout` only bounds how long a *failing* run takes, and
//! `times(0..10_000)` on polls turns a loop spinning in the reactor into a
//! failure instead of a hang).
//! mockall mocks lock a std mutex internally: keep them out of loom models.

use corio_backends::mock::MockReactor;
use corio_core::clock::{Clock, VirtualClock};
use corio_core::io::Async;
use corio_core::reactor::{Event, Interest, Reactor};
use corio_core::runtime::{EventLoop, DEFAULT_POLL_INTERVAL};
use corio_core::yield_now;
use mockall::mock;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

mock! {
    pub Rx {}
    impl Reactor for Rx {
        fn register(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()>;
        fn modify(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()>;
        fn deregister(&self, fd: RawFd) -> io::Result<()>;
        fn poll(&self, events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()>;
        fn notify(&self) -> io::Result<()>;
        fn is_quiescent(&self) -> bool;
    }
}

mock! {
    pub Clk {}
    impl Clock for Clk {
        fn now(&self) -> Instant;
        fn advance_to(&self, deadline: Instant) -> bool;
        fn is_virtual(&self) -> bool;
    }
}

/// What a mock records, shared with the test.
type Log<T> = Arc<Mutex<Vec<T>>>;

/// A reactor mock that accepts sources and never notifies.
fn quiet_reactor() -> MockRx {
    let mut rx = MockRx::new();
    rx.expect_register().returning(|_, _, _| Ok(()));
    rx.expect_deregister().returning(|_| Ok(()));
    rx.expect_modify().never();
    rx.expect_notify().never();
    rx
}

/// A mocked *real* clock (it never jumps: `advance_to` is `false`) whose time
/// the test controls exactly: `base + offset`.
fn controlled_clock(offset_ns: Arc<AtomicU64>) -> (MockClk, Instant) {
    let base = Instant::now();
    let mut clock = MockClk::new();
    clock.expect_now().returning(move || base + Duration::from_nanos(offset_ns.load(Ordering::SeqCst)));
    clock.expect_advance_to().returning(|_| false);
    clock.expect_is_virtual().return_const(false);
    (clock, base)
}

/// L5: while work is ready the reactor is polled with timeout 0 — never a
/// timeout that could block — and when the loop goes idle with a timer
/// pending, with exactly `deadline - now` (not the timer's original delay:
/// time passed meanwhile). Catches: polling with the next deadline while
/// busy (the loop sleeps with work queued), using the delay instead of the
/// remaining time, or polling with `None` while a timer is pending.
#[test]
fn polls_with_zero_while_ready_and_deadline_minus_now_when_idle() {
    let offset = Arc::new(AtomicU64::new(0));
    let (clock, base) = controlled_clock(offset.clone());
    let busy = Arc::new(AtomicBool::new(false));
    let polls: Log<(Option<Duration>, bool)> = Arc::default(); // (timeout, work was ready)

    let mut rx = quiet_reactor();
    let (o, b, p) = (offset.clone(), busy.clone(), polls.clone());
    rx.expect_poll().times(0..10_000).returning(move |_events, timeout| {
        let was_busy = b.load(Ordering::SeqCst);
        p.lock().unwrap().push((timeout, was_busy));
        match timeout {
            None => panic!("poll(None) with a timer pending"),
            // Waiting: the (mocked) time passes by exactly the timeout.
            Some(t) => drop(o.fetch_add(t.as_nanos() as u64, Ordering::SeqCst)),
        }
        Ok(())
    });

    // Poll every busy iteration (asyncio's behaviour), so every busy
    // iteration is checked.
    let lp = EventLoop::builder(rx).clock(clock).poll_interval(1).build();
    let deadline = lp
        .block_on(async {
            let (a, _b) = UnixStream::pair().unwrap();
            let _source = Async::new(a).unwrap(); // an I/O source: busy polls happen
            let deadline = corio_core::time() + Duration::from_millis(50);
            corio_core::call_at(deadline, || {});
            busy.store(true, Ordering::SeqCst);
            for _ in 0..20 {
                offset.fetch_add(1_000_000, Ordering::SeqCst); // 1 ms of work
                yield_now().await.unwrap(); // re-queued: ready at the next iteration
            }
            busy.store(false, Ordering::SeqCst);
            corio_core::sleep_until(deadline).await.unwrap(); // idle until the timer
            deadline
        })
        .unwrap();

    let polls = polls.lock().unwrap().clone();
    assert_eq!(deadline, base + Duration::from_millis(50));
    for &(timeout, was_busy) in &polls {
        if was_busy {
            assert_eq!(timeout, Some(Duration::ZERO), "blocking poll while work was ready: {polls:?}");
        }
    }
    assert!(polls.iter().filter(|(_, busy)| *busy).count() >= 20, "every busy iteration polls: {polls:?}");
    let waits: Vec<_> = polls.iter().filter(|(t, _)| *t != Some(Duration::ZERO)).map(|(t, _)| *t).collect();
    // Idle at base + 20 ms with the deadline at base + 50 ms.
    assert_eq!(waits, [Some(Duration::from_millis(30))], "{polls:?}");
    assert_eq!(lp.stats().reactor_waits, 1);
}

/// L5: an idle loop with no timers, no sources and nothing ready polls with
/// `None` — it blocks until `notify()` — and reads no clock at all. Catches:
/// a busy-wait (timeout 0) or an arbitrary wake-up period when idle, a clock
/// read without timers, or a missed notify for a parked loop.
#[test]
fn idle_loop_without_timers_polls_with_none() {
    let mut clock = MockClk::new();
    clock.expect_now().never(); // no timers: no clock reads
    clock.expect_advance_to().never();
    clock.expect_is_virtual().return_const(false);

    let handle_slot: Arc<Mutex<Option<corio_core::runtime::LoopHandle>>> = Arc::default();
    let mut rx = MockRx::new();
    rx.expect_notify().times(1).returning(|| Ok(()));
    let slot = handle_slot.clone();
    rx.expect_poll().withf(|_, timeout| timeout.is_none()).times(1).returning(move |_, _| {
        // Parked in poll(None): another party stops the loop through its
        // handle, which must notify (this is the only way out of a real
        // reactor).
        let handle = slot.lock().unwrap().take().expect("handle set");
        handle.stop().unwrap();
        Ok(())
    });

    let lp = EventLoop::builder(rx).clock(clock).build();
    *handle_slot.lock().unwrap() = Some(lp.handle());
    lp.run_forever().unwrap();
    let stats = lp.stats();
    assert_eq!((stats.reactor_polls, stats.reactor_waits, stats.notifies), (1, 1, 1));
}

/// A task yielding 1000 times does not enter the reactor on every yield.
/// Without I/O sources the loop never polls while busy; with one, it polls
/// once per `DEFAULT_POLL_INTERVAL` iterations (so sockets are not starved),
/// always with timeout 0. Catches: a poll (a syscall) per iteration, polling
/// without sources, a blocking poll while busy, and starving I/O entirely.
#[test]
fn yield_loop_polls_only_every_poll_interval() {
    const YIELDS: u64 = 1000;

    // No sources: never.
    let lp = EventLoop::builder(MockReactor::new()).clock(VirtualClock::new()).build();
    lp.block_on(async {
        for _ in 0..YIELDS {
            yield_now().await.unwrap();
        }
    })
    .unwrap();
    assert!(lp.reactor().polls().is_empty(), "polled without I/O sources: {:?}", lp.reactor().polls().len());
    assert_eq!(lp.stats().reactor_polls, 0);
    assert!(lp.stats().iterations > YIELDS);

    // One source: once per poll interval, timeout 0, with the yield count at
    // each poll recorded to check the spacing.
    let yields = Arc::new(AtomicU64::new(0));
    let at_poll: Log<(u64, Option<Duration>)> = Arc::default();
    let mut rx = quiet_reactor();
    let (y, record) = (yields.clone(), at_poll.clone());
    rx.expect_poll().times(0..10_000).returning(move |_, timeout| {
        record.lock().unwrap().push((y.load(Ordering::SeqCst), timeout));
        Ok(())
    });
    let lp = EventLoop::builder(rx).clock(VirtualClock::new()).build();
    lp.block_on(async {
        let (a, _b) = UnixStream::pair().unwrap();
        let _source = Async::new(a).unwrap();
        for _ in 0..YIELDS {
            yield_now().await.unwrap();
            yields.fetch_add(1, Ordering::SeqCst);
        }
    })
    .unwrap();
    let at_poll = at_poll.lock().unwrap().clone();
    let interval = u64::from(DEFAULT_POLL_INTERVAL);
    assert!(at_poll.iter().all(|(_, t)| *t == Some(Duration::ZERO)), "{at_poll:?}");
    assert!(at_poll.len() as u64 <= lp.stats().iterations / interval, "{} polls", at_poll.len());
    assert!(at_poll.len() as u64 >= YIELDS / interval - 1, "I/O starved: {} polls", at_poll.len());
    for pair in at_poll.windows(2) {
        assert!(pair[1].0 - pair[0].0 >= interval, "polls closer than the interval: {at_poll:?}");
    }
}

/// L7: timers, sleeps, local wakes and even `call_soon_threadsafe` made on
/// the loop's own thread never call `notify()` (no syscall). Catches a
/// timer registration or local wake that pokes the reactor "to recompute
/// the timeout", as cross-thread runtimes do.
#[test]
fn loop_thread_timers_and_wakes_never_notify() {
    // mockall: notify is `never()`; any call panics inside the loop.
    let mut rx = quiet_reactor();
    rx.expect_poll().times(0..10_000).returning(|_, _| Ok(()));
    let lp = EventLoop::builder(rx).clock(VirtualClock::new()).build();
    let handle = lp.handle();
    lp.block_on(async move {
        let timer = corio_core::call_later(Duration::from_millis(5), || {});
        corio_core::call_later(Duration::from_millis(1), || {});
        corio_core::call_at(corio_core::time(), || {});
        corio_core::call_soon(|| {});
        let sleeper = corio_core::spawn(async { corio_core::sleep(Duration::from_millis(3)).await });
        corio_core::sleep(Duration::from_millis(2)).await.unwrap();
        timer.cancel();
        handle.call_soon_threadsafe(|| {}).unwrap(); // from the loop's own thread
        sleeper.await.unwrap().unwrap();
        corio_core::sleep(Duration::from_millis(10)).await.unwrap();
    })
    .unwrap();
    assert_eq!(lp.stats().notifies, 0);

    // The same program on the backends' MockReactor, counted.
    let lp = EventLoop::builder(MockReactor::new()).clock(VirtualClock::new()).build();
    lp.block_on(async {
        corio_core::call_later(Duration::from_millis(1), || {});
        corio_core::sleep(Duration::from_millis(2)).await.unwrap();
        corio_core::handle().call_soon_threadsafe(|| {}).unwrap();
        corio_core::yield_now().await.unwrap();
    })
    .unwrap();
    assert_eq!((lp.reactor().notifies(), lp.stats().notifies), (0, 0));
}

/// L7: a cross-thread `call_soon_threadsafe` to a *busy* loop costs no
/// notify: the loop is never parked while a task spins on `yield_now`, and
/// it never polls either (no sources). Catches an unconditional notify on
/// every remote post.
#[test]
fn cross_thread_wake_of_a_busy_loop_does_not_notify() {
    // Counted rather than `never()`: a panic on the other thread would leave
    // the loop spinning; the count is checked here instead.
    let notifies = Arc::new(AtomicUsize::new(0));
    let mut rx = MockRx::new();
    let n = notifies.clone();
    rx.expect_notify().returning(move || {
        n.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    rx.expect_poll().never();
    let lp = EventLoop::builder(rx).clock(VirtualClock::new()).build();
    let handle = lp.handle();
    let posted = Arc::new(AtomicBool::new(false));
    let ran = Arc::new(AtomicBool::new(false));
    let (busy_tx, busy_rx) = mpsc::channel::<()>();

    let (p, r) = (posted.clone(), ran.clone());
    let other = std::thread::spawn(move || {
        /// Sets the flag even if this thread panics, so the loop stops spinning.
        struct SetOnDrop(Arc<AtomicBool>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let _posted = SetOnDrop(p);
        busy_rx.recv().unwrap(); // the loop is running the spinning task
        handle.call_soon_threadsafe(move || r.store(true, Ordering::SeqCst)).unwrap();
    });
    let spins = lp
        .block_on(async {
            busy_tx.send(()).unwrap();
            let mut spins = 0u64;
            // Busy until the other thread has posted ...
            while !posted.load(Ordering::SeqCst) {
                yield_now().await.unwrap();
                spins += 1;
            }
            // ... and until the callback has run: it is taken at the next
            // iteration, so a few yields are plenty.
            for _ in 0..10 {
                if ran.load(Ordering::SeqCst) {
                    break;
                }
                yield_now().await.unwrap();
            }
            spins
        })
        .unwrap();
    assert!(ran.load(Ordering::SeqCst), "the posted callback did not run");
    other.join().unwrap();
    // `spins` may be 0: the other thread can post before the task's first
    // check. The loop was busy either way (it never ran out of ready work
    // before the callback ran), which is what the notify count is about.
    let _ = spins;
    assert_eq!(notifies.load(Ordering::SeqCst), 0, "notify() for a loop that was busy");
    assert_eq!(lp.stats().notifies, 0);
    assert_eq!(lp.stats().reactor_polls, 0);
}

/// L7: a cross-thread `call_soon_threadsafe` to a loop *parked* in
/// `poll(None)` calls `notify()` exactly once, and the loop then runs the
/// callback. The mocked poll blocks like a real one — until `notify` — and
/// tells the other thread when it is entered, so the post happens while the
/// loop is parked, without any timing. Catches a missed wake-up (the loop
/// would sleep forever: here the poll gives up after 10 s and the test
/// fails; e.g. mutant `park_flag_cleared_early`) and duplicate notifies.
#[test]
fn cross_thread_wake_of_a_parked_loop_notifies_once() {
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (notify_tx, notify_rx) = mpsc::channel::<()>();
    let notify_rx = Mutex::new(notify_rx);
    let woken = Arc::new(AtomicUsize::new(0));

    let mut rx = MockRx::new();
    rx.expect_notify().times(1).returning(move || {
        notify_tx.send(()).unwrap();
        Ok(())
    });
    let w = woken.clone();
    rx.expect_poll().withf(|_, timeout| timeout.is_none()).times(1).returning(move |_, _| {
        entered_tx.send(()).unwrap();
        if notify_rx.lock().unwrap().recv_timeout(Duration::from_secs(10)).is_ok() {
            w.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    });
    // A real (non-virtual) clock: an idle loop without timers parks instead
    // of reporting a deadlock. No timers, so it is never read.
    let mut clock = MockClk::new();
    clock.expect_now().never();
    clock.expect_is_virtual().return_const(false);

    let lp = EventLoop::builder(rx).clock(clock).build();
    let handle = lp.handle();
    let other = std::thread::spawn(move || {
        entered_rx.recv().unwrap(); // the loop is parked in poll(None)
        handle.call_soon_threadsafe(corio_core::stop).unwrap();
    });
    lp.run_forever().unwrap();
    other.join().unwrap();
    assert_eq!(woken.load(Ordering::SeqCst), 1, "the parked loop was not notified");
    assert_eq!(lp.stats().notifies, 1);
    assert_eq!(lp.stats().callbacks, 1);
}
