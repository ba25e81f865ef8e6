//! [`Loops`]: a runtime's loop handles, for spawning and calling onto any
//! loop from any thread.

use crate::runtime::pool::PoolShared;
use crate::runtime::{Handle, LoopClosed, LoopHandle};
use crate::task::Task;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The handles of a [`MultiLoop`](super::MultiLoop)'s loops, indexed from 0 (the main loop);
/// `Send + Sync`, cheap to clone.
#[derive(Clone)]
pub struct Loops {
    pub(super) handles: Arc<[LoopHandle]>,
    /// The pool of the loops, host of the tasks [`Loops::spawn`] makes
    /// (`None` only while the runtime is being built).
    pool: Option<crate::loom::Arc<PoolShared>>,
    /// Round-robin cursor of [`Loops::spawn`] while there is no pool.
    next: Arc<AtomicUsize>,
}

impl Loops {
    pub(super) fn new(handles: Vec<LoopHandle>, pool: Option<crate::loom::Arc<PoolShared>>) -> Loops {
        Loops { handles: Arc::from(handles), pool, next: Arc::new(AtomicUsize::new(0)) }
    }

    /// How many loops.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Never true: a runtime has at least one loop.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The handle of loop `index`.
    pub fn get(&self, index: usize) -> Option<&LoopHandle> {
        self.handles.get(index)
    }

    /// Every loop's handle, in index order.
    pub fn iter(&self) -> std::slice::Iter<'_, LoopHandle> {
        self.handles.iter()
    }

    /// The index of the loop running on this thread, if it is one of these.
    pub fn current(&self) -> Option<usize> {
        self.handles.iter().position(LoopHandle::is_current)
    }

    fn lookup(&self, index: usize) -> Result<&LoopHandle, SpawnOnError> {
        self.get(index).ok_or(SpawnOnError::NoSuchLoop { index, loops: self.len() })
    }

    /// Spawns a `Send` future on loop `index`, from any thread.
    ///
    /// Errors: no loop `index`, or that loop has closed.
    #[track_caller]
    pub fn spawn_on<F>(&self, index: usize, future: F) -> Result<Task<F::Output>, SpawnOnError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Ok(self.lookup(index)?.spawn(future)?)
    }

    /// Spawns a `Send` future that may run on any of the loops: it starts on
    /// the loop that spawns it (or, from another thread, on the first loop
    /// free to take it), an idle loop takes it from a busy one, and whenever
    /// it is woken it runs on the loop that woke it. Unlike
    /// [`spawn_on`](Loops::spawn_on), which pins a task to one loop.
    ///
    /// Cancellation, context variables, done-callbacks, task dumps and
    /// metrics work as for any task; what the task waits on (a socket, a
    /// timer) stays with the loop it registered on, which wakes it there.
    ///
    /// ```
    /// use corio_core::multi_loop::Builder;
    /// use corio_core::reactor::ParkReactor;
    ///
    /// let rt = Builder::new(|| Ok(ParkReactor::new())).loops(2).build().unwrap();
    /// let loops = rt.loops();
    /// let total = rt
    ///     .run(async move {
    ///         let tasks: Vec<_> = (0..100u64).map(|i| loops.spawn(async move { i * 2 }).unwrap()).collect();
    ///         let mut total = 0;
    ///         for task in tasks {
    ///             total += task.await.unwrap();
    ///         }
    ///         total
    ///     })
    ///     .unwrap();
    /// assert_eq!(total, 9900);
    /// ```
    ///
    /// Errors: the runtime has shut down.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Result<Task<F::Output>, LoopClosed>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.pool {
            Some(pool) => PoolShared::spawn(pool, future, Location::caller()),
            None => {
                // Relaxed: the cursor only spreads work; no data hangs on it.
                let index = self.next.fetch_add(1, Ordering::Relaxed) % self.len();
                self.handles[index].spawn(future)
            }
        }
    }

    /// Spawns the future `build(index)` returns on every loop, building it
    /// on that loop's thread (so it need not be `Send`; see
    /// [`LoopHandle::spawn_with`]). This is how a server starts one accept
    /// loop per loop. Returns the tasks in loop order.
    #[track_caller]
    pub fn spawn_on_each<B, F>(&self, build: B) -> Result<Vec<Task<F::Output>>, LoopClosed>
    where
        B: Fn(usize) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let build = Arc::new(build);
        let mut tasks = Vec::with_capacity(self.len());
        for (index, handle) in self.handles.iter().enumerate() {
            let build = build.clone();
            tasks.push(handle.spawn_with(move || build(index))?);
        }
        Ok(tasks)
    }

    /// Schedules `callback` on loop `index` (asyncio's
    /// `call_soon_threadsafe`), from any thread.
    pub fn call_soon_threadsafe(
        &self,
        index: usize,
        callback: impl FnOnce() + Send + 'static,
    ) -> Result<Handle, SpawnOnError> {
        Ok(self.lookup(index)?.call_soon_threadsafe(callback)?)
    }
}

impl fmt::Debug for Loops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.handles.iter()).finish()
    }
}

/// Why [`Loops::spawn_on`] or [`Loops::call_soon_threadsafe`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnOnError {
    /// There is no loop with this index.
    NoSuchLoop {
        /// The index asked for.
        index: usize,
        /// How many loops there are.
        loops: usize,
    },
    /// The loop has closed.
    Closed,
}

impl From<LoopClosed> for SpawnOnError {
    fn from(_: LoopClosed) -> SpawnOnError {
        SpawnOnError::Closed
    }
}

impl fmt::Display for SpawnOnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnOnError::NoSuchLoop { index, loops } => {
                write!(f, "there is no loop {index}: the runtime has {loops} loops (0..{loops})")
            }
            SpawnOnError::Closed => LoopClosed.fmt(f),
        }
    }
}

impl std::error::Error for SpawnOnError {}
