//! A worker: one loop on a thread of its own, from start to teardown.
//!
//! The thread builds its loop, sends its handle back, runs it until the
//! runtime asks it to stop, then tears it down like `asyncio.run` (cancel,
//! wait for cleanup up to the grace period, shut the blocking pool) and
//! closes it. The loop never leaves the thread.

use super::MultiLoopError;
use crate::clock::Clock;
use crate::context::ContextStore;
use crate::executor::Executor;
use crate::reactor::Reactor;
use crate::runtime::pool::Membership;
use crate::runtime::{EventLoop, LoopError, LoopHandle};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

/// Builds loop `index` (on the thread that will run it).
pub(super) type MakeLoop<R, C, E, X> = Arc<dyn Fn(usize) -> io::Result<EventLoop<R, C, E, X>> + Send + Sync>;

pub(super) struct Worker {
    index: usize,
    handle: LoopHandle,
    /// Set before the stop is posted: tells the thread that this `stop()`
    /// is the runtime's, not one of the loop's own tasks'.
    stopping: Arc<AtomicBool>,
    /// Hands the thread its place in the runtime's pool before its loop
    /// first runs; dropped unused if the runtime fails to start.
    join_pool: Option<mpsc::SyncSender<Membership>>,
    thread: JoinHandle<Result<(), LoopError>>,
}

impl Worker {
    /// Starts loop `index` on a new thread; returns once the loop exists.
    pub(super) fn start<R, C, E, X>(
        index: usize,
        name: &str,
        make: MakeLoop<R, C, E, X>,
        grace: Duration,
    ) -> io::Result<Worker>
    where
        R: Reactor,
        C: Clock,
        E: Executor,
        X: ContextStore,
    {
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = stopping.clone();
        // A rendezvous at startup only: the thread reports its loop's handle
        // (or why it has none) once.
        let (tx, rx) = mpsc::sync_channel(1);
        let (join_pool, pool) = mpsc::sync_channel::<Membership>(1);
        let thread = std::thread::Builder::new().name(format!("{name}-{index}")).spawn(move || {
            let lp = match make(index) {
                Ok(lp) => lp,
                Err(err) => {
                    let _ = tx.send(Err(err));
                    return Ok(());
                }
            };
            let _ = tx.send(Ok(lp.handle()));
            drop(tx);
            // The pool exists once every loop does; a runtime that failed to
            // start drops the sender, and the loop runs only to be stopped.
            if let Ok(Membership { pool, index }) = pool.recv() {
                lp.attach_pool(pool, index);
            }
            run(&lp, &flag)?;
            let teardown = lp.shutdown(grace);
            lp.close();
            teardown
        })?;
        match rx.recv() {
            Ok(Ok(handle)) => Ok(Worker { index, handle, stopping, join_pool: Some(join_pool), thread }),
            Ok(Err(err)) => {
                let _ = thread.join();
                Err(err)
            }
            // The thread dropped the sender without a word: `make` panicked.
            Err(mpsc::RecvError) => {
                let _ = thread.join();
                Err(io::Error::other(format!("building loop {index} panicked")))
            }
        }
    }

    pub(super) fn handle(&self) -> &LoopHandle {
        &self.handle
    }

    /// Gives the loop its place in the runtime's pool (before it first runs).
    pub(super) fn join_pool(&mut self, membership: Membership) {
        if let Some(join_pool) = self.join_pool.take() {
            let _ = join_pool.send(membership);
        }
    }

    /// Asks the loop to stop; it tears down on its own thread.
    pub(super) fn request_stop(&mut self) {
        self.join_pool = None; // a loop still waiting for its pool runs now
        self.stopping.store(true, Ordering::SeqCst);
        // Refused only if the loop already closed, which is what we want.
        let _ = self.handle.stop();
    }

    /// Waits for the thread to finish its teardown.
    pub(super) fn join(self) -> Result<(), MultiLoopError> {
        let index = self.index;
        match self.thread.join() {
            Ok(result) => result.map_err(|error| MultiLoopError::Loop { index, error }),
            Err(_) => Err(MultiLoopError::WorkerPanicked { index }),
        }
    }
}

/// Runs the loop until the runtime stops it; a `stop()` from one of its own
/// tasks ends one `run_forever` only.
fn run<R: Reactor, C: Clock, E: Executor, X: ContextStore>(
    lp: &EventLoop<R, C, E, X>,
    stopping: &AtomicBool,
) -> Result<(), LoopError> {
    loop {
        lp.run_forever()?;
        // SeqCst pairs with `request_stop`: the flag is stored before the
        // stop is posted, and the post's mutex orders the two.
        if stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
    }
}
