//! The timer heap (`TimerQueue`) against an executable reference (rules L3,
//! L6).
//!
//! The reference keeps every heap entry — live or cancelled — in a `BTreeMap`
//! ordered by `(deadline, insertion sequence)`, and applies asyncio's purge
//! rule literally (`_run_once`: rebuild when more than
//! `_MIN_SCHEDULED_TIMER_HANDLES` = 100 entries are scheduled and more than
//! half of them are cancelled, else pop cancelled entries off the front). So
//! it predicts not only what fires and in which order, but also exactly how
//! many entries the heap holds after every operation.
//!
//! Bugs these properties catch:
//! * `timer_heap_matches_reference`: a wrong heap order (ties not by
//!   insertion, `>=` vs `>` for "due"), a cancelled timer firing, a stale key
//!   cancelling the timer that reused its slot, a miscounted `len()`, a purge
//!   that rebuilds too early/late or never (`skip_timer_purge`).
//! * `timer_heap_memory_bounded`: the L6 memory bound itself, under
//!   `call_later` + `cancel` churn behind a live front timer; fails when the
//!   purge rebuild is skipped (mutant `skip_timer_purge`).
//!
//! `PROPTEST_CASES` (default here 1024) bounds the run time. Failures are persisted
//! to `verify/proptest-regressions/prop_timers.txt`.

use corio_core::runtime::timers::{TimerKey, TimerQueue, PURGE_MIN_SCHEDULED};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// How far in the past an insert may land (a deadline already due).
const PAST_MS: u64 = 50;

#[derive(Debug, Clone)]
enum Op {
    /// One timer at `now + offset_ms - PAST_MS`.
    Insert { offset_ms: u16 },
    /// `count` timers from `now + offset_ms - PAST_MS`, `step_ms` apart (a
    /// step of 0 makes them all ties).
    InsertMany { count: u8, offset_ms: u16, step_ms: u8 },
    /// Cancels a key picked among every key ever issued: live, fired, or
    /// already cancelled (a stale key must not touch anything).
    Cancel { pick: usize },
    /// Cancels up to `count` live timers, starting at a picked one.
    CancelMany { pick: usize, count: u8 },
    /// Moves time forward and pops every due timer (a loop iteration's
    /// "fire due timers" step).
    Advance { ms: u16 },
    /// Pops at most one due timer.
    PopOne,
    /// The purge step of a loop iteration.
    Purge,
    /// `next_deadline()` (which also drops stale entries off the front).
    NextDeadline,
    /// Loop teardown: every timer comes back, and old keys stay dead.
    Drain,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (0u16..400).prop_map(|offset_ms| Op::Insert { offset_ms }),
        6 => (1u8..=160, 0u16..400, 0u8..4)
            .prop_map(|(count, offset_ms, step_ms)| Op::InsertMany { count, offset_ms, step_ms }),
        25 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        6 => (any::<usize>(), 1u8..=160).prop_map(|(pick, count)| Op::CancelMany { pick, count }),
        12 => (0u16..120).prop_map(|ms| Op::Advance { ms }),
        5 => Just(Op::PopOne),
        15 => Just(Op::Purge),
        4 => Just(Op::NextDeadline),
        1 => Just(Op::Drain),
    ]
}

/// The reference: every heap entry, live or stale, in firing order.
#[derive(Default)]
struct Reference {
    /// (deadline, sequence) -> (timer id, live)
    entries: BTreeMap<(Instant, u64), (usize, bool)>,
    /// timer id -> its entry's position, while live.
    live: HashMap<usize, (Instant, u64)>,
    stale: usize,
    next_seq: u64,
}

impl Reference {
    fn insert(&mut self, when: Instant, id: usize) {
        let pos = (when, self.next_seq);
        self.next_seq += 1;
        self.entries.insert(pos, (id, true));
        self.live.insert(id, pos);
    }

    fn cancel(&mut self, id: usize) -> Option<usize> {
        let pos = self.live.remove(&id)?;
        self.entries.get_mut(&pos).expect("live entry").1 = false;
        self.stale += 1;
        Some(id)
    }

    fn pop_stale_front(&mut self) {
        while let Some(entry) = self.entries.first_entry() {
            if entry.get().1 {
                break;
            }
            entry.remove();
            self.stale -= 1;
        }
    }

    /// asyncio's `_run_once` purge, literally.
    fn purge(&mut self) {
        let scheduled = self.entries.len();
        if scheduled > PURGE_MIN_SCHEDULED && self.stale * 2 > scheduled {
            self.entries.retain(|_, (_, live)| *live);
            self.stale = 0;
        } else {
            self.pop_stale_front();
        }
    }

    fn pop_due(&mut self, now: Instant) -> Option<usize> {
        self.pop_stale_front();
        let entry = self.entries.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        let (id, _) = entry.remove();
        self.live.remove(&id);
        Some(id)
    }

    fn next_deadline(&mut self) -> Option<Instant> {
        self.pop_stale_front();
        self.entries.first_key_value().map(|((when, _), _)| *when)
    }

    fn drain(&mut self) -> Vec<usize> {
        let mut ids: Vec<usize> = self.live.drain().map(|(id, _)| id).collect();
        ids.sort_unstable();
        self.entries.clear();
        self.stale = 0;
        ids
    }

    fn len(&self) -> usize {
        self.live.len()
    }

    fn heap_len(&self) -> usize {
        self.entries.len()
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
    /// Check `heap_len()` against the reference after every operation (off
    /// where a property checks only the L6 bound).
    exact_heap: bool,
}

impl Harness {
    fn new() -> Self {
        Harness {
            queue: TimerQueue::new(),
            reference: Reference::default(),
            keys: Vec::new(),
            fired: Vec::new(),
            // Leave room below `now` for deadlines in the past.
            now: Instant::now() + Duration::from_secs(1),
            exact_heap: true,
        }
    }

    fn at(&self, offset_ms: u64) -> Instant {
        self.now + Duration::from_millis(offset_ms) - Duration::from_millis(PAST_MS)
    }

    fn insert(&mut self, when: Instant) {
        let id = self.keys.len();
        let key = self.queue.insert(when, id);
        self.keys.push(key);
        self.reference.insert(when, id);
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
        prop_assert_eq!(got.map(|(_, id)| id), expected, "fire order (after {:?})", self.fired);
        Ok(expected.is_some())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Insert { offset_ms } => self.insert(self.at(offset_ms.into())),
            Op::InsertMany { count, offset_ms, step_ms } => {
                for i in 0..u64::from(count) {
                    self.insert(self.at(u64::from(offset_ms) + i * u64::from(step_ms)));
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
            Op::Advance { ms } => {
                self.now += Duration::from_millis(ms.into());
                while self.pop_due()? {}
            }
            Op::PopOne => {
                self.pop_due()?;
            }
            Op::Purge => {
                self.queue.purge();
                self.reference.purge();
            }
            Op::NextDeadline => {
                prop_assert_eq!(self.queue.next_deadline(), self.reference.next_deadline());
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
        prop_assert_eq!(self.queue.len(), self.reference.len(), "len after {:?}", op);
        prop_assert_eq!(self.queue.is_empty(), self.reference.len() == 0);
        if self.exact_heap {
            prop_assert_eq!(self.queue.heap_len(), self.reference.heap_len(), "heap_len after {:?}", op);
        }
        Ok(())
    }

    /// Fires everything left and checks that every key's fate matches.
    fn finish(&mut self) -> Result<(), TestCaseError> {
        self.now += Duration::from_secs(3600);
        while self.pop_due()? {}
        prop_assert!(self.queue.is_empty());
        for (id, &key) in self.keys.iter().enumerate() {
            prop_assert!(!self.queue.contains(key), "timer {} outlived every deadline", id);
            prop_assert_eq!(self.queue.cancel(key), None, "stale key {} cancelled something", id);
        }
        prop_assert_eq!(self.queue.heap_len(), 0, "stale entries left after firing everything");
        Ok(())
    }
}

/// The L6 bound after a purge, derived from asyncio's rule: either the heap
/// was rebuilt (no stale entry left), or it holds at most 100 entries, or at
/// most half of it is stale — in every case `heap_len <= max(100, 2 * len)`.
fn assert_purged_bound<T>(queue: &TimerQueue<T>) -> Result<(), TestCaseError> {
    let bound = PURGE_MIN_SCHEDULED.max(2 * queue.len());
    prop_assert!(
        queue.heap_len() <= bound,
        "after purge: heap_len {} > max({}, 2 * len {}) — cancelled timers pinned in the heap",
        queue.heap_len(),
        PURGE_MIN_SCHEDULED,
        queue.len()
    );
    Ok(())
}

/// The default config (`PROPTEST_CASES` etc. from the environment), but
/// 1024 cases unless `PROPTEST_CASES` says otherwise (a case costs tens of
/// microseconds), and failures persisted under `verify/proptest-regressions/`
/// unless `PROPTEST_DISABLE_FAILURE_PERSISTENCE` is set (as for mutant runs).
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

    /// Fire order, cancellation, `len()` and the exact heap size match the
    /// reference after every operation (L3, L6).
    #[test]
    fn timer_heap_matches_reference(ops in prop::collection::vec(op(), 1..200)) {
        let mut h = Harness::new();
        for op in &ops {
            h.apply(op)?;
            if matches!(op, Op::Purge) {
                assert_purged_bound(&h.queue)?;
            }
        }
        h.finish()?;
    }

    /// Memory stays bounded under `call_later` + `cancel` churn (L6): a live
    /// timer that is not yet due sits at the front of the heap, so popping
    /// stale entries off the front frees nothing; only the rebuild does. The
    /// loop purges once per iteration, so so does this property.
    #[test]
    fn timer_heap_memory_bounded(
        pin_ms in 400u64..1000,
        rounds in prop::collection::vec((1usize..40, 0usize..=100, any::<u64>(), 0u64..5), 1..60),
    ) {
        let mut h = Harness::new();
        h.exact_heap = false; // only the bound, below
        // The pinning timer: earliest deadline, never cancelled, not due.
        h.insert(h.now + Duration::from_millis(pin_ms));
        let mut churn: Vec<usize> = Vec::new();
        for (inserts, cancel_percent, seed, advance_ms) in rounds {
            // One iteration's worth of callbacks: schedule some timers behind
            // the pin, cancel a share of the live ones.
            for i in 0..inserts {
                let id = h.keys.len();
                h.insert(h.now + Duration::from_millis(pin_ms + 1 + (seed.wrapping_add(i as u64) % 5000)));
                churn.push(id);
            }
            let cancels = churn.len() * cancel_percent / 100;
            for n in 0..cancels {
                let victim = churn.swap_remove((seed as usize).wrapping_add(n * 7919) % churn.len());
                h.cancel(victim)?;
            }
            h.apply(&Op::Purge)?;
            assert_purged_bound(&h.queue)?;
            h.now += Duration::from_millis(advance_ms);
            while h.pop_due()? {}
        }
        h.finish()?;
    }
}

/// The case that exposes a skipped rebuild, spelled out: one live timer at
/// the front, 150 cancelled ones behind it.
#[test]
fn timer_heap_memory_bounded_pinned_front() {
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
    assert_eq!((queue.len(), queue.heap_len()), (1, 1), "purge must rebuild a heap that is mostly cancelled");
    // At or below the threshold, only the front is trimmed (asyncio's rule).
    let keys: Vec<_> =
        (1..=99).map(|i| queue.insert(t0 + Duration::from_secs(7200) + Duration::from_millis(i), i)).collect();
    for key in keys {
        queue.cancel(key);
    }
    queue.purge();
    assert_eq!((queue.len(), queue.heap_len()), (1, 100));
}

/// Found by `timer_heap_matches_reference`: `drain()` (loop teardown) used to
/// reset the slab, so a key issued before it named the first timer inserted
/// after it, and cancelling the old key cancelled the new timer.
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
