//! Deterministic simulation: the mock reactor, the virtual clock and the
//! seeded-random executor, with the seed printed when a run fails.

use super::reactor::MockReactor;
use corio_core::clock::VirtualClock;
use corio_core::executor::SeededRandom;
use corio_core::runtime::EventLoop;
use std::panic::{self, AssertUnwindSafe};

/// The loop a [`Simulation`] builds.
pub type SimLoop = EventLoop<MockReactor, VirtualClock, SeededRandom>;

/// Runs programs on a deterministic loop drawn from a seed.
///
/// The same seed gives the same interleaving, the same virtual times and so
/// the same trace; a failing run prints its seed and how to replay it
/// (`CORIO_SEED=<seed>`, which overrides the seed of every simulation).
///
/// ```
/// use corio_backends::mock::Simulation;
///
/// let trace = |seed| {
///     Simulation::new(seed).run(|lp| {
///         let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
///         for i in 0..4 {
///             let order = order.clone();
///             lp.call_soon(move || order.borrow_mut().push(i));
///         }
///         lp.call_soon(corio_core::stop);
///         lp.run_forever().unwrap();
///         let trace = order.borrow().clone();
///         trace
///     })
/// };
/// assert_eq!(trace(3), trace(3));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Simulation {
    seed: u64,
}

impl Simulation {
    /// A simulation with `seed`, unless `CORIO_SEED` is set.
    pub fn new(seed: u64) -> Simulation {
        let seed = std::env::var("CORIO_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(seed);
        Simulation { seed }
    }

    /// The seed in use.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A fresh deterministic loop for this seed.
    pub fn build(&self) -> SimLoop {
        EventLoop::builder(MockReactor::new()).clock(VirtualClock::new()).executor(SeededRandom::new(self.seed)).build()
    }

    /// Runs `body` on a fresh loop; if it panics, prints the seed and the
    /// replay command, then re-raises the panic.
    pub fn run<T>(&self, body: impl FnOnce(&SimLoop) -> T) -> T {
        let lp = self.build();
        match panic::catch_unwind(AssertUnwindSafe(|| body(&lp))) {
            Ok(value) => value,
            Err(payload) => {
                eprintln!(
                    "corio simulation failed with seed {seed}; replay it with CORIO_SEED={seed}",
                    seed = self.seed
                );
                panic::resume_unwind(payload)
            }
        }
    }
}
