//! Task rules T1–T5 (see `docs/semantics.md`), on the virtual clock.

use corio::{JoinError, Task};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

mod common;
use common::{push, trace, vloop, Out};

// ----- T1 ----------------------------------------------------------------------

#[test]
fn t1_spawned_task_first_runs_in_a_later_iteration() {
    // rule T1
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let child = corio::spawn(async move { push(&o2, "child") });
        push(&o, "after-spawn");
        // A callback scheduled after the spawn runs after the child's first
        // step: the spawn is asyncio's call_soon of the task's first step.
        let o3 = o.clone();
        corio::call_soon(move || push(&o3, "soon-after-spawn"));
        assert!(!child.done());
        child.await.unwrap();
        push(&o, "joined");
    })
    .unwrap();
    assert_eq!(trace(&out), "after-spawn child soon-after-spawn joined");
}

#[test]
fn t1_spawned_from_a_callback_runs_in_a_later_iteration() {
    // rule T1: the same from a plain callback
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.call_soon(move || {
        let o2 = o.clone();
        corio::spawn(async move {
            push(&o2, "task");
            corio::stop();
        })
        .detach();
        push(&o, "callback-end");
    });
    let o = out.clone();
    lp.call_soon(move || push(&o, "second-callback"));
    lp.run_forever().unwrap();
    assert_eq!(trace(&out), "callback-end second-callback task");
}

#[test]
fn t1_eager_task_runs_until_its_first_suspension_inside_spawn() {
    // rule T1 (the eager option: asyncio's eager_task_factory)
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let child = corio::task::Builder::new().eager(true).spawn(async move {
            push(&o2, "child-start");
            corio::sleep(Duration::from_secs(1)).await.unwrap();
            push(&o2, "child-resume");
            11
        });
        push(&o, "after-spawn");
        assert!(!child.done());
        assert_eq!(child.await.unwrap(), 11);

        // An eager task that never suspends is done when spawn returns.
        let o3 = o.clone();
        let quick = corio::task::Builder::new().eager(true).name("quick").spawn(async move {
            push(&o3, "quick-body");
            12
        });
        assert!(quick.done());
        assert_eq!(quick.name(), "quick");
        push(&o, "quick-spawned");
        assert_eq!(quick.await.unwrap(), 12);
    })
    .unwrap();
    assert_eq!(trace(&out), "child-start after-spawn child-resume quick-body quick-spawned");
}

#[test]
fn t1_eager_task_sees_itself_as_current_and_keeps_its_own_context() {
    // rule T1 with X1: the eager first step runs as the new task, in its copy
    use corio::ContextVar;
    static V: ContextVar<u32> = ContextVar::new("t1-eager");
    let lp = vloop();
    lp.block_on(async {
        let parent = corio::current_task().unwrap();
        let _ = V.set(1);
        let child = corio::task::Builder::new().eager(true).name("eager-child").spawn(async {
            let me = corio::current_task().unwrap();
            let seen = V.get();
            let _ = V.set(2);
            corio::yield_now().await.unwrap();
            (me.name(), seen, V.get())
        });
        // Back in the parent: its task and context are its own again.
        assert_eq!(corio::current_task().unwrap(), parent);
        assert_eq!(V.get(), Some(1));
        assert_eq!(child.await.unwrap(), ("eager-child".to_string(), Some(1), Some(2)));
        assert_eq!(V.get(), Some(1));
    })
    .unwrap();
}

// ----- T2 ----------------------------------------------------------------------

#[test]
fn t2_two_tasks_alternating_yield_now_interleave() {
    // rule T2
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let worker = |name: &'static str, o: Out| async move {
            for i in 1..=3 {
                push(&o, format!("{name}{i}"));
                corio::yield_now().await?;
            }
            Ok::<_, corio::Cancelled>(())
        };
        let a = corio::spawn(worker("a", o.clone()));
        let b = corio::spawn(worker("b", o.clone()));
        a.await.unwrap().unwrap();
        b.await.unwrap().unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "a1 b1 a2 b2 a3 b3");
}

// ----- T3 ----------------------------------------------------------------------

#[test]
fn t3_tasks_have_names_and_spawn_locations() {
    // rule T3
    let lp = vloop();
    let root_line = line!() + 1;
    lp.block_on(async {
        let me = corio::current_task().unwrap();
        assert_eq!(me.name(), "Task-1"); // the block_on future is the first task
        assert_eq!((me.location().file(), me.location().line()), (file!(), root_line));

        let (a, a_line) = (corio::spawn(async { corio::current_task().unwrap().name() }), line!());
        let (b, b_line) = (corio::task::Builder::new().name("fetcher").spawn(async { 2 }), line!());
        let (c, c_line) = (corio::spawn(async { 3 }), line!());
        assert_eq!(a.name(), "Task-2");
        assert_eq!(b.name(), "fetcher");
        // Named tasks take a number too, so this is Task-4 where CPython
        // (whose counter only counts unnamed tasks) would say Task-3; the
        // name is always `Task-{id}`.
        assert_eq!(c.name(), format!("Task-{}", c.id()));
        assert_eq!(c.name(), "Task-4");
        assert_eq!(a.id().get(), 2);
        assert_eq!(b.id().get(), 3);
        for (task, line) in [(&*a, a_line), (&*b, b_line), (&*c, c_line)] {
            assert_eq!(task.location().file(), file!());
            assert_eq!(task.location().line(), line);
        }
        assert_eq!(a.await.unwrap(), "Task-2"); // the task sees its own name
        b.await.unwrap();
        c.await.unwrap();
    })
    .unwrap();
}

#[test]
fn t3_loop_handle_spawn_records_the_callers_location() {
    // rule T3: also for a spawn from another thread
    let lp = vloop();
    let handle = lp.handle();
    let (task, line) = std::thread::spawn(move || (handle.spawn(async { 5 }).unwrap(), line!())).join().unwrap();
    assert_eq!((task.location().file(), task.location().line()), (file!(), line));
    assert_eq!(task.name(), "Task-1");
    assert_eq!(lp.block_on(task).unwrap().unwrap(), 5);
}

// ----- T4 ----------------------------------------------------------------------

#[test]
fn t4_panic_is_caught_and_reported_through_the_handle() {
    // rule T4
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let t = corio::spawn(async {
            corio::sleep(Duration::from_secs(1)).await.unwrap();
            let n = std::hint::black_box(42); // a formatted (String) payload
            panic!("boom {n}");
        });
        let s = corio::spawn(async { std::panic::panic_any(17u8) });
        let o2 = o.clone();
        let bystander = corio::spawn(async move {
            corio::sleep(Duration::from_secs(2)).await.unwrap();
            push(&o2, "bystander-ok");
        });
        match t.await {
            Err(JoinError::Panicked(p)) => {
                assert_eq!(p.message(), Some("boom 42"));
                let payload = p.into_payload().expect("payload kept");
                assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("boom 42"));
                push(&o, "joined-panic");
            }
            other => panic!("expected a panic, got {other:?}"),
        }
        let err = s.await.unwrap_err();
        assert!(err.is_panic() && !err.is_cancelled());
        let p = err.into_panic().unwrap();
        assert_eq!(p.message(), None); // not a string payload
        assert_eq!(p.into_payload().unwrap().downcast_ref::<u8>(), Some(&17));
        bystander.await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "joined-panic bystander-ok");
}

#[test]
fn t4_panicking_root_future_is_an_error_of_block_on() {
    // rule T4 for the block_on future
    let lp = vloop();
    match lp.block_on(async { panic!("root boom") }) {
        Err(corio::LoopError::Panicked(p)) => assert_eq!(p.message(), Some("root boom")),
        Err(other) => panic!("expected a panic, got {other:?}"),
        Ok(()) => panic!("expected a panic"),
    }
    // The loop still works.
    assert_eq!(lp.block_on(async { 1 }).unwrap(), 1);
}

// ----- T5 ----------------------------------------------------------------------

#[test]
fn t5_dropping_the_handle_detaches_the_task() {
    // rule T5
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let o2 = o.clone();
        let t: Task<()> = corio::spawn(async move {
            for i in 1..=3 {
                corio::sleep(Duration::from_secs(1)).await.unwrap();
                push(&o2, format!("detached{i}"));
            }
        });
        drop(t);
        let o3 = o.clone();
        corio::spawn(async move {
            corio::sleep(Duration::from_millis(1500)).await.unwrap();
            push(&o3, "explicit-detach");
        })
        .detach();
        corio::sleep(Duration::from_secs(10)).await.unwrap();
        push(&o, "main-done");
    })
    .unwrap();
    assert_eq!(trace(&out), "detached1 explicit-detach detached2 detached3 main-done");
    assert_eq!(lp.task_count(), 0);
}

#[test]
fn a_joiner_is_woken_whatever_its_waker_and_its_waker_is_released() {
    // The join-waker slot keeps a joining task as its header pointer and any
    // other waker boxed (core/src/task/join_waker.rs). Each kind must wake
    // the joiner once the task ends, and must be released when replaced or
    // when the handle is dropped, leaving no task alive.
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let slow = |secs| corio::spawn(async move { corio::sleep(Duration::from_secs(secs)).await.unwrap() });
        // A task joining with its own waker (the pointer form).
        let own = slow(1);
        let o2 = o.clone();
        let joiner = corio::spawn(async move {
            own.await.unwrap();
            push(&o2, "own-waker-joined");
        });
        // A foreign waker (the boxed form), replaced by the task's own one
        // on the next poll, then woken.
        let mut replaced = slow(2);
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(std::pin::Pin::new(&mut replaced).poll(&mut cx).is_pending());
        replaced.await.unwrap();
        push(&o, "replaced-joined");
        // A registered waker whose handle is dropped before the task ends.
        let mut dropped = slow(3);
        assert!(std::pin::Pin::new(&mut dropped).poll(&mut cx).is_pending());
        drop(dropped);
        joiner.await.unwrap();
        corio::sleep(Duration::from_secs(5)).await.unwrap();
        push(&o, "main-done");
    })
    .unwrap();
    assert_eq!(trace(&out), "own-waker-joined replaced-joined main-done");
    assert_eq!(lp.task_count(), 0);
}

#[test]
fn a_tasks_debug_form_shows_its_state_flags_and_references() {
    // The state word (core/src/task/state.rs) as `Debug` shows it: the
    // lifecycle flags and the references held — the handle, the loop's
    // registry, a ready-queue entry, each waker. A count that stays up after
    // the task ends is a leak (tests/memory.rs measures the bytes).
    let lp = vloop();
    lp.block_on(async {
        let ev = Rc::new(corio::sync::Event::new());
        let e = ev.clone();
        let t = corio::spawn(async move { e.wait().await.map(|_| 5) });
        // Born RUNNING, queued: handle, registry, queue entry.
        assert_eq!(format!("{t:?}"), r#"Task { id: TaskId(2), name: "Task-2", state: RUNNING|JOIN_INTEREST refs=3 }"#);
        corio::yield_now().await.unwrap();
        // Waiting: handle, registry, the event's waker.
        assert_eq!(format!("{t:?}"), r#"Task { id: TaskId(2), name: "Task-2", state: JOIN_INTEREST refs=3 }"#);
        ev.set();
        // Woken: the waker's reference became the queue entry's.
        assert_eq!(
            format!("{t:?}"),
            r#"Task { id: TaskId(2), name: "Task-2", state: SCHEDULED|JOIN_INTEREST refs=3 }"#
        );
        corio::yield_now().await.unwrap();
        // Done: only the handle holds it.
        assert_eq!(format!("{t:?}"), r#"Task { id: TaskId(2), name: "Task-2", state: COMPLETE|JOIN_INTEREST refs=1 }"#);
        assert_eq!(t.await.unwrap(), Ok(5));

        ev.clear();
        let e = ev.clone();
        let c = corio::spawn(async move { e.wait().await });
        corio::yield_now().await.unwrap();
        c.cancel();
        // A pending cancel queues it while the event still holds its waker.
        assert_eq!(
            format!("{c:?}"),
            r#"Task { id: TaskId(3), name: "Task-3", state: SCHEDULED|JOIN_INTEREST|CANCEL refs=4 }"#
        );
        corio::yield_now().await.unwrap();
        assert_eq!(
            format!("{c:?}"),
            r#"Task { id: TaskId(3), name: "Task-3", state: COMPLETE|JOIN_INTEREST|CANCELLED|DELIVERED refs=1 }"#
        );
        assert_eq!(format!("{ev:?}"), "Event { set: false, waiters: 0 }");
        let main = corio::current_task().unwrap();
        assert!(format!("{main:?}")
            .starts_with(r#"AnyTask { id: TaskId(1), name: "Task-1", state: RUNNING|JOIN_INTEREST refs="#));
    })
    .unwrap();
}

#[test]
fn a_task_that_wakes_itself_during_its_poll_runs_again_and_a_stale_waker_does_nothing() {
    // The wake-while-running path of the state word: a future that wakes its
    // own waker and returns `Pending` (a hand-written yield, as tokio's and
    // futures' `yield_now` do) is polled again in a later iteration, once
    // even if woken again from elsewhere while it waits in the queue; a waker
    // kept past the task's end and woken then changes nothing but its own
    // reference.
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let stale: Rc<std::cell::RefCell<Option<std::task::Waker>>> = Rc::default();
        let (o2, keep) = (o.clone(), stale.clone());
        let t = corio::spawn(async move {
            for i in 0..3 {
                let mut woke = false;
                std::future::poll_fn(|cx| {
                    if woke {
                        return std::task::Poll::Ready(());
                    }
                    woke = true;
                    *keep.borrow_mut() = Some(cx.waker().clone());
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                })
                .await;
                push(&o2, format!("t{i}"));
            }
        });
        for i in 0..4 {
            push(&o, format!("main{i}"));
            if i == 1 {
                // The task is queued after waking itself: a wake from
                // elsewhere now only marks it, it does not queue it twice.
                stale.borrow().as_ref().unwrap().wake_by_ref();
                let queued = r#"Task { id: TaskId(2), name: "Task-2", state: SCHEDULED|RUNNING|JOIN_INTEREST refs=4 }"#;
                assert_eq!(format!("{t:?}"), queued);
            }
            corio::yield_now().await.unwrap();
        }
        assert!(t.done());
        // Done: the handle and the stale waker hold it.
        let done = r#"Task { id: TaskId(2), name: "Task-2", state: COMPLETE|JOIN_INTEREST refs=2 }"#;
        assert_eq!(format!("{t:?}"), done);
        stale.borrow().as_ref().unwrap().wake_by_ref();
        assert_eq!(format!("{t:?}"), done, "a wake after the end queued the task");
        stale.borrow_mut().take().unwrap().wake();
        assert_eq!(format!("{t:?}"), r#"Task { id: TaskId(2), name: "Task-2", state: COMPLETE|JOIN_INTEREST refs=1 }"#);
        t.await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "main0 main1 t0 main2 t1 main3 t2");
}

#[test]
fn completion_clears_pending_requests_and_a_dropped_handle_clears_join_interest() {
    // The state word's invariants seen through `Debug`: a task that asks for
    // its own cancellation and returns without another checkpoint ends
    // cancelled (asyncio: `_must_cancel` at the coroutine's return), with
    // neither the pending request nor the wake it queued left on the
    // completed word; a task whose handle was dropped no longer has a joiner.
    let lp = vloop();
    lp.block_on(async {
        let t = corio::spawn(async {
            corio::current_task().unwrap().cancel();
            let me = corio::current_task().unwrap();
            assert!(format!("{me:?}").contains("state: SCHEDULED|RUNNING|JOIN_INTEREST|CANCEL refs="));
            5
        });
        corio::yield_now().await.unwrap();
        assert_eq!(
            format!("{t:?}"),
            r#"Task { id: TaskId(2), name: "Task-2", state: COMPLETE|JOIN_INTEREST|CANCELLED refs=1 }"#
        );
        assert!(t.await.unwrap_err().is_cancelled());

        let (tx, rx) = std::sync::mpsc::channel();
        let detached = corio::spawn(async move {
            corio::yield_now().await.unwrap();
            tx.send(format!("{:?}", corio::current_task().unwrap())).unwrap();
        });
        drop(detached);
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
        let seen = rx.try_recv().expect("the detached task ran");
        assert!(seen.ends_with("state: RUNNING refs=3 }"), "{seen}");
    })
    .unwrap();
}
