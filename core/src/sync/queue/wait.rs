//! The queue's waiting operations: `put`, `get` and `join`, and the stream
//! of gets. Each is a checkpoint; leaving (cancelled or dropped) removes a
//! waiting entry or passes a promise on (S7).

use super::{Fifo, GetError, PutError, Queue, QueueOrder};
use crate::sync::waiters::{lock, wake, Removed, WaiterKey};
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::current;
use crate::task::Cancelled;
use futures_core::Stream;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

pub(super) struct Put<'a, T, O: QueueOrder<T>> {
    pub(super) queue: &'a Queue<T, O>,
    pub(super) item: Option<T>,
    pub(super) key: Option<WaiterKey>,
    /// Where the user awaited, for task dumps.
    pub(super) at: &'static Location<'static>,
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
                    suspend_at(WaitKind::QueuePut, Some(this.at));
                    return Poll::Pending;
                }
            }
            Some(key) => match state.putters.poll(key, cx.waker()) {
                Poll::Pending => {
                    suspend_at(WaitKind::QueuePut, Some(this.at));
                    return Poll::Pending;
                }
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

pub(super) struct Get<'a, T, O: QueueOrder<T>> {
    pub(super) queue: &'a Queue<T, O>,
    pub(super) key: Option<WaiterKey>,
    /// Where the user awaited, for task dumps.
    pub(super) at: &'static Location<'static>,
}

impl<T, O: QueueOrder<T>> Unpin for Get<'_, T, O> {}

impl<T, O: QueueOrder<T>> Get<'_, T, O> {
    fn leave(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut state = lock(&self.queue.state);
        if state.getters.remove(key) == Some(Removed::Granted(true)) {
            state.promised_items = state.promised_items.saturating_sub(1);
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
                    suspend_at(WaitKind::QueueGet, Some(this.at));
                    return Poll::Pending;
                }
            }
            Some(key) => match state.getters.poll(key, cx.waker()) {
                Poll::Pending => {
                    suspend_at(WaitKind::QueueGet, Some(this.at));
                    return Poll::Pending;
                }
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

pub(super) struct Join<'a, T, O: QueueOrder<T>> {
    pub(super) queue: &'a Queue<T, O>,
    pub(super) key: Option<WaiterKey>,
    /// Where the user awaited, for task dumps.
    pub(super) at: &'static Location<'static>,
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
                suspend_at(WaitKind::QueueJoin, Some(this.at));
                Poll::Pending
            }
            Some(key) => match state.joiners.poll(key, cx.waker()) {
                Poll::Pending => {
                    suspend_at(WaitKind::QueueJoin, Some(this.at));
                    Poll::Pending
                }
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
    pub(super) get: Get<'a, T, O>,
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
