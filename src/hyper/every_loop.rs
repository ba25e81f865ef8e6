//! [`EveryLoop`]: one [`Server`] per loop of a [`MultiLoop`](crate::MultiLoop),
//! each on its own `SO_REUSEPORT` listener of a shared port, shut down
//! together.

use super::{ServeStats, Server};
use crate::multi_loop::Loops;
use crate::net::TcpListener;
use crate::sync::Event;
use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A [`Server`] bound on every loop of a multi-loop runtime: made by
/// [`Server::bind_every_loop`], run by [`EveryLoop::serve`].
///
/// Linux hashes each incoming connection to one loop's listener; the
/// connection is served where it was accepted, so a service made for a
/// loop (by `make_service(loop_index)`) may hold that loop's `Rc`s.
///
/// ```no_run
/// use corio::hyper::Server;
/// use http_body_util::Full;
/// use hyper::body::Bytes;
/// use hyper::service::service_fn;
/// use hyper::Response;
/// use std::convert::Infallible;
///
/// #[corio::main(loops = 4)]
/// async fn main() -> std::io::Result<()> {
///     let loops = corio::multi_loop::current_loops().expect("inside a multi-loop runtime");
///     let server = Server::new().bind_every_loop(&loops, "127.0.0.1:3000".parse().unwrap())?;
///     println!("listening on http://{}", server.local_addr());
///     let hello = |_loop_index| {
///         |_peer| service_fn(|_req| async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hi\n")))) })
///     };
///     let stats = server.serve(hello, corio::signal::ctrl_c()).await?;
///     println!("{} request(s) over {} connection(s)", stats.requests, stats.connections);
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct EveryLoop {
    server: Server,
    loops: Loops,
    addr: SocketAddr,
    listeners: Vec<std::net::TcpListener>,
}

impl Server {
    /// Binds one listener per loop of `loops` to `addr` (`SO_REUSEPORT`);
    /// port 0 picks a free port, shared by all of them. Nothing is accepted
    /// until [`EveryLoop::serve`].
    ///
    /// Errors: a bind failed (the address is in use without the option,
    /// permission); no listener is left open then.
    pub fn bind_every_loop(&self, loops: &Loops, addr: SocketAddr) -> io::Result<EveryLoop> {
        let first = bind_reuse_port(addr)?;
        let addr = first.local_addr()?;
        let mut listeners = vec![first];
        for _ in 1..loops.len() {
            listeners.push(bind_reuse_port(addr)?);
        }
        Ok(EveryLoop { server: self.clone(), loops: loops.clone(), addr, listeners })
    }
}

fn bind_reuse_port(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

impl EveryLoop {
    /// The address every loop listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves on every loop until `shutdown` completes, then shuts every
    /// loop's server down gracefully (each with the server's grace) and
    /// returns their [`ServeStats`] summed. `make_service(loop_index)` is
    /// called once on each loop and makes that loop's per-connection
    /// service maker, as in [`Server::serve`].
    ///
    /// Errors: the first loop's error, by index (a listener failed, a loop
    /// had closed); a cancellation of this task cancels every loop's server
    /// and is returned.
    pub async fn serve<F, M, S, B>(self, make_service: F, shutdown: impl Future) -> io::Result<ServeStats>
    where
        F: Fn(usize) -> M + Send + Sync + 'static,
        M: FnMut(SocketAddr) -> S + 'static,
        S: Service<Request<Incoming>, Response = Response<B>> + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        S::Future: 'static,
        B: Body + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let stop = Arc::new(Event::new());
        let listeners: Arc<Vec<Mutex<Option<std::net::TcpListener>>>> =
            Arc::new(self.listeners.into_iter().map(|l| Mutex::new(Some(l))).collect());
        let server = Arc::new(self.server);
        let started = {
            let stop = stop.clone();
            self.loops.spawn_on_each(move |index| {
                let listener = listeners[index].lock().unwrap_or_else(|e| e.into_inner()).take();
                let (server, stop) = (server.clone(), stop.clone());
                let make = make_service(index);
                async move {
                    let listener = TcpListener::from_std(listener.expect("each loop takes its own listener"))?;
                    server.serve(listener, make, stop.wait()).await
                }
            })
        };
        let tasks = started.map_err(|closed| io::Error::other(closed.to_string()))?;
        let cancelled = crate::cancellable(shutdown).await.err();
        stop.set();
        let mut total = ServeStats::default();
        let mut first_error = None;
        for task in tasks {
            if cancelled.is_some() {
                task.cancel();
            }
            let result = match task.await {
                Ok(result) => result,
                Err(err) => Err(io::Error::other(err.to_string())),
            };
            match result {
                Ok(stats) => total += stats,
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        if let Some(cancelled) = cancelled {
            return Err(cancelled.into());
        }
        first_error.map_or(Ok(total), Err)
    }
}
