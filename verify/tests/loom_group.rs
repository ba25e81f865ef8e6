//! Loom model 6: a task group's live-child count reaches zero exactly once, after every child has ended, and wakes
//! the group waiting for it (rules G1, G2).
//!
//! The group (`core/src/structured/task_group/`) runs as the loop's root task on the model's main thread. Its body
//! spawns two children and returns at once, so the group waits in its exit for the count to reach zero:
//!
//! * child `a` waits for a signal from another thread, then fails — a failure, which cancels the rest (G2);
//! * child `b` waits forever (a checkpoint), and is aborted by the same thread right after the signal — racing
//!   the group's own cancel of it.
//!
//! The children end in either order, by either cause, interleaved with the loop's park/unpark. Every execution must
//! end with the group returning the one failure, at a moment when both children have ended (the count did not reach
//! zero early), and must not hang (loom reports a deadlock if the last child's end does not wake the group). Caught
//! mutants: `group_abort_forgets_children` (the count drops when children are cancelled, before they end) and
//! `group_zero_check_before_remove` (the last child's end misses the zero).
#![cfg(corio_loom)]

mod loom_support;

use corio_core::reactor::ParkReactor;
use corio_core::runtime::EventLoop;
use corio_core::structured::{task_group, GroupError, SpawnError};
use corio_core::task::{AnyTask, Cancelled};
use corio_core::FutureExt;
use loom_support::{check, Signal};
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Debug)]
enum Error {
    Cancelled(#[allow(dead_code)] Cancelled),
    Failed,
    Spawn(#[allow(dead_code)] SpawnError),
}

impl From<Cancelled> for Error {
    fn from(c: Cancelled) -> Self {
        Error::Cancelled(c)
    }
}

impl From<SpawnError> for Error {
    fn from(e: SpawnError) -> Self {
        Error::Spawn(e)
    }
}

#[test]
fn group_counter_reaches_zero_once_and_wakes_the_waiter() {
    check("loom_group::group_counter_reaches_zero_once_and_wakes_the_waiter", || {
        let lp = EventLoop::new(ParkReactor::new());
        let signal = Signal::new();
        let threads = Rc::new(RefCell::new(Vec::new()));
        let children: Rc<RefCell<Vec<AnyTask>>> = Rc::default();

        let (s, t, c) = (signal.clone(), threads.clone(), children.clone());
        let result = lp
            .block_on(task_group(move |tg| async move {
                let a = tg.spawn(async move {
                    s.wait().await;
                    Err::<(), _>(Error::Failed)
                })?;
                let b = tg.spawn(async {
                    std::future::pending::<()>().cancellable().await?;
                    Ok::<(), Error>(())
                })?;
                let target = AnyTask::clone(&b);
                // One thread signals `a` and then aborts `b`; the loop sees the two in either order relative to
                // its own steps (a's failure cancels b too).
                t.borrow_mut().push(loom::thread::spawn(move || {
                    signal.set();
                    target.abort();
                }));
                c.borrow_mut().extend([AnyTask::clone(&a), AnyTask::clone(&b)]);
                Ok::<_, Error>(())
            }))
            .unwrap();

        // The group returned only once both children had ended.
        let children = children.borrow();
        assert!(children.iter().all(AnyTask::done), "the group exited while a child was running");
        let (a, b) = (&children[0], &children[1]);
        assert!(!a.cancelled() && b.cancelled());
        match result {
            Err(GroupError::Failed(group)) => {
                assert_eq!(group.len(), 1);
                assert!(matches!(group.failures()[0].error, Error::Failed));
            }
            other => panic!("unexpected group result {other:?}"),
        }
        for thread in threads.borrow_mut().drain(..) {
            thread.join().unwrap();
        }
        drop(lp);
    });
}
