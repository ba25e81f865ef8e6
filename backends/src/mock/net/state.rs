//! The simulated network's state: endpoints as byte pipes, segments in
//! flight, listeners' queues. Plain data, mutated only on the loop's thread;
//! anything that happens later is queued in `scheduled` and carried out by
//! `SimNet::flush` (now, or as a timer).
//!
//! # Invariants
//!
//! * An endpoint's `buffered` is its unread bytes plus the payload of the
//!   segments in flight to it; a write never takes it past `capacity`.
//! * Segments to an endpoint carry consecutive sequence numbers; bytes move
//!   into `inbox` only in sequence order (reassembly), and an end-of-stream
//!   segment is the last one a stream ever sends.
//! * Readiness is injected whenever an operation that returned
//!   `WouldBlock` could now succeed: data, end of stream or a reset arrived
//!   (readable), room appeared at the peer (writable), a connection was
//!   queued (the listener is readable) — and after a spurious `WouldBlock`.

use super::{refused, NetConfig, NetStats};
use crate::mock::reactor::LocalInjector;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::Duration;

pub(crate) type Id = usize;

#[derive(Debug)]
pub(super) enum Action {
    /// Segment `seq` reaches endpoint `to`.
    Deliver { to: Id, seq: u64 },
    /// A reset reaches endpoint `to`.
    Reset { to: Id },
    /// A connection request from `client` reaches the listener at `addr`.
    Arrive { addr: SocketAddr, server: Id },
}

#[derive(Debug)]
struct Segment {
    data: Vec<u8>,
    fin: bool,
    arrived: bool,
}

#[derive(Debug)]
struct Endpoint {
    /// The socket's identity descriptor, once a `SimStream` owns the end.
    fd: Option<RawFd>,
    local: SocketAddr,
    remote: SocketAddr,
    peer: Id,
    inbox: VecDeque<u8>,
    in_flight: BTreeMap<u64, Segment>,
    /// Next sequence number a sender gives a segment to this endpoint.
    next_seq: u64,
    /// Next sequence number to move into `inbox`.
    next_in: u64,
    buffered: usize,
    eof: bool,
    read_shut: bool,
    write_shut: bool,
    /// A write found no room at the peer: wake it when the peer reads.
    writer_waiting: bool,
    reset: bool,
    closed: bool,
}

#[derive(Debug, Default)]
struct Listening {
    fd: Option<RawFd>,
    queue: VecDeque<Id>,
    fail: VecDeque<i32>,
}

/// A small deterministic generator (xorshift64*, seeded with splitmix64).
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..=max`.
    fn upto(&mut self, max: u64) -> u64 {
        if max == 0 {
            0
        } else {
            self.next() % (max + 1)
        }
    }

    fn per_mille(&mut self, chance: u32) -> bool {
        chance > 0 && self.next() % 1000 < u64::from(chance)
    }
}

#[derive(Debug)]
pub(crate) struct NetState {
    pub(super) config: NetConfig,
    pub(super) stats: NetStats,
    pub(super) scheduled: VecDeque<(Duration, Action)>,
    rng: Rng,
    injector: LocalInjector,
    listeners: HashMap<SocketAddr, Listening>,
    endpoints: Vec<Option<Endpoint>>,
    next_port: u16,
    /// Per-address paths for connection requests (`SimNet::set_route`).
    routes: HashMap<SocketAddr, super::Route>,
}

fn reset_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "simulated network: connection reset by peer")
}

fn spurious() -> io::Error {
    io::Error::new(io::ErrorKind::WouldBlock, "simulated network: spurious EAGAIN")
}

impl NetState {
    /// Tells the reactor that `fd` is a simulated socket, about to be
    /// registered (see [`MockReactor::simulated`](crate::mock::MockReactor::simulated)).
    pub(super) fn mark_simulated(&self, fd: RawFd) {
        self.injector.mark_simulated(fd);
    }

    pub(super) fn new(injector: LocalInjector, seed: u64, config: NetConfig) -> NetState {
        NetState {
            config,
            stats: NetStats::default(),
            scheduled: VecDeque::new(),
            rng: Rng::new(seed),
            injector,
            listeners: HashMap::new(),
            endpoints: Vec::new(),
            next_port: 49152,
            routes: HashMap::new(),
        }
    }

    fn inject(&self, fd: Option<RawFd>, readable: bool, writable: bool) {
        if let Some(fd) = fd {
            self.injector.inject(fd, readable, writable);
        }
    }

    /// The delay of one segment: latency plus jitter from the seed.
    fn travel(&mut self) -> Duration {
        let jitter = self.rng.upto(self.config.jitter.as_nanos().min(u128::from(u64::MAX)) as u64);
        // Saturating: a latency of `Duration::MAX` is one that never ends
        // (`call_later` does not schedule it).
        self.config.latency.saturating_add(Duration::from_nanos(jitter))
    }

    fn endpoint(&mut self, id: Id) -> &mut Endpoint {
        self.endpoints[id].as_mut().expect("endpoints live as long as their streams")
    }

    fn storm(&mut self) -> bool {
        let hit = self.rng.per_mille(self.config.eagain_per_mille);
        if hit {
            self.stats.eagain += 1;
        }
        hit
    }

    // ----- listeners --------------------------------------------------------

    pub(super) fn bind(&mut self, mut addr: SocketAddr) -> io::Result<SocketAddr> {
        if addr.port() == 0 {
            addr.set_port(self.ephemeral_port());
        }
        if self.listeners.contains_key(&addr) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("simulated network: {addr} is already in use"),
            ));
        }
        self.listeners.insert(addr, Listening::default());
        Ok(addr)
    }

    pub(super) fn set_listener_fd(&mut self, addr: SocketAddr, fd: RawFd) {
        if let Some(listening) = self.listeners.get_mut(&addr) {
            listening.fd = Some(fd);
        }
    }

    fn ephemeral_port(&mut self) -> u16 {
        let port = self.next_port;
        self.next_port = self.next_port.checked_add(1).unwrap_or(49152);
        port
    }

    pub(super) fn fail_accepts(&mut self, addr: SocketAddr, count: usize, errno: i32) -> bool {
        match self.listeners.get_mut(&addr) {
            Some(listening) => {
                listening.fail.extend(std::iter::repeat_n(errno, count));
                true
            }
            None => false,
        }
    }

    /// Takes a queued connection: the server end and the client's address.
    pub(super) fn accept(&mut self, addr: SocketAddr) -> io::Result<(Id, SocketAddr)> {
        let storm = self.storm();
        let Some(listening) = self.listeners.get_mut(&addr) else {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "simulated network: the listener is closed"));
        };
        if let Some(errno) = listening.fail.pop_front() {
            return Err(io::Error::from_raw_os_error(errno));
        }
        if storm {
            let fd = listening.fd;
            self.inject(fd, true, false);
            return Err(spurious());
        }
        match listening.queue.pop_front() {
            Some(server) => {
                let remote = self.endpoint(server).remote;
                Ok((server, remote))
            }
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    pub(super) fn unbind(&mut self, addr: SocketAddr) {
        if let Some(listening) = self.listeners.remove(&addr) {
            // Queued connections nobody will accept: reset their clients.
            for server in listening.queue {
                let client = self.endpoint(server).peer;
                self.endpoints[server] = None;
                self.reset_now(client);
            }
        }
    }

    // ----- connections ------------------------------------------------------

    pub(super) fn set_route(&mut self, addr: SocketAddr, route: super::Route) {
        match route {
            super::Route::Direct => self.routes.remove(&addr),
            route => self.routes.insert(addr, route),
        };
    }

    /// How a connection request to `addr` travels.
    pub(super) fn route(&self, addr: SocketAddr) -> super::Route {
        self.routes.get(&addr).copied().unwrap_or(super::Route::Direct)
    }

    /// The one-way delay of a connection request to `addr`.
    pub(super) fn connect_latency(&self, addr: SocketAddr) -> Duration {
        match self.route(addr) {
            super::Route::Latency(latency) => latency,
            _ => self.config.latency,
        }
    }

    /// A connection request to `addr`: the client end, or `ConnectionRefused`.
    /// The request reaches the listener after one latency (the address's
    /// route's, if it has one).
    pub(super) fn connect(&mut self, addr: SocketAddr) -> io::Result<Id> {
        if !self.listeners.contains_key(&addr) {
            return Err(refused(addr));
        }
        let client_addr = SocketAddr::new(addr.ip(), self.ephemeral_port());
        let client = self.endpoints.len();
        let server = client + 1;
        self.endpoints.push(Some(Endpoint::new(client_addr, addr, server)));
        self.endpoints.push(Some(Endpoint::new(addr, client_addr, client)));
        let delay = match self.route(addr) {
            super::Route::Latency(latency) => latency,
            _ => self.travel(),
        };
        self.scheduled.push_back((delay, Action::Arrive { addr, server }));
        self.stats.connections += 1;
        Ok(client)
    }

    pub(super) fn set_stream_fd(&mut self, id: Id, fd: RawFd) {
        self.endpoint(id).fd = Some(fd);
    }

    pub(super) fn local_addr(&mut self, id: Id) -> SocketAddr {
        self.endpoint(id).local
    }

    pub(super) fn peer_addr(&mut self, id: Id) -> SocketAddr {
        self.endpoint(id).remote
    }

    pub(super) fn read(&mut self, id: Id, buf: &mut [u8]) -> io::Result<usize> {
        if self.endpoint(id).reset {
            return Err(reset_error());
        }
        if self.storm() {
            let fd = self.endpoint(id).fd;
            self.inject(fd, true, false);
            return Err(spurious());
        }
        let me = self.endpoint(id);
        if me.read_shut {
            return Ok(0);
        }
        if me.inbox.is_empty() {
            return if me.eof || buf.is_empty() { Ok(0) } else { Err(io::ErrorKind::WouldBlock.into()) };
        }
        let n = buf.len().min(me.inbox.len());
        for (slot, byte) in buf.iter_mut().zip(me.inbox.drain(..n)) {
            *slot = byte;
        }
        me.buffered -= n;
        let peer = me.peer;
        self.wake_writer(peer);
        Ok(n)
    }

    /// Room appeared at `peer`'s receiver: wake `peer` if it waits to write.
    fn wake_writer(&mut self, writer: Id) {
        if let Some(w) = self.endpoints.get_mut(writer).and_then(Option::as_mut) {
            if std::mem::take(&mut w.writer_waiting) {
                let fd = w.fd;
                self.inject(fd, false, true);
            }
        }
    }

    pub(super) fn write(&mut self, id: Id, buf: &[u8]) -> io::Result<usize> {
        let me = self.endpoint(id);
        if me.reset {
            return Err(reset_error());
        }
        if me.write_shut {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "simulated network: write half shut down"));
        }
        let peer = me.peer;
        if buf.is_empty() {
            return Ok(0);
        }
        if self.storm() {
            let fd = self.endpoint(id).fd;
            self.inject(fd, false, true);
            return Err(spurious());
        }
        if self.rng.per_mille(self.config.reset_per_mille) {
            self.abort(id);
            self.reset_now(id);
            return Err(reset_error());
        }
        let Some(receiver) = self.endpoints.get_mut(peer).and_then(Option::as_mut) else {
            // The peer end is gone (its listener was dropped): a reset.
            self.reset_now(id);
            return Err(reset_error());
        };
        let room = self.config.capacity.saturating_sub(receiver.buffered);
        if room == 0 {
            self.endpoint(id).writer_waiting = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = room.min(buf.len());
        for chunk in buf[..n].chunks(self.config.segment) {
            self.send(peer, chunk.to_vec(), false);
        }
        Ok(n)
    }

    /// Puts a segment on its way to `to`.
    fn send(&mut self, to: Id, data: Vec<u8>, fin: bool) {
        let delay = self.travel();
        let receiver = self.endpoint(to);
        let seq = receiver.next_seq;
        receiver.next_seq += 1;
        receiver.buffered += data.len();
        receiver.in_flight.insert(seq, Segment { data, fin, arrived: false });
        self.stats.segments += 1;
        self.scheduled.push_back((delay, Action::Deliver { to, seq }));
    }

    pub(super) fn shutdown(&mut self, id: Id, read: bool, write: bool) {
        let me = self.endpoint(id);
        if read && !me.read_shut {
            me.read_shut = true;
            me.buffered -= me.inbox.len();
            me.inbox.clear();
            let fd = me.fd;
            self.inject(fd, true, false);
        }
        let me = self.endpoint(id);
        if write && !me.write_shut && !me.reset {
            me.write_shut = true;
            let peer = me.peer;
            if self.endpoints.get(peer).is_some_and(Option::is_some) {
                self.send(peer, Vec::new(), true);
            }
        }
    }

    /// The stream was dropped: end of stream to the peer, then gone.
    pub(super) fn close(&mut self, id: Id) {
        self.shutdown(id, false, true);
        let me = self.endpoint(id);
        me.closed = true;
        me.fd = None;
    }

    /// Resets the connection: the peer gets `ConnectionReset` after one
    /// latency.
    pub(super) fn abort(&mut self, id: Id) {
        let me = self.endpoint(id);
        me.write_shut = true;
        let peer = me.peer;
        let delay = self.travel();
        self.scheduled.push_back((delay, Action::Reset { to: peer }));
    }

    fn reset_now(&mut self, id: Id) {
        let Some(me) = self.endpoints.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        if me.reset {
            return;
        }
        me.reset = true;
        me.inbox.clear();
        me.in_flight.clear();
        me.buffered = 0;
        let (fd, peer) = (me.fd, me.peer);
        self.stats.resets += 1;
        self.inject(fd, true, true);
        self.wake_writer(peer);
    }

    // ----- what happens later -------------------------------------------------

    pub(super) fn perform(&mut self, action: Action) {
        match action {
            Action::Deliver { to, seq } => self.deliver(to, seq),
            Action::Reset { to } => self.reset_now(to),
            Action::Arrive { addr, server } => match self.listeners.get_mut(&addr) {
                Some(listening) => {
                    listening.queue.push_back(server);
                    let fd = listening.fd;
                    self.inject(fd, true, false);
                }
                None => {
                    // The listener went away while the request travelled.
                    let client = self.endpoint(server).peer;
                    self.endpoints[server] = None;
                    self.reset_now(client);
                }
            },
        }
    }

    fn deliver(&mut self, to: Id, seq: u64) {
        let Some(me) = self.endpoints.get_mut(to).and_then(Option::as_mut) else {
            return;
        };
        let Some(segment) = me.in_flight.get_mut(&seq) else {
            return; // dropped by a reset
        };
        segment.arrived = true;
        if seq != me.next_in {
            self.stats.reordered += 1;
            return; // waits for the segments before it
        }
        let mut moved = false;
        let mut refused = false;
        while let Some(entry) = me.in_flight.first_entry() {
            if !entry.get().arrived {
                break;
            }
            let segment = entry.remove();
            me.next_in += 1;
            moved = true;
            if segment.fin {
                me.eof = true;
            } else if me.closed || me.read_shut {
                // Nobody will read it: a closed socket answers with a reset.
                me.buffered -= segment.data.len();
                refused |= me.closed;
            } else {
                self.stats.delivered += segment.data.len() as u64;
                me.inbox.extend(segment.data);
            }
        }
        let (fd, peer) = (me.fd, me.peer);
        if refused {
            let delay = self.travel();
            self.scheduled.push_back((delay, Action::Reset { to: peer }));
        }
        if moved {
            self.inject(fd, true, false);
        }
    }
}

impl Endpoint {
    fn new(local: SocketAddr, remote: SocketAddr, peer: Id) -> Endpoint {
        Endpoint {
            fd: None,
            local,
            remote,
            peer,
            inbox: VecDeque::new(),
            in_flight: BTreeMap::new(),
            next_seq: 0,
            next_in: 0,
            buffered: 0,
            eof: false,
            read_shut: false,
            write_shut: false,
            writer_waiting: false,
            reset: false,
            closed: false,
        }
    }
}
