//! A pool of loops: the host of the `Send` tasks a multi-loop runtime may run
//! on any of its loops.
//!
//! A task spawned with `Loops::spawn` (or `corio::multi_loop::spawn`) names
//! the pool, not a loop, in its state word (`task::owners`), so it changes
//! the loop that runs it without changing hosts (docs/design.md, "Where a
//! task's bookkeeping lives"). Tasks spawned with `corio::spawn`, `spawn_on`
//! or on a plain `EventLoop` keep their loop as their host and never move.
//!
//! # Model
//!
//! * Every loop of the pool (a *member*) has a run queue of pool tasks
//!   (`queue.rs`); a task woken on a member's thread goes to that member's
//!   queue, so the loop that woke it runs it, whatever loop ran it before.
//!   A wake from any other thread, and a spawn from outside the pool's
//!   loops, goes to the pool's injection queue.
//! * Each iteration, a member runs the pool tasks that were in its queue
//!   when the iteration began, after its own ready batch. A member with
//!   nothing of its own to do takes work from the injection queue, then
//!   steals the older half of another member's queue, before it parks.
//! * A member about to park announces itself idle (`idle.rs`); a push that
//!   leaves work a member could take (a queue with more than its owner's
//!   next task, the injection queue) wakes one idle member. The
//!   announcement and the push are ordered so that either the parking
//!   member sees the work or the pusher sees the member idle.
//! * A pool task's bookkeeping — its registry entry, cancel messages,
//!   deliveries, done-callbacks — is the pool's, behind one mutex taken on
//!   spawn, on completion and on the rare paths (cancel requests and
//!   deliveries, done-callbacks, dumps), never on a plain step. Its
//!   done-callbacks (not `Send`) stay with the loop that registered them,
//!   which runs them when the pool tells it the task has ended. Its context
//!   travels between steps as entries (`Portable`), rebuilt in the running
//!   loop's store for each step.
//!
//! # Invariants
//!
//! * A pool task is in at most one queue (the state word's `SCHEDULED`
//!   rule, as for any task), and the member that pops it holds its step:
//!   the header's step-owned fields are written by that member only, and a
//!   queue's mutex orders one step's writes before the next step's reads.
//! * The pool's registry holds one reference to every live pool task;
//!   closing the pool (after every member has stopped running) drains the
//!   queues and ends what is left cancelled, which breaks the cycle of tasks
//!   holding the pool and the pool holding tasks.

mod book;
mod idle;
mod queue;

use super::handle::LoopHandle;
use super::registry::{Removed, TaskEntry, TaskRegistry};
use super::shared::LoopClosed;
use crate::context::{ContextValue, VarKey};
use crate::loom::{corio_thread_local, Arc, AtomicBool, Mutex, MutexGuard, Ordering};
use crate::loop_id::LoopId;
use crate::task::dump::{TaskSnapshot, TaskState};
use crate::task::host::{DoneCallback, Host, SchedVTable, VTables, WrongThread};
use crate::task::origin::Origin;
use crate::task::owners::{OwnerIndex, TooManyLoops};
use crate::task::raw::{self, RawTask, Spawner, TaskRef};
use crate::task::state::{RUNNING, SCHEDULED};
use crate::task::{task_name, Cancelled, Panic, Task, TaskId, TaskInfo};
use idle::Idle;
use queue::RunQueue;
use std::borrow::Cow;
use std::cell::Cell;
use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;

pub(crate) use book::PoolBook;

/// A pool task's context between steps: its entries (or nothing, for an
/// empty context), which any thread may hold. The default store shares its
/// entries copy-on-write through an `Rc`, which must not cross threads.
pub(crate) type Portable = Option<Box<Vec<(VarKey, ContextValue)>>>;

/// A pool task's done-callback: kept by the loop that registered it (it is
/// not `Send`), under `id`; the pool tells that loop when the task ends.
pub(crate) struct Posted {
    handle: LoopHandle,
    id: u64,
}

type PoolRegistry = TaskRegistry<Portable, Posted, false>;

/// One loop of the pool, as the pool sees it.
struct Member {
    queue: RunQueue,
    handle: LoopHandle,
    id: LoopId,
}

/// The pool: its members' queues, the injection queue, who is idle, and the
/// registry of its tasks.
pub(crate) struct PoolShared {
    sched: &'static SchedVTable,
    owner_index: OwnerIndex,
    members: Box<[Member]>,
    inject: RunQueue,
    idle: Idle,
    registry: Mutex<PoolRegistry>,
    /// The runtime's task ids, shared with its loops (`LoopShared`): every
    /// task of the runtime has its own. A std atomic: nothing synchronises
    /// on an id.
    ids: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Set at close: spawns are refused, and nothing runs pool tasks any more.
    closed: AtomicBool,
    /// Ids of the tasks the runtime's teardown has cancelled (each once, as
    /// `asyncio.run` cancels each task once).
    shutdown_cancelled: Mutex<std::collections::HashSet<u64>>,
    /// Set by the teardown's first round: the last task to end then wakes
    /// every member, whose shutdown waits for the pool to empty.
    shutting_down: AtomicBool,
}

corio_thread_local! {
    /// The pool member running on this thread, if the running loop is one.
    static MEMBER: Cell<Option<(NonNull<PoolShared>, usize)>> = Cell::new(None);
}

impl PoolShared {
    /// A pool over the loops behind `handles` (member `i` is `handles[i]`).
    pub(crate) fn new(handles: Vec<LoopHandle>) -> Result<Arc<PoolShared>, TooManyLoops> {
        let members: Box<[Member]> =
            handles.into_iter().map(|handle| Member { queue: RunQueue::new(), id: handle.loop_id(), handle }).collect();
        let pool = Arc::new(PoolShared {
            sched: VTables::<PoolShared>::get(),
            owner_index: OwnerIndex::claim()?,
            idle: Idle::new(members.len()),
            members,
            inject: RunQueue::new(),
            registry: Mutex::new(PoolRegistry::new()),
            ids: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1)),
            closed: AtomicBool::new(false),
            shutdown_cancelled: Mutex::new(Default::default()),
            shutting_down: AtomicBool::new(false),
        });
        pool.owner_index.publish(&*pool as *const PoolShared as *const (), pool.sched);
        Ok(pool)
    }

    /// The vtable the pool's tasks schedule through (the published one:
    /// wakers are told apart by its address).
    pub(crate) fn sched_vtable(&self) -> &'static SchedVTable {
        self.sched
    }

    fn registry(&self) -> MutexGuard<'_, PoolRegistry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The member running on this thread, if it is one of ours.
    #[inline]
    fn current_member(&self) -> Option<usize> {
        match MEMBER.with(Cell::get) {
            Some((pool, index)) if std::ptr::eq(pool.as_ptr(), self) => Some(index),
            _ => None,
        }
    }

    /// Spawns `future` as a pool task: queued on this thread's member if the
    /// caller runs on one, otherwise on the injection queue.
    pub(crate) fn spawn<F>(
        pool: &Arc<PoolShared>,
        future: F,
        location: &'static Location<'static>,
    ) -> Result<Task<F::Output>, LoopClosed>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if pool.closed.load(Ordering::Acquire) {
            return Err(LoopClosed);
        }
        // The task's strong count of the pool, given back when it is freed.
        let _ = Arc::into_raw(Arc::clone(pool));
        let spawner = Spawner { owner_index: pool.owner_index.get() };
        let id = pool.ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: 'static future; three references: registry, queue, handle.
        let raw = RawTask::from_header(unsafe { raw::allocate(future, spawner, id, Origin::new(location, None), 3) });
        // SAFETY: each reference is handed out once.
        let (registry, queued, task) = unsafe { (TaskRef::from_raw(raw), TaskRef::from_raw(raw), Task::from_raw(raw)) };
        let entries = crate::context::snapshot_entries();
        let context: Portable = (!entries.is_empty()).then(|| Box::new(entries));
        pool.registry().insert(
            TaskEntry {
                task: registry,
                #[cfg(feature = "tracing")]
                span: tracing::info_span!("task", task.name = %task_name(raw), task.id = id),
            },
            context,
        );
        pool.schedule(queued);
        Ok(task)
    }

    /// The runtime's task id counter, for a loop joining the pool.
    pub(crate) fn task_ids(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        self.ids.clone()
    }

    /// Runs `f` on member loop `id` at its next iteration: how a pool task
    /// that moved reaches the timer or socket it left on that loop.
    /// `false` if `id` is not a member, or has closed.
    pub(crate) fn post_to(&self, id: LoopId, f: Box<dyn FnOnce() + Send>) -> bool {
        match self.members.iter().find(|m| m.id == id) {
            Some(member) => member.handle.run_on_loop(f).is_ok(),
            None => false,
        }
    }

    /// Wakes one idle member other than `except`, if any is idle.
    fn wake_idle(&self, except: Option<usize>) {
        if let Some(index) = self.idle.take_one(except) {
            self.members[index].handle.kick();
        }
    }

    // ----- what a member does ---------------------------------------------------

    /// The next pool task for member `index`: from its own queue.
    pub(crate) fn pop(&self, index: usize) -> Option<TaskRef> {
        self.members[index].queue.pop()
    }

    /// How many pool tasks member `index` has queued.
    pub(crate) fn queued(&self, index: usize) -> usize {
        self.members[index].queue.len()
    }

    /// Member `index` has nothing to do: moves work into its queue from the
    /// injection queue, or else the older half of another member's queue.
    /// Returns how many tasks it took.
    pub(crate) fn find_work(&self, index: usize) -> usize {
        let mut taken = Vec::new();
        self.inject.steal_half(&mut taken, false);
        if taken.is_empty() {
            let n = self.members.len();
            for offset in 1..n {
                let victim = (index + offset) % n;
                if victim != index {
                    self.members[victim].queue.steal_half(&mut taken, true);
                }
                if !taken.is_empty() {
                    break;
                }
            }
        }
        let count = taken.len();
        for task in taken {
            self.members[index].queue.push(task);
        }
        count
    }

    /// Whether any work is waiting that member `index` could take: in its
    /// own queue, the injection queue, or another member's (more than the
    /// one task its owner runs next).
    pub(crate) fn has_work_for(&self, index: usize) -> bool {
        self.members[index].queue.len() > 0
            || self.inject.len() > 0
            || self.members.iter().enumerate().any(|(i, m)| i != index && m.queue.len() > 1)
    }

    /// Member `index` is about to park: announces it, then looks for work
    /// once more (see `idle.rs`). `false`, and no announcement left behind,
    /// if there is work: the member must not park.
    pub(crate) fn go_idle(&self, index: usize) -> bool {
        self.idle.announce(index);
        if self.has_work_for(index) {
            self.idle.withdraw(index);
            return false;
        }
        true
    }

    /// Member `index` stops running (its `run_forever` or `block_on`
    /// returned): its queued tasks go to the injection queue, and an idle
    /// member is woken to take them, so that no task waits for a loop that
    /// may not run again soon.
    pub(crate) fn hand_off(&self, index: usize) {
        let tasks = self.members[index].queue.drain();
        if tasks.is_empty() {
            return;
        }
        for task in tasks {
            self.inject.push(task);
        }
        self.wake_idle(None);
    }

    /// Member `index` is running again (woken, or its park was cut short).
    pub(crate) fn wake_up(&self, index: usize) {
        self.idle.withdraw(index);
    }

    // ----- teardown ---------------------------------------------------------

    /// The live pool tasks, in registry order, each with a reference of its
    /// own (another member may complete one meanwhile).
    pub(crate) fn tasks(&self) -> Vec<TaskRef> {
        let registry = self.registry();
        registry
            .tasks()
            .into_iter()
            .map(|raw| {
                raw.state().ref_inc();
                // SAFETY: we just added the reference.
                unsafe { TaskRef::from_raw(raw) }
            })
            .collect()
    }

    /// One round of a runtime's teardown, from any member's shutdown:
    /// `false` once every pool task has finished. Otherwise `true`, after
    /// cancelling the live tasks if none cancelled by an earlier round is
    /// still live (what the cancelled tasks' cleanup left behind is
    /// cancelled next, as a loop's teardown does with its own tasks).
    pub(crate) fn shutdown_step(&self) -> bool {
        self.shutting_down.store(true, Ordering::SeqCst);
        let tasks = self.tasks();
        if tasks.is_empty() {
            return false;
        }
        let mut cancelled = self.shutdown_cancelled.lock().unwrap_or_else(|e| e.into_inner());
        if !tasks.iter().any(|t| cancelled.contains(&t.raw().header().id)) {
            let fresh: Vec<TaskRef> = tasks.into_iter().filter(|t| cancelled.insert(t.raw().header().id)).collect();
            drop(cancelled);
            for task in fresh {
                self.cancel(task.raw(), None);
            }
        }
        true
    }

    /// Refuses spawns from now on, and takes every queued task reference
    /// (every member has stopped running pool tasks); returns the tasks
    /// still live, for the caller to end cancelled.
    pub(crate) fn close(&self) -> (Vec<TaskRef>, Vec<TaskRef>) {
        self.closed.store(true, Ordering::Release);
        let mut queued = self.inject.drain();
        for member in self.members.iter() {
            queued.extend(member.queue.drain());
        }
        (queued, self.tasks())
    }

    // ----- a pool task's step (`book.rs`) -------------------------------------

    /// Takes `raw`'s entry and extras out at its completion.
    fn remove(&self, raw: RawTask) -> (Option<Removed<Portable>>, Option<super::registry::Extras<Posted>>) {
        let mut registry = self.registry();
        let extras = registry.take_extras(raw);
        let removed = registry.remove(raw);
        // During teardown every member waits for the pool to empty; the last
        // task to end tells them (they may be parked until the grace period
        // ends otherwise).
        if registry.is_empty() && self.shutting_down.load(Ordering::SeqCst) {
            drop(registry);
            for member in self.members.iter() {
                member.handle.kick();
            }
        }
        (removed, extras)
    }

    /// A pool task's snapshot for a dump, from what any thread may read: its
    /// state word, name, spawn location and last suspension (no wait
    /// detail: the timer or source it waits on may be another loop's).
    fn pool_snapshot(raw: RawTask) -> TaskSnapshot {
        let state = raw.state().load();
        let suspended = raw.suspended();
        let state = if suspended.is_none() {
            TaskState::NotStarted
        } else if state.has(SCHEDULED) {
            TaskState::Scheduled
        } else if state.has(RUNNING) {
            TaskState::Running
        } else {
            TaskState::Suspended
        };
        let checkpoint = suspended
            .filter(|_| state == TaskState::Suspended || state == TaskState::Scheduled)
            .map(|at| at.checkpoint(None));
        TaskSnapshot {
            id: TaskId(raw.header().id),
            name: task_name(raw),
            state,
            spawned_at: raw.location(),
            checkpoint,
            cancelling: raw.cancel_requests(),
        }
    }

    /// Every live pool task's snapshot.
    pub(crate) fn snapshots(&self) -> Vec<TaskSnapshot> {
        self.tasks().iter().map(|task| PoolShared::pool_snapshot(task.raw())).collect()
    }
}

impl Host for PoolShared {
    fn schedule(&self, task: TaskRef) {
        match self.current_member() {
            Some(index) => {
                // The loop that woke the task runs it; if that leaves it
                // more than its next task, an idle member may take some.
                if self.members[index].queue.push(task) > 1 {
                    self.wake_idle(Some(index));
                }
            }
            None if self.closed.load(Ordering::Acquire) => drop(task),
            None => {
                self.inject.push(task);
                self.wake_idle(None);
            }
        }
    }

    fn cancel(&self, task: RawTask, message: Option<Cow<'static, str>>) -> bool {
        let must_schedule = self.registry().request_cancel(task, message);
        match must_schedule {
            None => false,
            Some(must_schedule) => {
                if must_schedule {
                    // SAFETY: the request's transition added the queue's
                    // reference.
                    self.schedule(unsafe { TaskRef::from_raw(task) });
                }
                true
            }
        }
    }

    fn uncancel(&self, task: RawTask) -> u32 {
        self.registry().uncancel(task)
    }

    fn deliver_cancel(&self, task: RawTask) -> Cancelled {
        self.registry().deliver_cancel(task)
    }

    fn forward_cancel(&self, task: RawTask) -> Option<Cow<'static, str>> {
        self.registry().forward_cancel(task)
    }

    fn adopt_cancelled(&self, task: RawTask, cancelled: Cancelled) -> Cancelled {
        self.registry().adopt_cancelled(task, cancelled)
    }

    fn deliveries(&self, task: RawTask) -> u64 {
        self.registry().deliveries(task)
    }

    fn held_cancel_since(&self, task: RawTask, mark: u64) -> Option<Cancelled> {
        self.registry().holds_cancel_since(task, mark).cloned()
    }

    fn add_done_callback(&self, task: RawTask, callback: DoneCallback) -> Result<(), WrongThread> {
        // The callback stays with the loop of this thread, which runs it.
        let (id, handle) =
            super::current::with_running(|l| (l.hold_done_callback(callback), l.handle())).ok_or(WrongThread)?;
        let posted = Posted { handle, id };
        let mut registry = self.registry();
        let joiner_waits = task.state().load().has(crate::task::state::JOIN_WAKER);
        match registry.extras_mut(task) {
            Some(extras) => extras.add_done_callback(posted, joiner_waits),
            None => {
                drop(registry);
                // Already complete: still through the loop, never inline (F3).
                posted.run(TaskInfo::of(task));
            }
        }
        Ok(())
    }

    fn report_unretrieved_panic(&self, task: RawTask, panic: Panic) {
        let mut context = Some(super::exception::ExceptionContext::unretrieved_panic(task, panic));
        let reported = super::current::with_running(|l| l.report(context.take().expect("taken once")));
        if reported.is_none() {
            if let Some(context) = context {
                context.print_default();
            }
        }
    }

    fn snapshot(&self, task: RawTask) -> Option<TaskSnapshot> {
        self.registry().get_mut(task)?;
        Some(PoolShared::pool_snapshot(task))
    }

    fn defer_cancel(&self, task: RawTask) {
        self.registry().defer_cancel(task)
    }

    fn report_drop_panic(&self, task: RawTask, panic: Panic) {
        let mut context = Some(super::exception::ExceptionContext::drop_panic(task, panic));
        let reported = super::current::with_running(|l| l.report(context.take().expect("taken once")));
        if reported.is_none() {
            if let Some(context) = context {
                context.print_default();
            }
        }
    }

    fn post(&self, f: Box<dyn FnOnce() + Send>) {
        // Any member can run it: the pool's bookkeeping is shared.
        if let Some(member) = self.members.first() {
            let _ = member.handle.run_on_loop(f);
        }
    }
}

impl Posted {
    /// Tells the loop that holds the callback to run it (`call_soon`, in the
    /// context it was registered in).
    fn run(self, info: TaskInfo) {
        let Posted { handle, id } = self;
        // Refused only if that loop has closed; the callback went with it.
        let _ = handle.run_on_loop(move || {
            super::current::with_running(|l| l.release_done_callback(id, info));
        });
    }
}

/// Marks the running loop as member `index` of `pool` on this thread until
/// dropped.
pub(crate) struct MemberGuard(Option<(NonNull<PoolShared>, usize)>);

impl MemberGuard {
    /// # Safety
    ///
    /// `pool` outlives the guard, which is dropped on this thread.
    pub(crate) unsafe fn enter(pool: &PoolShared, index: usize) -> MemberGuard {
        MemberGuard(MEMBER.with(|m| m.replace(Some((NonNull::from(pool), index)))))
    }
}

impl Drop for MemberGuard {
    fn drop(&mut self) {
        MEMBER.with(|m| m.set(self.0));
    }
}

/// How a loop belongs to a pool: the pool, and its index there.
pub(crate) struct Membership {
    pub(crate) pool: Arc<PoolShared>,
    pub(crate) index: usize,
}
