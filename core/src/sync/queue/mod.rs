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
//!
//! `order.rs` holds the orders (FIFO, LIFO, priority), `wait.rs` the
//! waiting operations (put, get, join, the stream), `error.rs` the errors.

mod error;
mod order;
mod wait;

pub use error::{GetError, PutError, TaskDoneError};
pub use order::{Fifo, Lifo, Priority, QueueOrder};
pub use wait::QueueStream;

use super::waiters::{grant_all, lock, wake, Waiters};
use crate::loom::Mutex;
use crate::task::Cancelled;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::panic::Location;
use std::task::Waker;
use wait::{Get, Join, Put};

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
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::Queue;
/// use std::sync::Arc;
/// corio::run(async {
///     let queue = Arc::new(Queue::new(2));
///     let q = queue.clone();
///     let consumer = corio::spawn(async move {
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
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::Queue;
    ///
    /// let bounded = Queue::<u32>::new(10);
    /// assert_eq!(bounded.maxsize(), 10);
    /// let unbounded = Queue::<u32>::new(0); // puts never wait
    /// assert!(!unbounded.full());
    /// ```
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
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::Queue;
    ///
    /// let queue = Queue::new(2);
    /// assert!(queue.empty());
    /// queue.put_nowait('a').unwrap();
    /// queue.put_nowait('b').unwrap();
    /// assert_eq!(queue.qsize(), 2);
    /// assert!(queue.full());
    /// ```
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
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::{PutError, Queue};
    ///
    /// let queue = Queue::new(1);
    /// assert_eq!(queue.put_nowait(1), Ok(()));
    /// assert_eq!(queue.put_nowait(2), Err(PutError::Full(2))); // the item comes back
    /// ```
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
    ///
    /// **Cancel safety:** a delivered cancel returns the item
    /// (`PutError::Cancelled`); a slot already handed to it goes to the next
    /// putter. Dropping the future drops the item with it.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::Queue;
    /// use std::sync::Arc;
    ///
    /// corio::run(async {
    ///     let queue = Arc::new(Queue::new(1));
    ///     queue.put(1).await.unwrap();
    ///     let q = queue.clone();
    ///     let consumer = corio::spawn(async move { q.get().await });
    ///     queue.put(2).await.unwrap(); // waits until the consumer took 1
    ///     assert_eq!(consumer.await.unwrap(), Ok(1));
    ///     assert_eq!(queue.get_nowait(), Ok(2));
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn put(&self, item: T) -> impl Future<Output = Result<(), PutError<T>>> + '_ {
        Put { queue: self, item: Some(item), key: None, at: Location::caller() }
    }

    /// Takes an item without waiting: [`GetError::Empty`] if none is
    /// available (also when every item is promised to a waiting getter),
    /// [`GetError::ShutDown`] if empty after shutdown.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::{GetError, Queue};
    ///
    /// let queue = Queue::new(0);
    /// queue.put_nowait("job").unwrap();
    /// assert_eq!(queue.get_nowait(), Ok("job"));
    /// assert_eq!(queue.get_nowait(), Err(GetError::Empty));
    /// ```
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
    ///
    /// **Cancel safety:** cancel-safe: an item handed to a dropped or cancelled
    /// getter goes to the next getter, or back to the queue (S6, S7).
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::{GetError, Queue};
    /// use std::sync::Arc;
    ///
    /// corio::run(async {
    ///     let queue = Arc::new(Queue::new(0));
    ///     let q = queue.clone();
    ///     corio::spawn(async move { q.put("late").await }).detach();
    ///     assert_eq!(queue.get().await, Ok("late")); // waits for the put
    ///     queue.shutdown(false);
    ///     assert_eq!(queue.get().await, Err(GetError::ShutDown));
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn get(&self) -> impl Future<Output = Result<T, GetError>> + '_ {
        Get { queue: self, key: None, at: Location::caller() }
    }

    /// Marks one item taken with `get` as processed (asyncio's
    /// `task_done()`); `Err` if called more often than items were put.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::Queue;
    ///
    /// let queue = Queue::new(0);
    /// queue.put_nowait(1).unwrap();
    /// let _item = queue.get_nowait().unwrap();
    /// // ... process the item ...
    /// queue.task_done().unwrap(); // join() returns once every put item is done
    /// assert!(queue.task_done().is_err()); // more than was put: an error, not a panic
    /// ```
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
    ///
    /// **Cancel safety:** cancel-safe: it takes nothing.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::Queue;
    /// use std::sync::Arc;
    ///
    /// corio::run(async {
    ///     let queue = Arc::new(Queue::new(0));
    ///     for job in 0..3 {
    ///         queue.put_nowait(job).unwrap();
    ///     }
    ///     let q = queue.clone();
    ///     corio::spawn(async move {
    ///         while let Ok(_job) = q.get().await {
    ///             q.task_done().unwrap();
    ///         }
    ///     })
    ///     .detach();
    ///     queue.join().await.unwrap(); // every job was taken and marked done
    ///     assert!(queue.empty());
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn join(&self) -> impl Future<Output = Result<(), Cancelled>> + '_ {
        Join { queue: self, key: None, at: Location::caller() }
    }

    /// Shuts the queue down (asyncio 3.13): later puts fail; gets drain the
    /// items left, then fail; every waiting put and get wakes to see it. With
    /// `immediate`, the items are dropped — each counted as done, which may
    /// release [`join`](Queue::join) — and gets fail at once.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::{GetError, PutError, Queue};
    ///
    /// let queue = Queue::new(0);
    /// queue.put_nowait(1).unwrap();
    /// queue.shutdown(false);
    /// assert!(queue.is_shut_down());
    /// assert_eq!(queue.put_nowait(2), Err(PutError::ShutDown(2)));
    /// assert_eq!(queue.get_nowait(), Ok(1)); // what was left drains
    /// assert_eq!(queue.get_nowait(), Err(GetError::ShutDown));
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        let mut state = lock(&self.state);
        state.shut_down = true;
        let mut dropped = Vec::new();
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
    #[track_caller]
    pub fn stream(&self) -> QueueStream<'_, T, O> {
        QueueStream { get: Get { queue: self, key: None, at: Location::caller() } }
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

    /// Promises a slot to the first waiting putter. Called only when a slot
    /// was just freed (an item taken, a promise given back), so one is free.
    fn grant_slot(&self, state: &mut State<T, O>) -> Option<Waker> {
        if state.shut_down {
            return None;
        }
        debug_assert!(self.has_free_slot(state), "a slot was just freed");
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
            .field("joiners", &state.joiners.len())
            .field("unfinished", &state.unfinished)
            .field("shut_down", &state.shut_down)
            .finish()
    }
}

/// A queue that hands out the smallest item first (asyncio's
/// `PriorityQueue`); every method is [`Queue`]'s.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::PriorityQueue;
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
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::LifoQueue;
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
