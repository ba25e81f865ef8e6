//! The reactor backends: which ones this build has, and which one a loop
//! runs.
//!
//! Cargo features make backends **available**; they never choose one.
//! Enabling more features (in your crate or in any dependency: Cargo
//! unifies them) only adds choices. A loop's backend is chosen when the
//! loop is built, in this order:
//!
//! 1. the program: [`Builder::backend`](crate::Builder::backend),
//!    [`multi_loop::Builder::backend`](crate::multi_loop::Builder::backend),
//!    or `backend = "..."` in `#[corio::main]` / `#[corio::test]`;
//! 2. the `CORIO_BACKEND` environment variable (`epoll`, `uring`,
//!    `kqueue`, `portable`, `mock`);
//! 3. the default order: the platform's native reactor (epoll on Linux,
//!    kqueue on macOS and the BSDs) if compiled in, else `portable`, else
//!    `uring`; `mock` only in a build that has no other.
//!
//! A name that is no backend, or one this build lacks, is an error listing
//! the ones it has ([`BackendError`]). A backend chosen by the program or
//! `CORIO_BACKEND` that cannot start (io_uring disabled by a seccomp filter
//! or `kernel.io_uring_disabled`) is an error naming the cause; only the
//! default order moves on to its next backend, which
//! [`AnyReactor::fallbacks`] records and debug mode logs.
//!
//! ```
//! use corio::Backend;
//!
//! // The program's choice, checked when the loop is built:
//! # #[cfg(target_os = "linux")] {
//! let lp = corio::builder().backend(Backend::Epoll).build().unwrap();
//! assert_eq!(lp.backend(), "epoll");
//! # }
//! // A backend this build lacks is a clear error, not another backend:
//! # #[cfg(not(feature = "uring"))] {
//! let err = corio::builder().backend(Backend::Uring).build().unwrap_err();
//! assert!(err.to_string().contains("enable corio's `uring` feature"), "{err}");
//! # }
//! ```
//!
//! The backends themselves are re-exported below (each with its feature),
//! for building a loop over one directly
//! (`corio::runtime::EventLoop::builder(EpollReactor::new()?)`), for the
//! mock's injection and simulated network, and for their own docs.
//!
//! A build with no backend feature compiles (a library can depend on corio
//! with `default-features = false` and leave the choice to the
//! application), and building a loop then fails at once with
//! [`BackendError::NoneCompiled`], before any socket.
//! [`ParkReactor`] (no I/O) is always there for loops that only compute.

mod any;
mod choice;
mod error;

pub use any::AnyReactor;
pub use choice::{Backend, BACKEND_ENV};
pub use error::{BackendError, ChosenBy, Fallback};

#[cfg(corio_epoll)]
#[cfg_attr(docsrs, doc(cfg(all(feature = "epoll", any(target_os = "linux", target_os = "android")))))]
pub use corio_backends::epoll;
#[cfg(feature = "kqueue")]
#[cfg_attr(docsrs, doc(cfg(feature = "kqueue")))]
pub use corio_backends::kqueue;
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use corio_backends::mock;
#[cfg(feature = "portable")]
#[cfg_attr(docsrs, doc(cfg(feature = "portable")))]
pub use corio_backends::portable;
#[cfg(corio_uring)]
#[cfg_attr(docsrs, doc(cfg(all(feature = "uring", any(target_os = "linux", target_os = "android")))))]
pub use corio_backends::uring;
pub use corio_core::reactor::ParkReactor;
