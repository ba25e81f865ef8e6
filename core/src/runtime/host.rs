//! The loop's side of the seams the layers below it define: a loop is its
//! tasks' host (`task::host::Host`), the running loop of its thread for
//! spawns and dumps (`task::host::Running`), its sources' I/O driver
//! (`io::driver::Driver`) and the blocking layer's host
//! (`blocking::host::Host`).
//!
//! # Where a task's bookkeeping lives
//!
//! A task of a plain loop keeps its cancel count in its header and the rest
//! of its bookkeeping — registry slot, pending cancel message, the
//! cancellations delivered to it, done-callbacks — in its loop's registry,
//! which only the loop's thread touches. So the loop's host methods act at
//! once on the loop's thread and post the request to it from any other
//! thread (a cancel or an `uncancel` from another thread takes effect at
//! the loop's next iteration); the ones a checkpoint calls run on the
//! loop's thread by construction (a task is polled only there).

use super::current;
use super::event_loop::LoopCore;
use super::exception::ExceptionContext;
use super::handle::LoopHandle;
use super::shared::{LoopShared, Remote};
use crate::blocking::host::{self as blocking_host, KeepAlive};
use crate::blocking::BlockingPool;
use crate::clock::Clock;
use crate::context::ContextStore;
use crate::executor::Executor;
use crate::io::driver::Driver;
use crate::io::{Direction, IoKey};
use crate::loop_id::LoopId;
use crate::reactor::Reactor;
use crate::task::checkpoint::{suspend_at, WaitKind};
use crate::task::host::{DoneCallback, Host, Running, WrongThread};
use crate::task::raw::{RawTask, Spawner, TaskRef};
use crate::task::{Cancelled, Panic, TaskDump, TaskSnapshot};
use std::borrow::Cow;
use std::io;
use std::mem;
use std::os::fd::RawFd;
use std::task::{Context, Poll, Waker};

impl<R: Reactor, X: 'static> Host for LoopShared<R, X> {
    fn schedule(&self, task: TaskRef) {
        LoopShared::schedule(self, task)
    }

    fn cancel(&self, task: RawTask, message: Option<Cow<'static, str>>) -> bool {
        if let Some(accepted) = current::with_local(self.as_owner(), |l| l.cancel_task(task, message.clone())) {
            return accepted;
        }
        // Whether the request is accepted is decided now, before it is posted:
        // once posted, the loop may deliver it and the task end cancelled before
        // this thread looks again, and a cancel that reports the task already
        // done must never come with a cancelled outcome (rule C8).
        let accepted = !task.is_complete();
        let task_ref = retain(task);
        self.post_run(move || {
            current::with_running(|l| l.cancel_task(task_ref.raw(), message));
        });
        accepted
    }

    fn uncancel(&self, task: RawTask) -> u32 {
        if let Some(n) = current::with_local(self.as_owner(), |l| l.uncancel_task(task)) {
            return n;
        }
        // As in `cancel`: read before the loop can act on the request.
        let remaining = task.cancel_requests().saturating_sub(1);
        let task_ref = retain(task);
        self.post_run(move || {
            current::with_running(|l| l.uncancel_task(task_ref.raw()));
        });
        remaining
    }

    fn deliver_cancel(&self, task: RawTask) -> Cancelled {
        current::expect_running(|l| l.deliver_cancel(task))
    }

    fn forward_cancel(&self, task: RawTask) -> Option<Cow<'static, str>> {
        current::expect_running(|l| l.forward_cancel(task))
    }

    fn adopt_cancelled(&self, task: RawTask, cancelled: Cancelled) -> Cancelled {
        let mut handed = Some(cancelled);
        let adopted = current::with_running(|l| l.adopt_cancelled(task, handed.take().expect("handed over once")));
        adopted.unwrap_or_else(|| handed.take().expect("not handed over: no running loop"))
    }

    fn deliveries(&self, task: RawTask) -> u64 {
        current::expect_running(|l| l.deliveries(task))
    }

    fn held_cancel_since(&self, task: RawTask, mark: u64) -> Option<Cancelled> {
        current::expect_running(|l| l.held_cancel_since(task, mark))
    }

    fn add_done_callback(&self, task: RawTask, callback: DoneCallback) -> Result<(), WrongThread> {
        current::with_local(self.as_owner(), |l| l.add_done_callback(task, callback)).ok_or(WrongThread)
    }

    fn report_unretrieved_panic(&self, task: RawTask, panic: Panic) {
        let mut context = Some(ExceptionContext::unretrieved_panic(task, panic));
        let reported = current::with_local(self.as_owner(), |l| l.report(context.take().expect("taken once")));
        if reported.is_none() {
            // Dropped on a thread without the task's loop: there is no handler
            // to reach synchronously, so use the default one.
            if let Some(context) = context {
                context.print_default();
            }
        }
    }

    fn snapshot(&self, task: RawTask) -> Option<TaskSnapshot> {
        current::with_local(self.as_owner(), |l| l.task_snapshot(task)).flatten()
    }

    fn defer_cancel(&self, task: RawTask) {
        current::expect_running(|l| l.defer_cancel(task))
    }

    fn report_drop_panic(&self, task: RawTask, panic: Panic) {
        let mut context = Some(ExceptionContext::drop_panic(task, panic));
        let reported = current::with_local(self.as_owner(), |l| l.report(context.take().expect("taken once")));
        if reported.is_none() {
            // Dropped on a thread without the task's loop: there is no handler
            // to reach synchronously, so use the default one.
            if let Some(context) = context {
                context.print_default();
            }
        }
    }

    fn post(&self, f: Box<dyn FnOnce() + Send>) {
        self.post_run(f)
    }

    fn is_idle_here(&self) -> bool {
        current::is_idle_local(self.as_owner())
    }
}

impl<R: Reactor, X: 'static> LoopShared<R, X> {
    /// Runs `f` on the loop's thread at its next iteration. A closed loop
    /// refuses it; its tasks are complete by then, so there is nothing left
    /// to do.
    fn post_run(&self, f: impl FnOnce() + Send + 'static) {
        let _ = self.post(Remote::Run(Box::new(f)));
    }
}

/// A task reference for a closure sent to the task's loop.
fn retain(task: RawTask) -> TaskRef {
    task.state().ref_inc();
    // SAFETY: we just added the reference.
    unsafe { TaskRef::from_raw(task) }
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> Running for LoopCore<R, C, E, X> {
    fn spawner(&self) -> (Spawner, u64) {
        LoopCore::spawner(self)
    }

    fn adopt(&self, registry: TaskRef, queued: TaskRef, eager: bool) {
        self.adopt_task(registry, queued, eager)
    }

    fn dump(&self) -> TaskDump {
        self.dump_tasks()
    }
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> Driver for LoopCore<R, C, E, X> {
    fn id(&self) -> LoopId {
        self.shared.id
    }

    fn register(&self, fd: RawFd) -> io::Result<IoKey> {
        self.io.borrow_mut().register(&self.shared.reactor, fd)
    }

    fn poll_ready(&self, key: IoKey, direction: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = self.io.borrow_mut().poll_ready(key, direction, cx);
        if poll.is_pending() {
            let kind = match direction {
                Direction::Read => WaitKind::Readable,
                Direction::Write => WaitKind::Writable,
            };
            suspend_at(kind, None);
        }
        poll
    }

    fn clear_ready(&self, key: IoKey, direction: Direction) {
        self.io.borrow_mut().clear_ready(key, direction)
    }

    fn deregister(&self, key: IoKey, fd: RawFd) -> io::Result<()> {
        let mut wake = mem::take(&mut *self.wake_buf.borrow_mut());
        let result = self.io.borrow_mut().deregister(&self.shared.reactor, key, fd, &mut wake);
        // Waiters on a deregistered source get an error on their next poll.
        wake.drain(..).for_each(Waker::wake);
        *self.wake_buf.borrow_mut() = wake;
        result
    }

    fn forward_poll_ready(&self, home: LoopId, key: IoKey, direction: Direction, waker: Waker) -> bool {
        self.forward(
            home,
            Box::new(move || {
                crate::io::driver::with_running(|d| {
                    if d.poll_ready(key, direction, &mut Context::from_waker(&waker)).is_ready() {
                        waker.wake_by_ref();
                    }
                });
            }),
        )
    }

    fn forward_forget(&self, home: LoopId, key: IoKey) -> bool {
        self.forward(
            home,
            Box::new(move || {
                crate::io::driver::with_running(|d| d.forget(key));
            }),
        )
    }

    fn forget(&self, key: IoKey) {
        let mut wake = mem::take(&mut *self.wake_buf.borrow_mut());
        let _ = self.io.borrow_mut().forget(key, &mut wake);
        wake.drain(..).for_each(Waker::wake);
        *self.wake_buf.borrow_mut() = wake;
    }

    fn completions_available(&self) -> bool {
        self.shared.reactor.completions().is_some()
    }

    fn submit_op(&self, op: crate::reactor::ops::OpRef) -> io::Result<()> {
        match self.shared.reactor.completions() {
            Some(completions) => completions.submit(op),
            None => Err(io::Error::new(io::ErrorKind::Unsupported, "the loop's reactor has no completion-based I/O")),
        }
    }

    fn cancel_op(&self, op: &crate::reactor::ops::Op) {
        if let Some(completions) = self.shared.reactor.completions() {
            completions.cancel(op);
        }
    }
}

impl<R: Reactor, C: Clock, E: Executor, X: ContextStore> blocking_host::Host for LoopCore<R, C, E, X> {
    fn default_pool(&self) -> BlockingPool {
        // Every job the free functions submit comes through here.
        super::metrics::bump(&self.counters.blocking_jobs);
        self.default_executor()
    }

    fn keep_alive(&self) -> KeepAlive {
        LoopHandle::new(self.shared.clone()).into_keep_alive()
    }
}
