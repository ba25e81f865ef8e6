//! [`AnyReactor`]: the reactor of the backend chosen at run time, as an
//! enum over the backends compiled in.
//!
//! # Invariants
//!
//! * Dispatch is static: each `Reactor` call is one `match` on the variant
//!   (a predictable branch on a byte that never changes), then a direct,
//!   inlinable call — no `dyn`, no allocation, no lock of its own.
//! * A backend chosen by the program or `CORIO_BACKEND` is the backend the
//!   loop runs, or the error says why not; only the default order moves on
//!   to its next backend, and it records each one it skipped.
//! * With no backend compiled in, the enum has no variant: the type exists
//!   (so a library can name `corio::EventLoop`), no value of it can.

// Without a backend every method's body is an empty match.
#![cfg_attr(corio_no_backend, allow(unused_variables))]

use super::choice::Backend;
use super::error::{BackendError, ChosenBy, Fallback};
use corio_core::reactor::{Event, Interest, Reactor};
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

#[cfg(corio_epoll)]
use corio_backends::epoll::EpollReactor;
#[cfg(corio_kqueue)]
use corio_backends::kqueue::{KqueueReactor, OsKqueue};
#[cfg(corio_mock)]
use corio_backends::mock::MockReactor;
#[cfg(corio_portable)]
use corio_backends::portable::PortableReactor;
#[cfg(corio_uring)]
use corio_backends::uring::UringReactor;

/// One of the compiled-in reactors.
///
/// Sized by its largest variant (io_uring's ring, about 400 bytes): there
/// is one per loop, inside the loop's shared `Arc`, and boxing it would put
/// a pointer chase in front of every reactor call to save bytes nobody
/// multiplies.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Inner {
    #[cfg(corio_epoll)]
    Epoll(EpollReactor),
    #[cfg(corio_uring)]
    Uring(UringReactor),
    #[cfg(corio_kqueue)]
    Kqueue(KqueueReactor<OsKqueue>),
    #[cfg(corio_portable)]
    Portable(PortableReactor),
    #[cfg(corio_mock)]
    Mock(MockReactor),
}

/// `dispatch!(self.inner, r => r.method(..))`: the call on whichever
/// reactor it is.
macro_rules! dispatch {
    ($inner:expr, $reactor:ident => $call:expr) => {
        match $inner {
            #[cfg(corio_epoll)]
            Inner::Epoll(ref $reactor) => $call,
            #[cfg(corio_uring)]
            Inner::Uring(ref $reactor) => $call,
            #[cfg(corio_kqueue)]
            Inner::Kqueue(ref $reactor) => $call,
            #[cfg(corio_portable)]
            Inner::Portable(ref $reactor) => $call,
            #[cfg(corio_mock)]
            Inner::Mock(ref $reactor) => $call,
        }
    };
}

/// The reactor of [`corio::EventLoop`](crate::EventLoop): whichever backend
/// was chosen when the loop was built, behind one type.
///
/// [`Builder::backend`](crate::Builder::backend) or `CORIO_BACKEND` name
/// the backend, else the [default order](Backend::default_order) picks
/// the first one that starts. [`EventLoop::reactor`](crate::runtime::EventLoop::reactor)
/// returns it, to ask which backend runs, or to reach the mock's
/// simulated network.
///
/// ```
/// let lp = corio::new_event_loop().unwrap();
/// let reactor = lp.reactor();
/// println!("{} ({})", reactor.backend(), reactor.chosen_by()); // e.g. "epoll (the default)"
/// assert_eq!(reactor.backend().name(), lp.backend());
/// ```
#[derive(Debug)]
pub struct AnyReactor {
    inner: Inner,
    chosen_by: ChosenBy,
    fallbacks: Vec<Fallback>,
}

impl AnyReactor {
    /// A reactor of `backend`, and no other: the error names the cause if
    /// this build lacks it or it cannot start (e.g. io_uring disabled).
    ///
    /// ```
    /// use corio::backend::AnyReactor;
    /// use corio::Backend;
    ///
    /// # #[cfg(target_os = "linux")] {
    /// let reactor = AnyReactor::new(Backend::Epoll).unwrap();
    /// assert_eq!(reactor.backend(), Backend::Epoll);
    /// assert!(reactor.fallbacks().is_empty());
    /// # }
    /// ```
    pub fn new(backend: Backend) -> io::Result<AnyReactor> {
        AnyReactor::open(Some(backend))
    }

    /// A reactor of the backend `CORIO_BACKEND` names, else of the first
    /// backend of the [default order](Backend::default_order) that starts.
    pub fn choose() -> io::Result<AnyReactor> {
        AnyReactor::open(None)
    }

    /// `backend` if given, else `CORIO_BACKEND`, else the default order.
    pub(crate) fn open(backend: Option<Backend>) -> io::Result<AnyReactor> {
        let chosen = match backend {
            Some(backend) => Some((backend, ChosenBy::Program)),
            None => Backend::from_env()?.map(|backend| (backend, ChosenBy::Env)),
        };
        match chosen {
            Some((backend, chosen_by)) => AnyReactor::start_as(backend, chosen_by),
            None => Ok(first_to_start(Backend::default_order(), start)?),
        }
    }

    /// A reactor of `backend`, which `chosen_by` chose: no other backend.
    pub(crate) fn start_as(backend: Backend, chosen_by: ChosenBy) -> io::Result<AnyReactor> {
        backend.check(chosen_by)?;
        let started = start(backend);
        let inner = started.map_err(|error| BackendError::Failed { backend, chosen_by, error })?;
        Ok(AnyReactor { inner, chosen_by, fallbacks: Vec::new() })
    }

    /// The backend running.
    pub fn backend(&self) -> Backend {
        match self.inner {
            #[cfg(corio_epoll)]
            Inner::Epoll(_) => Backend::Epoll,
            #[cfg(corio_uring)]
            Inner::Uring(_) => Backend::Uring,
            #[cfg(corio_kqueue)]
            Inner::Kqueue(_) => Backend::Kqueue,
            #[cfg(corio_portable)]
            Inner::Portable(_) => Backend::Portable,
            #[cfg(corio_mock)]
            Inner::Mock(_) => Backend::Mock,
        }
    }

    /// What chose the backend.
    pub fn chosen_by(&self) -> ChosenBy {
        self.chosen_by
    }

    /// The backends the default order tried first and skipped, with why
    /// (empty unless one failed to start). A loop built in debug mode
    /// (`CORIO_DEBUG=1`) also logs them, as a warning.
    pub fn fallbacks(&self) -> &[Fallback] {
        &self.fallbacks
    }

    /// Descriptors currently registered.
    pub fn registered(&self) -> usize {
        dispatch!(self.inner, reactor => reactor.registered())
    }

    /// The mock reactor, if this is the `mock` backend: give it to
    /// [`SimNet::new`](corio_backends::mock::SimNet::new) for a simulated
    /// network on this loop.
    ///
    /// ```
    /// use corio::backend::mock::{NetConfig, SimListener, SimNet, SimStream, VirtualClock};
    ///
    /// let lp = corio::builder().backend(corio::Backend::Mock).clock(VirtualClock::new()).build().unwrap();
    /// let net = SimNet::new(lp.reactor().as_mock().unwrap(), 7, NetConfig::default());
    /// let echoed = lp.block_on(async {
    ///     let listener = SimListener::bind(&net, "10.0.0.1:80".parse().unwrap())?;
    ///     let client = SimStream::connect(&net, listener.local_addr()).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     client.write_all(b"ping").await?;
    ///     let mut buf = [0; 4];
    ///     let n = server.read(&mut buf).await?;
    ///     Ok::<_, std::io::Error>(buf[..n].to_vec())
    /// });
    /// assert_eq!(echoed.unwrap().unwrap(), b"ping");
    /// // Real sockets are refused, not left waiting forever:
    /// let err = lp.block_on(async { corio::net::TcpListener::bind("127.0.0.1:0").map(drop) }).unwrap().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    /// ```
    #[cfg(corio_mock)]
    #[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
    pub fn as_mock(&self) -> Option<&MockReactor> {
        match &self.inner {
            Inner::Mock(reactor) => Some(reactor),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The epoll reactor, if this is the `epoll` backend.
    #[cfg(corio_epoll)]
    #[cfg_attr(docsrs, doc(cfg(feature = "epoll")))]
    pub fn as_epoll(&self) -> Option<&EpollReactor> {
        match &self.inner {
            Inner::Epoll(reactor) => Some(reactor),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The io_uring reactor, if this is the `uring` backend.
    #[cfg(corio_uring)]
    #[cfg_attr(docsrs, doc(cfg(feature = "uring")))]
    pub fn as_uring(&self) -> Option<&UringReactor> {
        match &self.inner {
            Inner::Uring(reactor) => Some(reactor),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The kqueue reactor, if this is the `kqueue` backend.
    #[cfg(corio_kqueue)]
    #[cfg_attr(docsrs, doc(cfg(feature = "kqueue")))]
    pub fn as_kqueue(&self) -> Option<&KqueueReactor<OsKqueue>> {
        match &self.inner {
            Inner::Kqueue(reactor) => Some(reactor),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The `polling` reactor, if this is the `portable` backend.
    #[cfg(corio_portable)]
    #[cfg_attr(docsrs, doc(cfg(feature = "portable")))]
    pub fn as_portable(&self) -> Option<&PortableReactor> {
        match &self.inner {
            Inner::Portable(reactor) => Some(reactor),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// Starts `backend`'s reactor; the build has it (checked by the caller).
fn start(backend: Backend) -> io::Result<Inner> {
    match backend {
        #[cfg(corio_epoll)]
        Backend::Epoll => EpollReactor::new().map(Inner::Epoll),
        #[cfg(corio_uring)]
        Backend::Uring => UringReactor::new().map(Inner::Uring),
        #[cfg(corio_kqueue)]
        Backend::Kqueue => KqueueReactor::new().map(Inner::Kqueue),
        #[cfg(corio_portable)]
        Backend::Portable => PortableReactor::new().map(Inner::Portable),
        #[cfg(corio_mock)]
        Backend::Mock => Ok(Inner::Mock(MockReactor::simulated())),
        #[allow(unreachable_patterns)]
        backend => Err(BackendError::NotCompiled { backend, chosen_by: ChosenBy::Program }.into()),
    }
}

/// The default order: the first backend of `order` that starts, with the
/// ones before it that failed.
fn first_to_start(
    order: impl Iterator<Item = Backend>,
    mut start: impl FnMut(Backend) -> io::Result<Inner>,
) -> Result<AnyReactor, BackendError> {
    let mut fallbacks = Vec::new();
    for backend in order {
        match start(backend) {
            Ok(inner) => return Ok(AnyReactor { inner, chosen_by: ChosenBy::Default, fallbacks }),
            Err(error) => fallbacks.push(Fallback { backend, error }),
        }
    }
    Err(if fallbacks.is_empty() { BackendError::NoneCompiled } else { BackendError::AllFailed { failures: fallbacks } })
}

impl Reactor for AnyReactor {
    #[inline]
    fn register(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        dispatch!(self.inner, reactor => reactor.register(fd, key, interest))
    }

    #[inline]
    fn modify(&self, fd: RawFd, key: usize, interest: Interest) -> io::Result<()> {
        dispatch!(self.inner, reactor => reactor.modify(fd, key, interest))
    }

    #[inline]
    fn deregister(&self, fd: RawFd) -> io::Result<()> {
        dispatch!(self.inner, reactor => reactor.deregister(fd))
    }

    #[inline]
    fn poll(&self, events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        dispatch!(self.inner, reactor => reactor.poll(events, timeout))
    }

    #[inline]
    fn notify(&self) -> io::Result<()> {
        dispatch!(self.inner, reactor => reactor.notify())
    }

    #[inline]
    fn is_quiescent(&self) -> bool {
        dispatch!(self.inner, reactor => reactor.is_quiescent())
    }

    fn name(&self) -> &'static str {
        self.backend().name()
    }

    /// The chosen backend's completion-based operations (io_uring runs
    /// `corio::fs`'s file operations through them; the others have none).
    #[inline]
    fn completions(&self) -> Option<&dyn corio_core::reactor::ops::Completions> {
        dispatch!(self.inner, reactor => reactor.completions())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_nothing_to_try_the_error_says_the_build_has_no_backend() {
        assert!(matches!(first_to_start(std::iter::empty(), start), Err(BackendError::NoneCompiled)));
        if Backend::default_choice().is_none() {
            let err = first_to_start(Backend::default_order(), start).unwrap_err();
            assert!(matches!(err, BackendError::NoneCompiled), "{err}");
            if std::env::var_os(super::super::BACKEND_ENV).is_none() {
                let err = AnyReactor::choose().unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::Unsupported);
                assert!(err.to_string().starts_with("no reactor backend is compiled into corio"), "{err}");
            }
        }
    }

    /// The default order's fallback, with the failures planted: a backend
    /// that cannot start is skipped and recorded, the next one runs.
    #[test]
    #[cfg(not(corio_no_backend))]
    fn the_default_order_skips_backends_that_cannot_start() {
        let working = Backend::default_choice().expect("a build with a backend has a default");
        let refused = |backend: Backend| io::Error::other(format!("{backend} refused by the test"));
        // Two names fail before one that starts.
        let order = [Backend::Uring, Backend::Kqueue, working];
        let reactor =
            first_to_start(
                order.into_iter(),
                |backend| {
                    if backend == working {
                        start(backend)
                    } else {
                        Err(refused(backend))
                    }
                },
            )
            .unwrap();
        assert_eq!(reactor.backend(), working);
        assert_eq!(reactor.chosen_by(), ChosenBy::Default);
        let skipped: Vec<_> = reactor.fallbacks().iter().map(|f| (f.backend, f.error.to_string())).collect();
        assert_eq!(
            skipped,
            [
                (Backend::Uring, "uring refused by the test".to_owned()),
                (Backend::Kqueue, "kqueue refused by the test".to_owned())
            ]
        );

        // Every one failing: each named, in order.
        let err = first_to_start(order.into_iter(), |backend| Err(refused(backend))).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "no backend of the default order could start: uring: uring refused by the test; \
                 kqueue: kqueue refused by the test; {working}: {working} refused by the test"
            )
        );
    }

    #[test]
    fn a_backend_the_build_lacks_is_an_error_naming_it() {
        for backend in Backend::ALL.into_iter().filter(|b| !b.is_compiled()) {
            let err = AnyReactor::new(backend).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{backend}: {err}");
            assert!(err.to_string().starts_with(&format!("backend {backend} (chosen by the program)")), "{err}");
        }
        for backend in Backend::compiled() {
            if let Ok(reactor) = AnyReactor::new(backend) {
                assert_eq!((reactor.backend(), reactor.chosen_by()), (backend, ChosenBy::Program));
                assert_eq!(reactor.name(), backend.name());
                assert_eq!(reactor.registered(), 0);
            }
        }
    }
}
