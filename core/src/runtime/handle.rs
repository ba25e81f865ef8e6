//! `LoopHandle`: the `Send + Sync` way to reach a loop from other threads.

use super::callback::{CallbackRef, Handle};
use super::current;
use super::shared::{LoopClosed, LoopId, LoopShared, Remote};
use crate::blocking::host::KeepAlive;
use crate::context;
use crate::loom::{Arc, Ordering};
use crate::reactor::Reactor;
use crate::task::origin::Origin;
use crate::task::raw::{self, RawTask, Spawner, TaskRef};
use crate::task::Task;
use std::fmt;
use std::future::Future;
use std::panic::Location;

/// Operations on a loop's shared state, monomorphized per loop type.
struct HandleVTable {
    post: unsafe fn(*const (), Remote) -> Result<(), Remote>,
    spawner: unsafe fn(*const ()) -> (Spawner, u64),
    retain: unsafe fn(*const ()),
    release: unsafe fn(*const ()),
    is_closed: unsafe fn(*const ()) -> bool,
    /// Drops a whole handle given its owner pointer (a [`KeepAlive`]).
    drop_handle: unsafe fn(*const ()),
    /// Makes the loop look at its queues again (`LoopShared::kick`).
    kick: unsafe fn(*const ()),
    /// The loop's identity.
    loop_id: unsafe fn(*const ()) -> LoopId,
}

struct HandleVTables<S>(std::marker::PhantomData<S>);

impl<R: Reactor, X: 'static> HandleVTables<LoopShared<R, X>> {
    const VTABLE: HandleVTable = HandleVTable {
        post: post::<R, X>,
        spawner: spawner::<R, X>,
        retain: retain::<R, X>,
        release: release::<R, X>,
        is_closed: is_closed::<R, X>,
        drop_handle: drop_handle::<R, X>,
        kick: kick::<R, X>,
        loop_id: loop_id::<R, X>,
    };
}

/// # Safety (all below)
///
/// `owner` is an `Arc<LoopShared<R, X>>` pointer the handle holds a strong
/// count of.
unsafe fn shared<'a, R: Reactor, X: 'static>(owner: *const ()) -> &'a LoopShared<R, X> {
    // SAFETY: per the contract above.
    unsafe { &*(owner as *const LoopShared<R, X>) }
}

unsafe fn post<R: Reactor, X: 'static>(owner: *const (), item: Remote) -> Result<(), Remote> {
    // SAFETY: forwarded.
    unsafe { shared::<R, X>(owner) }.post(item)
}

unsafe fn spawner<R: Reactor, X: 'static>(owner: *const ()) -> (Spawner, u64) {
    // SAFETY: forwarded; the new task takes its own strong count.
    let shared = unsafe { shared::<R, X>(owner) };
    let id = shared.next_task_id();
    // SAFETY: as above.
    unsafe { retain::<R, X>(owner) };
    (Spawner { owner_index: shared.owner_index() }, id)
}

unsafe fn retain<R: Reactor, X: 'static>(owner: *const ()) {
    // SAFETY: we hold a count, so the pointer is live; clone it and forget
    // both, leaving one more count.
    unsafe {
        let arc = std::mem::ManuallyDrop::new(Arc::from_raw(owner as *const LoopShared<R, X>));
        std::mem::forget(Arc::clone(&arc));
    }
}

unsafe fn release<R: Reactor, X: 'static>(owner: *const ()) {
    // SAFETY: gives back the count the handle held.
    drop(unsafe { Arc::from_raw(owner as *const LoopShared<R, X>) });
}

unsafe fn drop_handle<R: Reactor, X: 'static>(owner: *const ()) {
    // SAFETY: `owner` is the `LoopShared<R, X>` of a handle that was turned
    // into a `KeepAlive` (its count and strong count still held), so the
    // state is live; rebuilding the handle and dropping it gives both back.
    let shared = unsafe { shared::<R, X>(owner) };
    drop(LoopHandle { owner, vtable: &HandleVTables::<LoopShared<R, X>>::VTABLE, counter: &shared.handles });
}

unsafe fn loop_id<R: Reactor, X: 'static>(owner: *const ()) -> LoopId {
    // SAFETY: forwarded.
    unsafe { shared::<R, X>(owner) }.id
}

unsafe fn kick<R: Reactor, X: 'static>(owner: *const ()) {
    // SAFETY: forwarded.
    unsafe { shared::<R, X>(owner) }.kick()
}

unsafe fn is_closed<R: Reactor, X: 'static>(owner: *const ()) -> bool {
    // SAFETY: forwarded.
    unsafe { shared::<R, X>(owner) }.is_closed()
}

/// A handle to an event loop that any thread can use: schedule callbacks,
/// spawn `Send` tasks, stop the loop.
///
/// While a handle exists, a loop on a virtual clock does not report a
/// deadlock (another thread may still add work).
///
/// ```
/// use corio_core::reactor::ParkReactor;
/// use corio_core::runtime::EventLoop;
///
/// let lp = EventLoop::new(ParkReactor::new());
/// let handle = lp.handle();
/// let worker = std::thread::spawn(move || {
///     let task = handle.spawn(async { 40 + 2 }).unwrap();
///     handle.call_soon_threadsafe(|| corio_core::stop()).unwrap();
///     task
/// });
/// let task = worker.join().unwrap();
/// lp.run_forever().unwrap();
/// assert_eq!(lp.block_on(task).unwrap().unwrap(), 42);
/// ```
pub struct LoopHandle {
    owner: *const (),
    vtable: &'static HandleVTable,
    /// The loop's live-handle counter (in the shared state).
    counter: *const crate::loom::AtomicUsize,
}

// SAFETY: every operation goes through `LoopShared`, which is `Send + Sync`
// for the cross-thread parts the vtable touches (the remote queue, the
// reactor's notify, the strong count).
unsafe impl Send for LoopHandle {}
// SAFETY: as above.
unsafe impl Sync for LoopHandle {}

impl LoopHandle {
    pub(crate) fn new<R: Reactor, X: 'static>(shared: Arc<LoopShared<R, X>>) -> LoopHandle {
        shared.handles.fetch_add(1, Ordering::SeqCst);
        let counter = &shared.handles as *const _;
        LoopHandle {
            owner: Arc::into_raw(shared) as *const (),
            vtable: &HandleVTables::<LoopShared<R, X>>::VTABLE,
            counter,
        }
    }

    /// Schedules `callback` on the loop (asyncio's `call_soon_threadsafe`,
    /// rule L7): it runs at the loop's next iteration, in a copy of the
    /// calling thread's context. Wakes the loop if it is parked; costs no
    /// syscall if it is busy.
    pub fn call_soon_threadsafe(&self, callback: impl FnOnce() + Send + 'static) -> Result<Handle, LoopClosed> {
        let callback = CallbackRef::shared(callback);
        let item = Remote::Callback(callback.clone(), context::snapshot_entries());
        // SAFETY: the handle holds a count of `owner`.
        unsafe { (self.vtable.post)(self.owner, item) }.map_err(|_| LoopClosed)?;
        Ok(Handle { callback })
    }

    /// Spawns a `Send` task onto the loop from any thread. It runs in a copy
    /// of the calling thread's context. Fails if the loop is closed; a task
    /// accepted just before the loop closes ends cancelled.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Result<Task<F::Output>, LoopClosed>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let location = Location::caller();
        if self.is_closed() {
            return Err(LoopClosed);
        }
        // SAFETY: the handle holds a count of `owner`; the spawner takes one
        // for the task.
        let (spawner, id) = unsafe { (self.vtable.spawner)(self.owner) };
        // SAFETY: 'static future; three references: registry, queue, handle.
        let raw = RawTask::from_header(unsafe { raw::allocate(future, spawner, id, Origin::new(location, None), 3) });
        // SAFETY: each reference is handed out once.
        let (registry, queued, task) = unsafe { (TaskRef::from_raw(raw), TaskRef::from_raw(raw), Task::from_raw(raw)) };
        let item = Remote::Spawn { registry, queued, context: context::snapshot_entries() };
        // SAFETY: as above.
        match unsafe { (self.vtable.post)(self.owner, item) } {
            Ok(()) => Ok(task),
            Err(item) => {
                // Closed meanwhile: the task never ran; drop its future here.
                // SAFETY: nobody else has seen the task; we own the stage.
                unsafe { raw.discard() };
                drop(item);
                drop(task);
                Err(LoopClosed)
            }
        }
    }

    /// Stops the loop after its current iteration.
    pub fn stop(&self) -> Result<(), LoopClosed> {
        self.run_on_loop(|| {
            current::with_running(|l| l.stop());
        })
    }

    /// Runs `f` on the loop's thread at its next iteration (internal
    /// operations: no context, not cancellable).
    pub(crate) fn run_on_loop(&self, f: impl FnOnce() + Send + 'static) -> Result<(), LoopClosed> {
        // SAFETY: the handle holds a count of `owner`.
        unsafe { (self.vtable.post)(self.owner, Remote::Run(Box::new(f))) }.map_err(|_| LoopClosed)
    }

    /// Whether the loop has closed.
    pub fn is_closed(&self) -> bool {
        // SAFETY: the handle holds a count of `owner`.
        unsafe { (self.vtable.is_closed)(self.owner) }
    }

    /// The handle as the blocking layer keeps it: dropping the
    /// [`KeepAlive`] drops the handle.
    pub(crate) fn into_keep_alive(self) -> KeepAlive {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: the handle is not dropped here (ManuallyDrop); its count
        // and strong count move into the `KeepAlive`, whose drop rebuilds
        // and drops it with the vtable of the same loop type, on any thread
        // (a handle is `Send`).
        unsafe { KeepAlive::from_raw(this.owner, this.vtable.drop_handle) }
    }

    /// The loop's identity.
    pub(crate) fn loop_id(&self) -> LoopId {
        // SAFETY: the handle holds a count of `owner`.
        unsafe { (self.vtable.loop_id)(self.owner) }
    }

    /// Makes the loop look at its queues again (a pool with work for it).
    pub(crate) fn kick(&self) {
        // SAFETY: the handle holds a count of `owner`.
        unsafe { (self.vtable.kick)(self.owner) }
    }

    /// Whether this handle's loop is the one running on the calling thread.
    pub fn is_current(&self) -> bool {
        current::is_running(self.owner)
    }
}

impl Clone for LoopHandle {
    fn clone(&self) -> LoopHandle {
        // SAFETY: the handle holds a count, so the counter and owner are live.
        unsafe {
            (*self.counter).fetch_add(1, Ordering::SeqCst);
            (self.vtable.retain)(self.owner);
        }
        LoopHandle { owner: self.owner, vtable: self.vtable, counter: self.counter }
    }
}

impl Drop for LoopHandle {
    fn drop(&mut self) {
        // SAFETY: the counter lives in the shared state we still hold.
        unsafe {
            let last = (*self.counter).fetch_sub(1, Ordering::SeqCst) == 1;
            if last && !current::is_running(self.owner) {
                // A loop on a virtual clock may be parked only because this
                // handle existed: make it look again, so it reports the
                // deadlock (L5) instead of waiting forever. Posting wakes it
                // only if it is parked (and is refused once it is closed).
                let _ = (self.vtable.post)(self.owner, Remote::Run(Box::new(|| {})));
            }
            (self.vtable.release)(self.owner);
        }
    }
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle").field("closed", &self.is_closed()).finish()
    }
}
