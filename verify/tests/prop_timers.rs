//! The timer queue (`TimerQueue`: near level, wheel, overflow) against an
//! executable reference (rules L3, L4, L6).
//!
//! The reference is a `BTreeMap` of the live timers ordered by `(deadline,
//! sequence)`: what fires at a given `now`, and in which order, is its first
//! entries up to `now`. The queue must agree after every operation: fire
//! order (so never early, never late, ties in scheduling order), cancels,
//! `len()`, `contains`, the exact next deadline, and a `next_deadline` lower
//! bound. Deadlines are drawn from every scale: far in the past (centuries,
//! and the earliest instant the platform has), now, nanoseconds to decades
//! ahead on a log scale, centuries ahead, the latest instant there is (what
//! `Duration::MAX` saturates to), bursts nanoseconds or microseconds apart,
//! and ties whose places were reserved out of order (a timeout scope's). Time
//! moves by nanoseconds to centuries at once — across every level of the
//! wheel — or jumps to the next deadline as a virtual clock does.
//!
//! Bugs these properties catch (planted in `verify/mutants.sh`):
//! * `timer_queue_matches_reference`: a wrong order in the near level
//!   (`sorted_run_takes_any`), a cascade that loses a timer
//!   (`wheel_cascade_drops_timer`), a slot filed one tick early
//!   (`wheel_slot_one_tick_early`), ties sorted by deadline alone
//!   (`wheel_sort_ignores_seq`), deadlines counted from the first one with
//!   saturation — issue 25's defect 2 (`origin_first_deadline`); also a
//!   cancelled timer firing, a stale key cancelling the timer that reused its
//!   slot, a miscounted `len()`.
//! * `timer_queue_memory_bounded`: the L6 memory bound under `call_later` +
//!   `cancel` churn behind a live front timer; fails when the purge never
//!   removes what lies behind the front (`skip_timer_purge`).
//!
//! `PROPTEST_CASES` (default here 1024) bounds the run time. Failures are
//! persisted to `verify/proptest-regressions/prop_timers.txt`.

use corio_core::runtime::timers::{TimerKey, TimerQueue, PURGE_MIN_SCHEDULED};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const YEAR: u64 = 365 * 24 * 3600;

/// The earliest and latest instants the platform represents, found once by
/// bisection from a base (on Linux about ±292 billion years around boot).
fn extremes() -> (Instant, Instant) {
    static EXTREMES: OnceLock<(Instant, Instant)> = OnceLock::new();
    *EXTREMES.get_or_init(|| {
        let base = Instant::now();
        let reach = |step: &dyn Fn(Duration) -> Option<Instant>| {
            let (mut lo, mut hi) = (0u128, u128::from(u64::MAX) * 1_000_000_000 + 999_999_999);
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                let d = Duration::new((mid / 1_000_000_000) as u64, (mid % 1_000_000_000) as u32);
                if step(d).is_some() {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            step(Duration::new((lo / 1_000_000_000) as u64, (lo % 1_000_000_000) as u32)).expect("reachable")
        };
        (reach(&|d| base.checked_sub(d)), reach(&|d| base.checked_add(d)))
    })
}

/// A distance on a log scale: 2^bits ns plus a mantissa below it (bits = 0
/// is 0 or 1 ns; 61 bits is about 73 years).
fn log_ns(bits: u8, mantissa: u64) -> Duration {
    let bits = u32::from(bits.min(62));
    Duration::from_nanos((1u64 << bits) | (mantissa & ((1u64 << bits) - 1)))
}

/// A deadline relative to the harness's `now`.
#[derive(Debug, Clone, Copy)]
enum When {
    Now,
    Ahead {
        bits: u8,
        mantissa: u64,
    },
    Past {
        bits: u8,
        mantissa: u64,
    },
    /// Whole years ahead: decades to a millennium (beyond the ±292-year
    /// window of keys).
    YearsAhead(u16),
    YearsPast(u16),
    /// The latest instant there is (`now + Duration::MAX`, saturated).
    Latest,
    /// The earliest instant there is.
    Earliest,
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        3 => Just(When::Now),
        40 => (0u8..=61, any::<u64>()).prop_map(|(bits, mantissa)| When::Ahead { bits, mantissa }),
        // The usual range of a loop's timers: microseconds to minutes.
        30 => (10u8..=36, any::<u64>()).prop_map(|(bits, mantissa)| When::Ahead { bits, mantissa }),
        10 => (0u8..=61, any::<u64>()).prop_map(|(bits, mantissa)| When::Past { bits, mantissa }),
        4 => (1u16..=1000).prop_map(When::YearsAhead),
        2 => (1u16..=1000).prop_map(When::YearsPast),
        2 => Just(When::Latest),
        1 => Just(When::Earliest),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Insert(When),
    /// `count` timers from `start`, `step_ns` apart (0: all ties).
    Burst {
        start: When,
        count: u8,
        step_ns: u32,
    },
    /// `count` places reserved, then timers inserted at one deadline in the
    /// reverse order of their places, with plain inserts between (a timeout
    /// scope reserves on entry and inserts when its body waits).
    ReservedTies {
        at: When,
        count: u8,
    },
    /// Cancels a key picked among every key ever issued: live, fired, or
    /// already cancelled (a stale key must not touch anything).
    Cancel {
        pick: usize,
    },
    /// Cancels up to `count` live timers, starting at a picked one.
    CancelMany {
        pick: usize,
        count: u8,
    },
    /// Moves time forward by a log-scale step and fires every due timer in
    /// one pass (the loop's step).
    Advance {
        bits: u8,
        mantissa: u64,
    },
    /// Moves time forward by whole years.
    AdvanceYears(u16),
    /// Jumps to the exact next deadline, as a virtual clock does, and fires.
    JumpToNext,
    /// Pops at most one due timer.
    PopOne,
    /// The purge step of a loop iteration.
    Purge,
    /// `next_deadline()`: a lower bound of the exact one.
    NextDeadline,
    /// Loop teardown: every timer comes back, and old keys stay dead.
    Drain,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => when().prop_map(Op::Insert),
        5 => (when(), 1u8..=160, prop_oneof![Just(0u32), 1u32..2_000, 1_000u32..5_000_000])
            .prop_map(|(start, count, step_ns)| Op::Burst { start, count, step_ns }),
        3 => (when(), 2u8..=64).prop_map(|(at, count)| Op::ReservedTies { at, count }),
        22 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        5 => (any::<usize>(), 1u8..=160).prop_map(|(pick, count)| Op::CancelMany { pick, count }),
        12 => (0u8..=61, any::<u64>()).prop_map(|(bits, mantissa)| Op::Advance { bits, mantissa }),
        8 => (10u8..=30, any::<u64>()).prop_map(|(bits, mantissa)| Op::Advance { bits, mantissa }),
        2 => (1u16..=400).prop_map(Op::AdvanceYears),
        8 => Just(Op::JumpToNext),
        5 => Just(Op::PopOne),
        12 => Just(Op::Purge),
        5 => Just(Op::NextDeadline),
        1 => Just(Op::Drain),
    ]
}

/// The reference: the live timers in firing order.
#[derive(Default)]
struct Reference {
    /// (deadline, sequence) -> timer id
    order: BTreeMap<(Instant, u64), usize>,
    /// timer id -> its place, while live.
    live: HashMap<usize, (Instant, u64)>,
    next_seq: u64,
}

impl Reference {
    fn reserve(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq - 1
    }

    fn insert(&mut self, when: Instant, seq: u64, id: usize) {
        self.order.insert((when, seq), id);
        self.live.insert(id, (when, seq));
    }

    fn cancel(&mut self, id: usize) -> Option<usize> {
        let place = self.live.remove(&id)?;
        self.order.remove(&place);
        Some(id)
    }

    fn pop_due(&mut self, now: Instant) -> Option<usize> {
        let entry = self.order.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        let id = entry.remove();
        self.live.remove(&id);
        Some(id)
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.order.first_key_value().map(|((when, _), _)| *when)
    }

    fn drain(&mut self) -> Vec<usize> {
        let mut ids: Vec<usize> = self.live.drain().map(|(id, _)| id).collect();
        ids.sort_unstable();
        self.order.clear();
        ids
    }
}

/// The queue under test and the reference, driven in lockstep.
struct Harness {
    queue: TimerQueue<usize>,
    reference: Reference,
    /// Every key ever issued; the index is the timer's id (its value).
    keys: Vec<TimerKey>,
    /// Ids in the order the queue fired them.
    fired: Vec<usize>,
    now: Instant,
}

impl Harness {
    fn new() -> Self {
        Harness {
            queue: TimerQueue::new(),
            reference: Reference::default(),
            keys: Vec::new(),
            fired: Vec::new(),
            now: Instant::now(),
        }
    }

    fn at(&self, when: When) -> Instant {
        let (earliest, latest) = extremes();
        let years = |n: u16| Duration::from_secs(u64::from(n) * YEAR);
        match when {
            When::Now => self.now,
            When::Ahead { bits, mantissa } => self.now.checked_add(log_ns(bits, mantissa)).unwrap_or(latest),
            When::Past { bits, mantissa } => self.now.checked_sub(log_ns(bits, mantissa)).unwrap_or(earliest),
            When::YearsAhead(n) => self.now.checked_add(years(n)).unwrap_or(latest),
            When::YearsPast(n) => self.now.checked_sub(years(n)).unwrap_or(earliest),
            When::Latest => latest,
            When::Earliest => earliest,
        }
    }

    fn insert(&mut self, when: Instant) {
        let id = self.keys.len();
        let key = self.queue.insert(when, id);
        let seq = self.reference.reserve();
        self.keys.push(key);
        self.reference.insert(when, seq, id);
    }

    fn cancel(&mut self, id: usize) -> Result<(), TestCaseError> {
        let key = self.keys[id];
        let expected = self.reference.cancel(id);
        prop_assert_eq!(self.queue.cancel(key), expected, "cancel of timer {}", id);
        prop_assert!(!self.queue.contains(key), "timer {} still scheduled after cancel", id);
        prop_assert!(self.queue.get_mut(key).is_none());
        Ok(())
    }

    fn pop_due(&mut self) -> Result<bool, TestCaseError> {
        let expected = self.reference.pop_due(self.now);
        let got = self.queue.pop_due(self.now);
        if let Some((key, id)) = got {
            prop_assert_eq!(key, self.keys[id], "pop_due returned another timer's key");
            prop_assert!(!self.queue.contains(key));
            self.fired.push(id);
        }
        prop_assert_eq!(got.map(|(_, id)| id), expected, "fire order at {:?} (after {:?})", self.now, self.fired);
        Ok(expected.is_some())
    }

    /// The loop's step: every due timer in one pass, in the reference's order.
    fn fire_due(&mut self) -> Result<(), TestCaseError> {
        let mut got = Vec::new();
        self.queue.fire_due(self.now, |id| got.push(id));
        let expected: Vec<usize> = std::iter::from_fn(|| self.reference.pop_due(self.now)).collect();
        prop_assert_eq!(&got, &expected, "one pass at {:?} (fired before: {:?})", self.now, self.fired);
        for &id in &got {
            prop_assert!(!self.queue.contains(self.keys[id]));
        }
        self.fired.extend(got);
        Ok(())
    }

    fn advance_by(&mut self, by: Duration) -> Result<(), TestCaseError> {
        self.now = self.now.checked_add(by).unwrap_or_else(|| extremes().1);
        self.fire_due()
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Insert(when) => self.insert(self.at(when)),
            Op::Burst { start, count, step_ns } => {
                let start = self.at(start);
                for i in 0..u64::from(count) {
                    let when = start.checked_add(Duration::from_nanos(i * u64::from(step_ns))).unwrap_or(start);
                    self.insert(when);
                }
            }
            Op::ReservedTies { at, count } => {
                let when = self.at(at);
                let places: Vec<(u64, u64)> =
                    (0..count).map(|_| (self.queue.reserve(), self.reference.reserve())).collect();
                for (i, &(place, reference_place)) in places.iter().enumerate().rev() {
                    let id = self.keys.len();
                    let key = self.queue.insert_reserved(when, place, id);
                    self.keys.push(key);
                    self.reference.insert(when, reference_place, id);
                    if i % 3 == 0 {
                        self.insert(when);
                    }
                }
            }
            Op::Cancel { pick } => {
                if !self.keys.is_empty() {
                    self.cancel(pick % self.keys.len())?;
                }
            }
            Op::CancelMany { pick, count } => {
                let mut live: Vec<usize> = self.reference.live.keys().copied().collect();
                live.sort_unstable();
                if !live.is_empty() {
                    let start = pick % live.len();
                    for &id in live.iter().cycle().skip(start).take(usize::from(count).min(live.len())) {
                        self.cancel(id)?;
                    }
                }
            }
            Op::Advance { bits, mantissa } => self.advance_by(log_ns(bits, mantissa))?,
            Op::AdvanceYears(n) => self.advance_by(Duration::from_secs(u64::from(n) * YEAR))?,
            Op::JumpToNext => {
                let next = self.queue.next_deadline_exact();
                prop_assert_eq!(next, self.reference.next_deadline(), "exact next deadline");
                if let Some(next) = next {
                    self.now = self.now.max(next);
                    self.fire_due()?;
                }
            }
            Op::PopOne => {
                self.pop_due()?;
            }
            Op::Purge => {
                let (entries, live) = (self.queue.heap_len(), self.queue.len());
                self.queue.purge();
                if entries > PURGE_MIN_SCHEDULED && (entries - live) * 2 > entries {
                    prop_assert_eq!(self.queue.heap_len(), live, "the rule says rebuild: no stale entry may stay");
                }
                assert_purged_bound(&self.queue)?;
            }
            Op::NextDeadline => {
                let bound = self.queue.next_deadline();
                let exact = self.reference.next_deadline();
                prop_assert_eq!(bound.is_some(), exact.is_some(), "next_deadline {:?}, reference {:?}", bound, exact);
                if let (Some(bound), Some(exact)) = (bound, exact) {
                    prop_assert!(bound <= exact, "next_deadline {:?} is after the next timer's {:?}", bound, exact);
                }
            }
            Op::Drain => {
                let mut got = self.queue.drain();
                got.sort_unstable();
                prop_assert_eq!(got, self.reference.drain());
                // Keys issued before the drain are dead for good: none may
                // name a timer inserted afterwards.
                for &key in &self.keys {
                    prop_assert!(!self.queue.contains(key));
                }
            }
        }
        prop_assert_eq!(self.queue.len(), self.reference.live.len(), "len after {:?}", op);
        prop_assert_eq!(self.queue.is_empty(), self.reference.live.is_empty());
        for &id in self.reference.live.keys() {
            prop_assert!(self.queue.contains(self.keys[id]), "timer {} scheduled but not contained", id);
        }
        prop_assert!(self.queue.heap_len() >= self.queue.len(), "fewer entries than live timers");
        Ok(())
    }

    /// Fires everything left, at the end of time, and checks that every key's
    /// fate matches.
    fn finish(&mut self) -> Result<(), TestCaseError> {
        self.now = extremes().1;
        self.fire_due()?;
        prop_assert!(self.queue.is_empty());
        prop_assert_eq!(self.queue.next_deadline(), None);
        for (id, &key) in self.keys.iter().enumerate() {
            prop_assert!(!self.queue.contains(key), "timer {} outlived every deadline", id);
            prop_assert_eq!(self.queue.cancel(key), None, "stale key {} cancelled something", id);
        }
        self.queue.purge();
        prop_assert!(self.queue.heap_len() <= PURGE_MIN_SCHEDULED, "{} stale entries left", self.queue.heap_len());
        Ok(())
    }
}

/// The L6 bound after a purge, derived from asyncio's rule: either every stale
/// entry was removed, or at most 100 entries are held, or at most half of
/// them are stale — in every case `heap_len <= max(100, 2 * len)`.
fn assert_purged_bound<T>(queue: &TimerQueue<T>) -> Result<(), TestCaseError> {
    let bound = PURGE_MIN_SCHEDULED.max(2 * queue.len());
    prop_assert!(
        queue.heap_len() <= bound,
        "after purge: heap_len {} > max({}, 2 * len {}) — cancelled timers pinned in the queue",
        queue.heap_len(),
        PURGE_MIN_SCHEDULED,
        queue.len()
    );
    Ok(())
}

/// The default config (`PROPTEST_CASES` etc. from the environment), but
/// 1024 cases unless `PROPTEST_CASES` says otherwise, and failures persisted
/// under `verify/proptest-regressions/` unless
/// `PROPTEST_DISABLE_FAILURE_PERSISTENCE` is set (as for mutant runs).
fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 1024;
    }
    if config.failure_persistence.is_some() {
        config.failure_persistence =
            Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/prop_timers.txt")));
    }
    config
}

proptest! {
    #![proptest_config(config())]

    /// Fire order, cancellation, `len()` and next deadlines match the
    /// reference after every operation (L3, L4), and the L6 purge does what
    /// the rule says.
    #[test]
    fn timer_queue_matches_reference(ops in prop::collection::vec(op(), 1..200)) {
        let mut h = Harness::new();
        for op in &ops {
            h.apply(op)?;
        }
        h.finish()?;
    }

    /// Memory stays bounded under `call_later` + `cancel` churn (L6): a live
    /// timer that is not yet due sits at the front, so dropping stale entries
    /// off the front frees nothing; only the purge's full sweep does. The loop
    /// purges once per iteration, so so does this property. The churned timers
    /// lie anywhere from the near level to the top of the wheel.
    #[test]
    fn timer_queue_memory_bounded(
        pin_ms in 400u64..1000,
        rounds in prop::collection::vec((1usize..40, 0usize..=100, any::<u64>(), 0u64..5), 1..60),
    ) {
        let mut h = Harness::new();
        // The pinning timer: earliest deadline, never cancelled, not due.
        h.insert(h.now + Duration::from_millis(pin_ms));
        let mut churn: Vec<usize> = Vec::new();
        for (inserts, cancel_percent, seed, advance_ms) in rounds {
            // One iteration's worth of callbacks: schedule some timers behind
            // the pin, cancel a share of the live ones.
            for i in 0..inserts {
                let id = h.keys.len();
                let behind = log_ns((seed.wrapping_add(i as u64) % 62) as u8, seed.rotate_left(i as u32));
                h.insert(h.now + Duration::from_millis(pin_ms + 1) + behind);
                churn.push(id);
            }
            let cancels = churn.len() * cancel_percent / 100;
            for n in 0..cancels {
                let victim = churn.swap_remove((seed as usize).wrapping_add(n * 7919) % churn.len());
                h.cancel(victim)?;
            }
            h.apply(&Op::Purge)?;
            h.advance_by(Duration::from_millis(advance_ms))?;
        }
        h.finish()?;
    }
}

/// The case that exposes a purge that never sweeps, spelled out: one live
/// timer at the front, 150 cancelled ones behind it.
#[test]
fn timer_queue_memory_bounded_pinned_front() {
    let t0 = Instant::now();
    let mut queue: TimerQueue<u64> = TimerQueue::new();
    queue.insert(t0 + Duration::from_secs(1), 0);
    let keys: Vec<_> =
        (1..=150).map(|i| queue.insert(t0 + Duration::from_secs(3600) + Duration::from_millis(i), i)).collect();
    for key in keys {
        assert!(queue.cancel(key).is_some());
    }
    assert_eq!((queue.len(), queue.heap_len()), (1, 151));
    queue.purge();
    assert_eq!((queue.len(), queue.heap_len()), (1, 1), "purge must sweep a queue that is mostly cancelled");
    // At or below the threshold, only the front is trimmed (asyncio's rule).
    let keys: Vec<_> =
        (1..=99).map(|i| queue.insert(t0 + Duration::from_secs(7200) + Duration::from_millis(i), i)).collect();
    for key in keys {
        queue.cancel(key);
    }
    queue.purge();
    assert_eq!((queue.len(), queue.heap_len()), (1, 100));
}

/// Found by the reference property: `drain()` (loop teardown) used to reset
/// the slab, so a key issued before it named the first timer inserted after
/// it, and cancelling the old key cancelled the new timer.
#[test]
fn timer_keys_stay_dead_after_drain() {
    let t0 = Instant::now();
    let mut queue: TimerQueue<&str> = TimerQueue::new();
    let old = queue.insert(t0, "old");
    assert_eq!(queue.drain(), ["old"]);
    let new = queue.insert(t0, "new");
    assert_ne!(old, new);
    assert!(!queue.contains(old));
    assert_eq!(queue.cancel(old), None, "a key from before the drain cancelled a later timer");
    assert_eq!(queue.pop_due(t0).map(|(_, v)| v), Some("new"));
}

/// issue 25's defect 2, spelled out: a first timer 1000 years away made every
/// later one wrong (counted from it, saturating).
#[test]
fn a_far_first_deadline_leaves_later_ones_exact() {
    let t0 = Instant::now();
    let mut queue: TimerQueue<&str> = TimerQueue::new();
    queue.insert(t0 + Duration::from_secs(1000 * YEAR), "far");
    queue.insert(t0 + Duration::from_millis(100), "sleep");
    assert_eq!(queue.next_deadline_exact(), Some(t0 + Duration::from_millis(100)));
    assert_eq!(queue.pop_due(t0 + Duration::from_micros(10)), None, "a busy loop's next step");
    assert_eq!(queue.pop_due(t0 + Duration::from_millis(100)).map(|(_, v)| v), Some("sleep"));
}

/// `next_deadline` is exact (not just a lower bound) whenever the first wheel
/// slot holds at most 32 entries: a loop parks until the timer, not until the
/// start of its slot. With more, it is the slot's start: early, but never
/// before the queue's present (a loop must not spin). Delays from a
/// microsecond to a century, 1 to 33 timers.
#[test]
fn next_deadline_is_exact_for_a_small_slot_at_any_distance() {
    let t0 = Instant::now();
    for delay_ns in (0..62).map(|shift| 1_000u64 << shift).filter(|&ns| ns < 100 * YEAR * 1_000_000_000) {
        let mut queue: TimerQueue<u64> = TimerQueue::new();
        for i in 0..33 {
            queue.insert(t0 + Duration::from_nanos(delay_ns + 7 * i), i);
        }
        let first = t0 + Duration::from_nanos(delay_ns);
        let bound = queue.next_deadline().expect("33 timers");
        assert!(bound <= first && bound >= t0 - Duration::from_millis(2), "33 timers {delay_ns} ns away: {bound:?}");
        assert_eq!(queue.next_deadline_exact(), Some(first));
        for count in [1u64, 2, 32] {
            let mut queue: TimerQueue<u64> = TimerQueue::new();
            // Spread within a few nanoseconds of each other, inserted latest first.
            for i in (0..count).rev() {
                queue.insert(t0 + Duration::from_nanos(delay_ns + 7 * i), i);
            }
            let first = t0 + Duration::from_nanos(delay_ns);
            assert_eq!(queue.next_deadline(), Some(first), "{count} timers {delay_ns} ns away");
            assert_eq!(queue.next_deadline_exact(), Some(first));
        }
    }
}
