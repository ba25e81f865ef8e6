//! `as_completed`: outputs in the order the futures finish (rule K3).
//!
//! The futures are polled in place, each with a waker of its own that
//! queues its index: a future is polled again only when it was woken, and
//! outputs come out in the order the wakes that finished them arrived —
//! for tasks, the order the tasks ended. More futures can be pushed while
//! iterating (tokio's `JoinSet`, futures' `FuturesUnordered`). Tasks keep
//! running between `next()` calls; plain futures progress only while
//! `next()` is awaited (pass tasks for asyncio's behaviour).

use crate::task::current;
use crate::task::Cancelled;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// Indices of woken futures, and the waker of whoever awaits `next()`.
/// Behind a mutex because wakers may be woken from any thread; this is not
/// a hot path (one lock per wake).
#[derive(Default)]
struct ReadyQueue {
    state: Mutex<(VecDeque<usize>, Option<Waker>)>,
}

/// The waker of future number `index`.
struct SlotWaker {
    index: usize,
    /// Already in the queue: a second wake adds nothing.
    queued: AtomicBool,
    queue: Arc<ReadyQueue>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let waker = {
            let mut state = self.queue.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.0.push_back(self.index);
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

struct Slot<F> {
    future: Option<Pin<Box<F>>>,
    waker: Arc<SlotWaker>,
}

/// Yields the futures' outputs in the order they finish (asyncio's
/// `as_completed`, rule K3); see [`AsCompleted::next`].
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// # use corio::runtime::EventLoop;
/// # use corio::reactor::ParkReactor;
/// # use corio::clock::VirtualClock;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// # lp.block_on(async {
/// let tasks = [3u64, 1, 2].map(|s| corio::spawn(async move {
///     corio::sleep(Duration::from_secs(s)).await.map(|_| s)
/// }));
/// let mut finished = corio::as_completed(tasks);
/// let mut order = Vec::new();
/// while let Some(result) = finished.next().await? {
///     order.push(result.unwrap()?);
/// }
/// assert_eq!(order, [1, 2, 3]);
/// Ok::<_, corio::task::Cancelled>(())
/// # })
/// # .unwrap()
/// # .unwrap();
/// ```
pub fn as_completed<I: IntoIterator>(futures: I) -> AsCompleted<I::Item>
where
    I::Item: Future,
{
    let mut set = AsCompleted::new();
    futures.into_iter().for_each(|f| set.push(f));
    set
}

/// The set behind [`as_completed`].
pub struct AsCompleted<F> {
    slots: Vec<Slot<F>>,
    /// Slots whose future finished, for reuse.
    free: Vec<usize>,
    running: usize,
    queue: Arc<ReadyQueue>,
}

impl<F: Future> Default for AsCompleted<F> {
    fn default() -> Self {
        AsCompleted::new()
    }
}

impl<F: Future> AsCompleted<F> {
    /// An empty set.
    pub fn new() -> Self {
        AsCompleted { slots: Vec::new(), free: Vec::new(), running: 0, queue: Arc::default() }
    }

    /// Adds a future; it is first polled by the next `next()`.
    pub fn push(&mut self, future: F) {
        let index = self.free.pop().unwrap_or(self.slots.len());
        let waker = Arc::new(SlotWaker { index, queued: AtomicBool::new(false), queue: self.queue.clone() });
        let slot = Slot { future: Some(Box::pin(future)), waker };
        if index == self.slots.len() {
            self.slots.push(slot);
        } else {
            self.slots[index] = slot;
        }
        self.running += 1;
        self.slots[index].waker.wake_by_ref(); // queue its first poll
    }

    /// Futures not yet finished.
    pub fn len(&self) -> usize {
        self.running
    }

    /// Whether every future has finished.
    pub fn is_empty(&self) -> bool {
        self.running == 0
    }

    /// The next output in finishing order: `Ok(Some(output))`, or
    /// `Ok(None)` when every future has finished. A checkpoint: a cancel of
    /// the awaiting task returns `Err(Cancelled)` and leaves the futures in
    /// the set.
    ///
    /// **Cancel safety:** cancel-safe: an output is taken only when `next`
    /// returns it; the futures stay in the set.
    #[allow(clippy::should_implement_trait)] // the async `next` of a stream, as tokio's
    pub fn next(&mut self) -> Next<'_, F> {
        Next { set: self }
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<F::Output>, Cancelled>> {
        current::checkpoint()?;
        if self.running == 0 {
            return Poll::Ready(Ok(None));
        }
        self.queue.state.lock().unwrap_or_else(PoisonError::into_inner).1 = Some(cx.waker().clone());
        loop {
            let index = self.queue.state.lock().unwrap_or_else(PoisonError::into_inner).0.pop_front();
            let Some(index) = index else { return Poll::Pending };
            let slot = &mut self.slots[index];
            slot.waker.queued.store(false, Ordering::Release);
            let Some(future) = slot.future.as_mut() else { continue }; // a stale wake
            let waker = Waker::from(slot.waker.clone());
            if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
                slot.future = None;
                self.free.push(index);
                self.running -= 1;
                return Poll::Ready(Ok(Some(output)));
            }
        }
    }
}

impl<F> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted").field("running", &self.running).finish()
    }
}

/// The future of [`AsCompleted::next`].
#[must_use = "futures do nothing unless awaited"]
pub struct Next<'a, F> {
    set: &'a mut AsCompleted<F>,
}

impl<F: Future> Future for Next<'_, F> {
    type Output = Result<Option<F::Output>, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().set.poll_next(cx)
    }
}

impl<F> fmt::Debug for Next<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.set.fmt(f)
    }
}
