//! Happy Eyeballs (RFC 8305): connecting to a host with several addresses
//! by racing staggered attempts, as asyncio's `create_connection` does with
//! `happy_eyeballs_delay` and `interleave`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use corio_core::io::{HappyEyeballs, TcpStream};
//! use std::time::Duration;
//!
//! // What `TcpStream::connect` does: a 250 ms stagger, families interleaved.
//! let stream = TcpStream::connect("localhost:8080").await?;
//! // asyncio's `happy_eyeballs_delay=0.1, interleave=2`:
//! let stream = HappyEyeballs::new().delay(Some(Duration::from_millis(100))).interleave(2).connect("localhost:8080").await?;
//! # drop(stream); Ok(()) }
//! ```
//!
//! Every wait is a checkpoint: cancelling the task drops every attempt.

use super::resolve::{Resolver, ToSocketAddrs};
use super::tcp::TcpStream;
use crate::task::Cancelled;
use crate::time::Sleep;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

/// Happy Eyeballs connection settings (RFC 8305; asyncio's
/// `happy_eyeballs_delay` and `interleave`).
///
/// # The algorithm
///
/// 1. Resolve the name on the blocking pool ([`Resolver`]).
/// 2. Order the addresses: with `interleave` n ≥ 1, the first n − 1
///    addresses of the first family, then one of each family in turn (asyncio's
///    `_interleave_addrinfos`); with 0, the resolver's order.
/// 3. Start the first attempt. Start the next one when the delay has passed
///    since the last start, or at once when an attempt fails.
/// 4. The first attempt to connect wins; the others are dropped at once,
///    which closes their sockets (a handshake in flight is abandoned, a
///    finished one is closed).
/// 5. If every attempt fails, the error names each address and its error
///    (a single address's error is returned as it is).
///
/// With `delay(None)` the attempts run one after another, as asyncio does
/// without `happy_eyeballs_delay` (and as a black-holed first address then
/// stalls the connect until it times out).
///
///
/// Every wait is a checkpoint: cancelling the task drops every attempt.
///
/// ```
/// use corio_core::io::HappyEyeballs;
/// use std::net::SocketAddr;
///
/// let v6: SocketAddr = "[::1]:80".parse().unwrap();
/// let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
/// let v6b: SocketAddr = "[::2]:80".parse().unwrap();
/// // Families alternate, starting with the resolver's first.
/// assert_eq!(HappyEyeballs::new().order(vec![v6, v6b, v4]), [v6, v4, v6b]);
/// assert_eq!(HappyEyeballs::new().interleave(0).order(vec![v6, v6b, v4]), [v6, v6b, v4]);
/// ```
#[derive(Debug, Clone)]
pub struct HappyEyeballs {
    delay: Option<Duration>,
    interleave: usize,
    resolver: Option<Resolver>,
}

impl Default for HappyEyeballs {
    fn default() -> Self {
        HappyEyeballs::new()
    }
}

impl HappyEyeballs {
    /// RFC 8305's recommended "connection attempt delay".
    pub const DEFAULT_DELAY: Duration = Duration::from_millis(250);

    /// A [`DEFAULT_DELAY`](HappyEyeballs::DEFAULT_DELAY) stagger, families
    /// interleaved one by one, the system resolver.
    pub fn new() -> Self {
        HappyEyeballs { delay: Some(Self::DEFAULT_DELAY), interleave: 1, resolver: None }
    }

    /// The stagger between attempts (asyncio's `happy_eyeballs_delay`);
    /// `None` tries the addresses one after another.
    pub fn delay(mut self, delay: Option<Duration>) -> Self {
        self.delay = delay;
        self
    }

    /// How many addresses of the first family come before the families
    /// alternate (asyncio's `interleave`); 0 keeps the resolver's order.
    pub fn interleave(mut self, interleave: usize) -> Self {
        self.interleave = interleave;
        self
    }

    /// Resolves host names with `resolver` instead of [`Resolver::system`].
    pub fn resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The stagger; `None` means one attempt after another.
    pub fn get_delay(&self) -> Option<Duration> {
        self.delay
    }

    /// Orders `addrs` for the race (step 2 of the algorithm above).
    pub fn order(&self, addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
        if self.interleave == 0 || addrs.len() < 2 {
            return addrs;
        }
        // Families in order of first appearance, each keeping its order.
        let mut families: Vec<Vec<SocketAddr>> = Vec::new();
        for addr in addrs {
            match families.iter_mut().find(|f| f[0].is_ipv4() == addr.is_ipv4()) {
                Some(family) => family.push(addr),
                None => families.push(vec![addr]),
            }
        }
        let mut ordered = Vec::new();
        let first = self.interleave.saturating_sub(1).min(families[0].len());
        ordered.extend(families[0].drain(..first));
        let longest = families.iter().map(Vec::len).max().unwrap_or(0);
        let mut families: Vec<_> = families.into_iter().map(Vec::into_iter).collect();
        for _ in 0..longest {
            for family in &mut families {
                ordered.extend(family.next());
            }
        }
        ordered
    }

    /// Resolves `addr` and connects a [`TcpStream`] to the first address
    /// that accepts.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let target = super::resolve::target_of(&addr)?;
        let host = target.host_name();
        let resolver = self.resolver.as_ref().unwrap_or_else(|| Resolver::system());
        let addrs = resolver.resolve(target).await?;
        let connected = self.race(addrs, TcpStream::connect_addr).await;
        match host {
            Some(host) => connected.map_err(|err| name_target(err, &host)),
            None => connected,
        }
    }

    /// Races connection attempts made by `connect` to `addrs` (ordered
    /// first), for any kind of stream: the first `Ok` wins and the other
    /// attempts are dropped.
    ///
    /// Errors: `addrs` is empty (`InvalidInput`); every attempt failed (the
    /// one error, or an error listing each address's); the task was
    /// cancelled (every attempt is dropped).
    pub async fn race<S, F, Fut>(&self, addrs: impl IntoIterator<Item = SocketAddr>, mut connect: F) -> io::Result<S>
    where
        F: FnMut(SocketAddr) -> Fut,
        Fut: Future<Output = io::Result<S>>,
    {
        let mut waiting = self.order(addrs.into_iter().collect()).into_iter();
        let total = waiting.len();
        if total == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to"));
        }
        if total == 1 {
            // Nothing to race: no timer, no boxing.
            return connect(waiting.next().expect("one address")).await;
        }
        let Some(delay) = self.delay else {
            let mut errors = Vec::new();
            for addr in waiting {
                match connect(addr).await {
                    Ok(stream) => return Ok(stream),
                    Err(err) if Cancelled::find(&err).is_some() => return Err(err),
                    Err(err) => errors.push((addr, err)),
                }
            }
            return Err(combine(errors));
        };

        let mut attempts: Vec<(SocketAddr, Pin<Box<Fut>>)> = Vec::new();
        let mut errors: Vec<(SocketAddr, io::Error)> = Vec::new();
        let mut stagger: Option<Pin<Box<Sleep>>> = None;
        let mut start_next = |attempts: &mut Vec<(SocketAddr, Pin<Box<Fut>>)>, stagger: &mut Option<_>| {
            let Some(addr) = waiting.next() else {
                *stagger = None;
                return false;
            };
            attempts.push((addr, Box::pin(connect(addr))));
            *stagger = Some(Box::pin(crate::time::sleep(delay)));
            true
        };
        start_next(&mut attempts, &mut stagger);
        poll_fn(|cx| loop {
            let mut failed = false;
            let mut i = 0;
            while i < attempts.len() {
                match attempts[i].1.as_mut().poll(cx) {
                    Poll::Ready(Ok(stream)) => return Poll::Ready(Ok(stream)),
                    Poll::Ready(Err(err)) if Cancelled::find(&err).is_some() => return Poll::Ready(Err(err)),
                    Poll::Ready(Err(err)) => {
                        let (addr, _) = attempts.remove(i);
                        errors.push((addr, err));
                        failed = true;
                    }
                    Poll::Pending => i += 1,
                }
            }
            if failed && start_next(&mut attempts, &mut stagger) {
                continue; // poll the new attempt
            }
            if attempts.is_empty() {
                return Poll::Ready(Err(combine(std::mem::take(&mut errors))));
            }
            if let Some(timer) = stagger.as_mut() {
                match timer.as_mut().poll(cx) {
                    Poll::Ready(Ok(())) => {
                        stagger = None;
                        if start_next(&mut attempts, &mut stagger) {
                            continue;
                        }
                    }
                    Poll::Ready(Err(cancelled)) => return Poll::Ready(Err(cancelled.into())),
                    Poll::Pending => {}
                }
            }
            return Poll::Pending;
        })
        .await
    }
}

/// One error as it is; several as one error naming each address. The kind
/// is theirs if they agree, else `Other`.
fn combine(mut errors: Vec<(SocketAddr, io::Error)>) -> io::Error {
    if errors.len() == 1 {
        return errors.pop().expect("one").1;
    }
    let kind = errors[0].1.kind();
    let kind = if errors.iter().all(|(_, e)| e.kind() == kind) { kind } else { io::ErrorKind::Other };
    let list: Vec<String> = errors.iter().map(|(addr, err)| format!("{addr}: {err}")).collect();
    io::Error::new(kind, format!("all {} addresses failed ({})", errors.len(), list.join("; ")))
}

/// Prefixes a connect error with the name that was resolved, unless it
/// carries a cancellation (which must stay findable).
fn name_target(err: io::Error, what: &str) -> io::Error {
    if Cancelled::find(&err).is_some() {
        return err;
    }
    io::Error::new(err.kind(), format!("connect to {what}: {err}"))
}
