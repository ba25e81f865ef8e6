//! A simulated in-memory network for the mock backend: listeners and
//! connections as byte pipes, with latency on the virtual clock, reordering,
//! resets and `EAGAIN` storms, all drawn from a seed.
//!
//! # How it plugs into the loop
//!
//! Each simulated socket holds a real but idle descriptor (an eventfd it
//! never signals; a datagram socket off Linux) only as an identity: it is
//! declared to the loop's [`MockReactor`] as simulated (so a
//! [`MockReactor::simulated`], the `mock` backend's reactor, takes it while
//! it refuses real sockets), registered with it through the ordinary
//! [`Async`](corio_core::io::Async) wrapper, and the network *injects* readiness for it when data, a
//! connection, an end of stream or a reset arrives. So networking code runs
//! through exactly the loop's real I/O path — cached edge-triggered
//! readiness, `WouldBlock` clearing it, checkpoints — while every byte moves
//! in memory and every delay is a timer on the virtual clock.
//!
//! # The model
//!
//! * A write is cut into segments (`segment` bytes). Each travels for
//!   `latency + jitter` (jitter drawn from the seed), so segments arrive out
//!   of order; the receiver reassembles them as TCP does and sees bytes only
//!   in order (`stats().reordered` counts segments that overtook another).
//!   With zero latency and jitter, delivery is immediate.
//! * A receiver holds at most `capacity` bytes (in flight plus unread);
//!   a writer that finds no room gets `WouldBlock` and waits for the reader
//!   (back-pressure), and is woken when it reads.
//! * `shutdown(Write)` sends an end-of-stream segment (a half-close);
//!   dropping a stream closes it; data arriving at a closed stream resets
//!   the sender, as a TCP RST does; [`SimStream::abort`] resets the peer.
//! * Connecting to an address without a listener is `ConnectionRefused`
//!   after one latency; a dropped listener resets its queued connections.
//!   [`SimNet::set_route`] gives one address a slow path or a black hole
//!   (requests never answered). A connect abandoned before it finished
//!   closes its end: the server, if the request reached it, reads
//!   end-of-stream.
//! * Faults: `eagain_per_mille` makes that share of operations fail with a
//!   spurious `WouldBlock` (followed by a readiness event, so a correct
//!   caller retries and loses nothing); `reset_per_mille` resets that share
//!   of connections on a write; [`SimNet::fail_accepts`] makes a listener's
//!   next accepts fail (e.g. `EMFILE`).
//!
//! Everything is deterministic for a given seed and program: the network's
//! random draws come from its own generator, time from the virtual clock.
//! The network lives on the loop's thread (`SimNet` is `!Send`), and its
//! injections do not count as "another thread may still inject": a program
//! stuck waiting on the simulated network is reported as a deadlock (L5).

mod state;
mod stream;

pub use stream::{SimListener, SimStream};

use super::reactor::MockReactor;
use state::NetState;
use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

/// The network's behaviour.
///
/// ```
/// use corio_backends::mock::NetConfig;
/// use std::time::Duration;
/// let config = NetConfig::default().latency(Duration::from_millis(5)).jitter(Duration::from_millis(3));
/// assert_eq!(config.capacity, 64 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetConfig {
    /// One-way delay of every segment (and of a connection request).
    pub latency: Duration,
    /// Extra delay per segment, uniform in `0..=jitter`, from the seed.
    pub jitter: Duration,
    /// Bytes a receiver holds (in flight plus unread) before writers wait.
    pub capacity: usize,
    /// Largest segment a write is cut into.
    pub segment: usize,
    /// Per mille of reads and writes that fail with a spurious `WouldBlock`.
    pub eagain_per_mille: u32,
    /// Per mille of writes that reset their connection instead.
    pub reset_per_mille: u32,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            capacity: 64 * 1024,
            segment: 1024,
            eagain_per_mille: 0,
            reset_per_mille: 0,
        }
    }
}

impl NetConfig {
    /// Sets [`latency`](NetConfig::latency).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Sets [`jitter`](NetConfig::jitter).
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets [`capacity`](NetConfig::capacity) (at least 1).
    pub fn capacity(mut self, bytes: usize) -> Self {
        self.capacity = bytes.max(1);
        self
    }

    /// Sets [`segment`](NetConfig::segment) (at least 1).
    pub fn segment(mut self, bytes: usize) -> Self {
        self.segment = bytes.max(1);
        self
    }

    /// Sets [`eagain_per_mille`](NetConfig::eagain_per_mille).
    pub fn eagain_per_mille(mut self, per_mille: u32) -> Self {
        self.eagain_per_mille = per_mille.min(1000);
        self
    }

    /// Sets [`reset_per_mille`](NetConfig::reset_per_mille).
    pub fn reset_per_mille(mut self, per_mille: u32) -> Self {
        self.reset_per_mille = per_mille.min(1000);
        self
    }
}

/// How connection requests to one address travel ([`SimNet::set_route`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// As configured: [`NetConfig::latency`] (plus jitter), refused where
    /// nothing listens.
    Direct,
    /// Requests take this long (each way) instead; a slow path.
    Latency(Duration),
    /// Requests vanish without an answer, as behind a firewall that drops
    /// SYNs: a connect there waits until it is cancelled or times out.
    BlackHole,
}

/// What the network did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Segments sent (data and end-of-stream).
    pub segments: u64,
    /// Segments that arrived before an earlier one of their stream.
    pub reordered: u64,
    /// Spurious `WouldBlock`s handed out.
    pub eagain: u64,
    /// Connections reset (by `abort`, by a fault, or by writing to a
    /// closed peer).
    pub resets: u64,
    /// Connections established.
    pub connections: u64,
    /// Payload bytes delivered to receivers.
    pub delivered: u64,
}

/// A simulated network on the running mock loop.
///
/// ```
/// use corio_backends::mock::{NetConfig, SimListener, SimNet, SimStream, Simulation};
/// use std::time::Duration;
///
/// let lp = Simulation::new(7).build();
/// let net = SimNet::new(lp.reactor(), 7, NetConfig::default().latency(Duration::from_millis(10)));
/// let echoed = lp.block_on(async {
///     let listener = SimListener::bind(&net, "127.0.0.1:80".parse().unwrap())?;
///     let server = corio_core::spawn(async move {
///         let (stream, _) = listener.accept().await?;
///         let mut buf = [0; 5];
///         let n = stream.read(&mut buf).await?;
///         stream.write_all(&buf[..n]).await
///     });
///     let client = SimStream::connect(&net, "127.0.0.1:80".parse().unwrap()).await?;
///     client.write_all(b"hello").await?;
///     let mut buf = [0; 5];
///     let n = client.read(&mut buf).await?;
///     server.await.unwrap()?;
///     Ok::<_, std::io::Error>(buf[..n].to_vec())
/// });
/// assert_eq!(echoed.unwrap().unwrap(), b"hello");
/// ```
#[derive(Debug, Clone)]
pub struct SimNet {
    state: Rc<RefCell<NetState>>,
}

impl SimNet {
    /// A network whose readiness goes through `reactor` (the loop's), with
    /// random draws from `seed`.
    pub fn new(reactor: &MockReactor, seed: u64, config: NetConfig) -> SimNet {
        SimNet { state: Rc::new(RefCell::new(NetState::new(reactor.local_injector(), seed, config))) }
    }

    /// The configuration.
    pub fn config(&self) -> NetConfig {
        self.state.borrow().config
    }

    /// Changes the configuration from now on (segments in flight keep
    /// their delivery times).
    pub fn set_config(&self, config: NetConfig) {
        self.state.borrow_mut().config = config;
    }

    /// What the network did so far.
    pub fn stats(&self) -> NetStats {
        self.state.borrow().stats
    }

    /// Makes the next `count` accepts on the listener at `addr` fail with
    /// `errno` (e.g. `libc::EMFILE`); the connections stay queued, as the
    /// kernel keeps them. Returns `false` if nothing listens there.
    pub fn fail_accepts(&self, addr: SocketAddr, count: usize, errno: i32) -> bool {
        self.state.borrow_mut().fail_accepts(addr, count, errno)
    }

    /// Sets how connection requests to `addr` travel from now on (a
    /// black hole, a slow path, or [`Route::Direct`] to undo). Data on
    /// established connections keeps the configured latency.
    ///
    /// ```
    /// use corio_backends::mock::{NetConfig, Route, SimNet, SimStream, Simulation};
    /// use std::time::Duration;
    ///
    /// let lp = Simulation::new(1).build();
    /// let net = SimNet::new(lp.reactor(), 1, NetConfig::default());
    /// let addr = "10.0.0.1:80".parse().unwrap();
    /// net.set_route(addr, Route::BlackHole);
    /// let outcome = lp.block_on(corio_core::wait_for(Duration::from_secs(5), SimStream::connect(&net, addr)));
    /// assert!(outcome.unwrap().is_err()); // timed out: nothing ever answered
    /// ```
    pub fn set_route(&self, addr: SocketAddr, route: Route) {
        self.state.borrow_mut().set_route(addr, route);
    }

    /// Declares `fd`, a simulated socket's identity, to the reactor before
    /// it is registered.
    fn mark_simulated(&self, fd: std::os::fd::RawFd) {
        self.state.borrow().mark_simulated(fd);
    }

    /// Runs `f` on the state, then carries out what it scheduled.
    fn with<R>(&self, f: impl FnOnce(&mut NetState) -> R) -> R {
        let result = f(&mut self.state.borrow_mut());
        self.flush();
        result
    }

    /// Carries out scheduled actions: due ones now (they may schedule
    /// more), later ones as timers on the loop's clock.
    fn flush(&self) {
        loop {
            let Some((delay, action)) = self.state.borrow_mut().scheduled.pop_front() else {
                return;
            };
            if delay.is_zero() {
                self.state.borrow_mut().perform(action);
            } else {
                // Weak: a timer the loop still holds when it ends must not
                // keep the network alive (the network holds the loop's
                // injector: a cycle that would leak both).
                let net = Rc::downgrade(&self.state);
                corio_core::call_later(delay, move || {
                    if let Some(state) = net.upgrade() {
                        SimNet { state }.with(|state| state.perform(action));
                    }
                });
            }
        }
    }
}

fn refused(addr: SocketAddr) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionRefused, format!("simulated network: nothing listens on {addr}"))
}
