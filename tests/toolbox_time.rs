//! `corio::time::interval` (issue 22): tick instants on the virtual clock for
//! each `MissedTickBehavior`, `reset`, cancel safety of `tick`, the `Stream`,
//! and the bad input (`Duration::ZERO`, `Duration::MAX`).

mod common;

use common::vloop;
use corio::time::{interval, interval_at, MissedTickBehavior, ZeroPeriod};
use corio::{sleep, Cancelled};
use futures_util::StreamExt;
use std::time::{Duration, Instant};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The ticks' offsets from `t0`, in milliseconds.
fn offsets(t0: Instant, ticks: &[Instant]) -> Vec<u128> {
    ticks.iter().map(|t| (*t - t0).as_millis()).collect()
}

#[test]
fn ticks_are_exact_and_the_first_is_at_the_first_poll() {
    vloop()
        .block_on(async {
            let mut iv = interval(secs(2)).unwrap();
            sleep(secs(1)).await?; // made before, first polled now
            let t0 = corio::time();
            let mut ticks = Vec::new();
            for _ in 0..4 {
                ticks.push(iv.tick().await?);
                assert_eq!(corio::time(), *ticks.last().unwrap(), "noticed at the instant it was due");
            }
            assert_eq!(offsets(t0, &ticks), [0, 2000, 4000, 6000]);
            assert_eq!(iv.period(), secs(2));
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

/// Ticks every second, but the consumer is busy 3.5 s after the first tick.
async fn missed(behavior: MissedTickBehavior) -> Vec<u128> {
    missed_after(behavior, 3500).await
}

/// Ticks every second, but the consumer is busy `busy_ms` after the first tick.
async fn missed_after(behavior: MissedTickBehavior, busy_ms: u64) -> Vec<u128> {
    let t0 = corio::time();
    let mut iv = interval_at(t0, secs(1)).unwrap();
    iv.set_missed_tick_behavior(behavior);
    assert_eq!(iv.missed_tick_behavior(), behavior);
    let mut ticks = vec![iv.tick().await.unwrap()];
    sleep(Duration::from_millis(busy_ms)).await.unwrap();
    for _ in 0..4 {
        ticks.push(iv.tick().await.unwrap());
    }
    offsets(t0, &ticks)
}

#[test]
fn missed_ticks_burst_delay_or_skip() {
    vloop()
        .block_on(async {
            // Burst: the missed ticks at 1, 2, 3 fire at once, then the schedule goes on.
            assert_eq!(missed(MissedTickBehavior::Burst).await, [0, 1000, 2000, 3000, 4000]);
            // Delay: one tick now (scheduled for 1 s), the next a period after 3.5 s.
            assert_eq!(missed(MissedTickBehavior::Delay).await, [0, 1000, 4500, 5500, 6500]);
            // Skip: one tick now, then the next instant of the schedule after 3.5 s.
            assert_eq!(missed(MissedTickBehavior::Skip).await, [0, 1000, 4000, 5000, 6000]);
            // Busy exactly until the tick after the missed one: that tick is missed too (due is not ahead).
            assert_eq!(missed_after(MissedTickBehavior::Burst, 2000).await, [0, 1000, 2000, 3000, 4000]);
            assert_eq!(missed_after(MissedTickBehavior::Delay, 2000).await, [0, 1000, 3000, 4000, 5000]);
            assert_eq!(missed_after(MissedTickBehavior::Skip, 2000).await, [0, 1000, 3000, 4000, 5000]);
            // Not busy past the next tick: nothing is missed.
            assert_eq!(missed_after(MissedTickBehavior::Delay, 999).await, [0, 1000, 2000, 3000, 4000]);
            assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Burst);
        })
        .unwrap();
}

#[test]
fn reset_restarts_the_schedule_from_now() {
    vloop()
        .block_on(async {
            let t0 = corio::time();
            let mut iv = interval(secs(10)).unwrap();
            iv.tick().await?;
            sleep(secs(3)).await?;
            iv.reset(); // next at 3 + 10
            let after_reset = iv.tick().await?;
            iv.reset_immediately();
            let immediate = iv.tick().await?;
            iv.reset_after(secs(1));
            let after = iv.tick().await?;
            let at = corio::time() + secs(4);
            iv.reset_at_instant(at);
            let exact = iv.tick().await?;
            assert_eq!(offsets(t0, &[after_reset, immediate, after, exact]), [13000, 13000, 14000, 18000]);
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn a_dropped_tick_loses_nothing() {
    vloop()
        .block_on(async {
            let t0 = corio::time();
            let mut iv = interval(secs(5)).unwrap();
            iv.tick().await?;
            // A select! loses the tick to a 2 s sleep three times over.
            for _ in 0..2 {
                corio::select! {
                    biased;
                    _ = sleep(secs(2)) => {},
                    _ = iv.tick() => panic!("not due yet"),
                }
            }
            let due = iv.tick().await?;
            assert_eq!(offsets(t0, &[due, corio::time()]), [5000, 5000], "the same tick, on time");
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn a_cancelled_tick_is_an_error_and_the_next_one_waits_for_the_same_instant() {
    vloop()
        .block_on(async {
            let t0 = corio::time();
            let task = corio::spawn(async move {
                let mut iv = interval(secs(4)).unwrap();
                iv.tick().await?;
                let err = iv.tick().await.unwrap_err(); // cancelled at 1 s
                assert!(err.message().is_none());
                let again = iv.tick().await?;
                Ok::<_, Cancelled>(again)
            });
            sleep(secs(1)).await?;
            task.cancel();
            let again = task.await.unwrap()?;
            assert_eq!(offsets(t0, &[again, corio::time()]), [4000, 4000]);
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn the_stream_yields_ticks() {
    vloop()
        .block_on(async {
            let t0 = corio::time();
            let iv = interval(Duration::from_millis(250)).unwrap();
            let ticks: Vec<Instant> = iv.take(5).map(Result::unwrap).collect().await;
            assert_eq!(offsets(t0, &ticks), [0, 250, 500, 750, 1000]);
        })
        .unwrap();
}

#[test]
fn bad_periods_zero_is_an_error_and_max_never_ticks_twice() {
    assert_eq!(interval(Duration::ZERO).unwrap_err(), ZeroPeriod);
    assert_eq!(
        interval_at(Instant::now(), Duration::ZERO).unwrap_err().to_string(),
        "an interval needs a period greater than zero"
    );
    vloop()
        .block_on(async {
            let mut iv = interval(Duration::MAX).unwrap();
            iv.tick().await?;
            let second = corio::select! {
                _ = iv.tick() => "ticked",
                // Fifty years: a sleep beyond 2^31 s (68 years) never ends by
                // itself (docs/semantics.md, timers).
                _ = sleep(secs(3600 * 24 * 365 * 50)) => "fifty years passed",
            };
            assert_eq!(second, "fifty years passed");
            // A period just short of the clock's range also works.
            let mut iv = interval(secs(u64::MAX / 4)).unwrap();
            iv.tick().await?;
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn a_tick_already_due_completes_in_the_poll_that_finds_it() {
    use futures_util::FutureExt;
    vloop()
        .block_on(async {
            let mut iv = interval(secs(1)).unwrap();
            let first = iv.tick().now_or_never().expect("the first tick is due at once: no timer, no yield")?;
            assert!(iv.tick().now_or_never().is_none(), "the second waits a period");
            sleep(secs(1)).await?;
            assert_eq!(iv.tick().now_or_never().expect("due exactly now")?, first + secs(1));
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}

#[test]
fn an_interval_shows_its_period_next_tick_and_behavior() {
    vloop()
        .block_on(async {
            let mut iv = interval(secs(2)).unwrap();
            let fresh = "Interval { period: 2s, next: None, missed_tick_behavior: Burst }";
            assert_eq!(format!("{iv:?}"), fresh, "the first tick is fixed at the first poll");
            assert_eq!(format!("{:?}", iv.tick()), format!("Tick {{ interval: {fresh} }}"));
            let first = iv.tick().await?;
            iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let next = first + secs(2);
            let shown = format!("Interval {{ period: 2s, next: Some(Some({next:?})), missed_tick_behavior: Skip }}");
            assert_eq!(format!("{iv:?}"), shown);
            let mut never = interval(Duration::MAX).unwrap();
            never.tick().await?;
            assert!(format!("{never:?}").contains("next: Some(None)"), "{never:?}: the next tick never comes");
            Ok::<_, Cancelled>(())
        })
        .unwrap()
        .unwrap();
}
