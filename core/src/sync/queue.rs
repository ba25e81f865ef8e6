//! [`Queue`], [`PriorityQueue`], [`LifoQueue`]: asyncio's queues (rule S6).
//!
//! # Invariants
//!
//! The state sits behind one mutex: a queue is a container, and every `put`
//! and `get` changes it (an uncontended lock, no syscall; the order — FIFO,
//! LIFO, heap — is a plain collection inside).
//!
//! * **Hand-over, FIFO among waiters.** A `put` while getters wait grants
//!   the first getter an item ("promised": counted in `promised_items`, still
//!   in the container); a `get` while putters wait grants the first putter a
//!   slot (`promised_slots`). Promised items and slots are not available to
//!   anyone else, so a newcomer never overtakes a waiter (S6).
//! * So getters wait only while every item is promised, and putters only
//!   while every slot is taken or promised.
//! * **Cancel-safe** (S7): a waiter that leaves while waiting leaves no
//!   trace; one that leaves holding a promise passes it to the next waiter.
//! * **Shut down** (3.13): puts fail; gets drain what is left, then fail;
//!   every waiter is woken to see it. `immediate` drops the items, counting
//!   each as done for [`join`](Queue::join).

use super::waiters::{grant_all, lock, wake, Removed, WaiterKey, Waiters};
use crate::loom::Mutex;
use crate::runtime::current;
use crate::task::Cancelled;
use futures_core::Stream;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The order a queue hands its items out in.
pub trait QueueOrder<T>: Default {
    /// Adds an item.
    fn push(&mut self, item: T);
    /// Takes the next item.
    fn pop(&mut self) -> Option<T>;
    /// How many items it holds.
    fn len(&self) -> usize;
    /// Whether it holds none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// First in, first out ([`Queue`]).
#[derive(Debug)]
pub struct Fifo<T>(VecDeque<T>);

/// Last in, first out ([`LifoQueue`]).
#[derive(Debug)]
pub struct Lifo<T>(Vec<T>);

/// Smallest first ([`PriorityQueue`], asyncio's `heapq` order).
#[derive(Debug)]
pub struct Priority<T: Ord>(BinaryHeap<Reverse<T>>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(VecDeque::new())
    }
}

impl<T> Default for Lifo<T> {
    fn default() -> Self {
        Lifo(Vec::new())
    }
}

impl<T: Ord> Default for Priority<T> {
    fn default() -> Self {
        Priority(BinaryHeap::new())
    }
}

impl<T> QueueOrder<T> for Fifo<T> {
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> QueueOrder<T> for Lifo<T> {
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Ord> QueueOrder<T> for Priority<T> {
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(item)| item)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// A queue for tasks (asyncio's `Queue`); the order is `O` ([`Fifo`] here,
/// see [`PriorityQueue`] and [`LifoQueue`]).
///
/// * `maxsize` 0 means unbounded; otherwise [`put`](Queue::put) waits while
///   the queue is full and [`get`](Queue::get) while it is empty, FIFO among
///   waiters (rule S6). Both are checkpoints.
/// * [`task_done`](Queue::task_done)/[`join`](Queue::join) count unfinished
///   items; [`shutdown`](Queue::shutdown) ends the queue (3.13).
/// * [`stream`](Queue::stream) is the receiving side as a `futures::Stream`.
/// * `Send + Sync` when `T: Send`: tasks on different loops can share it.
///
/// ```
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// use corio_core::sync::Queue;
/// use std::sync::Arc;
/// # let lp = EventLoop::new(ParkReactor::new());
/// lp.block_on(async {
///     let queue = Arc::new(Queue::new(2));
///     let q = queue.clone();
///     let consumer = corio_core::spawn(async move {
///         let mut total = 0;
///         while let Ok(item) = q.get().await {
///             total += item;
///             q.task_done().unwrap();
///         }
///         total // the queue was shut down and drained
///     });
///     for i in 1..=5 {
///         queue.put(i).await.unwrap(); // waits while 2 items are queued
///     }
///     queue.join().await.unwrap(); // every item was processed
///     queue.shutdown(false);
///     assert_eq!(consumer.await.unwrap(), 15);
/// })
/// .unwrap();
/// ```
pub struct Queue<T, O: QueueOrder<T> = Fifo<T>> {
    maxsize: usize,
    state: Mutex<State<T, O>>,
}

struct State<T, O> {
    items: O,
    /// Items granted to woken getters that have not taken them yet.
    promised_items: usize,
    /// Free slots granted to woken putters that have not filled them yet.
    promised_slots: usize,
    /// Granted `true` with a promised item, `false` at shutdown.
    getters: Waiters<bool>,
    /// Granted `true` with a promised slot, `false` at shutdown.
    putters: Waiters<bool>,
    joiners: Waiters<()>,
    unfinished: usize,
    shut_down: bool,
    _items: PhantomData<fn(T) -> T>,
}

impl<T> Queue<T> {
    /// A FIFO queue holding at most `maxsize` items (0: unbounded).
    pub fn new(maxsize: usize) -> Queue<T> {
        Queue::with_order(maxsize)
    }
}

impl<T, O: QueueOrder<T>> Queue<T, O> {
    /// A queue handing items out in the order `O`.
    pub fn with_order(maxsize: usize) -> Queue<T, O> {
        Queue {
            maxsize,
            state: Mutex::new(State {
                items: O::default(),
                promised_items: 0,
                promised_slots: 0,
                getters: Waiters::default(),
                putters: Waiters::default(),
                joiners: Waiters::default(),
                unfinished: 0,
                shut_down: false,
                _items: PhantomData,
            }),
        }
    }

    /// The bound given at creation (0: unbounded).
    pub fn maxsize(&self) -> usize {
        self.maxsize
    }

    /// Items in the queue (asyncio's `qsize()`), including ones promised to
    /// getters that have not resumed yet.
    pub fn qsize(&self) -> usize {
        lock(&self.state).items.len()
    }

    /// Whether the queue holds no item.
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether the queue holds `maxsize` items (never, if unbounded).
    pub fn full(&self) -> bool {
        self.maxsize > 0 && self.qsize() >= self.maxsize
    }

    /// Whether [`shutdown`](Queue::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        lock(&self.state).shut_down
    }

    /// Puts `item` without waiting: [`PutError::Full`] if no slot is free
    /// (also when the free slot is promised to a waiting putter),
    /// [`PutError::ShutDown`] after shutdown; the item comes back either way.
    pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
        let mut state = lock(&self.state);
        if state.shut_down {
            return Err(PutError::ShutDown(item));
        }
        if !self.has_free_slot(&state) || !state.putters.is_empty() {
            return Err(PutError::Full(item));
        }
        let waker = Self::push_item(&mut state, item);
        drop(state);
        wake(waker);
        Ok(())
    }

    /// Puts `item`, waiting for a free slot (a checkpoint). The item comes
    /// back with the error if the queue is shut down or the wait cancelled.
    pub async fn put(&self, item: T) -> Result<(), PutError<T>> {
        Put { queue: self, item: Some(item), key: None }.await
    }

    /// Takes an item without waiting: [`GetError::Empty`] if none is
    /// available (also when every item is promised to a waiting getter),
    /// [`GetError::ShutDown`] if empty after shutdown.
    pub fn get_nowait(&self) -> Result<T, GetError> {
        let mut state = lock(&self.state);
        if state.items.len() > state.promised_items {
            let (item, waker) = self.pop_item(&mut state);
            drop(state);
            wake(waker);
            return Ok(item.expect("checked above"));
        }
        Err(if state.shut_down { GetError::ShutDown } else { GetError::Empty })
    }

    /// Takes an item, waiting for one (a checkpoint). After shutdown it
    /// drains what is left, then fails with [`GetError::ShutDown`].
    pub async fn get(&self) -> Result<T, GetError> {
        Get { queue: self, key: None }.await
    }

    /// Marks one item taken with `get` as processed (asyncio's
    /// `task_done()`); `Err` if called more often than items were put.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut state = lock(&self.state);
        if state.unfinished == 0 {
            return Err(TaskDoneError);
        }
        state.unfinished -= 1;
        if state.unfinished == 0 {
            grant_all(&self.state, state, |s| &mut s.joiners, ());
        }
        Ok(())
    }

    /// Waits until every item put has been marked done (a checkpoint).
    pub async fn join(&self) -> Result<(), Cancelled> {
        Join { queue: self, key: None }.await
    }

    /// Shuts the queue down (asyncio 3.13): later puts fail; gets drain the
    /// items left, then fail; every waiting put and get wakes to see it. With
    /// `immediate`, the items are dropped — each counted as done, which may
    /// release [`join`](Queue::join) — and gets fail at once.
    pub fn shutdown(&self, immediate: bool) {
        let mut state = lock(&self.state);
        state.shut_down = true;
        let mut dropped = Vec::new();
        // MUTANT (prop_sync_queue): an immediate shutdown keeps the items
        // (and their unfinished count), as a plain shutdown does.
        #[cfg(corio_mutant = "queue_immediate_keeps_items")]
        let immediate = immediate && false;
        if immediate {
            while let Some(item) = state.items.pop() {
                dropped.push(item);
            }
            state.unfinished = state.unfinished.saturating_sub(dropped.len());
            state.promised_items = 0;
        }
        state.promised_slots = 0;
        let all_done = state.unfinished == 0;
        grant_all(&self.state, state, |s| &mut s.getters, false);
        grant_all(&self.state, lock(&self.state), |s| &mut s.putters, false);
        if all_done {
            grant_all(&self.state, lock(&self.state), |s| &mut s.joiners, ());
        }
        drop(dropped); // user destructors run outside the lock
    }

    /// The receiving side as a stream: each item (`Ok`), `Err(Cancelled)`
    /// when the task's cancel is delivered, the end after shutdown.
    pub fn stream(&self) -> QueueStream<'_, T, O> {
        QueueStream { get: Get { queue: self, key: None } }
    }

    fn has_free_slot(&self, state: &State<T, O>) -> bool {
        self.maxsize == 0 || state.items.len() + state.promised_slots < self.maxsize
    }

    /// Adds an item; promises it to the first waiting getter, whose waker
    /// comes back to be woken after unlocking.
    fn push_item(state: &mut State<T, O>, item: T) -> Option<Waker> {
        state.items.push(item);
        state.unfinished += 1;
        let waker = state.getters.grant_first(true);
        if waker.is_some() {
            state.promised_items += 1;
        }
        waker
    }

    /// Takes the next item; promises the freed slot to the first waiting
    /// putter.
    fn pop_item(&self, state: &mut State<T, O>) -> (Option<T>, Option<Waker>) {
        let item = state.items.pop();
        let waker = self.grant_slot(state);
        (item, waker)
    }

    fn grant_slot(&self, state: &mut State<T, O>) -> Option<Waker> {
        if state.shut_down || !self.has_free_slot(state) {
            return None;
        }
        let waker = state.putters.grant_first(true);
        if waker.is_some() {
            state.promised_slots += 1;
        }
        waker
    }

    fn grant_item(state: &mut State<T, O>) -> Option<Waker> {
        if state.items.len() <= state.promised_items {
            return None;
        }
        let waker = state.getters.grant_first(true);
        if waker.is_some() {
            state.promised_items += 1;
        }
        waker
    }
}

impl<T, O: QueueOrder<T>> fmt::Debug for Queue<T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Queue")
            .field("maxsize", &self.maxsize)
            .field("qsize", &state.items.len())
            .field("getters", &state.getters.len())
            .field("putters", &state.putters.len())
            .field("unfinished", &state.unfinished)
            .field("shut_down", &state.shut_down)
            .finish()
    }
}

/// A queue that hands out the smallest item first (asyncio's
/// `PriorityQueue`); every method is [`Queue`]'s.
///
/// ```
/// use corio_core::sync::PriorityQueue;
/// let pq = PriorityQueue::new(0);
/// for x in [5, 1, 4, 2, 3] {
///     pq.put_nowait(x).unwrap();
/// }
/// let order: Vec<_> = (0..5).map(|_| pq.get_nowait().unwrap()).collect();
/// assert_eq!(order, [1, 2, 3, 4, 5]);
/// ```
pub struct PriorityQueue<T: Ord>(Queue<T, Priority<T>>);

impl<T: Ord> PriorityQueue<T> {
    /// A priority queue holding at most `maxsize` items (0: unbounded).
    pub fn new(maxsize: usize) -> PriorityQueue<T> {
        PriorityQueue(Queue::with_order(maxsize))
    }
}

impl<T: Ord> Deref for PriorityQueue<T> {
    type Target = Queue<T, Priority<T>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T: Ord> fmt::Debug for PriorityQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A queue that hands out the newest item first (asyncio's `LifoQueue`);
/// every method is [`Queue`]'s.
///
/// ```
/// use corio_core::sync::LifoQueue;
/// let stack = LifoQueue::new(0);
/// stack.put_nowait(1).unwrap();
/// stack.put_nowait(2).unwrap();
/// assert_eq!(stack.get_nowait().unwrap(), 2);
/// ```
pub struct LifoQueue<T>(Queue<T, Lifo<T>>);

impl<T> LifoQueue<T> {
    /// A LIFO queue holding at most `maxsize` items (0: unbounded).
    pub fn new(maxsize: usize) -> LifoQueue<T> {
        LifoQueue(Queue::with_order(maxsize))
    }
}

impl<T> Deref for LifoQueue<T> {
    type Target = Queue<T, Lifo<T>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T> fmt::Debug for LifoQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

// ----- the waiting operations -------------------------------------------------

struct Put<'a, T, O: QueueOrder<T>> {
    queue: &'a Queue<T, O>,
    item: Option<T>,
    key: Option<WaiterKey>,
}

// The item is moved in and out, never pinned.
impl<T, O: QueueOrder<T>> Unpin for Put<'_, T, O> {}

impl<T, O: QueueOrder<T>> Put<'_, T, O> {
    fn leave(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut state = lock(&self.queue.state);
        if state.putters.remove(key) == Some(Removed::Granted(true)) {
            state.promised_slots = state.promised_slots.saturating_sub(1);
            let waker = self.queue.grant_slot(&mut state); // S7: pass the slot on
            drop(state);
            wake(waker);
        }
    }

    fn item(&mut self) -> T {
        self.item.take().expect("a corio put future was polled after it completed")
    }
}

impl<T, O: QueueOrder<T>> Future for Put<'_, T, O> {
    type Output = Result<(), PutError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Err(cancelled) = current::checkpoint() {
            this.leave();
            return Poll::Ready(Err(PutError::Cancelled(cancelled, this.item())));
        }
        let queue = this.queue;
        let mut state = lock(&queue.state);
        match this.key {
            None => {
                if state.shut_down {
                    return Poll::Ready(Err(PutError::ShutDown(this.item())));
                }
                if !queue.has_free_slot(&state) || !state.putters.is_empty() {
                    this.key = Some(state.putters.push(cx.waker().clone()));
                    return Poll::Pending;
                }
            }
            Some(key) => match state.putters.poll(key, cx.waker()) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(granted) => {
                    this.key = None;
                    if granted == Some(true) {
                        state.promised_slots = state.promised_slots.saturating_sub(1);
                    }
                    if state.shut_down || granted != Some(true) {
                        return Poll::Ready(Err(PutError::ShutDown(this.item())));
                    }
                }
            },
        }
        let waker = Queue::push_item(&mut state, this.item());
        drop(state);
        wake(waker);
        Poll::Ready(Ok(()))
    }
}

impl<T, O: QueueOrder<T>> Drop for Put<'_, T, O> {
    fn drop(&mut self) {
        self.leave();
    }
}

struct Get<'a, T, O: QueueOrder<T>> {
    queue: &'a Queue<T, O>,
    key: Option<WaiterKey>,
}

impl<T, O: QueueOrder<T>> Unpin for Get<'_, T, O> {}

impl<T, O: QueueOrder<T>> Get<'_, T, O> {
    fn leave(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut state = lock(&self.queue.state);
        if state.getters.remove(key) == Some(Removed::Granted(true)) {
            state.promised_items = state.promised_items.saturating_sub(1);
            // MUTANT (prop_sync_queue): a cancelled getter keeps the item it
            // was promised — the next getter is never woken for it.
            #[cfg(not(corio_mutant = "queue_getter_keeps_promise"))]
            {
                let waker = Queue::grant_item(&mut state); // S7: pass the item on
                drop(state);
                wake(waker);
            }
        }
    }
}

impl<T, O: QueueOrder<T>> Future for Get<'_, T, O> {
    type Output = Result<T, GetError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Err(cancelled) = current::checkpoint() {
            this.leave();
            return Poll::Ready(Err(GetError::Cancelled(cancelled)));
        }
        let queue = this.queue;
        let mut state = lock(&queue.state);
        match this.key {
            None => {
                if state.items.len() <= state.promised_items {
                    if state.shut_down {
                        return Poll::Ready(Err(GetError::ShutDown));
                    }
                    this.key = Some(state.getters.push(cx.waker().clone()));
                    return Poll::Pending;
                }
            }
            Some(key) => match state.getters.poll(key, cx.waker()) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(granted) => {
                    this.key = None;
                    if granted != Some(true) {
                        return Poll::Ready(Err(GetError::ShutDown));
                    }
                    state.promised_items = state.promised_items.saturating_sub(1);
                }
            },
        }
        let (item, waker) = queue.pop_item(&mut state);
        drop(state);
        wake(waker);
        // Only an immediate shutdown takes a promised item away.
        Poll::Ready(item.ok_or(GetError::ShutDown))
    }
}

impl<T, O: QueueOrder<T>> Drop for Get<'_, T, O> {
    fn drop(&mut self) {
        self.leave();
    }
}

struct Join<'a, T, O: QueueOrder<T>> {
    queue: &'a Queue<T, O>,
    key: Option<WaiterKey>,
}

impl<T, O: QueueOrder<T>> Unpin for Join<'_, T, O> {}

impl<T, O: QueueOrder<T>> Future for Join<'_, T, O> {
    type Output = Result<(), Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Err(cancelled) = current::checkpoint() {
            if let Some(key) = this.key.take() {
                lock(&this.queue.state).joiners.remove(key);
            }
            return Poll::Ready(Err(cancelled));
        }
        let mut state = lock(&this.queue.state);
        match this.key {
            None if state.unfinished == 0 => Poll::Ready(Ok(())),
            None => {
                this.key = Some(state.joiners.push(cx.waker().clone()));
                Poll::Pending
            }
            Some(key) => match state.joiners.poll(key, cx.waker()) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(_) => {
                    this.key = None;
                    Poll::Ready(Ok(()))
                }
            },
        }
    }
}

impl<T, O: QueueOrder<T>> Drop for Join<'_, T, O> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            lock(&self.queue.state).joiners.remove(key);
        }
    }
}

/// A queue's receiving side as a `futures::Stream` ([`Queue::stream`]).
pub struct QueueStream<'a, T, O: QueueOrder<T> = Fifo<T>> {
    get: Get<'a, T, O>,
}

impl<T, O: QueueOrder<T>> Stream for QueueStream<'_, T, O> {
    type Item = Result<T, Cancelled>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.get_mut().get).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(item)) => Poll::Ready(Some(Ok(item))),
            Poll::Ready(Err(GetError::Cancelled(cancelled))) => Poll::Ready(Some(Err(cancelled))),
            Poll::Ready(Err(_)) => Poll::Ready(None),
        }
    }
}

impl<T, O: QueueOrder<T>> fmt::Debug for QueueStream<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueStream").finish_non_exhaustive()
    }
}

// ----- errors -------------------------------------------------------------------

/// Why a put failed; the item comes back (asyncio's `QueueFull`,
/// `QueueShutDown`, `CancelledError`).
#[derive(PartialEq)]
pub enum PutError<T> {
    /// [`put_nowait`](Queue::put_nowait) found no free slot (`QueueFull`).
    Full(T),
    /// The queue is shut down (`QueueShutDown`).
    ShutDown(T),
    /// The putting task's cancel was delivered while it waited.
    Cancelled(Cancelled, T),
}

impl<T> PutError<T> {
    /// The item that was not put.
    pub fn into_item(self) -> T {
        match self {
            PutError::Full(item) | PutError::ShutDown(item) | PutError::Cancelled(_, item) => item,
        }
    }

    /// Whether the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, PutError::Full(_))
    }

    /// Whether the queue is shut down.
    pub fn is_shut_down(&self) -> bool {
        matches!(self, PutError::ShutDown(_))
    }

    /// Whether the wait was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, PutError::Cancelled(..))
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("Full(..)"),
            PutError::ShutDown(_) => f.write_str("ShutDown(..)"),
            PutError::Cancelled(c, _) => f.debug_tuple("Cancelled").field(c).finish_non_exhaustive(),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("the queue is full"),
            PutError::ShutDown(_) => f.write_str("the queue is shut down"),
            PutError::Cancelled(c, _) => c.fmt(f),
        }
    }
}

impl<T> std::error::Error for PutError<T> {}

/// Why a get failed (asyncio's `QueueEmpty`, `QueueShutDown`,
/// `CancelledError`).
#[derive(Debug, Clone, PartialEq)]
pub enum GetError {
    /// [`get_nowait`](Queue::get_nowait) found no item (`QueueEmpty`).
    Empty,
    /// The queue is shut down and has nothing left (`QueueShutDown`).
    ShutDown,
    /// The getting task's cancel was delivered while it waited.
    Cancelled(Cancelled),
}

impl GetError {
    /// Whether the queue was empty.
    pub fn is_empty(&self) -> bool {
        matches!(self, GetError::Empty)
    }

    /// Whether the queue is shut down.
    pub fn is_shut_down(&self) -> bool {
        matches!(self, GetError::ShutDown)
    }

    /// Whether the wait was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, GetError::Cancelled(_))
    }
}

impl From<Cancelled> for GetError {
    fn from(cancelled: Cancelled) -> Self {
        GetError::Cancelled(cancelled)
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::Empty => f.write_str("the queue is empty"),
            GetError::ShutDown => f.write_str("the queue is shut down"),
            GetError::Cancelled(c) => c.fmt(f),
        }
    }
}

impl std::error::Error for GetError {}

/// [`Queue::task_done`] called more often than items were put (asyncio's
/// `ValueError('task_done() called too many times')`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}
