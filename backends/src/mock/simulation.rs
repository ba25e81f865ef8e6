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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn callback_order(sim: Simulation) -> Vec<u32> {
        sim.run(|lp| {
            let order = Rc::new(RefCell::new(Vec::new()));
            for i in 0..16 {
                let order = order.clone();
                lp.call_soon(move || order.borrow_mut().push(i));
            }
            lp.call_soon(corio_core::stop);
            lp.run_forever().unwrap();
            let order = order.borrow().clone();
            order
        })
    }

    #[test]
    fn a_seed_replays_and_seeds_differ() {
        if std::env::var_os("CORIO_SEED").is_some() {
            return; // every simulation runs the one seed then
        }
        assert_eq!(Simulation::new(3).seed(), 3);
        assert_eq!(callback_order(Simulation::new(3)), callback_order(Simulation::new(3)));
        let distinct: std::collections::HashSet<_> = (0..8).map(|s| callback_order(Simulation::new(s))).collect();
        assert!(distinct.len() > 1);
        let mut sorted = callback_order(Simulation::new(11));
        sorted.sort();
        assert_eq!(sorted, (0..16).collect::<Vec<_>>(), "nothing lost or duplicated");
    }

    #[test]
    fn the_loop_is_virtual_and_mocked() {
        let lp = Simulation::new(1).build();
        lp.block_on(corio_core::sleep(std::time::Duration::from_secs(86_400))).unwrap().unwrap();
        assert_eq!(lp.clock().elapsed(), std::time::Duration::from_secs(86_400));
        assert_eq!(lp.reactor().registered(), 0);
    }

    #[test]
    fn a_panicking_body_is_re_raised() {
        let result = std::panic::catch_unwind(|| Simulation::new(9).run(|_| panic!("boom")));
        let payload = result.expect_err("the panic propagates");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    }
}
