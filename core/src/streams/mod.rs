//! asyncio's streams: [`open_connection`] and [`start_server`] with
//! [`StreamReader`] and [`StreamWriter`], over TCP or Unix sockets.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use corio_core::streams::{open_connection, start_server, StreamReader, StreamWriter};
//!
//! async fn shout(mut reader: StreamReader, writer: StreamWriter) {
//!     while let Ok(line) = reader.readline().await {
//!         if line.is_empty() {
//!             break; // the client closed
//!         }
//!         let _ = writer.write(&line.to_ascii_uppercase());
//!         if writer.drain().await.is_err() {
//!             break;
//!         }
//!     }
//! }
//!
//! let server = start_server(shout, "127.0.0.1", 0).await?;
//! let port = server.sockets()[0].as_inet().unwrap().port();
//!
//! let (mut reader, writer) = open_connection("127.0.0.1", port).await?;
//! writer.write(b"hello\n")?;
//! assert_eq!(reader.readline().await?, b"HELLO\n");
//! writer.close();
//! writer.wait_closed().await?;
//! server.close();
//! server.wait_closed().await?;
//! # Ok(()) }
//! ```
//!
//! The rules, one by one against asyncio's, are in `docs/semantics.md`
//! ("asyncio's streams"). In short: reads are buffered and every read is a
//! checkpoint; `readuntil` looks within the reader's `limit` and leaves the
//! buffer as it was when it gives up; `readexactly` reports the bytes it
//! got when the stream ends early; `write` never waits, `drain` waits on the
//! high/low water marks; `close` sends what is queued, then closes both
//! directions.
//!
//! * [`open_connection`] / [`open_connection_with`]: a host name resolved
//!   on the blocking pool, Happy Eyeballs over its addresses.
//! * [`start_server`], [`start_unix_server`], [`start_server_on`] (any
//!   [`Listener`]): a [`Server`].
//! * [`pair`]: a reader and a writer over any [`Transport`] (a stream of
//!   your own, or the mock backend's simulated ones).
//!
//! # Invariants
//!
//! * The reader and the writer share the transport on the loop's thread;
//!   each poll borrows it for that poll only. Closing the writer drops it:
//!   the descriptor closes and the reader sees the end of the stream.
//! * Errors are typed as asyncio's: [`IncompleteReadError`] (with the
//!   partial bytes) and [`LimitOverrunError`] (with how much to consume),
//!   in [`ReadError`], which converts into `io::Error` for `?`.

mod error;
mod reader;
mod server;
mod transport;
mod writer;

pub use error::{IncompleteReadError, LimitOverrunError, ReadError};
pub use reader::StreamReader;
pub use server::Server;
pub use transport::{Address, Transport};
pub use writer::{StreamWriter, DEFAULT_HIGH_WATER};

use crate::io::{HappyEyeballs, Listener, TcpListener, UnixListener, UnixStream};
use std::future::Future;
use std::io;
use std::path::Path;
use std::rc::Rc;

/// asyncio's default buffer limit (`2 ** 16`).
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// How [`open_connection_with`] connects and reads.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// The reader's limit (asyncio's `limit`; at least 1).
    pub limit: usize,
    /// How several addresses are raced (asyncio's `happy_eyeballs_delay`
    /// and `interleave`).
    pub happy_eyeballs: HappyEyeballs,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions { limit: DEFAULT_LIMIT, happy_eyeballs: HappyEyeballs::new() }
    }
}

/// A reader and a writer over `transport` (what `open_connection` and the
/// servers build for each connection).
///
/// Errors: `limit` is 0 (`InvalidInput`).
pub fn pair(transport: impl Transport, limit: usize) -> io::Result<(StreamReader, StreamWriter)> {
    if limit == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the stream limit must be at least 1"));
    }
    let shared = Rc::new(transport::Shared::new(Box::new(transport)));
    Ok((StreamReader::new(shared.clone(), limit), StreamWriter::new(shared)))
}

/// Connects to `host:port` (asyncio's `open_connection`): the name is
/// resolved on the blocking pool and its addresses raced (Happy Eyeballs).
/// A checkpoint.
pub async fn open_connection(host: &str, port: u16) -> io::Result<(StreamReader, StreamWriter)> {
    open_connection_with(host, port, &StreamOptions::default()).await
}

/// [`open_connection`] with a limit and Happy Eyeballs settings of your own.
pub async fn open_connection_with(
    host: &str,
    port: u16,
    options: &StreamOptions,
) -> io::Result<(StreamReader, StreamWriter)> {
    if options.limit == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the stream limit must be at least 1"));
    }
    let stream = options.happy_eyeballs.connect((host, port)).await?;
    pair(stream, options.limit)
}

/// Connects to the Unix socket at `path` (asyncio's
/// `open_unix_connection`).
pub async fn open_unix_connection(path: impl AsRef<Path>) -> io::Result<(StreamReader, StreamWriter)> {
    pair(UnixStream::connect(path).await?, DEFAULT_LIMIT)
}

/// Listens on every address `host` resolves to, at `port` (0: a free
/// port for each), and runs `client_connected(reader, writer)` as a task
/// for each connection (asyncio's `start_server`). A checkpoint.
///
/// Errors: the name does not resolve, or an address cannot be bound (then
/// nothing listens).
pub async fn start_server<F, Fut>(client_connected: F, host: &str, port: u16) -> io::Result<Server>
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let mut addrs: Vec<_> = crate::io::lookup_host((host, port)).await?.collect();
    addrs.dedup();
    if addrs.is_empty() {
        return Err(io::Error::new(io::ErrorKind::NotFound, format!("{host:?} has no address to listen on")));
    }
    let listeners = addrs
        .into_iter()
        .map(|addr| {
            let listener = TcpListener::bind(addr).map_err(|err| {
                io::Error::new(err.kind(), format!("error while attempting to bind on address {addr}: {err}"))
            })?;
            let local = listener.local_addr()?;
            Ok((listener, Address::Inet(local)))
        })
        .collect::<io::Result<Vec<_>>>()?;
    server::serve(listeners, client_connected, DEFAULT_LIMIT)
}

/// [`start_server`] on a Unix socket bound at `path` (asyncio's
/// `start_unix_server`). When the server is closed, the socket file is
/// removed if it is still the one bound here (asyncio 3.13's
/// `cleanup_socket=True`).
pub async fn start_unix_server<F, Fut>(client_connected: F, path: impl AsRef<Path>) -> io::Result<Server>
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    use std::os::unix::fs::MetadataExt;
    crate::runtime::current::checkpoint()?;
    let path = path.as_ref();
    let listener = UnixListener::bind(path)
        .map_err(|err| io::Error::new(err.kind(), format!("error while attempting to bind on {path:?}: {err}")))?;
    let local = Address::Unix(listener.local_addr()?);
    let inode = std::fs::symlink_metadata(path).map(|m| m.ino()).ok();
    let server = server::serve(vec![(listener, local)], client_connected, DEFAULT_LIMIT)?;
    if let Some(inode) = inode {
        server.remove_on_close(path.to_owned(), inode);
    }
    Ok(server)
}

/// Serves an already bound `listener` of any kind (a simulated one, a
/// socket configured by hand) with asyncio's server semantics, each
/// client's reader limited to `limit` bytes.
pub fn start_server_on<L, S, A, F, Fut>(
    listener: L,
    local: Address,
    client_connected: F,
    limit: usize,
) -> io::Result<Server>
where
    L: Listener<Connection = (S, A)> + 'static,
    S: Transport,
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    server::serve(vec![(listener, local)], client_connected, limit)
}
