//! The `Executor` trait: the ready-queue policy.
//!
//! Each loop iteration takes a snapshot of everything that was ready when the
//! iteration began — callbacks and task steps, in the order they were
//! scheduled — and runs exactly that batch (asyncio's `_run_once`); whatever
//! becomes ready meanwhile waits for the next iteration. The executor decides
//! only the order inside a batch.
//!
//! # Contract
//!
//! [`Executor::next`] removes and returns one item of the batch, or `None`
//! when the batch is empty. It must not invent, drop or duplicate items. The
//! batch arrives in scheduling order.
//!
//! * [`Fifo`] runs the batch in scheduling order: asyncio's behaviour and the
//!   default.
//! * [`SeededRandom`] runs it in an order drawn from a seed. Different seeds
//!   explore different interleavings of the same program; the same seed
//!   replays the same one exactly, so a failure found in simulation can be
//!   reproduced from the seed it prints.

use std::collections::VecDeque;

/// Picks which ready item runs next.
///
/// See the [module documentation](self) for the contract.
pub trait Executor: 'static {
    /// Removes the next item to run from `batch`.
    fn next<T>(&mut self, batch: &mut VecDeque<T>) -> Option<T>;
}

/// First in, first out: asyncio's order.
///
/// ```
/// use corio_core::executor::{Executor, Fifo};
/// use std::collections::VecDeque;
///
/// let mut batch: VecDeque<_> = [1, 2, 3].into();
/// let order: Vec<_> = std::iter::from_fn(|| Fifo.next(&mut batch)).collect();
/// assert_eq!(order, [1, 2, 3]);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct Fifo;

impl Executor for Fifo {
    #[inline]
    fn next<T>(&mut self, batch: &mut VecDeque<T>) -> Option<T> {
        batch.pop_front()
    }
}

/// A uniformly random order drawn from a seed (SplitMix64), for simulation.
///
/// ```
/// use corio_core::executor::{Executor, SeededRandom};
/// use std::collections::VecDeque;
///
/// let run = |seed| {
///     let mut exec = SeededRandom::new(seed);
///     let mut batch: VecDeque<_> = (0..8).collect();
///     std::iter::from_fn(|| exec.next(&mut batch)).collect::<Vec<_>>()
/// };
/// assert_eq!(run(7), run(7)); // a seed replays exactly
/// let mut sorted = run(7);
/// sorted.sort();
/// assert_eq!(sorted, (0..8).collect::<Vec<_>>()); // nothing lost or duplicated
/// ```
#[derive(Debug, Clone)]
pub struct SeededRandom {
    seed: u64,
    state: u64,
}

impl SeededRandom {
    /// An executor whose order is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRandom { seed, state: seed }
    }

    /// The seed this executor was created with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn next_u64(&mut self) -> u64 {
        // SplitMix64: tiny, fast, and good enough to shuffle a batch.
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Executor for SeededRandom {
    fn next<T>(&mut self, batch: &mut VecDeque<T>) -> Option<T> {
        match batch.len() {
            0 => None,
            1 => batch.pop_front(),
            len => {
                let index = (self.next_u64() % len as u64) as usize;
                batch.swap_remove_back(index)
            }
        }
    }
}
