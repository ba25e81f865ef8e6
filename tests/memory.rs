//! Nothing grows without bound. Every task is freed: its allocation goes back
//! once the last of its references (the handle, the loop's registry, a queue
//! entry, each waker) is dropped, whichever way the task ends. Every waiter
//! that gives up (a wait under a timeout, in a loop) leaves its primitive's
//! waiter list, and the list reuses its slot.
//!
//! A task's reference count lives in its state word
//! (`core/src/task/state.rs`), a waiter list's free slots in
//! `core/src/sync/waiters.rs`; a count that never reaches zero or a slot never
//! reused is a leak no outcome-level test can see. This binary counts the bytes the test thread
//! holds (a counting global allocator, per thread so the harness's other
//! threads do not blur it) and runs each way a task can end in rounds: the
//! first rounds grow the loop's queues and tables to their working size, the
//! later ones must leave the thread holding what it held before.

use corio::sync::{
    broadcast, mpsc, oneshot, watch, Barrier, Condition, Event, Lock, Mutex, Notify, Queue, RwLock, Semaphore,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

mod common;
use common::vloop;

struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    // `try_with`: a thread's last frees come after its thread-locals are gone.
    let _ = HELD.try_with(|held| held.set(held.get() + bytes));
}

// SAFETY: every method forwards to `System` unchanged and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        // SAFETY: the caller's contract for `alloc` is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        // SAFETY: the caller's contract for `realloc` is `System::realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn held() -> isize {
    HELD.with(Cell::get)
}

/// Tasks per round.
const TASKS: usize = 500;

/// Runs `round` until the queues and tables it uses have reached their
/// working size, then three more times, and checks those left the thread
/// holding (nearly) nothing more: a task allocation is far larger than the
/// slack, so even one leaked task per spawn fails by a wide margin.
fn leaves_nothing_behind(what: &str, mut round: impl FnMut()) {
    for _ in 0..3 {
        round();
    }
    let before = held();
    for _ in 0..3 {
        round();
    }
    let after = held();
    assert!(
        after - before < (TASKS * 8) as isize,
        "{what}: three rounds of {TASKS} left {} bytes behind ({before} -> {after})",
        after - before
    );
}

/// [`leaves_nothing_behind`] for rounds that run on one loop.
fn frees_every_task<F, Fut>(what: &str, round: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let lp = vloop();
    leaves_nothing_behind(what, || lp.block_on(round()).unwrap());
}

#[test]
fn tasks_awaited_to_the_end_are_freed() {
    frees_every_task("awaited", || async {
        let tasks: Vec<_> = (0..TASKS).map(|i| corio::spawn(async move { i * 2 })).collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), i * 2);
        }
    });
}

#[test]
fn detached_tasks_are_freed_when_they_end() {
    frees_every_task("detached", || async {
        let done = Rc::new(Cell::new(0));
        for _ in 0..TASKS {
            let done = done.clone();
            drop(corio::spawn(async move {
                corio::sleep(Duration::from_millis(1)).await.unwrap();
                done.set(done.get() + 1);
            }));
        }
        corio::sleep(Duration::from_millis(2)).await.unwrap();
        assert_eq!(done.get(), TASKS);
    });
}

#[test]
fn handles_dropped_after_the_end_free_their_tasks() {
    frees_every_task("dropped after the end", || async {
        let tasks: Vec<_> = (0..TASKS).map(|i| corio::spawn(async move { vec![i; 4] })).collect();
        corio::sleep(Duration::from_millis(1)).await.unwrap();
        assert!(tasks.iter().all(|t| t.done()));
        drop(tasks);
    });
}

#[test]
fn cancelled_tasks_and_their_wakers_are_freed() {
    frees_every_task("cancelled while waiting", || async {
        let event = Rc::new(Event::new());
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let event = event.clone();
                corio::spawn(async move { event.wait().await })
            })
            .collect();
        corio::yield_now().await.unwrap();
        for task in &tasks {
            task.cancel();
        }
        for task in tasks {
            assert!(task.await.is_err());
        }
    });
}

#[test]
fn tasks_woken_through_cloned_wakers_are_freed() {
    frees_every_task("woken", || async {
        let event = Rc::new(Event::new());
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let event = event.clone();
                corio::spawn(async move {
                    event.wait().await.unwrap();
                    i
                })
            })
            .collect();
        corio::yield_now().await.unwrap();
        event.set();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), i);
        }
    });
}

/// Waits `wait` under a 1 ms timeout, which expires: the waiter gives up.
async fn gives_up<F: Future>(wait: F) {
    assert!(corio::wait_for(Duration::from_millis(1), wait).await.is_err(), "the wait should time out");
}

/// One of each primitive, kept across rounds: a slot that is not reused
/// grows the list's table from round to round.
struct Primitives {
    event: Event,
    semaphore: Semaphore,
    lock: Lock,
    condition: Condition,
    notify: Notify,
    barrier: Barrier,
    queue: Queue<u32>,
    mutex: Mutex<u32>,
    rwlock: RwLock<u32>,
}

#[test]
fn waiters_that_give_up_leave_every_primitive_and_free_their_slots() {
    let p = Rc::new(Primitives {
        event: Event::new(),
        semaphore: Semaphore::new(0),
        lock: Lock::new(),
        condition: Condition::new(),
        notify: Notify::new(),
        barrier: Barrier::new(2),
        queue: Queue::new(0),
        mutex: Mutex::new(0),
        rwlock: RwLock::new(0),
    });
    // TASKS / 10 waits under a timeout on each primitive, round after round.
    frees_every_task("waits that time out", || {
        let p = p.clone();
        async move {
            let held = p.lock.try_acquire().unwrap();
            let mutex_held = p.mutex.try_lock().unwrap();
            let reader = p.rwlock.try_read().unwrap();
            for _ in 0..TASKS / 10 {
                gives_up(p.event.wait()).await;
                gives_up(p.semaphore.acquire()).await;
                gives_up(p.lock.acquire()).await;
                let mut guard = p.condition.acquire().await.unwrap();
                gives_up(guard.wait()).await;
                drop(guard);
                gives_up(p.notify.notified()).await;
                gives_up(p.barrier.wait()).await;
                gives_up(p.queue.get()).await;
                gives_up(p.mutex.lock()).await;
                gives_up(p.rwlock.write()).await;
            }
            assert_eq!(format!("{:?}", p.event), "Event { set: false, waiters: 0 }");
            assert_eq!(format!("{:?}", p.semaphore), "Semaphore { available: 0, waiters: 0 }");
            assert_eq!(format!("{:?}", p.lock), "Lock { locked: true, waiters: 0 }");
            assert_eq!(format!("{:?}", p.condition), "Condition { locked: false, waiters: 0 }");
            assert_eq!(format!("{:?}", p.notify), "Notify { permit: false, waiters: 0 }");
            assert_eq!(format!("{:?}", p.barrier), "Barrier { parties: 2, phase: Filling, count: 0, blocked: 0 }");
            assert!(format!("{:?}", p.queue).contains("getters: 0, putters: 0"));
            drop((held, mutex_held, reader));
        }
    });
}

/// One of each channel end that can wait, kept across rounds; a receiver
/// is taken out of its cell for the wait and put back.
struct Channels {
    broadcast_tx: broadcast::Sender<u32>,
    broadcast_rx: Cell<Option<broadcast::Receiver<u32>>>,
    watch_tx: watch::Sender<u32>,
    watch_rx: Cell<Option<watch::Receiver<u32>>>,
    mpsc_tx: mpsc::Sender<u32>,
    mpsc_rx: Cell<Option<mpsc::Receiver<u32>>>,
    oneshot_rx: Cell<Option<oneshot::Receiver<u32>>>,
    _oneshot_tx: oneshot::Sender<u32>,
}

#[test]
fn waiters_that_give_up_leave_every_channel_and_free_their_slots() {
    let (broadcast_tx, broadcast_rx) = broadcast::channel(4).unwrap();
    let (watch_tx, watch_rx) = watch::channel(0);
    let (mpsc_tx, mpsc_rx) = mpsc::channel(1).unwrap();
    mpsc_tx.try_send(0).unwrap(); // full: a send waits
    let (_oneshot_tx, oneshot_rx) = oneshot::channel();
    let c = Rc::new(Channels {
        broadcast_tx,
        broadcast_rx: Cell::new(Some(broadcast_rx)),
        watch_tx,
        watch_rx: Cell::new(Some(watch_rx)),
        mpsc_tx,
        mpsc_rx: Cell::new(None),
        oneshot_rx: Cell::new(Some(oneshot_rx)),
        _oneshot_tx,
    });
    let (_idle_tx, idle_rx) = mpsc::channel::<u32>(1).unwrap();
    c.mpsc_rx.set(Some(idle_rx)); // empty: a receive waits
    let _full_rx = mpsc_rx; // keeps the full channel open
    frees_every_task("channel waits that time out", || {
        let c = c.clone();
        async move {
            let mut broadcast_rx = c.broadcast_rx.take().unwrap();
            let mut watch_rx = c.watch_rx.take().unwrap();
            let mut mpsc_rx = c.mpsc_rx.take().unwrap();
            let mut oneshot_rx = c.oneshot_rx.take().unwrap();
            for _ in 0..TASKS / 10 {
                gives_up(broadcast_rx.recv()).await;
                gives_up(watch_rx.changed()).await;
                gives_up(c.watch_tx.closed()).await;
                gives_up(c.mpsc_tx.send(1)).await;
                gives_up(mpsc_rx.recv()).await;
                gives_up(&mut oneshot_rx).await;
            }
            assert!(format!("{:?}", c.broadcast_tx).ends_with("waiting: 0 }"));
            assert!(format!("{:?}", c.watch_tx).ends_with("waiting_changed: 0, waiting_closed: 0 }"));
            assert!(format!("{:?}", c.mpsc_tx).contains("promised: 0, waiting_senders: 0,"));
            c.broadcast_rx.set(Some(broadcast_rx));
            c.watch_rx.set(Some(watch_rx));
            c.mpsc_rx.set(Some(mpsc_rx));
            c.oneshot_rx.set(Some(oneshot_rx));
        }
    });
}

#[test]
fn tasks_still_queued_when_their_loop_closes_are_freed() {
    // The loop ends (its main future returned) with every task woken and
    // waiting in the ready queue: closing completes them unpolled, and the
    // queue's entries then find them complete and drop the last references.
    let round = || {
        let lp = vloop();
        let kept = lp
            .block_on(async {
                let event = Rc::new(Event::new());
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let event = event.clone();
                        corio::spawn(async move { event.wait().await })
                    })
                    .collect();
                corio::yield_now().await.unwrap();
                event.set(); // all queued; the main future returns before they run
                tasks
            })
            .unwrap();
        drop(lp);
        assert!(kept.iter().all(|t| t.done()), "closing the loop ended them");
    };
    leaves_nothing_behind("closed loops", round);
}

#[test]
fn a_main_task_ended_while_queued_is_freed_when_its_queue_entry_comes_up() {
    // `stop()` ends `block_on` while its main task waits in the ready queue
    // (woken by a callback in the same iteration, or by its own yield): the
    // loop ends that task as cancelled, and the queue entry, popped by the
    // next run, finds it complete and drops its reference.
    let lp = vloop();
    let round = || {
        let result = lp.block_on(async {
            let mut polled = false;
            std::future::poll_fn(|cx| {
                if !polled {
                    polled = true;
                    let waker = cx.waker().clone();
                    corio::call_soon(move || {
                        waker.wake();
                        corio::stop();
                    });
                }
                std::task::Poll::<()>::Pending
            })
            .await;
        });
        assert!(result.is_err(), "stopped before the main future finished");
        lp.block_on(corio::yield_now()).unwrap().unwrap();
        // The same with the main task queued by its own yield.
        let result = lp.block_on(async {
            corio::stop();
            let _ = corio::yield_now().await;
            unreachable!("the loop stops before the main task runs again");
        });
        assert!(result.is_err(), "stopped before the main future finished");
        lp.block_on(corio::yield_now()).unwrap().unwrap();
    };
    leaves_nothing_behind("stopped runs", || {
        for _ in 0..TASKS {
            round();
        }
    });
}
