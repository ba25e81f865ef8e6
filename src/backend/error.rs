//! [`BackendError`]: why a loop has no reactor, in words a user can act on.

use super::choice::Backend;
use std::error::Error;
use std::fmt;
use std::io;

/// What chose a loop's backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChosenBy {
    /// The program: [`Builder::backend`](crate::Builder::backend),
    /// `backend = "..."` in `#[corio::main]` / `#[corio::test]`, or
    /// [`AnyReactor::new`](super::AnyReactor::new).
    Program,
    /// The `CORIO_BACKEND` environment variable.
    Env,
    /// Nothing: the [default order](Backend::default_order).
    Default,
}

impl fmt::Display for ChosenBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChosenBy::Program => "chosen by the program",
            ChosenBy::Env => "chosen by CORIO_BACKEND",
            ChosenBy::Default => "the default",
        })
    }
}

/// A backend that the default order skipped because it could not start;
/// see [`AnyReactor::fallbacks`](super::AnyReactor::fallbacks).
#[derive(Debug)]
pub struct Fallback {
    /// The backend that failed.
    pub backend: Backend,
    /// Why (e.g. `io_uring_setup` refused by a seccomp filter).
    pub error: io::Error,
}

/// Why no reactor could be made for a loop. It reaches the caller inside
/// an `io::Error` (from [`Builder::build`](crate::Builder::build),
/// [`new_event_loop`](crate::new_event_loop), and as
/// [`LoopError::Reactor`](crate::LoopError::Reactor) from [`run`](crate::run)),
/// whose `get_ref()` can be downcast to it.
///
/// ```
/// use corio::backend::BackendError;
///
/// let err = corio::builder().backend(corio::Backend::Kqueue).build().err();
/// # #[cfg(target_os = "linux")] {
/// let err = err.expect("no kqueue on Linux");
/// assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
/// assert!(matches!(err.get_ref().unwrap().downcast_ref(), Some(BackendError::NotCompiled { .. })));
/// assert!(err.to_string().contains("macOS, iOS, FreeBSD, NetBSD and DragonFly"), "{err}");
/// # }
/// ```
#[non_exhaustive]
pub enum BackendError {
    /// `name` is no backend's.
    Unknown {
        /// The name given.
        name: String,
        /// Where it was given.
        chosen_by: ChosenBy,
    },
    /// This build lacks the backend: its feature is off, or the target has
    /// no such system call.
    NotCompiled {
        /// The backend asked for.
        backend: Backend,
        /// What asked for it.
        chosen_by: ChosenBy,
    },
    /// The backend was chosen (by the program or `CORIO_BACKEND`) and
    /// could not start; a chosen backend is never replaced by another.
    Failed {
        /// The backend.
        backend: Backend,
        /// What chose it.
        chosen_by: ChosenBy,
        /// Why it failed.
        error: io::Error,
    },
    /// Nothing chose a backend and every one of the default order failed
    /// to start.
    AllFailed {
        /// Each backend tried, in order, with its error.
        failures: Vec<Fallback>,
    },
    /// The build has no backend at all (`default-features = false` and no
    /// backend feature).
    NoneCompiled,
}

/// "a, b and c"; "none" when empty.
pub(crate) fn list(names: impl IntoIterator<Item = &'static str>) -> String {
    let names: Vec<_> = names.into_iter().collect();
    match names.split_last() {
        None => "none".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn compiled() -> String {
    list(Backend::compiled().map(Backend::name))
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Unknown { name, chosen_by } => write!(
                f,
                "{name:?} ({chosen_by}) is not a corio backend: the backends are {}; this build has {}",
                list(Backend::ALL.map(Backend::name)),
                compiled()
            ),
            BackendError::NotCompiled { backend, chosen_by } if backend.feature_enabled() => write!(
                f,
                "backend {backend} ({chosen_by}) exists on {} only, not on {}; this build has {}",
                backend.platforms(),
                std::env::consts::OS,
                compiled()
            ),
            BackendError::NotCompiled { backend, chosen_by } => write!(
                f,
                "backend {backend} ({chosen_by}) is not compiled in: enable corio's `{backend}` feature; \
                 this build has {}",
                compiled()
            ),
            BackendError::Failed { backend, chosen_by, error } => {
                write!(f, "backend {backend} ({chosen_by}) could not start: {error}")
            }
            BackendError::AllFailed { failures } => {
                f.write_str("no backend of the default order could start")?;
                for (i, fallback) in failures.iter().enumerate() {
                    let separator = if i == 0 { ": " } else { "; " };
                    write!(f, "{separator}{}: {}", fallback.backend, fallback.error)?;
                }
                Ok(())
            }
            BackendError::NoneCompiled => f.write_str(
                "no reactor backend is compiled into corio: enable one of its features \
                 (native, the default; epoll, uring, kqueue, portable or mock)",
            ),
        }
    }
}

/// The variant and the message: what `fn main() -> Result<..>` prints.
impl fmt::Debug for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variant = match self {
            BackendError::Unknown { .. } => "Unknown",
            BackendError::NotCompiled { .. } => "NotCompiled",
            BackendError::Failed { .. } => "Failed",
            BackendError::AllFailed { .. } => "AllFailed",
            BackendError::NoneCompiled => "NoneCompiled",
        };
        f.debug_tuple(variant).field(&self.to_string()).finish()
    }
}

impl Error for BackendError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            BackendError::Failed { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<BackendError> for io::Error {
    fn from(err: BackendError) -> io::Error {
        let kind = match &err {
            BackendError::Unknown { .. } => io::ErrorKind::InvalidInput,
            BackendError::NotCompiled { .. } | BackendError::NoneCompiled => io::ErrorKind::Unsupported,
            BackendError::Failed { error, .. } => error.kind(),
            BackendError::AllFailed { failures } => failures.first().map_or(io::ErrorKind::Other, |f| f.error.kind()),
        };
        io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_english() {
        assert_eq!(list([]), "none");
        assert_eq!(list(["epoll"]), "epoll");
        assert_eq!(list(["epoll", "mock"]), "epoll and mock");
        assert_eq!(list(["epoll", "uring", "mock"]), "epoll, uring and mock");
    }

    #[test]
    fn messages_name_the_choice_and_what_the_build_has() {
        let has = format!("this build has {}", compiled());
        let unknown = BackendError::Unknown { name: "iocp".into(), chosen_by: ChosenBy::Env };
        let message = unknown.to_string();
        assert!(message.starts_with("\"iocp\" (chosen by CORIO_BACKEND) is not a corio backend"), "{message}");
        assert!(message.ends_with(&has), "{message}");
        assert_eq!(io::Error::from(unknown).kind(), io::ErrorKind::InvalidInput);

        for backend in Backend::ALL.into_iter().filter(|b| !b.is_compiled()) {
            let message = BackendError::NotCompiled { backend, chosen_by: ChosenBy::Program }.to_string();
            assert!(message.contains(&format!("backend {backend} (chosen by the program)")), "{message}");
            assert!(message.contains("corio's `") || message.contains(" only, not on "), "{message}");
            assert!(message.ends_with(&has), "{message}");
        }

        let cause = io::Error::from_raw_os_error(libc::EPERM);
        let failed = BackendError::Failed { backend: Backend::Uring, chosen_by: ChosenBy::Env, error: cause };
        assert!(failed.to_string().starts_with("backend uring (chosen by CORIO_BACKEND) could not start: "));
        assert!(failed.source().is_some());
        assert_eq!(io::Error::from(failed).kind(), io::ErrorKind::PermissionDenied);

        let all = BackendError::AllFailed {
            failures: vec![
                Fallback { backend: Backend::Epoll, error: io::Error::other("no epoll") },
                Fallback { backend: Backend::Uring, error: io::Error::other("no ring") },
            ],
        };
        assert_eq!(all.to_string(), "no backend of the default order could start: epoll: no epoll; uring: no ring");
        assert!(BackendError::NoneCompiled.to_string().contains("enable one of its features"));
        // What `fn main() -> Result<..>` shows: the variant and the message.
        let debug = format!("{:?}", io::Error::from(BackendError::NoneCompiled));
        assert!(debug.contains("NoneCompiled(\"no reactor backend is compiled into corio"), "{debug}");
    }
}
