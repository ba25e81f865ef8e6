//! Name resolution off the loop's thread: [`lookup_host`], the
//! [`Resolver`] behind it, and the [`ToSocketAddrs`] trait that
//! [`TcpStream::connect`](crate::io::TcpStream::connect) takes.
//!
//! A host name is resolved by `getaddrinfo` on a thread of the loop's
//! blocking pool, never on the loop's thread: a slow DNS server delays the
//! task that asked, not every task. An address (`"127.0.0.1:80"`,
//! `SocketAddr`, `("::1", 80)`) needs no lookup and costs none.
//!
//! ```
//! # let lp = corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new());
//! # lp.block_on(async {
//! let addrs: Vec<_> = corio_core::io::lookup_host("localhost:80").await?.collect();
//! assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
//! # Ok::<_, std::io::Error>(()) }).unwrap().unwrap();
//! ```
//!
//! # Invariants
//!
//! * **Bounded.** At most [`Resolver::DEFAULT_MAX_CONCURRENT`] lookups (or
//!   the resolver's own bound) run at once, per resolver; more wait, in
//!   order. A lookup holds its slot until `getaddrinfo` has returned, also
//!   after its task was cancelled (`gate`).
//! * **A cancelled lookup's result is discarded.** Waiting is a checkpoint:
//!   a cancel delivered there withdraws a lookup that has not started (it
//!   never runs) or lets a started one finish on its thread and drops its
//!   result (the blocking pool's rule B2); the task gets its `Cancelled`.
//! * **Errors name the host**: "failed to resolve \"no.such.host\": ...",
//!   with the resolver's error kind.

mod gate;

use crate::blocking::BlockingPool;
use crate::runtime::current;
use crate::task::JoinError;
use gate::Gate;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;
use std::sync::OnceLock;

/// Something that names one or more socket addresses: an address, or a
/// host name and a port to resolve (tokio's `ToSocketAddrs`, sealed).
///
/// Implemented for `SocketAddr` (and its V4/V6 forms), `(IpAddr, u16)`,
/// `(&str, u16)`, `(String, u16)`, `&str` and `String` as `"host:port"`,
/// `&[SocketAddr]`, `Vec<SocketAddr>`, and references to these. A string
/// that parses as an address needs no lookup.
pub trait ToSocketAddrs: sealed::Sealed {}

mod sealed {
    use super::Target;
    use std::io;

    pub trait Sealed {
        /// The addresses, or the host and port to resolve.
        fn to_target(&self) -> io::Result<Target>;
    }
}

/// What a [`ToSocketAddrs`] names. Public only inside the sealed trait.
#[derive(Debug)]
pub struct Target(TargetKind);

#[derive(Debug)]
enum TargetKind {
    Addrs(Vec<SocketAddr>),
    Host { host: String, port: u16 },
}

impl Target {
    fn addrs(addrs: Vec<SocketAddr>) -> Target {
        Target(TargetKind::Addrs(addrs))
    }

    fn host(host: &str, port: u16) -> Target {
        match host.parse::<IpAddr>() {
            Ok(ip) => Target::addrs(vec![SocketAddr::new(ip, port)]),
            Err(_) => Target(TargetKind::Host { host: host.to_owned(), port }),
        }
    }

    /// `"host:port"` when a lookup is needed (for error messages).
    pub(crate) fn host_name(&self) -> Option<String> {
        match &self.0 {
            TargetKind::Addrs(_) => None,
            TargetKind::Host { host, port } => Some(format!("{host}:{port}")),
        }
    }
}

/// What `addr` names (the sealed trait's method, for this crate).
pub(crate) fn target_of<T: ToSocketAddrs + ?Sized>(addr: &T) -> io::Result<Target> {
    sealed::Sealed::to_target(addr)
}

macro_rules! addr_impl {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {}
        impl sealed::Sealed for $t {
            fn to_target(&self) -> io::Result<Target> {
                Ok(Target::addrs(vec![SocketAddr::from(*self)]))
            }
        }
    )*};
}

addr_impl!(SocketAddr, SocketAddrV4, SocketAddrV6, (IpAddr, u16), (Ipv4Addr, u16), (Ipv6Addr, u16));

impl ToSocketAddrs for (&str, u16) {}
impl sealed::Sealed for (&str, u16) {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::host(self.0, self.1))
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::Sealed for (String, u16) {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::host(&self.0, self.1))
    }
}

impl ToSocketAddrs for str {}
impl sealed::Sealed for str {
    fn to_target(&self) -> io::Result<Target> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Ok(Target::addrs(vec![addr]));
        }
        let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{self:?}: {why}"));
        let (host, port) = self.rsplit_once(':').ok_or_else(|| invalid("expected \"host:port\""))?;
        let port = port.parse::<u16>().map_err(|_| invalid("invalid port (expected 0 to 65535)"))?;
        if host.is_empty() {
            return Err(invalid("empty host name"));
        }
        Ok(Target::host(host, port))
    }
}

impl ToSocketAddrs for String {}
impl sealed::Sealed for String {
    fn to_target(&self) -> io::Result<Target> {
        self.as_str().to_target()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl sealed::Sealed for [SocketAddr] {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::addrs(self.to_vec()))
    }
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> sealed::Sealed for [SocketAddr; N] {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::addrs(self.to_vec()))
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}
impl sealed::Sealed for Vec<SocketAddr> {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::addrs(self.clone()))
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: sealed::Sealed + ?Sized> sealed::Sealed for &T {
    fn to_target(&self) -> io::Result<Target> {
        (**self).to_target()
    }
}

/// Resolves `host` to its addresses on the running loop's blocking pool
/// (tokio's `lookup_host`), through the process-wide [`Resolver`].
///
/// `host` is `"name:port"`, `(name, port)`, or an address (returned as it
/// is, without a lookup). Waiting is a checkpoint.
///
/// Errors: the name does not resolve (an `io::Error` naming the host), the
/// input is malformed (`InvalidInput`), no loop is running, or the task
/// was cancelled (an error carrying its `Cancelled`).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// for addr in corio_core::io::lookup_host("example.com:443").await? {
///     println!("{addr}");
/// }
/// # Ok(()) }
/// ```
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    Resolver::system().lookup(host).await
}

type LookupFn = dyn Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync;

/// Resolves host names on a blocking pool, at most a bounded number at a
/// time.
///
/// [`lookup_host`] and `TcpStream::connect` use [`Resolver::system`]
/// (`getaddrinfo`, [`DEFAULT_MAX_CONCURRENT`](Resolver::DEFAULT_MAX_CONCURRENT)
/// at once, the loop's default pool). Build another for a different bound,
/// a pool of its own, or a lookup function of your own — a fixed table in
/// tests, a DNS client:
///
/// ```
/// use corio_core::io::Resolver;
/// use std::net::SocketAddr;
///
/// let table = Resolver::builder()
///     .lookup(|host, port| match host {
///         "db.internal" => Ok(vec![SocketAddr::from(([10, 0, 0, 7], port))]),
///         _ => Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host}: not in the table"))),
///     })
///     .build();
/// # let lp = corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new());
/// let addrs: Vec<_> = lp.block_on(table.lookup("db.internal:5432")).unwrap().unwrap().collect();
/// assert_eq!(addrs, [SocketAddr::from(([10, 0, 0, 7], 5432))]);
/// ```
#[derive(Clone)]
pub struct Resolver {
    inner: std::sync::Arc<Inner>,
}

struct Inner {
    gate: crate::loom::Arc<Gate>,
    lookup: Box<LookupFn>,
    pool: Option<BlockingPool>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("max_concurrent", &self.inner.gate.limit())
            .field("running", &self.inner.gate.taken())
            .field("own_pool", &self.inner.pool.is_some())
            .finish()
    }
}

/// Builds a [`Resolver`].
pub struct ResolverBuilder {
    max_concurrent: usize,
    lookup: Option<Box<LookupFn>>,
    pool: Option<BlockingPool>,
}

impl fmt::Debug for ResolverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolverBuilder")
            .field("max_concurrent", &self.max_concurrent)
            .field("custom_lookup", &self.lookup.is_some())
            .field("own_pool", &self.pool.is_some())
            .finish()
    }
}

impl ResolverBuilder {
    /// At most `n` lookups at once (at least 1).
    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n.max(1);
        self
    }

    /// Resolves with `lookup(host, port)` instead of `getaddrinfo`. It runs
    /// on a pool thread and may block.
    pub fn lookup(mut self, lookup: impl Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync + 'static) -> Self {
        self.lookup = Some(Box::new(lookup));
        self
    }

    /// Runs lookups on `pool` instead of the running loop's default pool
    /// (then no loop is needed).
    pub fn pool(mut self, pool: BlockingPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// Builds the resolver.
    pub fn build(self) -> Resolver {
        Resolver {
            inner: std::sync::Arc::new(Inner {
                gate: crate::loom::Arc::new(Gate::new(self.max_concurrent)),
                lookup: self.lookup.unwrap_or_else(|| Box::new(system_lookup)),
                pool: self.pool,
            }),
        }
    }
}

/// `getaddrinfo`, with the host named in the error.
fn system_lookup(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .map(Iterator::collect)
        .map_err(|err| io::Error::new(err.kind(), format!("failed to resolve {host:?}: {err}")))
}

impl Resolver {
    /// How many lookups the system resolver runs at once. Small on purpose:
    /// a stalled DNS server holds a pool thread per lookup, and the pool
    /// also serves files and other blocking work.
    pub const DEFAULT_MAX_CONCURRENT: usize = 4;

    /// Starts building a resolver (`getaddrinfo`, the loop's default pool,
    /// [`DEFAULT_MAX_CONCURRENT`](Resolver::DEFAULT_MAX_CONCURRENT)).
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder { max_concurrent: Resolver::DEFAULT_MAX_CONCURRENT, lookup: None, pool: None }
    }

    /// The process-wide resolver ([`lookup_host`] and `connect` use it).
    pub fn system() -> &'static Resolver {
        static SYSTEM: OnceLock<Resolver> = OnceLock::new();
        SYSTEM.get_or_init(|| Resolver::builder().build())
    }

    /// How many lookups run at most at once.
    pub fn max_concurrent(&self) -> usize {
        self.inner.gate.limit()
    }

    /// How many lookups hold a slot right now (running, or queued on the
    /// pool, or finishing for a task that was cancelled).
    pub fn running(&self) -> usize {
        self.inner.gate.taken()
    }

    /// Resolves `host` (see [`lookup_host`]).
    pub async fn lookup(&self, host: impl ToSocketAddrs) -> io::Result<std::vec::IntoIter<SocketAddr>> {
        self.resolve(host.to_target()?).await.map(Vec::into_iter)
    }

    /// Resolves a target: addresses at once, a host name on the pool.
    pub(crate) async fn resolve(&self, target: Target) -> io::Result<Vec<SocketAddr>> {
        current::checkpoint()?;
        match target.0 {
            TargetKind::Addrs(addrs) => Ok(addrs),
            TargetKind::Host { host, port } => self.resolve_host(host, port).await,
        }
    }

    async fn resolve_host(&self, host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
        let pool = match &self.inner.pool {
            Some(pool) => pool.clone(),
            None => crate::blocking::host::with_running(|h| h.default_pool()).ok_or_else(|| {
                io::Error::other(format!(
                    "cannot resolve {host:?}: no event loop is running on this thread \
                     (and the resolver has no pool of its own)"
                ))
            })?,
        };
        let mut acquire = Gate::acquire(&self.inner.gate);
        let slot = poll_fn(|cx| {
            current::checkpoint()?;
            Pin::new(&mut acquire).poll(cx).map(Ok::<_, io::Error>)
        })
        .await?;
        let inner = self.inner.clone();
        let name = host.clone();
        let job = pool.run(move || {
            let result = (inner.lookup)(&host, port);
            // The slot is given back when the lookup has ended, also for a
            // task that no longer waits for it (or when the job is dropped
            // without running).
            drop(slot);
            result
        });
        match job.await {
            Ok(result) => result,
            Err(JoinError::Cancelled(cancelled)) => Err(cancelled.into()),
            Err(JoinError::Panicked(panic)) => {
                Err(io::Error::other(format!("the lookup of {name:?} panicked: {panic}")))
            }
        }
    }
}
