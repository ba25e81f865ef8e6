//! Who listens to which signal, and handing each arrival to every listener.
//!
//! # Invariants
//!
//! * A signal's disposition is corio's handler exactly while at least one
//!   listener wants it: the first listener installs it, the last one gone
//!   restores what was there before (asyncio's `remove_signal_handler`
//!   restores the default the same way).
//! * An arrival reaches every listener that wants the signal, on every
//!   loop: whichever listener drains the pipe takes the pending flags and
//!   marks and wakes all of them (a cross-thread wake for listeners on other
//!   loops). Arrivals of one signal that a listener has not yet received
//!   coalesce into one, as the OS coalesces them.
//! * A listener stores its waker before it drains the pipe and looks at its
//!   marks again after, so an arrival marked by another listener's drain in
//!   between is never missed.
//!
//! Process-wide like the dispositions themselves: `std` statics, outside the
//! loom seam (no loom model sends signals).

use super::os::{self, Previous, MAX_SIGNAL};
use super::Signal;
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

/// One listener: the signals it wants and those that arrived for it.
pub(crate) struct Subscriber {
    /// Bit `n - 1` for signal `n`.
    wanted: u64,
    arrived: AtomicU64,
    waker: Mutex<Option<Waker>>,
}

fn bit(signal: i32) -> u64 {
    1 << (signal - 1)
}

impl Subscriber {
    /// Takes one arrived signal, the lowest-numbered first.
    pub(crate) fn take(&self) -> Option<Signal> {
        let arrived = self.arrived.load(Ordering::Acquire);
        if arrived == 0 {
            return None;
        }
        let lowest = arrived & arrived.wrapping_neg();
        // Others only ever set bits, so clearing ours with an AND is exact.
        self.arrived.fetch_and(!lowest, Ordering::AcqRel);
        Some(Signal(lowest.trailing_zeros() as i32 + 1))
    }

    /// Stores the waker to wake on the next arrival.
    pub(crate) fn set_waker(&self, waker: &Waker) {
        let mut slot = self.waker.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_mut() {
            Some(current) if current.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    fn mark(&self, signals: u64) {
        let hits = self.wanted & signals;
        if hits != 0 {
            self.arrived.fetch_or(hits, Ordering::AcqRel);
            let waker = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

#[derive(Default)]
struct Registry {
    subscribers: Vec<Arc<Subscriber>>,
    /// Per signal: how many listeners want it, and the disposition to
    /// restore when none does.
    installed: HashMap<i32, (usize, Previous)>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn registry() -> MutexGuard<'static, Option<Registry>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Adds a listener for `signals`, installing the handler where needed.
pub(crate) fn subscribe(signals: &[Signal]) -> io::Result<Arc<Subscriber>> {
    let mut guard = registry();
    let registry = guard.get_or_insert_with(Registry::default);
    for signal in signals {
        let n = signal.0;
        if let Some((count, _)) = registry.installed.get_mut(&n) {
            *count += 1;
            continue;
        }
        match os::install(n) {
            Ok(previous) => {
                registry.installed.insert(n, (1, previous));
            }
            Err(err) => {
                // Leave everything as it was.
                for done in &signals[..signals.iter().position(|s| s == signal).unwrap_or(0)] {
                    release(registry, done.0);
                }
                return Err(err);
            }
        }
    }
    let subscriber = Arc::new(Subscriber {
        wanted: signals.iter().fold(0, |mask, s| mask | bit(s.0)),
        arrived: AtomicU64::new(0),
        waker: Mutex::new(None),
    });
    registry.subscribers.push(subscriber.clone());
    Ok(subscriber)
}

/// Removes a listener, restoring dispositions nobody wants any more.
pub(crate) fn unsubscribe(subscriber: &Arc<Subscriber>, signals: &[Signal]) {
    let mut guard = registry();
    let Some(registry) = guard.as_mut() else { return };
    registry.subscribers.retain(|s| !Arc::ptr_eq(s, subscriber));
    for signal in signals {
        release(registry, signal.0);
    }
}

fn release(registry: &mut Registry, signal: i32) {
    if let Some((count, _)) = registry.installed.get_mut(&signal) {
        *count -= 1;
        if *count == 0 {
            let (_, previous) = registry.installed.remove(&signal).expect("present");
            os::restore(signal, &previous);
        }
    }
}

/// Takes every pending signal and marks (and wakes) every listener that
/// wants one. Call after draining the pipe.
pub(crate) fn dispatch() {
    let arrived = (1..=MAX_SIGNAL).filter(|&n| os::take_pending(n)).fold(0, |mask, n| mask | bit(n));
    if arrived == 0 {
        return;
    }
    // Wakers run outside the lock: a wake may post to another loop.
    let subscribers: Vec<Arc<Subscriber>> = registry()
        .as_ref()
        .map(|r| r.subscribers.iter().filter(|s| s.wanted & arrived != 0).cloned().collect())
        .unwrap_or_default();
    for subscriber in subscribers {
        subscriber.mark(arrived);
    }
}
