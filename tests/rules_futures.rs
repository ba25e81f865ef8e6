//! Future rules F1–F3 for `corio::Completion` (asyncio's `Future`; see
//! `docs/semantics.md`).

use corio::{Completion, ContextVar, FutureError};
use std::rc::Rc;
use std::time::Duration;

mod common;
use common::{push, trace, vloop, Out};

fn state<T>(c: &Completion<T>) -> (bool, bool) {
    (c.done(), c.cancelled())
}

// ----- F1 ----------------------------------------------------------------------

#[test]
fn f1_pending_then_finished_is_final() {
    // rule F1
    let fut = Completion::<u32>::new();
    assert_eq!(state(&fut), (false, false));
    fut.set_result(1).unwrap();
    assert_eq!(state(&fut), (true, false));
    assert_eq!(fut.set_result(2), Err(FutureError::InvalidState));
    assert!(!fut.cancel());
    assert!(!fut.cancel_with("late"));
    assert_eq!(state(&fut), (true, false));
    assert_eq!(fut.result(), Ok(1), "the first value stays");
    assert_eq!(format!("{fut:?}"), r#"Completion { state: "done" }"#);
}

#[test]
fn f1_pending_then_cancelled_is_final() {
    // rule F1
    let fut = Completion::<u32>::new();
    assert_eq!(format!("{fut:?}"), r#"Completion { state: "pending" }"#);
    assert!(fut.cancel_with("first"));
    assert_eq!(state(&fut), (true, true));
    assert!(!fut.cancel());
    assert_eq!(fut.set_result(3), Err(FutureError::InvalidState));
    assert_eq!(state(&fut), (true, true));
    match fut.result() {
        Err(FutureError::Cancelled(c)) => assert_eq!(c.message(), Some("first")),
        other => panic!("{other:?}"),
    }
    // Clones share the state.
    let clone = fut.clone();
    assert_eq!(state(&clone), (true, true));
}

// ----- F2 ----------------------------------------------------------------------

#[test]
fn f2_reading_pending_is_invalid_state_and_cancelled_carries_its_message() {
    // rule F2
    let fut = Completion::<String>::new();
    assert_eq!(fut.result(), Err(FutureError::InvalidState));
    let other = Completion::<String>::new();
    assert!(other.cancel());
    match other.result() {
        Err(FutureError::Cancelled(c)) => assert_eq!(c.message(), None),
        r => panic!("{r:?}"),
    }
    fut.set_result("v".into()).unwrap();
    assert_eq!(fut.result(), Ok("v".to_string()));
    assert_eq!(fut.result(), Ok("v".to_string()), "reading does not consume");
}

#[test]
fn f2_awaiting_a_cancelled_completion_gives_cancelled_with_its_message() {
    // rule F2 (awaiting: asyncio raises the CancelledError in the awaiter)
    let lp = vloop();
    lp.block_on(async {
        let fut = Completion::<u32>::new();
        let c = fut.clone();
        corio::call_later(Duration::from_secs(1), move || {
            c.cancel_with("nope");
        });
        let err = fut.wait().await.unwrap_err();
        assert_eq!(err.message(), Some("nope"));
        // Awaiting a finished completion returns at once, every time.
        let done = Completion::new();
        done.set_result(5u32).unwrap();
        assert_eq!((&done).await.unwrap(), 5);
        assert_eq!(done.wait().await.unwrap(), 5);
        // The awaiter that swallowed the cancellation ends normally.
    })
    .unwrap();
}

#[test]
fn f2_cancel_delivered_to_an_awaiting_task_cancels_the_completion() {
    // rule F2 with C1: asyncio's Task.cancel() cancels the future it waits on
    let lp = vloop();
    lp.block_on(async {
        let fut = Completion::<u32>::new();
        let f = fut.clone();
        let t = corio::spawn(async move { f.wait().await.map_err(|c| c.message().map(str::to_owned)) });
        corio::yield_now().await.unwrap();
        t.cancel_with("stop");
        assert_eq!(t.await.unwrap(), Err(Some("stop".to_string())));
        assert!(fut.cancelled());
        assert_eq!(fut.set_result(1), Err(FutureError::InvalidState));
    })
    .unwrap();
}

// ----- F3 ----------------------------------------------------------------------

#[test]
fn f3_done_callbacks_are_scheduled_in_order_never_inline() {
    // rule F3: set_result queues the callbacks with call_soon at that moment,
    // so they run after work queued before it and before work queued after.
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let fut = Completion::<u32>::new();
        for name in ["cb1", "cb2", "cb3"] {
            let o2 = o.clone();
            fut.add_done_callback(move |f| push(&o2, format!("{name}:{}", f.result().unwrap())));
        }
        let o2 = o.clone();
        corio::call_soon(move || push(&o2, "soon-before"));
        fut.set_result(7).unwrap();
        push(&o, "after-set"); // nothing ran inline
        let o2 = o.clone();
        corio::call_soon(move || push(&o2, "soon-after"));
        corio::yield_now().await.unwrap();
        push(&o, "main-resumed");
    })
    .unwrap();
    assert_eq!(trace(&out), "after-set soon-before cb1:7 cb2:7 cb3:7 soon-after main-resumed");
}

#[test]
fn f3_callback_added_after_completion_is_still_scheduled() {
    // rule F3
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let fut = Completion::<u32>::new();
        assert!(fut.cancel());
        let o2 = o.clone();
        fut.add_done_callback(move |f| push(&o2, format!("late-cb cancelled={}", f.cancelled())));
        push(&o, "after-add"); // not inline
        corio::yield_now().await.unwrap();
        push(&o, "main-resumed");
    })
    .unwrap();
    assert_eq!(trace(&out), "after-add late-cb cancelled=true main-resumed");
}

#[test]
fn f3_each_callback_runs_in_the_context_captured_when_added() {
    // rule F3 (with X2)
    static V: ContextVar<&'static str> = ContextVar::with_default("f3", "unset");
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let fut = Completion::<()>::new();
        let _ = V.set("ctx-a");
        let o2 = o.clone();
        fut.add_done_callback(move |_| push(&o2, format!("a={}", V.get().unwrap())));
        let _ = V.set("ctx-b");
        let o2 = o.clone();
        fut.add_done_callback(move |_| push(&o2, format!("b={}", V.get().unwrap())));
        let _ = V.set("ctx-setter");
        // Completed from a callback in yet another context.
        let f = fut.clone();
        let _ = V.set("ctx-completer");
        corio::call_soon(move || f.set_result(()).unwrap());
        let _ = V.set("ctx-c");
        let o2 = o.clone();
        corio::call_later(Duration::from_secs(1), move || push(&o2, format!("timer={}", V.get().unwrap())));
        fut.wait().await.unwrap();
        let o2 = o.clone();
        let _ = V.set("ctx-late");
        fut.add_done_callback(move |_| push(&o2, format!("late={}", V.get().unwrap())));
        let _ = V.set("main");
        corio::sleep(Duration::from_secs(2)).await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "a=ctx-a b=ctx-b late=ctx-late timer=ctx-c");
}

#[test]
fn f3_completion_set_from_another_thread_schedules_callbacks_on_the_loop() {
    // rule F3 across threads: the callbacks still run on the loop's thread,
    // in order, through its queue
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    let loop_thread = std::thread::current().id();
    lp.block_on(async move {
        let fut = Completion::<u32>::new();
        for name in ["x", "y"] {
            let o2 = o.clone();
            fut.add_done_callback(move |f| {
                assert_eq!(std::thread::current().id(), loop_thread);
                push(&o2, format!("{name}:{}", f.result().unwrap()));
            });
        }
        let f = fut.clone();
        std::thread::spawn(move || f.set_result(3).unwrap()).join().unwrap();
        push(&o, "set-elsewhere");
        assert_eq!(fut.wait().await.unwrap(), 3);
        corio::yield_now().await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "set-elsewhere x:3 y:3");
}

#[test]
fn f3_awaiters_and_done_callbacks_resume_in_the_order_they_were_added() {
    // rule F3: in asyncio an awaiting task is resumed by a done-callback of
    // its own (Task.__wakeup), added when it started waiting; so callbacks
    // added before the await run before the task resumes, and callbacks
    // added after it run after.
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let fut = Completion::<u32>::new();
        let o2 = o.clone();
        fut.add_done_callback(move |_| push(&o2, "cb-before"));
        let f = fut.clone();
        let o2 = o.clone();
        let waiter = corio::spawn(async move {
            let v = f.wait().await.unwrap();
            push(&o2, format!("waiter-resumed:{v}"));
        });
        corio::yield_now().await.unwrap(); // the waiter is now waiting
        let o2 = o.clone();
        fut.add_done_callback(move |_| push(&o2, "cb-after"));
        fut.set_result(1).unwrap();
        waiter.await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "cb-before waiter-resumed:1 cb-after");
}

#[test]
fn f3_task_done_callbacks_and_joiners_resume_in_the_order_they_were_added() {
    // rule F3 for tasks: a task awaiting another is resumed by a done-callback
    // of its own in asyncio. (Checked against CPython: "joiner cb-after-join"
    // when the callback is added after the joiner started waiting.)
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let t = corio::spawn(async { corio::sleep(Duration::from_secs(1)).await.unwrap() });
        let o2 = o.clone();
        t.add_done_callback(move |_| push(&o2, "cb-before-join")).unwrap();
        let control = (*t).clone();
        let o2 = o.clone();
        let joiner = corio::spawn(async move {
            t.await.unwrap();
            push(&o2, "joiner");
        });
        corio::yield_now().await.unwrap(); // the joiner now waits for t
        let o2 = o.clone();
        control.add_done_callback(move |_| push(&o2, "cb-after-join")).unwrap();
        joiner.await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "cb-before-join joiner cb-after-join");
}

#[test]
fn f3_task_done_callbacks_run_in_the_context_captured_when_added() {
    // rule F3 for tasks (with X2)
    static W: ContextVar<&'static str> = ContextVar::with_default("f3-task", "unset");
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let t = corio::spawn(async {
            let _ = W.set("inside-task");
            corio::sleep(Duration::from_secs(1)).await.unwrap();
        });
        let _ = W.set("first");
        let o2 = o.clone();
        t.add_done_callback(move |info| push(&o2, format!("{}:{}", info.name, W.get().unwrap()))).unwrap();
        let _ = W.set("second");
        let o2 = o.clone();
        t.add_done_callback(move |_| push(&o2, format!("second:{}", W.get().unwrap()))).unwrap();
        let _ = W.set("main");
        let control = (*t).clone();
        t.await.unwrap();
        push(&o, "joined");
        let _ = W.set("late");
        let o2 = o.clone();
        control.add_done_callback(move |_| push(&o2, format!("late:{}", W.get().unwrap()))).unwrap();
        push(&o, "added-late"); // not inline
        corio::yield_now().await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "Task-2:first second:second joined added-late late:late");
}
