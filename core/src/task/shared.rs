//! `SharedTask<T>`: a task any number of awaiters wait for, whose result
//! can be read again — asyncio's task object, which every `await task`
//! resolves and whose `result()` can be asked any time.
//!
//! A [`Task`] hands its output over once, to its one owner. A `SharedTask`
//! owns that handle and keeps the output once the task has ended; every
//! awaiter (and [`result`](SharedTask::result)) receives a copy, so the
//! output type must be `Clone`.
//!
//! # Invariants
//!
//! * The `Task` handle is polled (and its output taken) only under the
//!   state's lock; once the output is taken the handle is gone and the
//!   output stays for good.
//! * The task's one join waker is the shared wake list's: it wakes every
//!   awaiter registered before the task ended. An awaiter registers its
//!   waker before the handle is polled, under the same lock, so an end
//!   between the two is never missed.

use super::current;
use super::join::{join_checkpoint, JoinError, Task};
use super::AnyTask;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// A task handle shared by any number of awaiters (asyncio's task object:
/// every `await task` resolves, and `result()` can be read again). Made
/// with [`Task::shared`]; clones refer to the same task, whose output is
/// kept once it has ended, so `T: Clone`. It dereferences to [`AnyTask`]
/// (`cancel`, `done`, ...).
///
/// ```
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// # use corio_core::clock::VirtualClock;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// lp.block_on(async {
///     let task = corio_core::spawn(async {
///         corio_core::sleep(Duration::from_secs(1)).await.unwrap();
///         String::from("ready")
///     })
///     .shared();
///     let (a, b) = (task.clone(), task.clone());
///     let first = corio_core::spawn(async move { a.await });
///     let second = corio_core::spawn(async move { b.await });
///     assert_eq!(first.await.unwrap().unwrap(), "ready");
///     assert_eq!(second.await.unwrap().unwrap(), "ready");
///     assert_eq!(task.result().unwrap().unwrap(), "ready"); // read again
/// })
/// .unwrap();
/// ```
///
/// Awaiting it is a checkpoint that behaves as awaiting the [`Task`] does
/// (rule C6): a cancel of the awaiting task is passed on to the shared task
/// (as asyncio's `Task.cancel` cancels the task it awaits), and the await
/// then returns however the task ends. Each awaiter gets a copy of the
/// value; a cancellation as a token of its own (so `?` propagates it); a
/// panic as its message (the payload cannot be shared).
pub struct SharedTask<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    task: AnyTask,
    state: Mutex<State<T>>,
    wake_list: Arc<WakeList>,
}

struct State<T> {
    /// The handle, until its output is taken into `output`.
    handle: Option<Task<T>>,
    output: Option<Result<T, JoinError>>,
}

/// The awaiters to wake when the task ends: the task's join waker.
#[derive(Default)]
struct WakeList(Mutex<Vec<Waker>>);

impl Wake for WakeList {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let wakers = std::mem::take(&mut *lock(&self.0));
        wakers.into_iter().for_each(Waker::wake);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here panics while holding a lock but a user's `Clone`; the
    // state is consistent between operations either way.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<T> Task<T> {
    /// Makes the handle shareable (asyncio's task object, awaited by any
    /// number of awaiters, its `result()` read again): see [`SharedTask`].
    pub fn shared(self) -> SharedTask<T>
    where
        T: Clone,
    {
        let task = AnyTask::clone(&self);
        SharedTask {
            inner: Arc::new(Inner {
                task,
                state: Mutex::new(State { handle: Some(self), output: None }),
                wake_list: Arc::default(),
            }),
        }
    }
}

impl<T: Clone> SharedTask<T> {
    /// The task's result if it has ended (asyncio's `task.result()`, which
    /// raises `InvalidStateError` while it runs): `None` while it runs.
    /// A cancellation is the task's own token (holding it does not cancel
    /// the caller); a panic comes as its message.
    pub fn result(&self) -> Option<Result<T, JoinError>> {
        let mut state = lock(&self.inner.state);
        if state.output.is_none() && self.inner.task.done() {
            state.take_output();
        }
        state.output.as_ref().map(copy)
    }
}

impl<T> State<T> {
    /// Moves the ended task's output in, dropping the handle.
    fn take_output(&mut self) {
        let mut handle = self.handle.take().expect("the output is taken once");
        self.output = Some(handle.take_output());
    }
}

/// A copy of the output for one reader.
fn copy<T: Clone>(output: &Result<T, JoinError>) -> Result<T, JoinError> {
    match output {
        Ok(value) => Ok(value.clone()),
        Err(JoinError::Cancelled(c)) => Err(JoinError::Cancelled(c.clone())),
        Err(JoinError::Panicked(panic)) => Err(JoinError::Panicked(panic.message_only())),
    }
}

impl<T> Clone for SharedTask<T> {
    fn clone(&self) -> Self {
        SharedTask { inner: self.inner.clone() }
    }
}

impl<T> std::ops::Deref for SharedTask<T> {
    type Target = AnyTask;

    fn deref(&self) -> &AnyTask {
        &self.inner.task
    }
}

impl<T> Unpin for SharedTask<T> {}

impl<T: Clone> Future for SharedTask<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &self.inner;
        if let Some(cancelled) = join_checkpoint(inner.task.raw()) {
            return Poll::Ready(Err(JoinError::Cancelled(cancelled)));
        }
        let mut state = lock(&inner.state);
        if state.output.is_none() {
            {
                let mut wakers = lock(&inner.wake_list.0);
                let known = wakers.iter().any(|w| w.will_wake(cx.waker()));
                if !known {
                    wakers.push(cx.waker().clone());
                }
            }
            let waker = Waker::from(inner.wake_list.clone());
            let handle = state.handle.as_mut().expect("held until the output is taken");
            if handle.poll_complete(&mut Context::from_waker(&waker)).is_pending() {
                return Poll::Pending;
            }
            state.take_output();
            drop(state);
            // The others learn it from the output; wake them now rather
            // than when the task's waker fires (it may not, once taken).
            inner.wake_list.wake_by_ref();
            state = lock(&inner.state);
        }
        let output = copy(state.output.as_ref().expect("taken above"));
        drop(state);
        // The awaiter's cancellation is its own, as with `Task` (C6).
        Poll::Ready(output.map_err(|err| match err {
            JoinError::Cancelled(c) => JoinError::Cancelled(current::adopt_cancelled(c)),
            other => other,
        }))
    }
}

impl<T> fmt::Debug for SharedTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedTask").field("task", &self.inner.task).finish()
    }
}
