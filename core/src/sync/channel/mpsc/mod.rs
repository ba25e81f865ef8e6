//! Multi-producer, single-consumer channels: bounded ([`channel`]) and
//! unbounded ([`unbounded_channel`]).
//!
//! # Invariants
//!
//! One mutex guards the buffer, the waiting senders and the receiver's
//! waker: each send and receive changes the buffer anyway (one uncontended
//! lock, no syscall, no allocation once the buffer has grown).
//!
//! * **FIFO hand-over among senders** (as the queue's putters): a receive
//!   that frees a slot while senders wait *promises* it to the first of
//!   them (`promised_slots`); a newcomer never takes a promised slot.
//! * **Cancel-safe**: a sender that leaves while waiting leaves no trace;
//!   one that leaves holding a promised slot passes it to the next sender.
//!   The value comes back with the error.
//! * **Closed**: when every sender is gone the receiver drains the buffer,
//!   then gets `None`; when the receiver is gone (or closed) sends fail
//!   with the value and every waiting sender is woken to see it.
//! * The receiver's waker is taken under the lock by whoever makes it
//!   ready (a send, the last sender's drop) and woken after unlocking.

mod error;

pub use error::{SendError, TryRecvError, TrySendError, ZeroCapacity};

use crate::loom::{Arc, Mutex};
use crate::sync::waiters::{grant_all, lock, wake, Removed, WaiterKey, Waiters};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use crate::task::Cancelled;
use futures_core::Stream;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

struct Chan<T> {
    /// `None`: unbounded.
    capacity: Option<usize>,
    state: Mutex<State<T>>,
}

struct State<T> {
    items: VecDeque<T>,
    promised_slots: usize,
    /// Granted `true` with a promised slot, `false` when the receiver closes.
    senders: Waiters<bool>,
    rx_waker: Option<Waker>,
    tx_count: usize,
    rx_closed: bool,
}

impl<T> Chan<T> {
    fn new(capacity: Option<usize>) -> Arc<Chan<T>> {
        Arc::new(Chan {
            capacity,
            state: Mutex::new(State {
                items: VecDeque::new(),
                promised_slots: 0,
                senders: Waiters::default(),
                rx_waker: None,
                tx_count: 1,
                rx_closed: false,
            }),
        })
    }

    fn has_free_slot(&self, state: &State<T>) -> bool {
        self.capacity.is_none_or(|cap| state.items.len() + state.promised_slots < cap)
    }

    /// Buffers `value`; returns the receiver's waker to wake after unlocking.
    fn push(state: &mut State<T>, value: T) -> Option<Waker> {
        state.items.push_back(value);
        state.rx_waker.take()
    }

    /// Promises a free slot to the first waiting sender. Called only when a
    /// slot was just freed (a value received, a promise given back), so one
    /// is free.
    fn grant_slot(&self, state: &mut State<T>) -> Option<Waker> {
        if state.rx_closed {
            return None;
        }
        debug_assert!(self.has_free_slot(state), "a slot was just freed");
        let waker = state.senders.grant_first(true);
        if waker.is_some() {
            state.promised_slots += 1;
        }
        waker
    }

    fn add_sender(&self) {
        lock(&self.state).tx_count += 1;
    }

    fn drop_sender(&self) {
        let mut state = lock(&self.state);
        state.tx_count -= 1;
        let waker = if state.tx_count == 0 { state.rx_waker.take() } else { None };
        drop(state);
        wake(waker);
    }

    /// The bookkeeping every handle's `Debug` shows.
    fn fmt_state(&self, f: &mut fmt::DebugStruct<'_, '_>) -> fmt::Result {
        let state = lock(&self.state);
        f.field("buffered", &state.items.len())
            .field("promised", &state.promised_slots)
            .field("waiting_senders", &state.senders.len())
            .field("senders", &state.tx_count)
            .field("closed", &state.rx_closed)
            .finish()
    }

    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut state = lock(&self.state);
        if state.rx_closed {
            return Err(TrySendError::Closed(value));
        }
        if !self.has_free_slot(&state) || !state.senders.is_empty() {
            return Err(TrySendError::Full(value));
        }
        let waker = Chan::push(&mut state, value);
        drop(state);
        wake(waker);
        Ok(())
    }
}

/// Creates a bounded channel holding up to `capacity` values; `send` waits
/// while it is full. `Err(ZeroCapacity)` for a capacity of 0.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::mpsc;
/// corio::run(async {
///     let (tx, mut rx) = mpsc::channel(1).unwrap();
///     corio::spawn(async move {
///         for i in 0..3 {
///             tx.send(i).await.unwrap(); // waits while the one slot is taken
///         }
///     })
///     .detach();
///     let mut got = Vec::new();
///     while let Some(i) = rx.recv().await? {
///         got.push(i); // None once every sender is gone
///     }
///     assert_eq!(got, [0, 1, 2]);
///     Ok::<_, corio::task::Cancelled>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub fn channel<T>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), ZeroCapacity> {
    if capacity == 0 {
        return Err(ZeroCapacity);
    }
    let chan = Chan::new(Some(capacity));
    Ok((Sender { chan: chan.clone() }, Receiver { chan }))
}

/// Creates an unbounded channel: sends never wait.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::mpsc;
/// let (tx, mut rx) = mpsc::unbounded_channel();
/// tx.send(1).unwrap();
/// drop(tx);
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Closed));
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, Receiver<T>) {
    let chan = Chan::new(None);
    (UnboundedSender { chan: chan.clone() }, Receiver { chan })
}

/// The sending side of a bounded channel; clone it for more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for a free slot (a checkpoint; FIFO among
    /// waiting senders). The value comes back if the receiver is gone or the
    /// wait is cancelled.
    ///
    /// **Cancel safety:** a delivered cancel returns the value
    /// (`SendError::Cancelled`) and leaves the queue; a slot already promised
    /// to it goes to the next sender. A dropped `send` future drops the value
    /// with it (as tokio's); [`try_send`](Sender::try_send) never loses it.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::mpsc;
    ///
    /// corio::run(async {
    ///     let (tx, mut rx) = mpsc::channel(1).unwrap();
    ///     tx.send("one").await.unwrap();
    ///     corio::spawn(async move { tx.send("two").await }).detach(); // waits for a slot
    ///     assert_eq!(rx.recv().await, Ok(Some("one")));
    ///     assert_eq!(rx.recv().await, Ok(Some("two")));
    ///     assert_eq!(rx.recv().await, Ok(None)); // every sender is gone
    /// })
    /// .unwrap();
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        Send { chan: &self.chan, value: Some(value), key: None }.await
    }

    /// Sends without waiting: [`TrySendError::Full`] if no slot is free
    /// (or the free one is promised to a waiting sender).
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::mpsc::{self, TrySendError};
    ///
    /// let (tx, rx) = mpsc::channel(1).unwrap();
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// Whether the receiver is gone or closed.
    pub fn is_closed(&self) -> bool {
        lock(&self.chan.state).rx_closed
    }

    /// The channel's capacity.
    pub fn capacity(&self) -> usize {
        self.chan.capacity.unwrap_or(usize::MAX)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender { chan: self.chan.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chan.fmt_state(f.debug_struct("mpsc::Sender").field("capacity", &self.capacity()))
    }
}

/// The sending side of an unbounded channel; clone it for more producers.
pub struct UnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Sends `value` (never waits); `Err` with the value if the receiver is
    /// gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.try_send(value).map_err(|e| SendError::Closed(e.into_value()))
    }

    /// Whether the receiver is gone or closed.
    pub fn is_closed(&self) -> bool {
        lock(&self.chan.state).rx_closed
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        UnboundedSender { chan: self.chan.clone() }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chan.fmt_state(&mut f.debug_struct("mpsc::UnboundedSender"))
    }
}

/// The receiving side of a channel; also a `futures::Stream` of
/// `Result<T, Cancelled>`.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting for one (a checkpoint): `Ok(None)`
    /// once the buffer is drained and nothing more can come (every sender is
    /// gone, or the receiver was closed).
    ///
    /// **Cancel safety:** cancel-safe: a value is taken only when `recv`
    /// returns it.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::mpsc;
    ///
    /// corio::run(async {
    ///     let (tx, mut rx) = mpsc::unbounded_channel();
    ///     corio::spawn(async move {
    ///         for i in 0..3 {
    ///             tx.send(i).unwrap();
    ///         }
    ///     })
    ///     .detach();
    ///     let mut sum = 0;
    ///     while let Some(i) = rx.recv().await? {
    ///         sum += i;
    ///     }
    ///     assert_eq!(sum, 3);
    ///     Ok::<_, corio::Cancelled>(())
    /// })
    /// .unwrap()
    /// .unwrap();
    /// ```
    pub async fn recv(&mut self) -> Result<Option<T>, Cancelled> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Receives without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = lock(&self.chan.state);
        if let Some(value) = state.items.pop_front() {
            let waker = self.chan.grant_slot(&mut state);
            drop(state);
            wake(waker);
            return Ok(value);
        }
        Err(if state.tx_count == 0 || state.rx_closed { TryRecvError::Closed } else { TryRecvError::Empty })
    }

    /// Closes the channel: sends fail from now on (waiting ones too); values
    /// already sent can still be received.
    ///
    /// ```
    /// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
    /// use corio::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::channel(4).unwrap();
    /// tx.try_send(1).unwrap();
    /// rx.close();
    /// assert!(tx.try_send(2).is_err()); // sends fail now
    /// assert_eq!(rx.try_recv(), Ok(1)); // what was sent can still be received
    /// ```
    pub fn close(&mut self) {
        let mut state = lock(&self.chan.state);
        state.rx_closed = true;
        state.promised_slots = 0;
        grant_all(&self.chan.state, state, |s| &mut s.senders, false);
    }

    /// Polls for the next value (a checkpoint); see [`recv`](Receiver::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<T>, Cancelled>> {
        current::checkpoint()?;
        let mut state = lock(&self.chan.state);
        if let Some(value) = state.items.pop_front() {
            let waker = self.chan.grant_slot(&mut state);
            drop(state);
            wake(waker);
            return Poll::Ready(Ok(Some(value)));
        }
        if state.tx_count == 0 || state.rx_closed {
            return Poll::Ready(Ok(None)); // drained, and nothing more can come
        }
        match &mut state.rx_waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        suspend_at(WaitKind::Channel, None);
        Poll::Pending
    }
}

impl<T> Stream for Receiver<T> {
    type Item = Result<T, Cancelled>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx).map(Result::transpose)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
        let items = std::mem::take(&mut lock(&self.chan.state).items);
        drop(items); // user destructors run outside the lock
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chan.fmt_state(&mut f.debug_struct("mpsc::Receiver"))
    }
}

struct Send<'a, T> {
    chan: &'a Chan<T>,
    value: Option<T>,
    key: Option<WaiterKey>,
}

// The value is moved in and out, never pinned.
impl<T> Unpin for Send<'_, T> {}

impl<T> Send<'_, T> {
    fn leave(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut state = lock(&self.chan.state);
        if state.senders.remove(key) == Some(Removed::Granted(true)) {
            state.promised_slots = state.promised_slots.saturating_sub(1);
            {
                let waker = self.chan.grant_slot(&mut state); // S7: pass the slot on
                drop(state);
                wake(waker);
            }
        }
    }

    fn value(&mut self) -> T {
        self.value.take().expect("a corio send future was polled after it completed")
    }
}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Err(cancelled) = current::checkpoint() {
            this.leave();
            return Poll::Ready(Err(SendError::Cancelled(cancelled, this.value())));
        }
        let chan = this.chan;
        let mut state = lock(&chan.state);
        match this.key {
            None => {
                if state.rx_closed {
                    return Poll::Ready(Err(SendError::Closed(this.value())));
                }
                if !chan.has_free_slot(&state) || !state.senders.is_empty() {
                    this.key = Some(state.senders.push(cx.waker().clone()));
                    suspend_at(WaitKind::Channel, None);
                    return Poll::Pending;
                }
            }
            Some(key) => match state.senders.poll(key, cx.waker()) {
                Poll::Pending => {
                    suspend_at(WaitKind::Channel, None);
                    return Poll::Pending;
                }
                Poll::Ready(granted) => {
                    this.key = None;
                    if granted == Some(true) {
                        state.promised_slots = state.promised_slots.saturating_sub(1);
                    }
                    if state.rx_closed || granted != Some(true) {
                        return Poll::Ready(Err(SendError::Closed(this.value())));
                    }
                }
            },
        }
        let waker = Chan::push(&mut state, this.value());
        drop(state);
        wake(waker);
        Poll::Ready(Ok(()))
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        self.leave();
    }
}
