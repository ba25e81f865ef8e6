//! hyper 1.x on corio (feature `hyper`): the `hyper::rt` adapters, an HTTP
//! server with graceful shutdown, and the client side — hyper_util's
//! `rt::tokio` and `server` for corio, with no glue to copy.
//!
//! ```toml
//! [dependencies]
//! corio = { version = "0.1", features = ["hyper"] }
//! hyper = "1"
//! http-body-util = "0.1"
//! ```
//!
//! ```
//! use corio::hyper::{CorioIo, Server};
//! use corio::net::{TcpListener, TcpStream};
//! use http_body_util::{BodyExt, Empty, Full};
//! use hyper::body::Bytes;
//! use hyper::service::service_fn;
//! use hyper::{Request, Response};
//! use std::convert::Infallible;
//!
//! corio::run(async {
//!     // A server on a free port, stopped by `stop` below.
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     let (stop, stopped) = corio::sync::oneshot::channel::<()>();
//!     let hello = |_peer| service_fn(|_: Request<_>| async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hi")))) });
//!     let server = corio::spawn(async move { Server::new().serve(listener, hello, stopped).await });
//!
//!     // A client: hyper's connection over a corio socket.
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, connection) = hyper::client::conn::http1::handshake(CorioIo::new(stream)).await?;
//!     corio::spawn(connection).detach();
//!     let request = Request::get("/").header("host", "localhost").body(Empty::<Bytes>::new())?;
//!     let response = sender.send_request(request).await?;
//!     assert_eq!(response.into_body().collect().await?.to_bytes(), "hi");
//!
//!     stop.send(()).unwrap();
//!     let stats = server.await??;
//!     assert_eq!((stats.requests, stats.responses, stats.unfinished), (1, 1, 0));
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })
//! .unwrap()
//! .unwrap();
//! ```
//!
//! # What is here
//!
//! * [`CorioIo`]: corio's streams (TCP, Unix, TLS) as `hyper::rt::Read`/
//!   `Write`, and back (hyper_util's `TokioIo`).
//! * [`CorioExecutor`] (spawns on the running loop; `Send` or not) and
//!   [`CorioTimer`] (the loop's clock, virtual under a virtual clock).
//! * [`Server`]: accept on a listener, HTTP/1.1 and HTTP/2 on one port, a
//!   task per connection, graceful shutdown with a grace, and
//!   [`ServeStats`] counting every request, response and failure.
//!   [`EveryLoop`] serves on every loop of a [`MultiLoop`](crate::MultiLoop).
//! * Client: hyper's `client::conn::{http1, http2}` over
//!   `CorioIo<TcpStream>` (above); with the `hyper-util` feature,
//!   [`Connector`] for `hyper_util`'s pooled `Client`.
//!
//! # Invariants
//!
//! * Everything runs on the loop that accepted (or connected): a server's
//!   connections, its HTTP/2 streams and its counters live on one thread,
//!   so the service need not be `Send`.
//! * A connection is wrapped in `cancellable()`: cancelling its task drops
//!   it at once, even while hyper sleeps on a timer (hyper's `Sleep` has no
//!   error to carry a cancellation).
//! * `requests == responses + unfinished` once [`Server::serve`] returns.

#[cfg(feature = "hyper-util")]
mod connector;
mod counted;
mod every_loop;
mod graceful;
mod io;
mod rt;
mod server;
mod sniff;
mod stats;
#[cfg(feature = "tls")]
mod tls;

#[cfg(feature = "hyper-util")]
pub use connector::Connector;
pub use counted::CountedBody;
pub use every_loop::EveryLoop;
pub use io::CorioIo;
pub use rt::{CorioExecutor, CorioTimer};
pub use server::{Server, DEFAULT_GRACE, DEFAULT_HANDSHAKE_TIMEOUT};
pub use sniff::{Protocol, Rewind};
pub use stats::ServeStats;
