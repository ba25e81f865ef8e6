//! A delay beyond the clock's range (`Duration::MAX`) means "never" at every
//! entry point that turns a delay into a deadline — never a panic, never an
//! abort, and never a timer that breaks the others. Virtual clock.
//! (`sleep`, `timeout` and `wait_for` saturated already; they are checked
//! here beside the rest.)

use corio::clock::VirtualClock;
use corio::runtime::EventLoop;
use corio::CancelScope;
use corio_backends::mock::{NetConfig, SimListener, SimNet, SimStream, Simulation};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

mod common;
use common::vloop;

/// Runs `body` and checks that a timer set after it still fires on time:
/// whatever the far deadline did, the loop's other timers are unaffected.
fn then_a_short_timer_fires_on_time(lp: &EventLoop<corio::DefaultReactor, VirtualClock>) {
    let start = lp.clock().elapsed();
    lp.block_on(corio::sleep(Duration::from_millis(100))).unwrap().unwrap();
    assert_eq!(lp.clock().elapsed() - start, Duration::from_millis(100));
}

#[test]
fn free_call_later_with_duration_max_never_runs() {
    let lp = vloop();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let handle = lp
        .block_on(async move {
            let handle = corio::call_later(Duration::MAX, move || r.set(true));
            assert!(handle.when() > corio::time() + Duration::from_secs(1 << 40), "due at the end of time");
            corio::sleep(Duration::from_secs(3600)).await.unwrap();
            handle
        })
        .unwrap();
    assert!(!ran.get());
    assert!(!handle.cancelled());
    handle.cancel();
    assert!(handle.cancelled());
    then_a_short_timer_fires_on_time(&lp);
    assert!(!ran.get());
}

#[test]
fn event_loop_call_later_with_duration_max_never_runs() {
    let lp = vloop();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let handle = lp.call_later(Duration::MAX, move || r.set(true));
    then_a_short_timer_fires_on_time(&lp);
    assert!(!ran.get());
    handle.cancel();
    assert!(handle.cancelled());
}

#[test]
fn call_at_the_latest_instant_a_handle_reports_is_accepted() {
    // `call_at` takes an instant, so it cannot overflow itself; the latest
    // one a "never" handle reports is accepted like any other timer (how the
    // timer queue keeps such a deadline beside near ones is its own test's
    // affair, verify/tests/prop_timers.rs).
    let lp = vloop();
    let never = lp.call_later(Duration::MAX, || {});
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let at = lp.call_at(never.when(), move || r.set(true));
    assert_eq!(at.when(), never.when());
    at.cancel();
    never.cancel();
    assert!(at.cancelled() && never.cancelled());
    lp.block_on(corio::sleep(Duration::from_secs(1))).unwrap().unwrap();
    assert!(!ran.get());
}

#[test]
fn move_on_after_duration_max_lets_the_body_finish() {
    let lp = vloop();
    let out = lp.block_on(corio::move_on_after(Duration::MAX, async {
        corio::sleep(Duration::from_secs(5)).await.unwrap();
        7
    }));
    assert_eq!(out.unwrap(), Some(7));
    assert_eq!(lp.clock().elapsed(), Duration::from_secs(5));
    then_a_short_timer_fires_on_time(&lp);
}

#[test]
fn fail_after_duration_max_lets_the_body_finish() {
    let lp = vloop();
    let out = lp.block_on(corio::fail_after(Duration::MAX, async {
        corio::sleep(Duration::from_secs(5)).await.unwrap();
        7
    }));
    assert_eq!(out.unwrap(), Ok(7));
    then_a_short_timer_fires_on_time(&lp);
}

#[test]
fn cancel_scope_with_timeout_duration_max_has_no_deadline() {
    let lp = vloop();
    let scope = CancelScope::with_timeout(Duration::MAX);
    let s = scope.clone();
    let out = lp.block_on(async move {
        s.run(async {
            corio::sleep(Duration::from_secs(5)).await.unwrap();
            7
        })
        .await
    });
    assert_eq!(out.unwrap(), Some(7));
    assert!(!scope.cancel_called());
    assert_eq!(scope.deadline(), None, "a deadline beyond the clock's range is none");
    then_a_short_timer_fires_on_time(&lp);
}

#[test]
fn shutdown_with_a_grace_of_duration_max_waits_for_the_cleanup() {
    let lp = vloop();
    let cleaned = Rc::new(Cell::new(false));
    let c = cleaned.clone();
    lp.spawn(async move {
        let cancelled = corio::sleep(Duration::from_secs(3600)).await.unwrap_err();
        corio::sleep(Duration::from_secs(10)).await.ok(); // cleanup takes a while
        c.set(true);
        Err::<(), _>(cancelled)
    })
    .detach();
    lp.block_on(corio::yield_now()).unwrap().unwrap();
    lp.shutdown(Duration::MAX).unwrap();
    assert!(cleaned.get());
    assert_eq!(lp.clock().elapsed(), Duration::from_secs(10));
}

#[test]
fn sleep_timeout_and_wait_for_with_duration_max_saturate() {
    let lp = vloop();
    lp.block_on(async {
        let out = corio::timeout(Duration::MAX).run(corio::sleep(Duration::from_secs(1))).await;
        assert!(matches!(out, Ok(Ok(()))));
        let out = corio::wait_for(Duration::MAX, corio::sleep(Duration::from_secs(1))).await;
        assert!(matches!(out, Ok(Ok(()))));
        let sleeper = corio::spawn(corio::sleep(Duration::MAX));
        corio::sleep(Duration::from_secs(1)).await.unwrap();
        assert!(!sleeper.done());
        sleeper.abort();
    })
    .unwrap();
    assert_eq!(lp.clock().elapsed(), Duration::from_secs(3));
    then_a_short_timer_fires_on_time(&lp);
}

#[test]
fn virtual_clock_advance_by_duration_max_saturates() {
    let clock = VirtualClock::new();
    clock.advance(Duration::MAX);
    let far = clock.elapsed();
    assert!(far >= Duration::from_secs(500 * 365 * 24 * 3600), "{far:?}");
    clock.advance(Duration::from_nanos(1));
    assert_eq!(clock.elapsed(), far, "time never goes backwards");
    clock.advance(Duration::MAX);
    assert_eq!(clock.elapsed(), far);
}

#[test]
fn a_simulated_network_with_latency_duration_max_never_delivers() {
    Simulation::new(1).run(|lp| {
        let net = SimNet::new(lp.reactor(), 1, NetConfig::default());
        let addr = "127.0.0.1:8080".parse().unwrap();
        let n = net.clone();
        lp.block_on(async move {
            let _listener = SimListener::bind(&n, addr).unwrap();
            n.set_config(NetConfig::default().latency(Duration::MAX).jitter(Duration::from_millis(1)));
            let connect = corio::spawn(async move { SimStream::connect(&n, addr).await.map(|_| ()) });
            corio::sleep(Duration::from_secs(3600)).await.unwrap();
            assert!(!connect.done(), "the SYN is still on its way");
            connect.abort();
        })
        .unwrap();
    });
}

#[test]
fn park_reactor_poll_with_a_timeout_of_duration_max_waits_without_a_limit() {
    use corio::reactor::{ParkReactor, Reactor};
    // The reactor's park turns the loop's timeout into a deadline; a
    // notification already pending ends the wait at once.
    let reactor = ParkReactor::new();
    reactor.notify().unwrap();
    let mut events = Vec::new();
    reactor.poll(&mut events, Some(Duration::MAX)).unwrap();
    assert!(events.is_empty());
}
