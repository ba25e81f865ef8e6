//! A broadcast channel (tokio's `sync::broadcast`): every receiver sees
//! every value sent after it subscribed, from a bounded ring.
//!
//! ```
//! # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
//! use corio::sync::broadcast::{self, error::RecvError};
//! corio::run(async {
//!     let (tx, mut rx1) = broadcast::channel(16).unwrap();
//!     let mut rx2 = tx.subscribe();
//!     tx.send("hello").unwrap();
//!     drop(tx); // the last sender: receivers drain, then see `Closed`
//!     assert_eq!(rx1.recv().await.unwrap(), "hello");
//!     assert_eq!(rx2.recv().await.unwrap(), "hello");
//!     assert_eq!(rx1.recv().await, Err(RecvError::Closed));
//! })
//! .unwrap();
//! ```
//!
//! A receiver that falls more than `capacity` values behind loses the
//! oldest: its next `recv` returns [`RecvError::Lagged(n)`](error::RecvError::Lagged)
//! with the number it missed, and the one after that the oldest value still
//! in the ring.
//!
//! # Invariants
//!
//! One mutex guards the ring, the counts and the waiting receivers (a send
//! changes the ring, and the receivers it wakes read it).
//!
//! * Positions are `u64` counters: the ring holds positions `head..tail`;
//!   a receiver's `next` is the position it reads next. `next < head` means
//!   it lagged by `head - next`.
//! * Each slot counts the receivers that have still to read it (every
//!   receiver alive when it was sent); the last reader takes the value out
//!   instead of cloning it, and a receiver dropped before reading gives up
//!   its share, so a value is dropped once everyone has seen it or it is
//!   overwritten.
//! * A send wakes every waiting receiver (they all have something to read);
//!   so does the last sender's drop (they all see the end). A receiver still
//!   queued has nothing new to read.
//! * Values are dropped outside the lock (user destructors run unlocked).

use super::mpsc::ZeroCapacity;
use crate::loom::{Arc, Mutex};
use crate::sync::waiters::{grant_all, lock, WaiterKey, Waiters};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use error::{RecvError, SendError, TryRecvError};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Why a broadcast operation failed.
pub mod error {
    use crate::task::Cancelled;
    use std::fmt;

    /// [`Sender::send`](super::Sender::send) found no receiver; the value
    /// comes back.
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("SendError(..)")
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the broadcast channel has no receiver")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Why [`Receiver::recv`](super::Receiver::recv) returned no value.
    #[derive(Debug, Clone, PartialEq)]
    pub enum RecvError {
        /// Every sender is gone and this receiver has read everything.
        Closed,
        /// The receiver fell behind and missed this many values (they were
        /// overwritten); the next `recv` returns the oldest value left.
        Lagged(u64),
        /// The receiving task's cancel was delivered while it waited.
        Cancelled(Cancelled),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("the broadcast channel is closed"),
                RecvError::Lagged(n) => write!(f, "the receiver lagged behind by {n} values"),
                RecvError::Cancelled(c) => c.fmt(f),
            }
        }
    }

    impl std::error::Error for RecvError {}

    impl From<Cancelled> for RecvError {
        fn from(cancelled: Cancelled) -> Self {
            RecvError::Cancelled(cancelled)
        }
    }

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// Nothing new yet.
        Empty,
        /// Every sender is gone and this receiver has read everything.
        Closed,
        /// The receiver missed this many values (see [`RecvError::Lagged`]).
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("the broadcast channel is empty"),
                TryRecvError::Closed => f.write_str("the broadcast channel is closed"),
                TryRecvError::Lagged(n) => write!(f, "the receiver lagged behind by {n} values"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

struct Shared<T> {
    capacity: usize,
    state: Mutex<State<T>>,
}

struct State<T> {
    ring: VecDeque<Slot<T>>,
    /// The position of `ring[0]`.
    head: u64,
    /// The position the next send takes.
    tail: u64,
    rx_count: usize,
    tx_count: usize,
    receivers: Waiters<()>,
}

struct Slot<T> {
    /// `None` once every receiver has read it.
    value: Option<T>,
    /// Receivers that have still to read it.
    unread: usize,
}

impl<T> State<T> {
    /// Takes one reader's share of the slot at `pos` (which is in the ring):
    /// the value itself from the last reader, a clone otherwise.
    fn read(&mut self, pos: u64) -> Option<T>
    where
        T: Clone,
    {
        let slot = &mut self.ring[(pos - self.head) as usize];
        slot.unread -= 1;
        if slot.unread == 0 {
            slot.value.take()
        } else {
            slot.value.clone()
        }
    }

    /// The next value for a receiver at `next` (moving it on).
    fn recv(&mut self, next: &mut u64) -> Result<T, TryRecvError>
    where
        T: Clone,
    {
        if *next < self.head {
            let missed = self.head - *next;
            *next = self.head;
            return Err(TryRecvError::Lagged(missed));
        }
        if *next < self.tail {
            let pos = *next;
            *next += 1;
            return Ok(self.read(pos).expect("an unread slot holds its value"));
        }
        Err(if self.tx_count == 0 { TryRecvError::Closed } else { TryRecvError::Empty })
    }
}

/// Creates a broadcast channel whose ring holds `capacity` values: a
/// receiver more than `capacity` values behind loses the oldest
/// ([`RecvError::Lagged`]). `Err(ZeroCapacity)` for 0 (tokio panics).
pub fn channel<T: Clone>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), ZeroCapacity> {
    if capacity == 0 {
        return Err(ZeroCapacity);
    }
    let shared = Arc::new(Shared {
        capacity,
        state: Mutex::new(State {
            ring: VecDeque::new(),
            head: 0,
            tail: 0,
            rx_count: 1,
            tx_count: 1,
            receivers: Waiters::default(),
        }),
    });
    Ok((Sender { shared: shared.clone() }, Receiver { shared, next: 0 }))
}

/// The sending side; clone it for more senders. Sending never waits.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value` to every receiver, returning how many there are;
    /// `Err(SendError(value))` if there is none (the value comes back).
    /// Never waits: a full ring overwrites its oldest value.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::broadcast;
    ///
    /// let (tx, mut rx1) = broadcast::channel(16).unwrap();
    /// let mut rx2 = tx.subscribe();
    /// assert_eq!(tx.send("hi").unwrap(), 2); // how many receivers will see it
    /// assert_eq!(rx1.try_recv(), Ok("hi"));
    /// assert_eq!(rx2.try_recv(), Ok("hi"));
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut state = lock(&self.shared.state);
        if state.rx_count == 0 {
            return Err(SendError(value));
        }
        let receivers = state.rx_count;
        let evicted = if state.ring.len() == self.shared.capacity {
            state.head += 1;
            state.ring.pop_front()
        } else {
            None
        };
        state.ring.push_back(Slot { value: Some(value), unread: receivers });
        state.tail += 1;
        grant_all(&self.shared.state, state, |s| &mut s.receivers, ());
        drop(evicted);
        Ok(receivers)
    }

    /// A new receiver that sees the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        subscribe(&self.shared)
    }

    /// How many receivers there are.
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.state).rx_count
    }

    /// Whether `other` sends on the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

fn subscribe<T>(shared: &Arc<Shared<T>>) -> Receiver<T> {
    let mut state = lock(&shared.state);
    state.rx_count += 1;
    let next = state.tail;
    drop(state);
    Receiver { shared: shared.clone(), next }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).tx_count += 1;
        Sender { shared: self.shared.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.state);
        state.tx_count -= 1;
        if state.tx_count > 0 {
            return;
        }
        grant_all(&self.shared.state, state, |s| &mut s.receivers, ());
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("broadcast::Sender")
            .field("capacity", &self.shared.capacity)
            .field("buffered", &state.ring.len())
            .field("senders", &state.tx_count)
            .field("receivers", &state.rx_count)
            .field("waiting", &state.receivers.len())
            .finish()
    }
}

/// The receiving side: reads every value sent since it subscribed.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The position read next.
    next: u64,
}

impl<T: Clone> Receiver<T> {
    /// Receives the next value, waiting for one (a checkpoint).
    /// [`RecvError::Lagged`] if values were lost to a full ring (the next
    /// call goes on from the oldest value left), [`RecvError::Closed`] once
    /// every sender is gone and everything was read, and
    /// [`RecvError::Cancelled`] if the task's cancel is delivered.
    ///
    /// **Cancel safety:** cancel-safe: a value is taken only when `recv`
    /// returns it, so a dropped or cancelled `recv` loses nothing.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::broadcast::{self, error::RecvError};
    ///
    /// corio::run(async {
    ///     let (tx, mut rx) = broadcast::channel(4).unwrap();
    ///     corio::spawn(async move {
    ///         tx.send(1).unwrap();
    ///         tx.send(2).unwrap();
    ///     })
    ///     .detach();
    ///     assert_eq!(rx.recv().await, Ok(1));
    ///     assert_eq!(rx.recv().await, Ok(2));
    ///     assert_eq!(rx.recv().await, Err(RecvError::Closed)); // every sender is gone
    /// })
    /// .unwrap();
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { rx: self, key: None }
    }

    /// Receives without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = lock(&self.shared.state);
        state.recv(&mut self.next)
    }
}

impl<T> Receiver<T> {
    /// A new receiver that sees the values sent from now on (tokio's
    /// `resubscribe`: not the ones this one has still to read).
    pub fn resubscribe(&self) -> Receiver<T> {
        subscribe(&self.shared)
    }

    /// How many values this receiver has still to read (at most the
    /// capacity).
    pub fn len(&self) -> usize {
        let state = lock(&self.shared.state);
        (state.tail - self.next.max(state.head)) as usize
    }

    /// Whether this receiver has read everything sent so far.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `other` receives from the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.state);
        state.rx_count -= 1;
        // Give up this receiver's share of what it has not read.
        let mut unread = Vec::new();
        let head = state.head;
        for pos in self.next.max(head)..state.tail {
            let slot = &mut state.ring[(pos - head) as usize];
            slot.unread -= 1;
            if slot.unread == 0 {
                unread.extend(slot.value.take());
            }
        }
        drop(state);
        drop(unread); // user destructors run outside the lock
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver").field("next", &self.next).finish()
    }
}

/// The future returned by [`Receiver::recv`]. Cancel-safe.
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
    key: Option<WaiterKey>,
}

impl<T> Recv<'_, T> {
    fn leave(&mut self) {
        if let Some(key) = self.key.take() {
            // Nothing to pass on: the values stay in the ring.
            lock(&self.rx.shared.state).receivers.remove(key);
        }
    }
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Err(cancelled) = current::checkpoint() {
            this.leave();
            return Poll::Ready(Err(RecvError::Cancelled(cancelled)));
        }
        let shared = &*this.rx.shared;
        let mut state = lock(&shared.state);
        if let Some(key) = this.key {
            if state.receivers.poll(key, cx.waker()).is_pending() {
                suspend_at(WaitKind::Channel, None);
                return Poll::Pending; // nothing sent or closed since it queued
            }
            this.key = None;
        }
        match state.recv(&mut this.rx.next) {
            Ok(value) => Poll::Ready(Ok(value)),
            Err(TryRecvError::Lagged(missed)) => Poll::Ready(Err(RecvError::Lagged(missed))),
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError::Closed)),
            Err(TryRecvError::Empty) => {
                this.key = Some(state.receivers.push(cx.waker().clone()));
                suspend_at(WaitKind::Channel, None);
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.leave();
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Recv").field("queued", &self.key.is_some()).finish()
    }
}
