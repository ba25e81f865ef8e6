//! Graceful shutdown of a server's connections: the open connections are
//! tracked in [`Shared`]; when the server starts draining, each one's
//! [`Graceful`] wrapper calls hyper's `graceful_shutdown` on it from inside
//! its own task (hyper's connections are pinned there), and the server
//! waits until the table is empty.

use super::counted::Counted;
use super::stats::Counters;
use super::CorioExecutor;
use crate::Task;
use hyper::body::{Body, Incoming};
use hyper::server::conn::{http1, http2};
use hyper::service::Service;
use hyper::{Request, Response};
use pin_project_lite::pin_project;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A server's state shared with its connection tasks (all on one loop).
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) counters: Rc<Counters>,
    draining: Cell<bool>,
    next_id: Cell<u64>,
    /// The open connections: their tasks and the wakers that a drain wakes.
    open: RefCell<HashMap<u64, Open>>,
    /// The server, waiting for `open` to empty.
    all_closed: RefCell<Option<Waker>>,
}

#[derive(Debug)]
struct Open {
    task: Option<Task<()>>,
    waker: Option<Waker>,
}

impl Shared {
    pub(crate) fn new() -> Shared {
        Shared::default()
    }

    pub(crate) fn next_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    /// Records a connection's task (it cannot have run yet: tasks start in
    /// a later iteration, so its entry exists before it first polls).
    pub(crate) fn add(&self, id: u64, task: Task<()>) {
        self.open.borrow_mut().insert(id, Open { task: Some(task), waker: None });
    }

    /// The connection's task is ending.
    pub(crate) fn remove(&self, id: u64) {
        let removed = self.open.borrow_mut().remove(&id);
        // Dropping our own handle detaches; it is not awaited.
        drop(removed);
        if self.open.borrow().is_empty() {
            if let Some(waker) = self.all_closed.borrow_mut().take() {
                waker.wake();
            }
        }
    }

    /// Tells every open connection to finish what it has begun and close.
    pub(crate) fn start_draining(&self) {
        self.draining.set(true);
        for open in self.open.borrow_mut().values_mut() {
            if let Some(waker) = open.waker.take() {
                waker.wake();
            }
        }
    }

    /// Takes the tasks of the connections still open (for cancelling).
    pub(crate) fn open_tasks(&self) -> Vec<Task<()>> {
        self.open.borrow_mut().values_mut().filter_map(|open| open.task.take()).collect()
    }

    pub(crate) fn poll_all_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.open.borrow().is_empty() {
            return Poll::Ready(());
        }
        *self.all_closed.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Whether the server is draining.
    fn draining(&self) -> bool {
        self.draining.get()
    }

    /// Remembers the connection's waker, for the drain to wake.
    fn watch(&self, id: u64, cx: &mut Context<'_>) {
        if let Some(open) = self.open.borrow_mut().get_mut(&id) {
            open.waker = Some(cx.waker().clone());
        }
    }
}

/// A hyper connection that can be told to finish what it has begun.
pub(crate) trait ShutDown: Future<Output = Result<(), hyper::Error>> {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<I, S, B> ShutDown for http1::Connection<I, Counted<S>>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    S::Future: 'static,
    B: Body + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http1::Connection::graceful_shutdown(self)
    }
}

impl<I, S, B> ShutDown for http2::Connection<I, Counted<S>, CorioExecutor>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    S::Future: 'static,
    B: Body + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http2::Connection::graceful_shutdown(self)
    }
}

pin_project! {
    /// A hyper connection of either protocol.
    #[project = ConnProj]
    pub(crate) enum Conn<A, B> {
        H1 { #[pin] conn: A },
        H2 { #[pin] conn: B },
    }
}

impl<A: ShutDown, B: ShutDown> Future for Conn<A, B> {
    type Output = Result<(), hyper::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ConnProj::H1 { conn } => conn.poll(cx),
            ConnProj::H2 { conn } => conn.poll(cx),
        }
    }
}

impl<A: ShutDown, B: ShutDown> ShutDown for Conn<A, B> {
    fn graceful_shutdown(self: Pin<&mut Self>) {
        match self.project() {
            ConnProj::H1 { conn } => conn.graceful_shutdown(),
            ConnProj::H2 { conn } => conn.graceful_shutdown(),
        }
    }
}

pin_project! {
    /// A connection that shuts down gracefully when its server drains.
    ///
    /// Its waker is stored once, at the first poll: the connection's task
    /// polls it, and a corio task's waker never changes. Later polls read
    /// one flag.
    pub(crate) struct Graceful<C> {
        #[pin]
        conn: C,
        shared: Rc<Shared>,
        id: u64,
        watching: bool,
        shutting_down: bool,
    }
}

impl<C> Graceful<C> {
    pub(crate) fn new(conn: C, shared: Rc<Shared>, id: u64) -> Self {
        Graceful { conn, shared, id, watching: false, shutting_down: false }
    }
}

impl<C: ShutDown> Future for Graceful<C> {
    type Output = Result<(), hyper::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if !*this.watching {
            *this.watching = true;
            this.shared.watch(*this.id, cx);
        }
        if !*this.shutting_down && this.shared.draining() {
            *this.shutting_down = true;
            this.conn.as_mut().graceful_shutdown();
        }
        this.conn.poll(cx)
    }
}
