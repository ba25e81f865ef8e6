//! [`Server`]: accept on a listener, serve HTTP/1.1 and HTTP/2 on every
//! connection, shut down gracefully.

use super::counted::Counted;
use super::graceful::{Conn, Graceful, Shared};
use super::sniff::{sniff, Protocol, Rewind};
use super::stats::{Counters, ServeStats};
use super::{CorioExecutor, CorioIo, CorioTimer};
use crate::net::{TcpListener, TcpStream};
use crate::{Cancelled, FutureExt};
use futures_io::{AsyncRead, AsyncWrite};
use hyper::body::{Body, Incoming};
use hyper::server::conn::{http1, http2};
use hyper::service::Service;
use hyper::{Request, Response};
use std::error::Error as StdError;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

/// How long a graceful shutdown waits for open connections by default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// How long a TLS handshake may take by default ([`Server::handshake_timeout`]).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which protocols a [`Server`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocols {
    /// HTTP/1.1, and HTTP/2 when the client opens with its preface (prior
    /// knowledge) or chose it by ALPN.
    Auto,
    Http1,
    Http2,
}

/// An HTTP server on corio: HTTP/1.1 and HTTP/2 on one port, a task per
/// connection (and per HTTP/2 stream), graceful shutdown, and an account
/// of what happened ([`ServeStats`]).
///
/// ```no_run
/// use corio::hyper::Server;
/// use corio::net::TcpListener;
/// use http_body_util::Full;
/// use hyper::body::Bytes;
/// use hyper::service::service_fn;
/// use hyper::Response;
///
/// #[corio::main]
/// async fn main() -> std::io::Result<()> {
///     let listener = TcpListener::bind("127.0.0.1:3000")?;
///     let hello = |_peer| service_fn(|_request| async { Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("hello\n")))) });
///     let stats = Server::new().serve(listener, hello, corio::signal::ctrl_c()).await?;
///     println!("served {} request(s)", stats.requests);
///     Ok(())
/// }
/// ```
///
/// * **Protocols**: HTTP/1.1, and HTTP/2 when the connection opens with
///   HTTP/2's preface (told apart by its first bytes, replayed to the
///   parser) or, over TLS, when ALPN chose `h2`; [`http1_only`](Server::http1_only)
///   and [`http2_only`](Server::http2_only) restrict it. hyper's builders are
///   reachable for their settings ([`http1`](Server::http1), [`http2`](Server::http2));
///   both come with [`CorioTimer`], so hyper's header-read timeout (30 s)
///   and HTTP/2 keep-alive work.
/// * **The service**: `make_service(peer)` is called once per connection
///   and returns a hyper `Service`. It runs on the loop: it may hold `Rc`s;
///   HTTP/2 streams are tasks of the same loop ([`CorioExecutor`]).
/// * **Graceful shutdown**: when `shutdown` completes, the listener is
///   closed (new connections are refused), every open connection is told
///   to finish what it has begun (HTTP/1: the request being served, then
///   close; HTTP/2: `GOAWAY`, then the open streams), and the server waits
///   up to the [`grace`](Server::grace) ([`DEFAULT_GRACE`]) for them; the
///   rest are cancelled (counted in [`ServeStats::cut_at_grace`]).
///   Cancelling the task that runs `serve` cancels every connection at once
///   and returns the cancellation.
/// * **Bad input** never stops the server: garbage, a client hanging up
///   mid-body, a head over hyper's limit, a body over
///   [`max_request_body`](Server::max_request_body), a failed TLS
///   handshake end that connection only, and each is counted.
#[derive(Debug, Clone)]
pub struct Server {
    http1: http1::Builder,
    http2: http2::Builder<CorioExecutor>,
    protocols: Protocols,
    grace: Duration,
    max_body: u64,
    handshake_timeout: Duration,
}

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

impl Server {
    /// A server with hyper's defaults, corio's timer and executor, a
    /// [`DEFAULT_GRACE`] shutdown grace, and no body limit.
    pub fn new() -> Server {
        let mut http1 = http1::Builder::new();
        http1.timer(CorioTimer);
        let mut http2 = http2::Builder::new(CorioExecutor);
        http2.timer(CorioTimer);
        Server {
            http1,
            http2,
            protocols: Protocols::Auto,
            grace: DEFAULT_GRACE,
            max_body: u64::MAX,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// hyper's HTTP/1 settings (`max_buf_size`, `header_read_timeout`,
    /// `keep_alive`, ...).
    pub fn http1(&mut self) -> &mut http1::Builder {
        &mut self.http1
    }

    /// hyper's HTTP/2 settings (`max_concurrent_streams`, keep-alive, ...).
    pub fn http2(&mut self) -> &mut http2::Builder<CorioExecutor> {
        &mut self.http2
    }

    /// Speaks HTTP/1 only (no preface sniffing: an HTTP/2 client gets a
    /// parse error).
    pub fn http1_only(mut self) -> Server {
        self.protocols = Protocols::Http1;
        self
    }

    /// Speaks HTTP/2 only (prior knowledge; an HTTP/1 client gets a
    /// protocol error).
    pub fn http2_only(mut self) -> Server {
        self.protocols = Protocols::Http2;
        self
    }

    /// How long a graceful shutdown waits for open connections before it
    /// cancels them. `Duration::ZERO` cancels at once; `Duration::MAX`
    /// waits for as long as they take.
    pub fn grace(mut self, grace: Duration) -> Server {
        self.grace = grace;
        self
    }

    /// How long a connection's TLS handshake may take before the
    /// connection is closed and counted in [`ServeStats::timed_out`]
    /// (a client that connects and says nothing holds no task for long).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Server {
        self.handshake_timeout = timeout;
        self
    }

    /// Answers `413 Payload Too Large`, without calling the service, to a
    /// request whose `Content-Length` exceeds `bytes`. A chunked body has
    /// no announced length: a service that must bound it wraps the body in
    /// `http_body_util::Limited`.
    pub fn max_request_body(mut self, bytes: u64) -> Server {
        self.max_body = bytes;
        self
    }

    /// Serves `listener` until `shutdown` completes, then shuts down
    /// gracefully; returns what happened.
    ///
    /// Errors: the listener failed with an error the accept loop does not
    /// absorb (it backs off on `EMFILE` and skips aborted connections), or
    /// the task was cancelled (the error carries the [`Cancelled`]). Open
    /// connections are shut down the same way in both cases, cancelled at
    /// once for a cancellation.
    pub async fn serve<M, S, B>(
        &self,
        listener: TcpListener,
        make_service: M,
        shutdown: impl Future,
    ) -> io::Result<ServeStats>
    where
        M: FnMut(SocketAddr) -> S,
        S: Service<Request<Incoming>, Response = Response<B>> + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        S::Future: 'static,
        B: Body + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        self.serve_with(listener, Plain, make_service, shutdown).await
    }

    /// [`serve`](Server::serve) with a handshake (TLS) on every connection
    /// before HTTP.
    pub(crate) async fn serve_with<H, M, S, B>(
        &self,
        listener: TcpListener,
        handshake: H,
        mut make_service: M,
        shutdown: impl Future,
    ) -> io::Result<ServeStats>
    where
        H: Handshake,
        M: FnMut(SocketAddr) -> S,
        S: Service<Request<Incoming>, Response = Response<B>> + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        S::Future: 'static,
        B: Body + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let shared = Rc::new(Shared::new());
        let config = Rc::new(self.clone());
        let accepted = {
            let mut shutdown = pin!(shutdown);
            let mut incoming = listener.incoming();
            loop {
                // The accept first: it is a checkpoint, so a cancel of this
                // task lands there (and is returned), never in `shutdown`,
                // which may be a checkpoint too and would swallow it.
                let next = poll_fn(|cx| match incoming.poll_accept(cx) {
                    Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
                    accepted => {
                        let stop = shutdown.as_mut().poll(cx).is_ready();
                        match accepted {
                            Poll::Ready(Ok(connection)) => Poll::Ready(Ok((Some(connection), stop))),
                            _ if stop => Poll::Ready(Ok((None, true))),
                            _ => Poll::Pending,
                        }
                    }
                })
                .await;
                let (accepted, stop) = match next {
                    Ok(next) => next,
                    Err(err) => break Err(err),
                };
                let Some((stream, peer)) = accepted else { break Ok(()) };
                Counters::bump(&shared.counters.connections);
                let service = Counted {
                    service: make_service(peer),
                    counters: shared.counters.clone(),
                    max_body: config.max_body,
                };
                let id = shared.next_id();
                let task =
                    crate::spawn(connection(shared.clone(), id, config.clone(), stream, handshake.clone(), service));
                shared.add(id, task);
                if stop {
                    break Ok(());
                }
            }
        };
        drop(listener); // stop accepting: new connections are refused
        let cancelled = matches!(&accepted, Err(err) if Cancelled::find(err).is_some());
        shared.start_draining();
        if !cancelled && !self.grace.is_zero() {
            // A checkpoint: cancelling the server ends the grace early.
            // (`timeout` saturates: `Duration::MAX` is a deadline that never comes.)
            let wait = poll_fn(|cx| shared.poll_all_closed(cx)).cancellable();
            let _ = wait.timeout(self.grace).await;
        }
        for task in shared.open_tasks() {
            Counters::bump(&shared.counters.cut_at_grace);
            task.cancel();
        }
        // Not a checkpoint: cancelled connections end at their next poll.
        poll_fn(|cx| shared.poll_all_closed(cx)).await;
        accepted.map(|()| shared.counters.snapshot())
    }
}

/// What happens to a connection before HTTP: nothing ([`Plain`]) or a TLS
/// handshake, which may also choose the protocol (ALPN).
pub(crate) trait Handshake: Clone + 'static {
    /// The stream HTTP runs over.
    type Io: AsyncRead + AsyncWrite + Unpin + 'static;

    /// Performs the handshake: the stream, and the protocol if the
    /// handshake chose one.
    fn handshake(self, stream: TcpStream) -> impl Future<Output = io::Result<(Self::Io, Option<Protocol>)>> + 'static;
}

/// Plain TCP.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plain;

impl Handshake for Plain {
    type Io = TcpStream;

    fn handshake(self, stream: TcpStream) -> impl Future<Output = io::Result<(TcpStream, Option<Protocol>)>> + 'static {
        std::future::ready(Ok((stream, None)))
    }
}

/// How a connection ended.
enum Ended {
    Closed,
    Handshake(io::Error),
    HandshakeTimedOut,
    Io(io::Error),
    Hyper(hyper::Error),
    Cancelled,
}

/// One connection's task: handshake, pick the protocol, serve until the
/// client is done (or the server shuts down), and count how it ended.
async fn connection<H, S, B>(
    shared: Rc<Shared>,
    id: u64,
    config: Rc<Server>,
    stream: TcpStream,
    handshake: H,
    service: Counted<S>,
) where
    H: Handshake,
    S: Service<Request<Incoming>, Response = Response<B>> + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    S::Future: 'static,
    B: Body + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let ended = serve_connection(&shared, id, &config, stream, handshake, service).await;
    let c = &shared.counters;
    match ended {
        Ended::Closed | Ended::Cancelled => {}
        Ended::Handshake(err) if is_cancellation(&err) => {}
        Ended::Handshake(_) => Counters::bump(&c.handshakes_failed),
        Ended::HandshakeTimedOut => Counters::bump(&c.timed_out),
        Ended::Io(err) if is_cancellation(&err) => {}
        Ended::Io(err) if err.kind() == io::ErrorKind::UnexpectedEof => Counters::bump(&c.hung_up),
        Ended::Io(_) => Counters::bump(&c.io_errors),
        Ended::Hyper(err) => {
            if let Some(counter) = classify(&err, c) {
                Counters::bump(counter);
            }
        }
    }
    shared.remove(id);
}

async fn serve_connection<H, S, B>(
    shared: &Rc<Shared>,
    id: u64,
    config: &Server,
    stream: TcpStream,
    handshake: H,
    service: Counted<S>,
) -> Ended
where
    H: Handshake,
    S: Service<Request<Incoming>, Response = Response<B>> + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    S::Future: 'static,
    B: Body + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    if let Err(err) = stream.set_nodelay(true) {
        return Ended::Io(err);
    }
    let (io, chosen) = match handshake.handshake(stream).timeout(config.handshake_timeout).await {
        Ok(Ok(done)) => done,
        Ok(Err(err)) => return Ended::Handshake(err),
        Err(_elapsed) => return Ended::HandshakeTimedOut,
    };
    let (protocol, io) = match (config.protocols, chosen) {
        (Protocols::Http1, _) => (Protocol::Http1, Rewind::plain(io)),
        (Protocols::Http2, _) => (Protocol::Http2, Rewind::plain(io)),
        (Protocols::Auto, Some(protocol)) => (protocol, Rewind::plain(io)),
        (Protocols::Auto, None) => match sniff(io).await {
            Ok(sniffed) => sniffed,
            Err(err) => return Ended::Io(err),
        },
    };
    let io = CorioIo::new(io);
    let conn = match protocol {
        Protocol::Http1 => Conn::H1 { conn: config.http1.serve_connection(io, service) },
        Protocol::Http2 => Conn::H2 { conn: config.http2.serve_connection(io, service) },
    };
    match Graceful::new(conn, shared.clone(), id).cancellable().await {
        Ok(Ok(())) => Ended::Closed,
        Ok(Err(err)) => Ended::Hyper(err),
        Err(_cancelled) => Ended::Cancelled,
    }
}

/// The counter a connection's hyper error goes to (none for a
/// cancellation, which the shutdown counted when it cut the connection).
/// The error and its sources are looked at in turn: a service error may
/// wrap the body's own hyper error (a client that left mid-body).
fn classify<'c>(err: &hyper::Error, c: &'c Counters) -> Option<&'c std::cell::Cell<u64>> {
    let mut next: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(err) = next {
        if let Some(err) = err.downcast_ref::<hyper::Error>() {
            if err.is_parse_too_large() {
                return Some(&c.too_large);
            } else if err.is_parse() || err.is_parse_status() {
                return Some(&c.bad_requests);
            } else if err.is_incomplete_message() || err.is_body_write_aborted() {
                return Some(&c.hung_up);
            } else if err.is_timeout() {
                return Some(&c.timed_out);
            }
        } else if let Some(io) = err.downcast_ref::<io::Error>() {
            return if is_cancellation(io) {
                None
            } else if matches!(io.kind(), io::ErrorKind::UnexpectedEof) {
                Some(&c.hung_up)
            } else {
                Some(&c.io_errors)
            };
        }
        next = err.source();
    }
    Some(&c.other_errors)
}

fn is_cancellation(err: &io::Error) -> bool {
    Cancelled::find(err).is_some()
}
