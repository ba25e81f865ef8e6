//! A one-shot channel: one value from a [`Sender`] to a [`Receiver`].
//!
//! # Invariants
//!
//! The state word holds `SENT`, `TX_GONE`, `RX_GONE` and `RX_WAKER`; the
//! value and the receiver's waker live in cells.
//!
//! * The sender writes the value *before* setting `SENT`; the receiver reads
//!   it only after seeing `SENT`. Once `SENT` is set the sender never touches
//!   the value again — unless it also saw `RX_GONE`, in which case nobody
//!   will read it and the sender takes it back.
//! * The receiver writes its waker only while `RX_WAKER` is clear and sets
//!   `RX_WAKER` after writing; the sender takes the waker only if the
//!   read-modify-write that set `SENT` (or `TX_GONE`) saw `RX_WAKER`. The
//!   receiver clears `RX_WAKER` before replacing the waker and checks
//!   `SENT`/`TX_GONE` after setting it again, so every send is either seen
//!   by the receiver or wakes it (loom model 8).
//! * No lock, and one allocation per channel.

use crate::loom::{Arc, AtomicUsize, Ordering, UnsafeCell};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use crate::task::Cancelled;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

const SENT: usize = 1;
const TX_GONE: usize = 2;
const RX_GONE: usize = 4;
const RX_WAKER: usize = 8;

struct Inner<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    rx_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cells are accessed under the protocol of the module
// documentation: one side at a time, ordered by the state word.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Inner<T> {}

/// Creates a one-shot channel.
///
/// ```
/// # mod corio { pub use corio_core::*; pub use corio_core::runtime::LoopError; pub use corio_core::task::{AnyTask, Cancelled, JoinError, Task}; pub fn run<F: std::future::Future>(f: F) -> Result<F::Output, LoopError> { corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new()).block_on(f) } }
/// use corio::sync::oneshot;
/// corio::run(async {
///     let (tx, rx) = oneshot::channel();
///     corio::spawn(async move { tx.send("done").unwrap() }).detach();
///     assert_eq!(rx.await.unwrap(), "done");
///
///     let (tx, rx) = oneshot::channel::<u32>();
///     drop(tx);
///     assert!(rx.await.unwrap_err().is_closed());
/// })
/// .unwrap();
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner =
        Arc::new(Inner { state: AtomicUsize::new(0), value: UnsafeCell::new(None), rx_waker: UnsafeCell::new(None) });
    (Sender { inner: Some(inner.clone()) }, Receiver { inner, done: false })
}

/// Sends the channel's one value.
pub struct Sender<T> {
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`; `Err(value)` if the receiver is gone.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("present until send or drop");
        if inner.state.load(Ordering::Acquire) & RX_GONE != 0 {
            return Err(value);
        }
        // SAFETY: only the sender writes the value, and only before `SENT`.
        inner.value.with_mut(|v| unsafe { *v = Some(value) });
        let before = inner.state.fetch_or(SENT, Ordering::AcqRel);
        if before & RX_GONE != 0 {
            // SAFETY: the receiver is gone and never reads the value.
            let value = inner.value.with_mut(|v| unsafe { (*v).take() });
            return Err(value.expect("written above"));
        }
        if before & RX_WAKER != 0 {
            wake_receiver(&inner);
        }
        Ok(())
    }

    /// Whether the receiver is gone (a send would fail).
    pub fn is_closed(&self) -> bool {
        self.inner.as_ref().is_none_or(|inner| inner.state.load(Ordering::Acquire) & RX_GONE != 0)
    }
}

/// Takes the receiver's waker and wakes it. Called only by the side whose
/// read-modify-write set `SENT` or `TX_GONE` and saw `RX_WAKER`.
fn wake_receiver<T>(inner: &Inner<T>) {
    // SAFETY: `RX_WAKER` was set and `SENT`/`TX_GONE` now is: the receiver
    // will not write the waker again (module invariants).
    let waker = inner.rx_waker.with_mut(|w| unsafe { (*w).take() });
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // `inner` is still here only if `send` was never called: `SENT` is
        // clear, so a receiver that left its waker waits for this drop.
        if let Some(inner) = self.inner.take() {
            let before = inner.state.fetch_or(TX_GONE, Ordering::AcqRel);
            if before & RX_WAKER != 0 {
                wake_receiver(&inner);
            }
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender").field("closed", &self.is_closed()).finish()
    }
}

/// Receives the channel's value: await it (a checkpoint) or
/// [`try_recv`](Receiver::try_recv).
///
/// A cancelled `.await` leaves the channel as it was: await the receiver
/// again (`(&mut rx).await`) to keep waiting.
///
/// **Cancel safety:** cancel-safe (see above).
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
    done: bool,
}

impl<T> Receiver<T> {
    /// The value if it was sent; [`TryRecvError::Empty`] if not yet,
    /// [`TryRecvError::Closed`] if the sender is gone without sending (or
    /// the value was already received).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if self.done {
            return Err(TryRecvError::Closed);
        }
        let state = self.inner.state.load(Ordering::Acquire);
        if state & SENT != 0 {
            return Ok(self.take_value());
        }
        if state & TX_GONE != 0 {
            self.done = true;
            return Err(TryRecvError::Closed);
        }
        Err(TryRecvError::Empty)
    }

    /// Closes the channel from this side: a later `send` fails. A value
    /// sent before can still be received.
    pub fn close(&mut self) {
        let before = self.inner.state.fetch_or(RX_GONE, Ordering::AcqRel);
        if before & SENT == 0 {
            // A send from now on sees `RX_GONE` and keeps its value: we must
            // never read the cell.
            self.done = true;
        }
    }

    fn take_value(&mut self) -> T {
        self.done = true;
        // SAFETY: `SENT` was seen: the sender wrote the value and no longer
        // touches it (it takes it back only if it saw `RX_GONE`, and then
        // `close` set `done` and we never get here).
        let value = self.inner.value.with_mut(|v| unsafe { (*v).take() });
        value.expect("SENT means the value is there")
    }

    fn poll_value(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        // Withdraw the waker before touching it; see the module invariants.
        let before = self.inner.state.fetch_and(!RX_WAKER, Ordering::AcqRel);
        if before & SENT != 0 {
            return Poll::Ready(Ok(self.take_value()));
        }
        if before & TX_GONE != 0 {
            self.done = true;
            return Poll::Ready(Err(RecvError::Closed));
        }
        let waker = cx.waker().clone();
        // SAFETY: `RX_WAKER` is clear, so the sender does not touch the cell.
        self.inner.rx_waker.with_mut(|w| unsafe { *w = Some(waker) });
        let before = self.inner.state.fetch_or(RX_WAKER, Ordering::AcqRel);
        if before & SENT != 0 {
            return Poll::Ready(Ok(self.take_value()));
        }
        if before & TX_GONE != 0 {
            self.done = true;
            return Poll::Ready(Err(RecvError::Closed));
        }
        suspend_at(WaitKind::Channel, None);
        Poll::Pending
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        current::checkpoint()?;
        if self.done {
            return Poll::Ready(Err(RecvError::Closed));
        }
        self.poll_value(cx)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // An unreceived value is dropped with the shared state.
        self.inner.state.fetch_or(RX_GONE, Ordering::AcqRel);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}

// The fields' own drop frees an unreceived value and a left waker. Under
// loom the cells are also touched here, so the model checks that the last
// handle's drop is ordered after the other side's last access.
#[cfg(corio_loom)]
impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        // Both sides are gone; nothing else can touch the cells.
        self.value.with_mut(|v| {
            // SAFETY: exclusive access in drop.
            drop(unsafe { (*v).take() })
        });
        self.rx_waker.with_mut(|w| {
            // SAFETY: as above.
            drop(unsafe { (*w).take() })
        });
    }
}

/// Why a [`Receiver`] got no value.
#[derive(Debug, Clone, PartialEq)]
pub enum RecvError {
    /// The sender is gone without sending (or the value was received).
    Closed,
    /// The receiving task's cancel was delivered while it waited.
    Cancelled(Cancelled),
}

impl RecvError {
    /// Whether the sender is gone.
    pub fn is_closed(&self) -> bool {
        matches!(self, RecvError::Closed)
    }

    /// Whether the wait was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, RecvError::Cancelled(_))
    }
}

impl From<Cancelled> for RecvError {
    fn from(cancelled: Cancelled) -> Self {
        RecvError::Cancelled(cancelled)
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("the sender was dropped without sending"),
            RecvError::Cancelled(c) => c.fmt(f),
        }
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] got no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing sent yet.
    Empty,
    /// The sender is gone without sending (or the value was received).
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no value sent yet"),
            TryRecvError::Closed => f.write_str("the sender was dropped without sending"),
        }
    }
}

impl std::error::Error for TryRecvError {}
