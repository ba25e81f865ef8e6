//! Spawning onto another loop: `Send` futures as they are, and futures that
//! are not `Send` by sending the function that builds them.
//!
//! # Invariant
//!
//! A task's future is polled and dropped only on its loop's thread: tasks
//! never migrate, and a loop drops every future it still holds on its own
//! thread when it closes (`runtime` module invariants). So a future built
//! inside the task's first poll never leaves that thread, whatever its type.

use crate::runtime::{LoopClosed, LoopHandle};
use crate::task::Task;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Spawns a `Send` future onto the loop behind `handle`, from any thread
/// (the multi-loop spelling of [`LoopHandle::spawn`]).
///
/// ```
/// use corio_core::reactor::ParkReactor;
/// use corio_core::runtime::EventLoop;
///
/// let lp = EventLoop::new(ParkReactor::new());
/// let handle = lp.handle();
/// let task = std::thread::spawn(move || corio_core::multi_loop::spawn_on(&handle, async { 6 * 7 }))
///     .join()
///     .unwrap()
///     .unwrap();
/// assert_eq!(lp.block_on(task).unwrap().unwrap(), 42);
/// ```
#[track_caller]
pub fn spawn_on<F>(handle: &LoopHandle, future: F) -> Result<Task<F::Output>, LoopClosed>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    handle.spawn(future)
}

impl LoopHandle {
    /// Spawns the future `build` returns, building it on the loop's thread
    /// in the task's first step, so that the future itself need not be
    /// `Send` (tokio-util's `spawn_pinned`): only `build` and the output
    /// cross threads. Fails if the loop is closed.
    ///
    /// ```
    /// use corio_core::reactor::ParkReactor;
    /// use corio_core::runtime::EventLoop;
    /// use std::rc::Rc;
    ///
    /// let lp = EventLoop::new(ParkReactor::new());
    /// let handle = lp.handle();
    /// let task = std::thread::spawn(move || {
    ///     handle.spawn_with(|| async {
    ///         let local = Rc::new(21); // not Send: lives on the loop's thread
    ///         corio_core::yield_now().await.unwrap();
    ///         *local * 2
    ///     })
    /// })
    /// .join()
    /// .unwrap()
    /// .unwrap();
    /// assert_eq!(lp.block_on(task).unwrap().unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn spawn_with<B, F>(&self, build: B) -> Result<Task<F::Output>, LoopClosed>
    where
        B: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        self.spawn(BuildOnLoop::Build(Some(build)))
    }
}

/// A future that builds its inner future when first polled.
enum BuildOnLoop<B, F> {
    Build(Option<B>),
    Run(F),
}

// SAFETY: before the first poll only `B` (`Send`) is inside. The first poll
// runs on the task's loop thread and builds `F` there, and from then on the
// task is polled and dropped only on that thread (the module invariant), so
// `F` never crosses a thread. `BuildOnLoop` is private to this module and is
// only ever the future of a task.
unsafe impl<B: Send, F> Send for BuildOnLoop<B, F> {}

impl<B: FnOnce() -> F, F: Future> Future for BuildOnLoop<B, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `F` is pinned in place: once `Run` holds it, the value is
        // never moved or replaced (only `Build`, which holds nothing pinned,
        // is replaced).
        let this = unsafe { self.get_unchecked_mut() };
        if let BuildOnLoop::Build(build) = this {
            // `take` leaves `None` if `build` panics; the task then ends
            // with the panic and is never polled again.
            let build = build.take().expect("corio: a task is not polled again after it panicked");
            *this = BuildOnLoop::Run(build());
        }
        match this {
            // SAFETY: see above; `future` stays where it is.
            BuildOnLoop::Run(future) => unsafe { Pin::new_unchecked(future) }.poll(cx),
            BuildOnLoop::Build(_) => unreachable!("built above"),
        }
    }
}
