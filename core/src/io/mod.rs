//! Readiness-based I/O on the loop's reactor.
//!
//! * `registry`: the loop's table of registered sources — readiness flags
//!   and the wakers waiting for them.
//! * `driver`: the seam to the loop — what a source asks of the loop it is
//!   registered with, implemented by the runtime.
//! * [`Async`]: wraps any non-blocking file descriptor (`AsFd`) and turns
//!   `WouldBlock` into waiting for readiness (smol's `Async<T>`).
//! * [`TcpListener`], [`TcpStream`] (`tcp`); [`UdpSocket`] (`udp`);
//!   [`UnixListener`], [`UnixStream`], [`UnixDatagram`] (`unix`) — each on
//!   top of `Async`.
//! * [`OwnedReadHalf`], [`OwnedWriteHalf`] (`split`): stream halves that
//!   move into different tasks.
//! * `inq`: TCP reads that know when they emptied the socket (`TCP_INQ`).
//! * [`Incoming`] (`incoming`): the accept loop that backs off when the
//!   process runs out of descriptors.
//! * [`lookup_host`], [`Resolver`], [`ToSocketAddrs`] (`resolve`): host
//!   names resolved on the blocking pool, a bounded number at a time;
//!   [`HappyEyeballs`] (`happy_eyeballs`): the staggered race `connect`
//!   runs over a name's addresses (RFC 8305).
//!
//! # Invariants
//!
//! * Every wait for readiness is a checkpoint: a pending cancel of the task
//!   makes it return an `io::Error` carrying the
//!   [`Cancelled`](crate::task::Cancelled) (kind `Interrupted`), so `?`
//!   propagates the cancellation and the task ends cancelled.
//! * An operation tries the system call first; only `WouldBlock` clears the
//!   cached readiness and waits for the next edge. A ready socket costs one
//!   system call and no reactor round trip. (A TCP read that the kernel says
//!   emptied the socket clears it too, sparing the next read its `EAGAIN`
//!   call: `inq`.)
//! * A source belongs to the loop it was registered on; using it on another
//!   thread is an error, never a hang. A source deregistered while tasks
//!   wait on it wakes them with an error (`NotConnected`).
//! * Nothing here buffers in user space: `poll_flush` is a no-op, and
//!   `AsyncBufRead` comes from wrapping a stream in
//!   `futures_util::io::BufReader`.

mod connect;
pub(crate) mod driver;
mod happy_eyeballs;
mod incoming;
mod inq;
pub(crate) mod registry;
mod resolve;
mod source;
mod split;
mod tcp;
mod udp;
mod unix;

pub use happy_eyeballs::HappyEyeballs;
pub use incoming::{Incoming, Listener, ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_MIN};
pub use registry::{Direction, IoKey};
pub use resolve::{lookup_host, Resolver, ResolverBuilder, ToSocketAddrs};
pub use source::Async;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError, Split};
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
