//! Tasks that move between loops (issue 27): `Loops::spawn` makes a task of
//! the runtime's pool, which an idle loop steals from a busy one and which
//! runs on the loop that wakes it. Each test forces the move it needs (a
//! loop kept busy, a wake from the other loop) and then checks that
//! cancellation, task groups, context variables, task dumps, metrics and
//! teardown still work for the task that moved.
//!
//! No timing is asserted; threads meet through channels, events and spins
//! on shared flags.

use corio::context::ContextVar;
use corio::multi_loop::Loops;
use corio::runtime::ExceptionKind;
use corio::sync::Event;
use corio::task::Cancelled;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn runtime(loops: usize) -> corio::MultiLoop {
    corio::multi_loop().loops(loops).shutdown_grace(Duration::from_secs(5)).build().unwrap()
}

/// The loop index this thread runs (0 is the caller's thread).
fn here(loops: &Loops) -> usize {
    loops.current().expect("on one of the runtime's loops")
}

/// Waits (yielding the loop) until `task` is suspended somewhere.
async fn until_suspended<T>(task: &corio::Task<T>) {
    while task.checkpoint().is_none() && !task.done() {
        corio::sleep(Duration::from_millis(1)).await.unwrap();
    }
}

/// Sets `event` from a task pinned to loop 1.
async fn set_on_loop_1(loops: &Loops, event: &Arc<Event>) {
    let e = event.clone();
    loops.spawn_on(1, async move { e.set() }).unwrap().await.unwrap();
}

/// Blocks the calling loop's thread until `flag` is set (a loop kept busy,
/// so that its queued pool tasks are there for another loop to steal).
fn hold_until(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
}

#[test]
fn pool_tasks_spawned_on_a_busy_loop_are_stolen_by_the_idle_one() {
    const TASKS: usize = 8;
    let rt = runtime(2);
    let loops = rt.loops();
    let (ran_on, stolen) = rt
        .run(async move {
            // Spawned from loop 0, which then stays busy until all but one
            // have run: they can only have run on loop 1, which steals them
            // (half of loop 0's queue at a time, leaving loop 0 its next
            // task).
            let release = Arc::new(AtomicBool::new(false));
            let done = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (release, done, l) = (release.clone(), done.clone(), loops.clone());
                    loops
                        .spawn(async move {
                            let at = here(&l);
                            if done.fetch_add(1, Ordering::SeqCst) + 1 == TASKS - 1 {
                                release.store(true, Ordering::SeqCst);
                            }
                            at
                        })
                        .unwrap()
                })
                .collect();
            hold_until(&release);
            let mut ran_on = Vec::new();
            for task in tasks {
                ran_on.push(task.await.unwrap());
            }
            (ran_on, corio::runtime::metrics().tasks_stolen)
        })
        .unwrap();
    assert!(ran_on.iter().filter(|&&at| at == 1).count() >= TASKS - 1, "stolen by loop 1: {ran_on:?}");
    assert_eq!(stolen, 0, "loop 0 stole nothing");
}

#[test]
fn a_woken_pool_task_runs_on_the_loop_that_woke_it() {
    let rt = runtime(2);
    let loops = rt.loops();
    let seen = rt
        .run(async move {
            let event = Arc::new(Event::new());
            let (e, l) = (event.clone(), loops.clone());
            let waiter = loops
                .spawn(async move {
                    let before = here(&l);
                    e.wait().await?;
                    Ok::<_, Cancelled>((before, here(&l)))
                })
                .unwrap();
            // Let it start (wherever) and wait; then set the event from a
            // task pinned to loop 1: the waiter resumes on loop 1.
            while waiter.checkpoint().is_none() && !waiter.done() {
                corio::sleep(Duration::from_millis(1)).await.unwrap();
            }
            let e = event.clone();
            loops.spawn_on(1, async move { e.set() }).unwrap().await.unwrap();
            waiter.await.unwrap().unwrap()
        })
        .unwrap();
    assert_eq!(seen.1, 1, "resumed on the loop that set the event (it started on loop {})", seen.0);
}

#[test]
fn a_moved_task_can_be_cancelled_from_anywhere_and_uncancelled() {
    let rt = runtime(2);
    let loops = rt.loops();
    let (messages, counts) = rt
        .run(async move {
            let (started, go) = (Arc::new(Event::new()), Arc::new(Event::new()));
            let (s, g) = (started.clone(), go.clone());
            let task = loops
                .spawn(async move {
                    s.set();
                    // Catches every delivery (wherever it runs by then) and
                    // keeps waiting, until `go`.
                    let mut messages = Vec::new();
                    loop {
                        match g.wait().await {
                            Ok(()) => return messages,
                            Err(cancelled) => messages.push(cancelled.message().map(str::to_string)),
                        }
                    }
                })
                .unwrap();
            started.wait().await.unwrap();
            // From a plain thread: requests are counted at once (C2), and
            // one is taken back.
            let counts = std::thread::scope(|s| {
                s.spawn(|| {
                    assert!(task.cancel_with("from a thread"));
                    assert!(task.cancel());
                    let two = task.cancelling();
                    (two, task.uncancel())
                })
                .join()
                .unwrap()
            });
            go.set();
            (task.await.unwrap(), counts)
        })
        .unwrap();
    assert_eq!(counts, (2, 1));
    assert_eq!(messages[0].as_deref(), Some("from a thread"), "the first message wins (C1): {messages:?}");
}

#[test]
fn a_pool_task_spawned_from_a_plain_thread_runs_on_a_loop() {
    let rt = runtime(2);
    let loops = rt.loops();
    let from_thread = loops.clone();
    let task = std::thread::spawn(move || {
        let probe = from_thread.clone();
        from_thread.spawn(async move { probe.current().is_some() }).unwrap()
    })
    .join()
    .unwrap();
    assert!(rt.block_on(task).unwrap().unwrap(), "it ran on one of the loops");
    rt.shutdown().unwrap();
    // After shutdown the pool refuses spawns.
    assert!(loops.spawn(async {}).is_err());
}

#[test]
fn pool_tasks_left_queued_on_a_loop_that_stops_run_on_another() {
    let rt = runtime(2);
    let loops = rt.loops();
    let (tx, rx) = std::sync::mpsc::channel();
    rt.block_on(async move {
        let probe = loops.clone();
        // Queued on loop 0, to run in its next iteration; but `block_on`
        // returns first, and loop 0 stops running.
        loops.spawn(async move { tx.send(probe.current()).unwrap() }).unwrap().detach();
    })
    .unwrap();
    // A hang guard, not a timing check: loop 0 never runs again before the
    // answer comes, so only loop 1 can run the task.
    let ran_on = rx.recv_timeout(Duration::from_secs(60)).expect("the task ran");
    assert_eq!(ran_on, Some(1));
    rt.shutdown().unwrap();
}

#[test]
fn a_moved_task_keeps_using_its_socket_and_its_timers() {
    use corio::net::{TcpListener, TcpStream};
    let rt = runtime(2);
    let loops = rt.loops();
    let seen = rt
        .run(async move {
            // Both ends live on loop 0 (registered with its reactor).
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            corio::spawn(async move {
                let (server, _) = listener.accept().await?;
                let mut buf = [0u8; 1];
                while server.read(&mut buf).await? == 1 {
                    server.write_all(&buf).await?;
                }
                Ok::<_, std::io::Error>(())
            })
            .detach();
            let client = TcpStream::connect(addr).await?;
            // The task starts on loop 1 (spawned there), with a socket of
            // loop 0: its waits go to loop 0, which wakes it there.
            let l = loops.clone();
            // (The outer task returns the inner one's handle, not awaited.)
            #[allow(clippy::async_yields_async)]
            let task = loops
                .spawn_on(1, async move {
                    let probe = l.clone();
                    l.spawn(async move {
                        let mut seen = vec![here(&probe)];
                        for i in 0..20u8 {
                            client.write_all(&[i]).await?;
                            let mut back = [0u8; 1];
                            assert_eq!(client.read(&mut back).await?, 1);
                            assert_eq!(back[0], i, "echoed in order");
                            corio::sleep(Duration::from_millis(1)).await?;
                            seen.push(here(&probe));
                        }
                        Ok::<_, std::io::Error>(seen)
                    })
                    .unwrap()
                })
                .unwrap()
                .await
                .unwrap();
            task.await.unwrap()
        })
        .unwrap()
        .unwrap();
    assert_eq!(seen[0], 1, "it started on loop 1");
    assert!(seen.contains(&0), "it moved to its socket's loop: {seen:?}");
}

static REQUEST: ContextVar<u32> = ContextVar::new("request");

#[test]
fn context_variables_travel_with_a_task_that_moves() {
    let rt = runtime(2);
    let loops = rt.loops();
    let (first, second, after_reset, main_sees) = rt
        .run(async move {
            REQUEST.set(7);
            let event = Arc::new(Event::new());
            let (e, l) = (event.clone(), loops.clone());
            let task = loops
                .spawn(async move {
                    let first = (REQUEST.get(), here(&l));
                    // (A `Token` is not `Send`: a task that may move cannot
                    // keep one across an await.)
                    drop(REQUEST.set(8));
                    e.wait().await?;
                    let second = (REQUEST.get(), here(&l));
                    let token = REQUEST.set(9);
                    REQUEST.reset(token).expect("the task's own token, on the loop it moved to");
                    Ok::<_, Cancelled>((first, second, REQUEST.get()))
                })
                .unwrap();
            until_suspended(&task).await;
            set_on_loop_1(&loops, &event).await;
            let (first, second, after_reset) = task.await.unwrap().unwrap();
            (first, second, after_reset, REQUEST.get())
        })
        .unwrap();
    assert_eq!(first.0, Some(7), "a copy of the spawner's context (X1)");
    assert_eq!(second, (Some(8), 1), "its own value, after moving to loop 1");
    assert_eq!(after_reset, Some(8));
    assert_eq!(main_sees, Some(7), "the spawner's context is untouched");
}

#[test]
fn a_moved_task_shows_in_the_dumps_of_every_loop() {
    let rt = runtime(2);
    let loops = rt.loops();
    let (on_0, on_1) = rt
        .run(async move {
            let (moved, go) = (Arc::new(Event::new()), Arc::new(Event::new()));
            let waits_on_go = Arc::new(AtomicBool::new(false));
            let (m, g, w, l) = (moved.clone(), go.clone(), waits_on_go.clone(), loops.clone());
            let mover = loops
                .spawn(async move {
                    m.wait().await?;
                    assert_eq!(here(&l), 1);
                    w.store(true, Ordering::SeqCst);
                    g.wait().await
                })
                .unwrap();
            until_suspended(&mover).await;
            set_on_loop_1(&loops, &moved).await;
            // Until it waits on `go`, having last run on loop 1: the flag is
            // set in the step that ends with that wait, so a checkpoint seen
            // after it is that wait's.
            while !(waits_on_go.load(Ordering::SeqCst) && mover.checkpoint().is_some()) {
                corio::sleep(Duration::from_millis(1)).await.unwrap();
            }
            let find = |dump: corio::task::TaskDump, id| {
                dump.tasks.into_iter().find(|t| t.id == id).map(|t| (t.state, t.checkpoint.map(|c| c.kind)))
            };
            let id = mover.id();
            let on_0 = find(corio::task::dump(), id);
            let on_1 = loops.spawn_on(1, async move { find(corio::task::dump(), id) }).unwrap().await.unwrap();
            go.set();
            mover.await.unwrap().unwrap();
            (on_0, on_1)
        })
        .unwrap();
    let expected = Some((corio::task::TaskState::Suspended, Some(corio::task::WaitKind::Event)));
    assert_eq!(on_0, expected);
    assert_eq!(on_1, expected);
}

#[test]
fn the_loop_that_steals_a_task_counts_it_and_its_polls() {
    let rt = runtime(2);
    let loops = rt.loops();
    let (before, after) = rt
        .run(async move {
            let metrics_of_1 = || loops.spawn_on(1, async { corio::runtime::metrics() }).unwrap();
            let before = metrics_of_1().await.unwrap();
            let release = Arc::new(AtomicBool::new(false));
            let done = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..4)
                .map(|_| {
                    let (release, done) = (release.clone(), done.clone());
                    loops
                        .spawn(async move {
                            if done.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
                                release.store(true, Ordering::SeqCst);
                            }
                        })
                        .unwrap()
                })
                .collect();
            hold_until(&release);
            for task in tasks {
                task.await.unwrap();
            }
            (before, metrics_of_1().await.unwrap())
        })
        .unwrap();
    assert!(after.tasks_stolen >= before.tasks_stolen + 3, "{before:?} -> {after:?}");
    // Each stolen task's one poll, beside the metrics probe's own.
    assert!(after.task_polls > before.task_polls + 3, "{before:?} -> {after:?}");
}

#[test]
fn a_task_group_cancels_a_moved_task_its_body_awaits() {
    #[derive(Debug)]
    enum Error {
        Cancelled,
        Spawn,
        Refused,
    }
    impl From<Cancelled> for Error {
        fn from(_: Cancelled) -> Self {
            Error::Cancelled
        }
    }
    impl From<corio::structured::SpawnError> for Error {
        fn from(_: corio::structured::SpawnError) -> Self {
            Error::Spawn
        }
    }
    let rt = runtime(2);
    let loops = rt.loops();
    let (group, mover_outcome) = rt
        .run(async move {
            let (moved, failed) = (Arc::new(Event::new()), Arc::new(Event::new()));
            let (m, l) = (moved.clone(), loops.clone());
            // A pool task that moves to loop 1, then waits forever.
            let mover = loops
                .spawn(async move {
                    m.wait().await?;
                    assert_eq!(here(&l), 1);
                    Event::new().wait().await?; // never set: only a cancel ends it
                    Ok::<_, Cancelled>(())
                })
                .unwrap();
            until_suspended(&mover).await;
            set_on_loop_1(&loops, &moved).await;
            let outcome = Arc::new(Mutex::new(None));
            let o = outcome.clone();
            let f = failed.clone();
            let group = corio::task_group(|tg| async move {
                tg.spawn(async move {
                    f.wait().await?;
                    Err::<(), _>(Error::Refused)
                })?;
                failed.set();
                // The body waits on the moved task; the child's failure
                // cancels the body, whose await passes the cancel on (C6).
                let joined = mover.await;
                *o.lock().unwrap() = Some(joined.is_err());
                Ok::<_, Error>(())
            })
            .await;
            let outcome = outcome.lock().unwrap().take();
            (group, outcome)
        })
        .unwrap();
    assert!(matches!(group, Err(corio::structured::GroupError::Failed(_))), "{group:?}");
    assert_eq!(mover_outcome, Some(true), "the moved task ended cancelled");
}

#[test]
fn a_moved_task_that_panics_reaches_its_handle_and_a_detached_one_the_handler() {
    let rt = runtime(2);
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    rt.main_loop().set_exception_handler(move |context| r.lock().unwrap().push(context.kind));
    let loops = rt.loops();
    let joined = rt
        .run(async move {
            let event = Arc::new(Event::new());
            let (e, l) = (event.clone(), loops.clone());
            let task = loops
                .spawn(async move {
                    e.wait().await.unwrap();
                    assert_eq!(here(&l), 1);
                    panic!("after moving");
                })
                .unwrap();
            until_suspended(&task).await;
            set_on_loop_1(&loops, &event).await;
            let joined = task.await.map_err(|err| err.into_panic().and_then(|p| p.message().map(str::to_string)));
            // A detached one that panics on loop 0 (where it runs: loop 0 is
            // free) goes to loop 0's handler.
            loops.spawn(async { panic!("nobody joins me") }).unwrap().detach();
            for _ in 0..10 {
                corio::yield_now().await.unwrap();
            }
            joined
        })
        .unwrap();
    assert_eq!(joined, Err(Some("after moving".to_string())));
    assert!(reports.lock().unwrap().contains(&ExceptionKind::TaskPanicked), "{reports:?}");
}

#[test]
fn shutdown_cancels_moved_tasks_and_reports_one_that_ignores_it() {
    let rt = corio::multi_loop().loops(2).shutdown_grace(Duration::from_millis(200)).build().unwrap();
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    rt.main_loop().set_exception_handler(move |context| r.lock().unwrap().push((context.kind, context.message)));
    let loops = rt.loops();
    let cleaned = Arc::new(AtomicBool::new(false));
    let c = cleaned.clone();
    rt.run(async move {
        let event = Arc::new(Event::new());
        // One that cleans up when cancelled, after moving to loop 1.
        let (e, l, c) = (event.clone(), loops.clone(), c.clone());
        let polite = loops
            .spawn(async move {
                e.wait().await.unwrap();
                assert_eq!(here(&l), 1);
                if corio::sleep(Duration::from_secs(3600)).await.is_err() {
                    c.store(true, Ordering::SeqCst);
                }
            })
            .unwrap();
        until_suspended(&polite).await;
        set_on_loop_1(&loops, &event).await;
        polite.detach();
        // One that ignores cancellation, started (a task cancelled before
        // its first step never runs, C4).
        let stubborn = loops
            .spawn(async {
                loop {
                    let _ = corio::sleep(Duration::from_millis(5)).await;
                }
            })
            .unwrap();
        until_suspended(&stubborn).await;
        stubborn.detach();
    })
    .unwrap();
    assert!(cleaned.load(Ordering::SeqCst), "the moved task's cleanup ran");
    let reports = reports.lock().unwrap();
    assert_eq!(
        reports.iter().filter(|(kind, _)| *kind == ExceptionKind::IgnoredCancellation).count(),
        1,
        "{reports:?}"
    );
}
