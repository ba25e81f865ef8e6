//! [`Backend`]: the backends by name, which of them this build has, the
//! default order, and the `CORIO_BACKEND` variable.

use super::error::{BackendError, ChosenBy};
use std::fmt;
use std::str::FromStr;

/// The environment variable that picks the backend of every loop built
/// without an explicit [`Builder::backend`](crate::Builder::backend):
/// `epoll`, `uring`, `kqueue`, `portable` or `mock`.
pub const BACKEND_ENV: &str = "CORIO_BACKEND";

/// A reactor backend, by name.
///
/// Cargo features make backends *available* (compiled in); which one a
/// loop runs is chosen at run time: [`Builder::backend`](crate::Builder::backend)
/// (or `backend = "..."` in `#[corio::main]` / `#[corio::test]`), else the
/// `CORIO_BACKEND` environment variable, else the
/// [default order](Backend::default_choice).
///
/// ```
/// use corio::Backend;
///
/// let backend: Backend = "epoll".parse().unwrap();
/// assert_eq!(backend, Backend::Epoll);
/// assert_eq!(backend.name(), "epoll");
/// // This build's default features: the native reactor (epoll on Linux).
/// # #[cfg(target_os = "linux")]
/// assert!(Backend::Epoll.is_compiled());
/// assert!("iocp".parse::<Backend>().unwrap_err().to_string().contains("epoll, uring, kqueue, portable and mock"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// epoll on the system calls, edge-triggered (feature `epoll`, part of
    /// the default `native`; Linux and Android).
    Epoll,
    /// io_uring in readiness mode: one `io_uring_enter` per loop iteration
    /// (feature `uring`; Linux 5.13+).
    Uring,
    /// kqueue with `EV_CLEAR` (feature `kqueue`, part of the default
    /// `native`; macOS, iOS, FreeBSD, NetBSD, DragonFly).
    Kqueue,
    /// The `polling` crate's poller, edge-triggered (feature `portable`).
    Portable,
    /// The deterministic mock (feature `mock`): serves the simulated
    /// network (`corio::backend::mock::SimNet`) and refuses real
    /// descriptors with a clear error.
    Mock,
}

impl Backend {
    /// Every backend, compiled in or not.
    pub const ALL: [Backend; 5] = [Backend::Epoll, Backend::Uring, Backend::Kqueue, Backend::Portable, Backend::Mock];

    /// The order a loop tries backends in when nothing chose one: the
    /// platform's native reactor (epoll on Linux, kqueue on macOS and the
    /// BSDs), then `portable`, then `uring`; `mock` only in a build that
    /// has no other.
    const DEFAULT_ORDER: [Backend; 4] = [Backend::Epoll, Backend::Kqueue, Backend::Portable, Backend::Uring];

    /// The backend's name, which is also its cargo feature's and what
    /// `CORIO_BACKEND` and `backend = "..."` take.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
            Backend::Uring => "uring",
            Backend::Kqueue => "kqueue",
            Backend::Portable => "portable",
            Backend::Mock => "mock",
        }
    }

    /// Whether this build has the backend: its feature is on and the
    /// target has it (epoll and io_uring on Linux and Android; kqueue on
    /// macOS, iOS, FreeBSD, NetBSD and DragonFly).
    pub const fn is_compiled(self) -> bool {
        match self {
            Backend::Epoll => cfg!(corio_epoll),
            Backend::Uring => cfg!(corio_uring),
            Backend::Kqueue => cfg!(corio_kqueue),
            Backend::Portable => cfg!(corio_portable),
            Backend::Mock => cfg!(corio_mock),
        }
    }

    /// The backends this build has, in [`ALL`](Backend::ALL)'s order.
    ///
    /// ```
    /// let names: Vec<&str> = corio::Backend::compiled().map(|b| b.name()).collect();
    /// # #[cfg(target_os = "linux")]
    /// assert!(names.contains(&"epoll")); // the default features
    /// ```
    pub fn compiled() -> impl Iterator<Item = Backend> {
        Backend::ALL.into_iter().filter(|backend| backend.is_compiled())
    }

    /// The backends a loop tries, in order, when neither the program nor
    /// `CORIO_BACKEND` chose one: the compiled-in ones of native, portable,
    /// uring; or `mock` if the build has none of those.
    pub fn default_order() -> impl Iterator<Item = Backend> {
        let os = Backend::DEFAULT_ORDER.into_iter().filter(|backend| backend.is_compiled());
        let only_mock = os.clone().next().is_none() && Backend::Mock.is_compiled();
        os.chain(only_mock.then_some(Backend::Mock))
    }

    /// The first backend of the [default order](Backend::default_order)
    /// (which a loop runs unless it fails to start there), or `None` in a
    /// build without backends.
    ///
    /// Adding features never changes it while the native reactor is
    /// compiled in: a dependency that enables `uring` or `mock` makes them
    /// available, not chosen.
    ///
    /// ```
    /// # #[cfg(target_os = "linux")]
    /// assert_eq!(corio::Backend::default_choice(), Some(corio::Backend::Epoll));
    /// ```
    pub fn default_choice() -> Option<Backend> {
        Backend::default_order().next()
    }

    /// The backend `CORIO_BACKEND` names: `Ok(None)` if it is unset or
    /// empty, an error if it names no backend or one this build lacks.
    pub fn from_env() -> Result<Option<Backend>, BackendError> {
        let Some(value) = std::env::var_os(BACKEND_ENV) else {
            return Ok(None);
        };
        let value = value.to_string_lossy();
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        let backend =
            parse(value).ok_or_else(|| BackendError::Unknown { name: value.to_owned(), chosen_by: ChosenBy::Env })?;
        backend.check(ChosenBy::Env)?;
        Ok(Some(backend))
    }

    /// `Ok` if the build has this backend, else the error that says why not.
    pub(crate) fn check(self, chosen_by: ChosenBy) -> Result<(), BackendError> {
        if self.is_compiled() {
            Ok(())
        } else {
            Err(BackendError::NotCompiled { backend: self, chosen_by })
        }
    }

    /// Whether the feature is on (the target may still lack the backend).
    pub(crate) const fn feature_enabled(self) -> bool {
        match self {
            Backend::Epoll => cfg!(feature = "epoll"),
            Backend::Uring => cfg!(feature = "uring"),
            Backend::Kqueue => cfg!(feature = "kqueue"),
            Backend::Portable => cfg!(feature = "portable"),
            Backend::Mock => cfg!(feature = "mock"),
        }
    }

    /// Where the backend exists, for a backend whose feature is on but the
    /// target lacks it.
    pub(crate) const fn platforms(self) -> &'static str {
        match self {
            Backend::Epoll | Backend::Uring => "Linux and Android",
            Backend::Kqueue => "macOS, iOS, FreeBSD, NetBSD and DragonFly",
            Backend::Portable | Backend::Mock => "every Unix",
        }
    }
}

fn parse(name: &str) -> Option<Backend> {
    Backend::ALL.into_iter().find(|backend| backend.name().eq_ignore_ascii_case(name))
}

impl FromStr for Backend {
    type Err = BackendError;

    /// A backend by [name](Backend::name), ignoring case. Names one whether
    /// or not this build has it; [`Builder::build`](crate::Builder::build)
    /// is where a missing one is an error.
    fn from_str(name: &str) -> Result<Backend, BackendError> {
        parse(name.trim()).ok_or_else(|| BackendError::Unknown { name: name.to_owned(), chosen_by: ChosenBy::Program })
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for backend in Backend::ALL {
            assert_eq!(backend.name().parse::<Backend>().unwrap(), backend);
            assert_eq!(backend.name().to_uppercase().parse::<Backend>().unwrap(), backend);
            assert_eq!(backend.to_string(), backend.name());
        }
        for bad in ["", " ", "io_uring", "epol", "native", "mock\0", "é"] {
            assert!(bad.parse::<Backend>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_default_order_is_the_compiled_part_of_native_portable_uring() {
        let order: Vec<_> = Backend::default_order().collect();
        let os: Vec<_> = Backend::DEFAULT_ORDER.into_iter().filter(|b| b.is_compiled()).collect();
        if os.is_empty() {
            assert_eq!(order, Backend::Mock.is_compiled().then_some(Backend::Mock).into_iter().collect::<Vec<_>>());
        } else {
            assert_eq!(order, os, "mock is never a default next to an OS backend");
        }
        assert_eq!(Backend::default_choice(), order.first().copied());
        if Backend::Epoll.is_compiled() {
            assert_eq!(Backend::default_choice(), Some(Backend::Epoll), "native first, whatever else is compiled");
        }
    }
}
