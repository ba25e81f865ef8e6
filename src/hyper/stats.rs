//! What a server did: [`ServeStats`], and the per-loop counters it is read
//! from.

use std::cell::Cell;
use std::ops::{Add, AddAssign};

/// A server's account of its run, returned by [`Server::serve`](super::Server::serve)
/// (summed over the loops by [`EveryLoop::serve`](super::EveryLoop::serve)).
///
/// Every request the service started ends as exactly one of `responses`
/// or `unfinished`: `requests == responses + unfinished` once the server
/// has returned. A graceful shutdown that loses nothing has
/// `unfinished == 0` and `cut_at_grace == 0`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeStats {
    /// Connections accepted.
    pub connections: u64,
    /// Requests that reached the service (or were answered 413 for it).
    pub requests: u64,
    /// Responses whose body was handed to hyper whole.
    pub responses: u64,
    /// Responses dropped before their end: the client went away, the
    /// service failed, or the connection was cut when the grace ran out.
    pub unfinished: u64,
    /// Requests refused for size: a body announced over
    /// [`Server::max_request_body`](super::Server::max_request_body) (answered
    /// `413`, counted in `requests` and `responses` too) or a head over
    /// hyper's buffer limit (answered `431` by hyper; the connection ends).
    pub too_large: u64,
    /// Connections that sent something that is not HTTP (hyper answers
    /// `400` where it can and closes).
    pub bad_requests: u64,
    /// Clients that closed in the middle of a request head or body.
    pub hung_up: u64,
    /// Connections closed because a request head did not arrive within
    /// hyper's header-read timeout.
    pub timed_out: u64,
    /// TLS handshakes that failed (a wrong certificate, not TLS at all).
    pub handshakes_failed: u64,
    /// Connections that ended with another I/O error (a reset).
    pub io_errors: u64,
    /// Connections that ended with another hyper error (an HTTP/2 protocol
    /// error, a service error).
    pub other_errors: u64,
    /// Connections still open when the shutdown grace ran out (or the
    /// server's task was cancelled), and so cancelled.
    pub cut_at_grace: u64,
}

impl Add for ServeStats {
    type Output = ServeStats;

    fn add(mut self, other: ServeStats) -> ServeStats {
        self += other;
        self
    }
}

impl AddAssign for ServeStats {
    fn add_assign(&mut self, o: ServeStats) {
        self.connections += o.connections;
        self.requests += o.requests;
        self.responses += o.responses;
        self.unfinished += o.unfinished;
        self.too_large += o.too_large;
        self.bad_requests += o.bad_requests;
        self.hung_up += o.hung_up;
        self.timed_out += o.timed_out;
        self.handshakes_failed += o.handshakes_failed;
        self.io_errors += o.io_errors;
        self.other_errors += o.other_errors;
        self.cut_at_grace += o.cut_at_grace;
    }
}

/// The live counters of one `serve` (one loop): plain cells, since a
/// server's connections all run on its loop.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections: Cell<u64>,
    pub(crate) requests: Cell<u64>,
    pub(crate) in_flight: Cell<u64>,
    pub(crate) responses: Cell<u64>,
    pub(crate) unfinished: Cell<u64>,
    pub(crate) too_large: Cell<u64>,
    pub(crate) bad_requests: Cell<u64>,
    pub(crate) hung_up: Cell<u64>,
    pub(crate) timed_out: Cell<u64>,
    pub(crate) handshakes_failed: Cell<u64>,
    pub(crate) io_errors: Cell<u64>,
    pub(crate) other_errors: Cell<u64>,
    pub(crate) cut_at_grace: Cell<u64>,
}

impl Counters {
    pub(crate) fn bump(counter: &Cell<u64>) {
        counter.set(counter.get() + 1);
    }

    pub(crate) fn snapshot(&self) -> ServeStats {
        ServeStats {
            connections: self.connections.get(),
            requests: self.requests.get(),
            responses: self.responses.get(),
            unfinished: self.unfinished.get(),
            too_large: self.too_large.get(),
            bad_requests: self.bad_requests.get(),
            hung_up: self.hung_up.get(),
            timed_out: self.timed_out.get(),
            handshakes_failed: self.handshakes_failed.get(),
            io_errors: self.io_errors.get(),
            other_errors: self.other_errors.get(),
            cut_at_grace: self.cut_at_grace.get(),
        }
    }
}
