//! corio's reactor backends, each behind a cargo feature.
//!
//! * `epoll` — `epoll::EpollReactor`, Linux's readiness API on the system
//!   calls directly, edge-triggered.
//! * `uring` — `uring::UringReactor`, io_uring in readiness mode
//!   (multishot poll), one submission batch per loop iteration.
//! * `kqueue` — `kqueue`: the translation from interests to kevent changes
//!   and from kevents to events, in plain Rust over a syscall trait; the OS
//!   shim (`kqueue::KqueueReactor::new`) exists on BSD and macOS only.
//! * `portable` — `portable::PortableReactor`, the `polling` crate's poller
//!   (epoll or kqueue behind one API), edge-triggered; for platforms or
//!   builds that prefer it, at three system calls more per wait.
//! * `mock` — `mock`: a reactor whose readiness tests inject (with faults
//!   on demand), plus a simulation harness over the virtual clock and the
//!   seeded-random executor that prints its seed on failure.
//!
//! `corio_core::reactor::ParkReactor` (no I/O) is always available.
//!
//! Which backend a program runs is chosen at run time by the `corio`
//! facade (`corio::Backend`, `CORIO_BACKEND`); the features here only
//! decide what is compiled.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(all(feature = "epoll", any(target_os = "linux", target_os = "android")))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "epoll", any(target_os = "linux", target_os = "android")))))]
pub mod epoll;

#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod mock;

#[cfg(feature = "kqueue")]
#[cfg_attr(docsrs, doc(cfg(feature = "kqueue")))]
pub mod kqueue;

#[cfg(feature = "portable")]
#[cfg_attr(docsrs, doc(cfg(feature = "portable")))]
pub mod portable;

#[cfg(all(feature = "uring", any(target_os = "linux", target_os = "android")))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "uring", any(target_os = "linux", target_os = "android")))))]
pub mod uring;

#[cfg(test)]
mod contract;
