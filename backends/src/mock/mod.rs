//! The deterministic backend: a reactor whose readiness tests inject, the
//! virtual clock, the seeded-random executor, and a harness that ties them
//! together and prints the seed of a failing run.
//!
//! Nothing here touches the operating system's readiness API, so a program on
//! the mock backend runs the same way every time for a given seed: time is
//! virtual (sleeps are instant and exact), readiness arrives only when
//! injected — by the test, or by the simulated network (`SimNet`: in-memory
//! connections with latency, reordering, resets and `EAGAIN` storms) — and
//! the order of each ready batch comes from the seed.

mod net;
mod reactor;
mod simulation;

pub use corio_core::clock::VirtualClock;
pub use corio_core::executor::SeededRandom;
pub use net::{NetConfig, NetStats, Route, SimListener, SimNet, SimStream};
pub use reactor::{MockInjector, MockReactor, PollRecord};
pub use simulation::{SimLoop, Simulation};
