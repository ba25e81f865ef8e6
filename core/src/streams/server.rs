//! `Server`: asyncio's `start_server` result — an accept loop per
//! listening socket and a task per client.

use super::transport::{Address, Transport};
use super::{pair, StreamReader, StreamWriter};
use crate::io::{Incoming, Listener};
use crate::runtime::current;
use crate::task::{AnyTask, Cancelled, Task};
use std::cell::RefCell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

/// A serving socket set (asyncio's `Server`): every accepted connection
/// becomes a `(StreamReader, StreamWriter)` pair handed to the callback,
/// which runs as a task of its own.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use corio_core::streams::{start_server, StreamReader, StreamWriter};
///
/// async fn echo(mut reader: StreamReader, writer: StreamWriter) {
///     while let Ok(line) = reader.readline().await {
///         if line.is_empty() || writer.write(&line).is_err() || writer.drain().await.is_err() {
///             break;
///         }
///     }
/// }
///
/// let server = start_server(echo, "127.0.0.1", 8888).await?;
/// println!("serving on {:?}", server.sockets());
/// server.serve_forever().await
/// # }
/// ```
pub struct Server {
    inner: Rc<Inner>,
}

struct Inner {
    addrs: Vec<Address>,
    state: RefCell<State>,
}

struct State {
    serving: bool,
    acceptors: Vec<Task<()>>,
    /// Accept loops still running (their listeners still open).
    accepting: usize,
    /// Client tasks still running (finished ones are pruned as new ones
    /// come).
    clients: Vec<AnyTask>,
    /// Client tasks not yet finished.
    active: usize,
    /// `serve_forever` and `wait_closed` waiters.
    waiters: Vec<Waker>,
    /// A Unix socket file to remove at close, if it is still this inode.
    socket_file: Option<(std::path::PathBuf, u64)>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("Server")
            .field("sockets", &self.inner.addrs)
            .field("serving", &state.serving)
            .field("clients", &state.active)
            .finish()
    }
}

/// Counts a client task (or an accept loop) down when it ends, however it
/// ends, and wakes `wait_closed` when the last one goes.
struct Guard {
    inner: Rc<Inner>,
    acceptor: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut state = self.inner.state.borrow_mut();
        let left = if self.acceptor { &mut state.accepting } else { &mut state.active };
        *left -= 1;
        if *left == 0 {
            state.waiters.drain(..).for_each(Waker::wake);
        }
    }
}

/// Serves `listeners` (already bound); see [`start_server_on`](super::start_server_on).
pub(super) fn serve<L, S, A, F, Fut>(
    listeners: Vec<(L, Address)>,
    client_connected: F,
    limit: usize,
) -> io::Result<Server>
where
    L: Listener<Connection = (S, A)> + 'static,
    S: Transport,
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    if limit == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the stream limit must be at least 1"));
    }
    if current::with_running(|_| ()).is_none() {
        return Err(io::Error::other("corio::streams: no event loop is running on this thread"));
    }
    let addrs = listeners.iter().map(|(_, addr)| addr.clone()).collect();
    let inner = Rc::new(Inner {
        addrs,
        state: RefCell::new(State {
            serving: true,
            acceptors: Vec::new(),
            accepting: 0,
            clients: Vec::new(),
            active: 0,
            waiters: Vec::new(),
            socket_file: None,
        }),
    });
    let callback = Rc::new(client_connected);
    let acceptors = listeners
        .into_iter()
        .map(|(listener, addr)| {
            inner.state.borrow_mut().accepting += 1;
            let guard = Guard { inner: inner.clone(), acceptor: true };
            let (inner, callback) = (inner.clone(), callback.clone());
            crate::task::Builder::new().name(format!("corio-server {addr}")).spawn(async move {
                let _guard = guard;
                accept_loop(listener, callback, inner, limit).await
            })
        })
        .collect();
    inner.state.borrow_mut().acceptors = acceptors;
    Ok(Server { inner })
}

async fn accept_loop<L, S, A, F, Fut>(listener: L, callback: Rc<F>, inner: Rc<Inner>, limit: usize)
where
    L: Listener<Connection = (S, A)>,
    S: Transport,
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let mut incoming = Incoming::new(&listener);
    loop {
        match incoming.accept().await {
            Ok((stream, _)) => {
                let (reader, writer) = pair(stream, limit).expect("the limit was checked");
                inner.state.borrow_mut().active += 1;
                let guard = Guard { inner: inner.clone(), acceptor: false };
                let client = callback(reader, writer);
                let task = crate::spawn(async move {
                    let _guard = guard;
                    client.await
                });
                let mut state = inner.state.borrow_mut();
                state.clients.retain(|c| !c.done());
                state.clients.push(AnyTask::clone(&task));
            }
            Err(err) if Cancelled::find(&err).is_some() => return,
            Err(err) => {
                // Not a resource shortage (`Incoming` backs off from those):
                // report it and go on after a pause, as asyncio's accept
                // loop does, instead of spinning on a broken listener.
                log::error!("corio::streams: accept failed: {err}");
                if crate::sleep(Duration::from_secs(1)).await.is_err() {
                    return;
                }
            }
        }
    }
}

impl Server {
    /// The addresses the server listens on (asyncio's `sockets`).
    pub fn sockets(&self) -> &[Address] {
        &self.inner.addrs
    }

    /// Whether it still accepts connections (asyncio's `is_serving`).
    pub fn is_serving(&self) -> bool {
        self.inner.state.borrow().serving
    }

    /// Stops accepting (asyncio's `close`): the listening sockets close
    /// when their accept loops see the cancellation, in the loop's next
    /// iteration. Connections already accepted go on; see
    /// [`wait_closed`](Server::wait_closed) and
    /// [`close_clients`](Server::close_clients).
    pub fn close(&self) {
        let mut state = self.inner.state.borrow_mut();
        if !state.serving {
            return;
        }
        state.serving = false;
        for acceptor in &state.acceptors {
            acceptor.cancel();
        }
        if let Some((path, inode)) = state.socket_file.take() {
            use std::os::unix::fs::{FileTypeExt, MetadataExt};
            // Only our socket: someone may have bound a new one there since.
            let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_socket() && m.ino() == inode);
            if ours {
                let _ = std::fs::remove_file(&path);
            }
        }
        state.waiters.drain(..).for_each(Waker::wake);
    }

    /// Cancels every client task still running (asyncio 3.13's
    /// `close_clients`, with corio's cancellation: each handler sees
    /// `Cancelled` at its next await and its streams close as it ends).
    pub fn close_clients(&self) {
        let state = self.inner.state.borrow();
        for client in &state.clients {
            client.cancel();
        }
    }

    /// Waits until the server is closed and every client task has ended
    /// (asyncio 3.12's `wait_closed`; a checkpoint).
    pub async fn wait_closed(&self) -> io::Result<()> {
        poll_fn(|cx| {
            current::checkpoint()?;
            let mut state = self.inner.state.borrow_mut();
            if !state.serving && state.active == 0 && state.accepting == 0 {
                return Poll::Ready(Ok(()));
            }
            if !state.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                state.waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Serves until the server is closed (asyncio's `serve_forever`; a
    /// checkpoint). Cancelled, it closes the server and returns the
    /// cancellation.
    pub async fn serve_forever(&self) -> io::Result<()> {
        let served = poll_fn(|cx| {
            if let Err(cancelled) = current::checkpoint() {
                return Poll::Ready(Err(io::Error::from(cancelled)));
            }
            let mut state = self.inner.state.borrow_mut();
            if !state.serving {
                return Poll::Ready(Ok(()));
            }
            if !state.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                state.waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await;
        if served.is_err() {
            self.close();
        }
        served
    }

    /// Removes the Unix socket file at `path` when the server is closed,
    /// if it is still inode `inode`.
    pub(super) fn remove_on_close(&self, path: std::path::PathBuf, inode: u64) {
        self.inner.state.borrow_mut().socket_file = Some((path, inode));
    }

    /// How many client tasks are running.
    pub fn active_clients(&self) -> usize {
        self.inner.state.borrow().active
    }
}

impl Drop for Server {
    /// Dropping the server closes it (its clients go on).
    fn drop(&mut self) {
        self.close();
    }
}
