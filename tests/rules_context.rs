//! Context-variable rules X1–X4 (see `docs/semantics.md`).

use corio::context::TokenError;
use corio::{ContextVar, Token};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

mod common;
use common::{push, trace, vloop, Out};

static NAME: ContextVar<&'static str> = ContextVar::with_default("name", "default");
static COUNT: ContextVar<u32> = ContextVar::new("count");
static OTHER: ContextVar<u32> = ContextVar::new("other");

fn name() -> &'static str {
    NAME.get().unwrap()
}

// ----- X1 ----------------------------------------------------------------------

#[test]
fn x1_task_sees_the_context_as_it_was_when_spawned() {
    // rule X1
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let _ = NAME.set("p1");
        let _ = COUNT.set(1);
        let o2 = o.clone();
        let child = corio::spawn(async move {
            push(&o2, format!("child-sees={}/{:?}", name(), COUNT.get()));
            corio::sleep(Duration::from_secs(1)).await.unwrap();
            // The parent's writes after the spawn are invisible.
            push(&o2, format!("child-later={}/{:?}", name(), COUNT.get()));
            let _ = NAME.set("child");
            let _ = OTHER.set(9);
            push(&o2, format!("child-set={}", name()));
        });
        let _ = NAME.set("p2");
        let _ = COUNT.set(2);
        corio::sleep(Duration::from_secs(2)).await.unwrap();
        // ... and so are the child's.
        push(&o, format!("parent={}/{:?}/{:?}", name(), COUNT.get(), OTHER.get()));
        child.await.unwrap();
    })
    .unwrap();
    assert_eq!(trace(&out), "child-sees=p1/Some(1) child-later=p1/Some(1) child-set=child parent=p2/Some(2)/None");
}

#[test]
fn x1_the_first_task_copies_the_context_of_the_thread_running_the_loop() {
    // rule X1 (asyncio.run / run_until_complete wrap the coroutine in a task
    // created with copy_context() of the calling thread)
    static THREAD_VAR: ContextVar<u32> = ContextVar::new("thread-var");
    let lp = vloop();
    let token = THREAD_VAR.set(7);
    let seen = lp
        .block_on(async {
            let seen = THREAD_VAR.get();
            let _ = THREAD_VAR.set(8); // the task's own copy
            let child = corio::spawn(async { THREAD_VAR.get() }).await.unwrap();
            (seen, child)
        })
        .unwrap();
    assert_eq!(seen, (Some(7), Some(8)));
    assert_eq!(THREAD_VAR.get(), Some(7), "the task's write stays in the task");
    THREAD_VAR.reset(token).unwrap();
    assert_eq!(THREAD_VAR.get(), None);
}

#[test]
fn x1_task_spawned_through_a_handle_copies_the_spawning_threads_context() {
    // rule X1 across threads
    static REQ: ContextVar<u64> = ContextVar::new("req");
    let lp = vloop();
    let handle = lp.handle();
    let task = std::thread::spawn(move || {
        let _ = REQ.set(41);
        let task = handle.spawn(async { REQ.get() }).unwrap();
        let _ = REQ.set(42); // after the spawn: invisible to the task
        task
    })
    .join()
    .unwrap();
    assert_eq!(lp.block_on(task).unwrap().unwrap(), Some(41));
}

// ----- X2 ----------------------------------------------------------------------

#[test]
fn x2_callbacks_run_in_the_context_captured_when_scheduled() {
    // rule X2
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let _ = NAME.set("for-soon");
        let o2 = o.clone();
        corio::call_soon(move || {
            push(&o2, format!("soon={}", name()));
            let _ = NAME.set("written-by-callback"); // its own copy
        });
        let _ = NAME.set("for-later");
        let o2 = o.clone();
        corio::call_later(Duration::from_secs(1), move || push(&o2, format!("later={}", name())));
        let _ = NAME.set("for-at");
        let o2 = o.clone();
        corio::call_at(corio::time() + Duration::from_secs(2), move || push(&o2, format!("at={}", name())));
        let _ = NAME.set("for-threadsafe");
        let o2 = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let o3 = o2.clone();
        corio::handle().call_soon_threadsafe(move || *o3.lock().unwrap() = format!("threadsafe={}", name())).unwrap();
        let _ = NAME.set("main");
        corio::sleep(Duration::from_secs(3)).await.unwrap();
        push(&o, o2.lock().unwrap().clone());
        push(&o, format!("main={}", name()));
    })
    .unwrap();
    assert_eq!(trace(&out), "soon=for-soon later=for-later at=for-at threadsafe=for-threadsafe main=main");
}

#[test]
fn x2_callbacks_scheduled_before_the_loop_runs_use_the_threads_context() {
    // rule X2 outside a running loop
    let lp = vloop();
    let out: Out = Rc::default();
    let token = NAME.set("thread");
    let o = out.clone();
    lp.call_soon(move || push(&o, format!("soon={}", name())));
    let o = out.clone();
    lp.call_later(Duration::from_secs(1), move || {
        push(&o, format!("later={}", name()));
        corio::stop();
    });
    NAME.reset(token).unwrap();
    lp.run_forever().unwrap();
    assert_eq!(trace(&out), "soon=thread later=thread");
    assert_eq!(name(), "default");
}

// ----- X3 ----------------------------------------------------------------------

#[test]
fn x3_reset_restores_the_old_value_or_removes_the_variable() {
    // rule X3 (a second reset of the same token does not compile: `reset`
    // takes the token by value, so that part of the rule needs no test)
    let lp = vloop();
    lp.block_on(async {
        assert_eq!(COUNT.get(), None);
        let t1 = COUNT.set(1);
        assert_eq!(t1.old_value(), None);
        let t2 = COUNT.set(2);
        assert_eq!(t2.old_value(), Some(1));
        corio::yield_now().await.unwrap(); // tokens survive suspensions
        let _t3 = COUNT.set(3);
        COUNT.reset(t2).unwrap();
        assert_eq!(COUNT.get(), Some(1), "restores the value before the set");
        COUNT.reset(t1).unwrap();
        assert_eq!(COUNT.get(), None, "the variable was unset: removed again");
        assert_eq!(COUNT.get_or(5), 5);
    })
    .unwrap();
}

#[test]
fn x3_token_of_another_variable_is_refused() {
    // rule X3
    let lp = vloop();
    lp.block_on(async {
        let token: Token<u32> = OTHER.set(1);
        let _ = COUNT.set(10);
        assert_eq!(COUNT.reset(token), Err(TokenError::WrongVariable { variable: "count" }));
        assert_eq!(COUNT.get(), Some(10), "nothing changed");
        assert_eq!(OTHER.get(), Some(1));
    })
    .unwrap();
}

#[test]
fn x3_token_from_another_context_is_refused() {
    // rule X3: a token made in one task, used in another
    let lp = vloop();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let slot: Rc<RefCell<Option<Token<u32>>>> = Rc::default();
        let s = slot.clone();
        corio::spawn(async move {
            *s.borrow_mut() = Some(COUNT.set(1));
        })
        .await
        .unwrap();
        let _ = COUNT.set(50);
        let token = slot.borrow_mut().take().unwrap();
        let s2 = Rc::new(RefCell::new(Some(token)));
        let o2 = o.clone();
        corio::spawn(async move {
            let _ = COUNT.set(60);
            let token = s2.borrow_mut().take().unwrap();
            let r = COUNT.reset(token);
            push(&o2, format!("{r:?} {:?}", COUNT.get()));
        })
        .await
        .unwrap();
        assert_eq!(COUNT.get(), Some(50));

        // The parent's token in a callback (a copy of the context: another
        // context too).
        let token = COUNT.set(70);
        let o3 = o.clone();
        let done = corio::Completion::new();
        let d = done.clone();
        corio::call_soon(move || {
            push(&o3, format!("callback {:?}", COUNT.reset(token)));
            d.set_result(()).unwrap();
        });
        done.wait().await.unwrap();
        assert_eq!(COUNT.get(), Some(70));
    })
    .unwrap();
    assert_eq!(
        trace(&out),
        r#"Err(WrongContext { variable: "count" }) Some(60) callback Err(WrongContext { variable: "count" })"#
    );
}

// ----- X4 ----------------------------------------------------------------------

#[test]
fn x4_get_falls_back_to_defaults() {
    // rule X4. CPython's `var.get(default)` prefers the caller's default over
    // the variable's (docs: "return the value of the default argument of the
    // method, if provided; or return the default value for the context
    // variable"); corio's `get_or` does the same.
    let lp = vloop();
    lp.block_on(async {
        assert_eq!(NAME.get(), Some("default")); // the variable's default
        assert_eq!(NAME.get_or("callers"), "callers"); // the caller's default wins
        assert_eq!(COUNT.get(), None); // unset, no default: reported unset
        assert_eq!(COUNT.get_or(3), 3);
        let t = NAME.set("set");
        assert_eq!(NAME.get(), Some("set"));
        assert_eq!(NAME.get_or("callers"), "set");
        NAME.reset(t).unwrap();
        assert_eq!(NAME.get(), Some("default"));
    })
    .unwrap();
    assert_eq!(NAME.name(), "name");
}

// ----- other context stores ----------------------------------------------------

/// A store larger than a word: a task's header keeps it boxed
/// (`core/src/task/context_slot.rs`), where the shipped stores fit in place.
#[derive(Clone, Default)]
struct WideStore {
    inner: corio::context::CowContext,
    _padding: [u64; 3],
}

impl corio::context::ContextStore for WideStore {
    fn get(&self, key: corio::context::VarKey) -> Option<&corio::context::ContextValue> {
        self.inner.get(key)
    }
    fn insert(
        &mut self,
        key: corio::context::VarKey,
        value: corio::context::ContextValue,
    ) -> Option<corio::context::ContextValue> {
        self.inner.insert(key, value)
    }
    fn remove(&mut self, key: corio::context::VarKey) -> Option<corio::context::ContextValue> {
        self.inner.remove(key)
    }
    fn entries(&self) -> Vec<(corio::context::VarKey, corio::context::ContextValue)> {
        self.inner.entries()
    }
}

/// X1 and X3 on a loop built with store `X`: copies on spawn, writes stay in
/// the task, tokens work across a task's steps, a task left pending when
/// the loop is dropped releases its store.
fn x1_x3_hold_with_store<X: corio::context::ContextStore>() -> String {
    let lp = corio::builder().clock(corio::clock::VirtualClock::new()).context_store::<X>().build().unwrap();
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        let token = COUNT.set(1);
        let o2 = o.clone();
        let child = corio::spawn(async move {
            push(&o2, format!("child-sees-{:?}", COUNT.get()));
            let token = COUNT.set(2);
            corio::sleep(Duration::from_secs(1)).await.unwrap();
            push(&o2, format!("child-after-sleep-{:?}", COUNT.get()));
            COUNT.reset(token).unwrap();
            push(&o2, format!("child-reset-{:?}", COUNT.get()));
        });
        corio::sleep(Duration::from_millis(500)).await.unwrap();
        push(&o, format!("parent-sees-{:?}", COUNT.get()));
        child.await.unwrap();
        COUNT.reset(token).unwrap();
        push(&o, format!("parent-reset-{:?}", COUNT.get()));
        // Left pending: freed (with its store) when the loop is dropped.
        corio::spawn(async {
            let _token = OTHER.set(3);
            std::future::pending::<()>().await
        })
        .detach();
        corio::yield_now().await.unwrap();
    })
    .unwrap();
    drop(lp);
    trace(&out)
}

#[test]
fn x1_x3_hold_on_every_context_store() {
    let expected =
        "child-sees-Some(1) parent-sees-Some(1) child-after-sleep-Some(2) child-reset-Some(1) parent-reset-None";
    assert_eq!(x1_x3_hold_with_store::<corio::context::CowContext>(), expected);
    assert_eq!(x1_x3_hold_with_store::<corio::context::HamtContext>(), expected);
    assert_eq!(x1_x3_hold_with_store::<WideStore>(), expected);
}
