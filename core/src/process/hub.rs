//! Waiting for children without pidfds: one `SIGCHLD` listener per loop,
//! shared by every child waited on there.
//!
//! A `SIGCHLD` says that *some* child changed state, not which: every
//! waiting child must look (`waitpid(pid, WNOHANG)`). So the loop's one
//! [`Signals`] stream is polled with a waker that wakes every waiter
//! ([`WakeList`]), whichever task happened to poll it, and whichever
//! thread delivers the wake (another loop's listener may dispatch the
//! signal).
//!
//! # Invariants
//!
//! * **No lost exit.** A waiter registers its waker, then drains the
//!   stream, then calls `waitpid`. An exit after the `waitpid` raises
//!   `SIGCHLD`, which makes the stream's pipe readable, which wakes the
//!   whole list — including this waiter, registered before (loom model in
//!   this file's tests, mutant `hub_register_after_look`).
//! * **Nothing left behind.** A child's slot is removed when the child is
//!   reaped or dropped; a cancelled `wait` keeps the slot for the next one.

use crate::loom::Mutex;
use crate::runtime::current;
use crate::runtime::shared::LoopId;
use crate::signal::{Signal, Signals};
use std::cell::RefCell;
use std::io;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};

/// Wakers woken all at once; slots are reused.
#[derive(Debug, Default)]
pub(crate) struct WakeList {
    slots: Mutex<Slots>,
}

#[derive(Debug, Default)]
struct Slots {
    wakers: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl WakeList {
    /// A new slot holding `waker`.
    pub(crate) fn insert(&self, waker: &Waker) -> usize {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        match slots.free.pop() {
            Some(id) => {
                slots.wakers[id] = Some(waker.clone());
                id
            }
            None => {
                slots.wakers.push(Some(waker.clone()));
                slots.wakers.len() - 1
            }
        }
    }

    /// Refreshes slot `id`'s waker.
    pub(crate) fn update(&self, id: usize, waker: &Waker) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        match &mut slots.wakers[id] {
            Some(old) if old.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }

    /// Frees slot `id`.
    pub(crate) fn remove(&self, id: usize) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.wakers[id].take().is_some() {
            slots.free.push(id);
        }
    }

    /// Wakes every registered waker (outside the lock).
    pub(crate) fn wake_all(&self) {
        let wakers: Vec<Waker> = {
            let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.wakers.iter().flatten().cloned().collect()
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Slots in use.
    pub(crate) fn len(&self) -> usize {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.wakers.len() - slots.free.len()
    }
}

/// The `Waker` that wakes the whole list.
struct WakeAll(Arc<WakeList>);

impl std::task::Wake for WakeAll {
    fn wake(self: Arc<Self>) {
        self.0.wake_all();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.wake_all();
    }
}

/// A loop's `SIGCHLD` listener and its waiters.
pub(crate) struct Hub {
    signals: Mutex<Signals>,
    waiters: Arc<WakeList>,
    wake_all: Waker,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("waiters", &self.waiters.len()).finish()
    }
}

std::thread_local! {
    /// The running loop's hub while a child uses it: the children hold
    /// it, so the listener (and corio's `SIGCHLD` handler) goes with the
    /// last of them.
    static HUB: RefCell<Option<(LoopId, Weak<Hub>)>> = const { RefCell::new(None) };
}

impl Hub {
    /// The running loop's hub (installs corio's `SIGCHLD` handler while it
    /// lives).
    pub(crate) fn current() -> io::Result<Arc<Hub>> {
        let id = current::with_running(|l| l.id())
            .ok_or_else(|| io::Error::other("corio::process: no event loop is running on this thread"))?;
        HUB.with(|hub| {
            let mut hub = hub.borrow_mut();
            if let Some((loop_id, existing)) = hub.as_ref() {
                if let Some(existing) = existing.upgrade().filter(|_| *loop_id == id) {
                    return Ok(existing);
                }
            }
            let waiters = Arc::new(WakeList::default());
            let wake_all = Waker::from(Arc::new(WakeAll(waiters.clone())));
            let created = Arc::new(Hub { signals: Mutex::new(Signals::new([Signal::CHLD])?), waiters, wake_all });
            *hub = Some((id, Arc::downgrade(&created)));
            Ok(created)
        })
    }

    /// Frees a waiter's slot.
    pub(crate) fn unregister(&self, id: usize) {
        self.waiters.remove(id);
    }

    /// Polls for the exit of a child for waiter `slot` ([`poll_waiter`]
    /// with the signal stream drained by the wake-all waker).
    pub(crate) fn poll_exit(
        &self,
        slot: &mut Option<usize>,
        cx: &mut Context<'_>,
        look: impl FnOnce() -> io::Result<Option<std::process::ExitStatus>>,
    ) -> Poll<io::Result<std::process::ExitStatus>> {
        let drain = || {
            let mut signals = self.signals.lock().unwrap_or_else(|e| e.into_inner());
            let mut all = Context::from_waker(&self.wake_all);
            loop {
                match signals.poll_recv(&mut all) {
                    Poll::Ready(Ok(_)) => continue,
                    Poll::Ready(Err(err)) => return Err(err),
                    Poll::Pending => return Ok(()),
                }
            }
        };
        poll_waiter(&self.waiters, slot, cx, drain, look)
    }
}

/// A waiter's side of the protocol: register (a slot on the first poll,
/// the current waker after), then `drain` the notifications, then `look`.
/// Whatever happens after the look wakes the list, which holds this
/// waiter's waker by then.
pub(crate) fn poll_waiter<T>(
    list: &WakeList,
    slot: &mut Option<usize>,
    cx: &mut Context<'_>,
    drain: impl FnOnce() -> io::Result<()>,
    look: impl FnOnce() -> io::Result<Option<T>>,
) -> Poll<io::Result<T>> {
    let mut register = || match *slot {
        Some(id) => list.update(id, cx.waker()),
        None => *slot = Some(list.insert(cx.waker())),
    };
    register();
    drain()?;
    let looked = look()?;
    match looked {
        Some(value) => Poll::Ready(Ok(value)),
        None => Poll::Pending,
    }
}

#[cfg(all(test, corio_loom))]
mod loom_model {
    //! Loom model of the `SIGCHLD` hub's hand-off: a notifier thread (the
    //! signal's dispatch, on any thread) marks a child exited and wakes the
    //! list, while waiters on the main thread register and look; one waiter
    //! is cancelled (drops its slot) along the way. Every waiter still
    //! waiting is woken and finds the exit; the list ends empty. Caught
    //! mutant: `hub_register_after_look` (a lost wake-up: loom reports the
    //! deadlock).

    use super::{poll_waiter, WakeList};
    use loom::sync::atomic::{AtomicBool, Ordering};
    use loom::sync::Arc;
    use std::future::poll_fn;

    #[test]
    fn an_exit_races_waiters_registering_and_one_cancelling() {
        static EXECUTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(|| {
            EXECUTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let list = Arc::new(WakeList::default());
            let exited = Arc::new(AtomicBool::new(false));
            let (l, e) = (list.clone(), exited.clone());
            let notifier = loom::thread::spawn(move || {
                e.store(true, Ordering::Release);
                l.wake_all();
            });
            // A waiter that gives up after one look (a cancelled wait).
            let mut cancelled = None;
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            let first = poll_waiter(
                &list,
                &mut cancelled,
                &mut cx,
                || Ok(()),
                || Ok(exited.load(Ordering::Acquire).then_some(())),
            );
            if let Some(id) = cancelled {
                list.remove(id);
            }
            drop(first);
            // A waiter that waits to the end.
            let mut slot = None;
            loom::future::block_on(poll_fn(|cx| {
                poll_waiter(&list, &mut slot, cx, || Ok(()), || Ok(exited.load(Ordering::Acquire).then_some(())))
            }))
            .unwrap();
            list.remove(slot.expect("registered"));
            notifier.join().unwrap();
            assert_eq!(list.len(), 0, "every slot was freed");
        });
        let executions = EXECUTIONS.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!("process::hub::loom_model: {executions} iterations (preemption bound 3)");
    }
}
