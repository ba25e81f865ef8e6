//! Deadlines anywhere (rules L3, L4 at every scale): far, past, extreme and
//! far apart, on the loop, on the virtual clock. The timer queue itself is
//! checked against a reference in `verify/tests/prop_timers.rs`; these tests
//! show what a user sees.

use corio::sleep;
use futures_util::FutureExt;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

mod common;
use common::{push, trace, vloop, Out};

const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);
const MS: Duration = Duration::from_millis(1);

/// issue 25, defect 2: the queue used to count every deadline from the first
/// one it saw, so after a timer 1000 years away a 100 ms sleep never woke (the
/// virtual clock ran out at 584 years instead).
#[test]
fn a_far_first_timer_does_not_delay_a_later_sleep() {
    let lp = vloop();
    let slept = lp
        .block_on(async {
            let far = corio::call_later(1000 * YEAR, || unreachable!("a thousand years later"));
            let t0 = corio::time();
            sleep(100 * MS).await.unwrap();
            far.cancel();
            corio::time() - t0
        })
        .unwrap();
    assert_eq!(slept, 100 * MS);
}

/// The busy-loop face of the same defect: `sleep(2 s)` returned in the next
/// iteration, as if due at once. A task that yields keeps the loop busy, so
/// the virtual clock stands still until it stops; only then may the sleep end,
/// at exactly 2 s.
#[test]
fn a_far_first_timer_does_not_hurry_a_sleep_on_a_busy_loop() {
    let lp = vloop();
    let (slept, woke_while_busy) = lp
        .block_on(async {
            let far = corio::call_later(1000 * YEAR, || unreachable!("a thousand years later"));
            let t0 = corio::time();
            let sleeper = corio::spawn(async move {
                sleep(2 * 1000 * MS).await.unwrap();
                corio::time() - t0
            });
            let mut woke_while_busy = false;
            for _ in 0..1000 {
                corio::yield_now().await.unwrap();
                woke_while_busy |= sleeper.done();
            }
            let slept = sleeper.await.unwrap();
            far.cancel();
            (slept, woke_while_busy)
        })
        .unwrap();
    assert!(!woke_while_busy, "the sleep ended while no time had passed");
    assert_eq!(slept, 2000 * MS);
}

/// Timers a microsecond to a century apart, scheduled latest first, fire in
/// deadline order, each at exactly its deadline on the virtual clock.
#[test]
fn deadlines_from_microseconds_to_centuries_fire_in_order_and_on_time() {
    let delays = [
        100 * YEAR,
        3 * YEAR,
        Duration::from_secs(40 * 24 * 3600),
        Duration::from_secs(3 * 3600),
        Duration::from_secs(70),
        Duration::from_millis(1500),
        Duration::from_millis(65),
        Duration::from_micros(1100),
        Duration::from_micros(1),
    ];
    let lp = vloop();
    let out: Out = Rc::default();
    let fired: Rc<RefCell<Vec<Duration>>> = Rc::default();
    let t0 = lp.time();
    for (i, &d) in delays.iter().enumerate() {
        let (o, f) = (out.clone(), fired.clone());
        lp.call_later(d, move || {
            push(&o, format!("t{i}"));
            f.borrow_mut().push(corio::time() - t0);
        });
    }
    lp.call_later(101 * YEAR, corio::stop);
    lp.run_forever().unwrap();
    assert_eq!(trace(&out), "t8 t7 t6 t5 t4 t3 t2 t1 t0");
    let mut expected = delays.to_vec();
    expected.reverse();
    assert_eq!(*fired.borrow(), expected, "each fired at exactly its deadline");
}

/// Past deadlines, near and absurdly far, run in the next iteration, in
/// deadline order (then scheduling order), before anything due later.
#[test]
fn past_deadlines_run_next_iteration_in_deadline_order() {
    let lp = vloop();
    let out: Out = Rc::default();
    let now = lp.time();
    let mut past = vec![(now, "now"), (now - MS, "1ms-ago"), (now - Duration::from_secs(3600), "1h-ago")];
    // An instant centuries before the clock's start, where the platform has one.
    if let Some(ancient) = now.checked_sub(400 * YEAR) {
        past.push((ancient, "400y-ago"));
    }
    past.push((now - MS, "1ms-ago-again"));
    for (when, name) in past.iter().cloned() {
        let o = out.clone();
        lp.call_at(when, move || push(&o, name));
    }
    let o = out.clone();
    lp.call_later(MS, move || push(&o, "later"));
    lp.call_later(2 * MS, corio::stop);
    lp.run_forever().unwrap();
    let ancient = if now.checked_sub(400 * YEAR).is_some() { "400y-ago " } else { "" };
    assert_eq!(trace(&out), format!("{ancient}1h-ago 1ms-ago 1ms-ago-again now later"));
}

/// A burst: a thousand timers within half a millisecond (one or two of the
/// wheel's ticks, each sorted as a batch), scheduled in scrambled order, fire
/// in deadline order, each at its own instant.
#[test]
fn a_burst_within_one_millisecond_fires_in_deadline_order() {
    let lp = vloop();
    let fired: Rc<RefCell<Vec<(u64, Instant)>>> = Rc::default();
    let base = lp.time() + 10 * MS;
    let offset = |i: u64| (i * 7919 % 1000) * 500; // ns, distinct for i < 1000
    for i in 0..1000 {
        let f = fired.clone();
        lp.call_at(base + Duration::from_nanos(offset(i)), move || {
            f.borrow_mut().push((offset(i), corio::time()));
        });
    }
    lp.call_at(base + MS, corio::stop);
    lp.run_forever().unwrap();
    let fired = fired.borrow();
    assert_eq!(fired.len(), 1000);
    assert!(fired.windows(2).all(|pair| pair[0].0 < pair[1].0), "not in deadline order");
    assert!(fired.iter().all(|&(ns, at)| at == base + Duration::from_nanos(ns)), "a timer fired off its instant");
}

/// Rule L3 across the wheel's levels: timers for one instant, scheduled while
/// it was years, hours, seconds and microseconds away, fire in the order they
/// were scheduled.
#[test]
fn equal_deadlines_keep_scheduling_order_whatever_the_distance_when_scheduled() {
    let lp = vloop();
    let out: Out = Rc::default();
    let at = lp.time() + 2 * YEAR;
    let steps = [YEAR, YEAR - Duration::from_secs(3600), Duration::from_secs(3599), Duration::from_micros(999_999)];
    let (o, l) = (out.clone(), &lp);
    lp.block_on(async move {
        for (i, step) in steps.iter().enumerate() {
            let o = o.clone();
            l.call_at(at, move || push(&o, format!("s{i}")));
            sleep(*step).await.unwrap();
        }
        let o2 = o.clone();
        l.call_at(at, move || push(&o2, "last"));
        sleep(at - corio::time() + MS).await.unwrap();
        assert_eq!(corio::time(), at + MS);
    })
    .unwrap();
    assert_eq!(trace(&out), "s0 s1 s2 s3 last");
}

/// `Duration::MAX` sleeps and timeouts wait (a delay that far never comes),
/// and do not disturb the timers around them.
#[test]
fn duration_max_waits_and_disturbs_nothing() {
    let lp = vloop();
    let out = lp
        .block_on(async {
            let forever = corio::spawn(async { sleep(Duration::MAX).await });
            let t0 = corio::time();
            corio::yield_now().await.unwrap(); // the forever sleep registers
            let timed_out = corio::timeout(Duration::MAX).run(sleep(3 * MS)).await;
            let after = corio::time() - t0;
            assert!(!forever.done());
            forever.cancel();
            (timed_out, after)
        })
        .unwrap();
    assert_eq!(out, (Ok(Ok(())), 3 * MS));
}

/// A sleep longer than a deadline can hold (about 68 years) never ends
/// early: the virtual clock passes 68 years and it still sleeps.
#[test]
fn a_sleep_beyond_68_years_is_not_cut_short() {
    let lp = vloop();
    lp.block_on(async {
        let t0 = corio::time();
        let century = corio::spawn(sleep(100 * YEAR));
        let until = corio::spawn(corio::sleep_until(corio::time() + 100 * YEAR));
        corio::yield_now().await.unwrap(); // both register (or not)
                                           // 70 years by a callback timer, whose deadline is an exact `Instant`.
        let later = corio::Completion::new();
        let set = later.clone();
        corio::call_later(70 * YEAR, move || drop(set.set_result(())));
        later.wait().await.unwrap();
        assert!(corio::time() - t0 >= 70 * YEAR);
        assert!(!century.done() && !until.done(), "a 100-year sleep ended before 70 years");
        century.cancel();
        until.cancel();
    })
    .unwrap();
}

/// A virtual clock moved by hand across several wheel levels at once fires
/// everything it passed, in order, and nothing beyond.
#[test]
fn a_clock_moved_by_hand_fires_what_it_passed_in_order() {
    let clock = corio::clock::VirtualClock::new();
    let lp = corio::builder().clock(clock.clone()).build().unwrap();
    let out: Out = Rc::default();
    for (d, name) in [(YEAR, "year"), (Duration::from_secs(90), "90s"), (MS, "1ms"), (Duration::from_secs(7200), "2h")]
    {
        let o = out.clone();
        lp.call_later(d, move || push(&o, name));
    }
    let (o, c) = (out.clone(), clock.clone());
    lp.call_soon(move || {
        c.advance(Duration::from_secs(7200)); // past 1ms, 90s and 2h; not the year
        push(&o, "jumped");
    });
    let o = out.clone();
    lp.call_later(Duration::from_secs(7201), move || {
        push(&o, "check");
        corio::stop();
    });
    let started = Instant::now();
    lp.run_forever().unwrap();
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(trace(&out), "jumped 1ms 90s 2h check");
}

#[test]
fn a_sleep_shows_its_deadline_and_timer_at_every_step() {
    // What `{:?}` of a sleep prints is the deadline it keeps: the delay (saturated at 2^31 s), the instant (before
    // or after any reference point, exact to the nanosecond), whether a timer is registered, and whether it yielded
    // or is done.
    let shows = |s: &corio::time::Sleep, what: &str| {
        let debug = format!("{s:?}");
        assert!(debug.contains(what), "{debug} should show {what}");
    };
    let lp = vloop();
    lp.block_on(async {
        let d = Duration::new(3600, 123_456_789);
        let mut s = sleep(d);
        shows(&s, "phase: After(3600.123456789s), timer: None");
        let longest = Duration::new((1 << 31) - 1, 999_999_999);
        shows(&sleep(Duration::MAX), &format!("phase: After({longest:?}), timer: None"));
        shows(&sleep(longest), &format!("phase: After({longest:?}), timer: None"));
        let shorter = longest - Duration::from_nanos(1);
        shows(&sleep(shorter), &format!("phase: After({shorter:?}), timer: None"));
        shows(&sleep(Duration::ZERO), "phase: After(0ns), timer: None");
        let now = corio::time();
        for instant in [now, now + d, now - Duration::from_millis(1), now + Duration::from_nanos(1), now - d] {
            shows(&corio::sleep_until(instant), &format!("phase: At({instant:?}), timer: None"));
        }

        assert!((&mut s).now_or_never().is_none(), "polled once (with a no-op waker): it waits");
        shows(&s, "phase: After(3600.123456789s), timer: Some(");
        (&mut s).await?;
        assert_eq!(corio::time() - now, d);
        shows(&s, "phase: Done, timer: None");

        let mut past = corio::sleep_until(now - d);
        assert!((&mut past).now_or_never().is_none(), "a past deadline yields once");
        shows(&past, "phase: Yielded, timer: None");
        assert!((&mut past).now_or_never().is_some());
        shows(&past, "phase: Done, timer: None");

        // A sleep beyond reach registers nothing and stays pending however often it is polled; a dropped sleep
        // takes its timer with it.
        let mut never = sleep(Duration::MAX);
        for _ in 0..3 {
            assert!((&mut never).now_or_never().is_none());
        }
        shows(&never, &format!("phase: After({longest:?}), timer: None"));
        let mut dropped = sleep(d);
        assert!((&mut dropped).now_or_never().is_none());
        assert_eq!(lp.timer_count(), 1);
        drop(dropped);
        assert_eq!(lp.timer_count(), 0, "a dropped sleep's timer goes with it");

        // A cancelled sleep gives its timer back at once, not when the future is dropped.
        let held = corio::spawn(async move {
            let mut s = sleep(d);
            let cancelled = (&mut s).await.is_err();
            corio::yield_now().await.ok(); // the sleep is still held here
            (cancelled, format!("{s:?}"))
        });
        corio::yield_now().await?;
        assert_eq!(lp.timer_count(), 1);
        held.cancel();
        corio::yield_now().await?;
        assert_eq!(lp.timer_count(), 0, "the cancelled sleep's timer is gone while the sleep is still held");
        let (cancelled, debug) = held.await.unwrap();
        assert!(cancelled);
        assert!(debug.contains("phase: Done, timer: None"), "{debug}");
        Ok::<_, corio::Cancelled>(())
    })
    .unwrap()
    .unwrap();
}
