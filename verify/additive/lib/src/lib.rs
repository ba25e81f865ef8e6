//! A library that enables corio's `uring`, `portable` and `mock` features
//! for its own use — here, a helper that runs code on the simulated
//! network. Cargo unifies features across the dependency graph, so every
//! crate that links corio alongside this one has these backends compiled
//! in; `corio-additive-app` checks that they stay merely *available*.

use corio::backend::mock::VirtualClock;
use corio::Backend;

/// A loop on the mock backend (the simulated network, a virtual clock),
/// chosen explicitly: what this library enabled `mock` for.
pub fn simulated_loop() -> std::io::Result<corio::EventLoop<VirtualClock>> {
    corio::builder().backend(Backend::Mock).clock(VirtualClock::new()).build()
}
