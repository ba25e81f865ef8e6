//! [`PoolOfLoops`]: loops made one pool by hand, as [`MultiLoop`](super::MultiLoop)
//! does for its own; for the loom models of `corio-verify`, which build
//! their loops on model threads (a `MultiLoop` starts real threads).

use super::Loops;
use crate::clock::Clock;
use crate::context::ContextStore;
use crate::executor::Executor;
use crate::loom::Arc;
use crate::reactor::Reactor;
use crate::runtime::pool::PoolShared;
use crate::runtime::{EventLoop, LoopError, LoopHandle};

/// The pool of the loops behind some handles: member `i` is `handles[i]`.
/// Each loop joins on its own thread ([`join`](PoolOfLoops::join)) before
/// it runs; [`loops`](PoolOfLoops::loops)`().spawn(..)` makes the pool's
/// tasks; [`close`](PoolOfLoops::close) ends what is left once every loop
/// has stopped.
#[doc(hidden)]
#[derive(Clone)]
pub struct PoolOfLoops {
    pool: Arc<PoolShared>,
    loops: Loops,
}

impl PoolOfLoops {
    /// Makes the loops behind `handles` one pool.
    ///
    /// # Panics
    ///
    /// If 65 536 loops and pools are alive in the process.
    pub fn new(handles: Vec<LoopHandle>) -> PoolOfLoops {
        let pool = PoolShared::new(handles.clone()).expect("a free owner index");
        PoolOfLoops { loops: Loops::new(handles, Some(pool.clone())), pool }
    }

    /// Makes `lp` member `index` (on `lp`'s thread, before it runs).
    pub fn join<R: Reactor, C: Clock, E: Executor, X: ContextStore>(&self, lp: &EventLoop<R, C, E, X>, index: usize) {
        lp.attach_pool(self.pool.clone(), index);
    }

    /// The members' handles; `spawn` on them makes the pool's tasks.
    pub fn loops(&self) -> Loops {
        self.loops.clone()
    }

    /// Ends the pool's remaining tasks on member `lp` (once every member has
    /// stopped), as a `MultiLoop`'s teardown does on loop 0.
    pub fn close<R: Reactor, C: Clock, E: Executor, X: ContextStore>(
        &self,
        lp: &EventLoop<R, C, E, X>,
    ) -> Result<(), LoopError> {
        lp.close_pool()
    }
}
