//! corio's reactor backends, each behind a cargo feature.
//!
//! * `epoll` — `epoll::EpollReactor`, Linux's readiness API through the
//!   `polling` crate, edge-triggered.
//! * `mock` — `mock`: a reactor whose readiness tests inject (with faults
//!   on demand), plus a simulation harness over the virtual clock and the
//!   seeded-random executor that prints its seed on failure.
//!
//! `corio_core::reactor::ParkReactor` (no I/O) is always available.

#![warn(missing_docs)]

#[cfg(feature = "epoll")]
pub mod epoll;

#[cfg(feature = "mock")]
pub mod mock;
