//! Debug mode (rules D1, D2), task dumps (D3) and teardown (asyncio.run), on
//! the virtual clock: a "slow" poll is one that advances the clock while it
//! runs, so every figure here is exact.

mod common;

use common::{push, trace, vloop, Out};
use corio::clock::VirtualClock;
use corio::io_source::Async;
use corio::runtime::{EventLoop, ExceptionContext, ExceptionKind};
use corio::sync::{Condition, Event, Lock, Queue, Semaphore};
use corio::task::{Builder, TaskDump, TaskSnapshot, TaskState, WaitKind};
use corio::{Cancelled, Completion, DefaultReactor};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

type Reports = Rc<RefCell<Vec<ExceptionContext>>>;

fn record(lp: &EventLoop<DefaultReactor, VirtualClock>) -> Reports {
    let reports = Reports::default();
    let r = reports.clone();
    lp.set_exception_handler(move |context| r.borrow_mut().push(context));
    reports
}

fn debug_loop(clock: &VirtualClock) -> EventLoop<DefaultReactor, VirtualClock> {
    corio::builder().clock(clock.clone()).debug(true).build().unwrap()
}

// ----- D1: slow polls and callbacks --------------------------------------------

#[test]
fn d1_a_slow_poll_is_reported_with_the_task_its_spawn_location_and_where_it_resumed() {
    let clock = VirtualClock::new();
    let lp = debug_loop(&clock);
    let reports = record(&lp);
    let c = clock.clone();
    let (spawn_line, sleep_line) = lp
        .block_on(async move {
            let spawn_line = line!() + 1;
            let task = Builder::new().name("cruncher").spawn(async move {
                let sleep_line = line!() + 1;
                corio::sleep(Duration::from_secs(1)).await.unwrap();
                c.advance(Duration::from_millis(150)); // 150 ms of "work" in one poll
                sleep_line
            });
            (spawn_line, task.await.unwrap())
        })
        .unwrap();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = &reports[0];
    assert_eq!(report.kind, ExceptionKind::SlowPoll);
    let (_, name, spawned_at) = report.task.as_ref().expect("names the task");
    assert_eq!(name, "cruncher");
    assert_eq!((spawned_at.file(), spawned_at.line()), (file!(), spawn_line));
    let resumed = report.resumed_from.as_ref().expect("a checkpoint");
    assert_eq!(resumed.kind, WaitKind::Sleep);
    let at = resumed.location.expect("the sleep's location");
    assert_eq!((at.file(), at.line()), (file!(), sleep_line));
    assert!(report.message.contains("150ms") && report.message.contains("cruncher"), "{}", report.message);
    assert!(report.message.contains(&format!("{}:{sleep_line}", file!())), "{}", report.message);
}

#[test]
fn d1_the_threshold_is_strict_and_settable() {
    let clock = VirtualClock::new();
    let lp = debug_loop(&clock);
    assert_eq!(lp.slow_callback_duration(), corio::runtime::DEFAULT_SLOW_CALLBACK_DURATION);
    let reports = record(&lp);
    let c = clock.clone();
    // Exactly at the threshold: not slow.
    lp.block_on(async move { c.advance(Duration::from_millis(100)) }).unwrap();
    assert!(reports.borrow().is_empty(), "{:?}", reports.borrow());
    lp.set_slow_callback_duration(Duration::from_millis(10));
    let c = clock.clone();
    lp.block_on(async move { c.advance(Duration::from_millis(11)) }).unwrap();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].resumed_from.is_none(), "a first poll resumed from nowhere");
    assert!(reports[0].message.contains("first step"), "{}", reports[0].message);
}

#[test]
fn d1_a_slow_callback_is_reported() {
    let clock = VirtualClock::new();
    let lp = debug_loop(&clock);
    let reports = record(&lp);
    let c = clock.clone();
    lp.call_soon(move || c.advance(Duration::from_millis(300)));
    lp.call_soon(corio::stop);
    lp.run_forever().unwrap();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].kind, ExceptionKind::SlowCallback);
    assert!(reports[0].message.contains("300ms"), "{}", reports[0].message);
}

#[test]
fn d1_nothing_is_timed_with_debug_mode_off_and_it_can_be_switched_at_run_time() {
    let clock = VirtualClock::new();
    let lp = corio::builder().clock(clock.clone()).debug(false).build().unwrap();
    let reports = record(&lp);
    assert!(!lp.get_debug());
    let c = clock.clone();
    lp.block_on(async move { c.advance(Duration::from_secs(5)) }).unwrap();
    assert!(reports.borrow().is_empty());
    lp.set_debug(true);
    assert!(lp.get_debug());
    let c = clock.clone();
    lp.block_on(async move { c.advance(Duration::from_secs(5)) }).unwrap();
    assert_eq!(reports.borrow().len(), 1);
}

#[test]
fn d1_corio_debug_is_read_when_a_loop_is_built() {
    // The only test here that builds a loop without an explicit `debug`
    // while the variable is set; the others pass `debug(..)` or never
    // advance the clock inside a poll.
    std::env::set_var(corio::runtime::DEBUG_ENV, "1");
    let on = corio::builder().clock(VirtualClock::new()).build().unwrap();
    let explicit_off = corio::builder().clock(VirtualClock::new()).debug(false).build().unwrap();
    std::env::remove_var(corio::runtime::DEBUG_ENV);
    let off = corio::builder().clock(VirtualClock::new()).build().unwrap();
    assert!(on.get_debug());
    assert!(!explicit_off.get_debug());
    assert!(!off.get_debug(), "read once, at construction");
}

// ----- D2: failures nobody retrieved ---------------------------------------------

#[test]
fn d2_a_detached_task_that_fails_is_reported_also_without_debug_mode() {
    let lp = vloop();
    let reports = record(&lp);
    lp.block_on(async {
        let spawn_line = line!() + 1;
        detached("doomed", async { panic!("nobody listens") });
        corio::sleep(Duration::from_secs(1)).await.unwrap();
        spawn_line
    })
    .map(|spawn_line| {
        let reports = reports.borrow();
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!(reports[0].kind, ExceptionKind::TaskPanicked);
        let (_, name, at) = reports[0].task.as_ref().unwrap();
        assert_eq!((name.as_str(), at.line()), ("doomed", spawn_line));
        assert_eq!(reports[0].panic.as_ref().and_then(|p| p.message()), Some("nobody listens"));
    })
    .unwrap();
}

#[test]
fn d2_a_failure_read_through_the_handle_is_not_reported() {
    let lp = vloop();
    let reports = record(&lp);
    lp.block_on(async {
        let task = corio::spawn(async { panic!("read by the parent") });
        assert!(task.await.unwrap_err().is_panic());
    })
    .unwrap();
    assert!(reports.borrow().is_empty(), "{:?}", reports.borrow());
}

/// A `log` logger that keeps what it is given.
struct Capture(std::sync::Mutex<Vec<(log::Level, String)>>);

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == "corio"
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push((record.level(), record.args().to_string()));
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(std::sync::Mutex::new(Vec::new()));

#[test]
fn d2_the_default_handler_logs_through_log() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let lp = vloop(); // no handler installed: the default one
    lp.block_on(async {
        Builder::new().name("log-me").spawn(async { panic!("to the log") }).detach();
        corio::sleep(Duration::from_secs(1)).await.unwrap();
    })
    .unwrap();
    let records = CAPTURE.0.lock().unwrap();
    let ours: Vec<_> = records.iter().filter(|(_, message)| message.contains("log-me")).collect();
    assert_eq!(ours.len(), 1, "{records:?}");
    assert_eq!(ours[0].0, log::Level::Error);
    assert!(ours[0].1.contains("to the log"), "{}", ours[0].1);
}

// ----- D3: task dumps --------------------------------------------------------------

/// Spawns a named task nobody joins (its spawn location is the caller's).
#[track_caller]
fn detached<F: std::future::Future + 'static>(name: &'static str, future: F) {
    Builder::new().name(name).spawn(future).detach();
}

fn find<'a>(dump: &'a TaskDump, name: &str) -> &'a TaskSnapshot {
    dump.tasks.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{name} not in\n{dump}"))
}

/// Asserts `name` is suspended at `kind`, at `line` of this file if given,
/// with `detail` if given.
fn assert_at(dump: &TaskDump, name: &str, kind: WaitKind, line: Option<u32>, detail: Option<&str>) {
    let task = find(dump, name);
    assert_eq!(task.state, TaskState::Suspended, "{name}\n{dump}");
    let checkpoint = task.checkpoint.as_ref().unwrap_or_else(|| panic!("{name} has no checkpoint\n{dump}"));
    assert_eq!(checkpoint.kind, kind, "{name}\n{dump}");
    if let Some(line) = line {
        let at = checkpoint.location.unwrap_or_else(|| panic!("{name} has no location\n{dump}"));
        assert_eq!((at.file(), at.line()), (file!(), line), "{name}\n{dump}");
    }
    assert_eq!(checkpoint.detail.as_deref(), detail, "{name}\n{dump}");
}

#[test]
fn d3_a_dump_shows_where_each_task_is_blocked() {
    let lp = vloop();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    lp.block_on(async move {
        let sleep_line = line!() + 1;
        let sleeper = Builder::new().name("sleeper").spawn(corio::sleep(Duration::from_secs(5)));

        let lock = Rc::new(Lock::new());
        let held = lock.acquire().await.unwrap();
        let l = lock.clone();
        let lock_line = line!() + 1;
        detached("locker", async move { drop(l.acquire().await) });

        let semaphore = Rc::new(Semaphore::new(0));
        let s = semaphore.clone();
        let permit_line = line!() + 1;
        detached("permit", async move { drop(s.acquire().await) });

        let event = Rc::new(Event::new());
        let e = event.clone();
        let event_line = line!() + 1;
        detached("eventual", async move { e.wait().await });

        let (tx_line, condition_line) = std::sync::mpsc::channel();
        let condition = Rc::new(Condition::new());
        let c = condition.clone();
        detached("conditional", async move {
            let mut guard = c.acquire().await?;
            let _ = tx_line.send(line!() + 1);
            guard.wait().await
        });

        let empty = Rc::new(Queue::<u32>::new(0));
        let q = empty.clone();
        let get_line = line!() + 1;
        detached("getter", async move { q.get().await.ok() });
        let full = Rc::new(Queue::<u32>::new(1));
        full.put_nowait(1).unwrap();
        let q = full.clone();
        let put_line = line!() + 1;
        detached("putter", async move { q.put(2).await.is_ok() });

        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (read_fd, write_fd) = (a.as_raw_fd(), b.as_raw_fd());
        let mut reader = Async::new(a).unwrap();
        detached("reader", async move { reader.read(&mut [0; 16]).await.map(drop) });
        let mut writer = Async::new(b).unwrap();
        detached("writer", async move { writer.write_all(&vec![7; 8 << 20]).await });

        detached("joiner", async move { sleeper.await.map(drop) });

        let group_line = line!() + 1;
        detached(
            "grouper",
            corio::task_group(|tg| async move {
                tg.spawn(async {
                    corio::sleep(Duration::from_secs(60)).await?;
                    Ok::<_, Cancelled>(())
                })
                .unwrap();
                Ok::<_, Cancelled>(())
            }),
        );
        let _ = group_line;

        detached("blocker", corio::spawn_blocking(move || done_rx.recv().is_ok()));

        let completion = Completion::<u32>::new();
        let c = completion.clone();
        let completion_line = line!() + 1;
        detached("completer", async move { c.wait().await });

        for _ in 0..3 {
            corio::yield_now().await.unwrap();
        }
        let dump = corio::task::dump();
        let text = dump.to_string();

        assert_at(&dump, "sleeper", WaitKind::Sleep, Some(sleep_line), Some("until +5s"));
        assert_at(&dump, "locker", WaitKind::Lock, Some(lock_line), None);
        assert_at(&dump, "permit", WaitKind::Semaphore, Some(permit_line), None);
        assert_at(&dump, "eventual", WaitKind::Event, Some(event_line), None);
        let condition_line = condition_line.try_recv().unwrap();
        assert_at(&dump, "conditional", WaitKind::Condition, Some(condition_line), None);
        assert_at(&dump, "getter", WaitKind::QueueGet, Some(get_line), None);
        assert_at(&dump, "putter", WaitKind::QueuePut, Some(put_line), None);
        assert_at(&dump, "reader", WaitKind::Readable, None, Some(&format!("fd {read_fd}")));
        assert_at(&dump, "writer", WaitKind::Writable, None, Some(&format!("fd {write_fd}")));
        // A join names the awaited task's spawn location.
        assert_at(&dump, "joiner", WaitKind::Join, Some(sleep_line), None);
        assert_at(&dump, "grouper", WaitKind::TaskGroup, None, None);
        assert_at(&dump, "blocker", WaitKind::Blocking, None, None);
        assert_at(&dump, "completer", WaitKind::Completion, Some(completion_line), None);
        // The task taking the dump is running; its children are listed too.
        let me = corio::current_task().unwrap();
        assert_eq!(find(&dump, &me.name()).state, TaskState::Running);
        assert_eq!(dump.tasks.len(), 15, "{dump}"); // 13 above, the group's child, main
                                                    // The text has one line per task and one per checkpoint.
        assert!(text.starts_with("15 live task(s)\n"), "{text}");
        assert!(text.contains(&format!("sleeper (id {})", find(&dump, "sleeper").id.get())), "{text}");
        assert!(text.contains(&format!("sleeping until +5s at {}:{sleep_line}", file!())), "{text}");
        assert!(text.contains(&format!("reading fd {read_fd}")), "{text}");

        // Release what would otherwise outlive the test.
        done_tx.send(()).unwrap();
        drop(held);
        event.set();
        completion.set_result(1).unwrap();
    })
    .unwrap();
}

#[test]
fn d3_a_task_that_has_not_run_and_one_that_is_scheduled() {
    let lp = vloop();
    lp.block_on(async {
        let fresh = Builder::new().name("fresh").spawn(async {});
        let yielder = Builder::new().name("yielder").spawn(async {
            loop {
                corio::yield_now().await?;
            }
            #[allow(unreachable_code)]
            Ok::<(), Cancelled>(())
        });
        // asyncio's sleep(0) is a bare yield, and is dumped as one.
        let zero_sleeper = Builder::new().name("zero sleeper").spawn(async {
            loop {
                corio::sleep(Duration::ZERO).await?;
            }
            #[allow(unreachable_code)]
            Ok::<(), Cancelled>(())
        });
        let dump = corio::task::dump();
        assert_eq!(find(&dump, "fresh").state, TaskState::NotStarted);
        assert!(find(&dump, "fresh").checkpoint.is_none());
        corio::yield_now().await.unwrap();
        let dump = corio::task::dump();
        for name in ["yielder", "zero sleeper"] {
            let yielding = find(&dump, name);
            assert_eq!(yielding.state, TaskState::Scheduled, "{dump}");
            assert_eq!(yielding.checkpoint.as_ref().unwrap().kind, WaitKind::Yield, "{dump}");
        }
        for task in [yielder, zero_sleeper] {
            task.cancel();
            assert!(task.await.unwrap_err().is_cancelled());
        }
        fresh.await.unwrap();
    })
    .unwrap();
}

#[test]
fn d3_a_loop_can_be_dumped_between_runs() {
    let lp = vloop();
    let task = lp.spawn(async { corio::sleep(Duration::from_secs(3)).await });
    lp.block_on(corio::yield_now()).unwrap().unwrap();
    let dump = lp.dump_tasks();
    assert_eq!(dump.tasks.len(), 1, "{dump}");
    assert_eq!(dump.tasks[0].checkpoint.as_ref().unwrap().kind, WaitKind::Sleep);
    assert_eq!(dump.tasks[0].checkpoint.as_ref().unwrap().detail.as_deref(), Some("until +3s"));
    assert_eq!(task.checkpoint(), dump.tasks[0].checkpoint, "one task's checkpoint, as the dump shows it");
    task.abort();
    lp.block_on(corio::yield_now()).unwrap().unwrap();
    assert!(task.done() && task.checkpoint().is_none(), "a finished task has none");
}

#[test]
fn d3_a_deadlock_report_says_where_each_task_waits() {
    let lp = vloop();
    let event = Event::new();
    let line = line!() + 1;
    match lp.block_on(async {
        corio::sleep(Duration::ZERO).await?;
        event.wait().await
    }) {
        Err(corio::LoopError::Deadlock { tasks }) => {
            assert_eq!(tasks.len(), 1, "{tasks:?}");
            assert!(tasks[0].starts_with(&format!("Task-1 (spawned at {}:{line}:", file!())), "{tasks:?}");
            let wait_line = line + 2;
            assert!(tasks[0].ends_with(&format!("): waiting on Event at {}:{wait_line}:15", file!())), "{tasks:?}");
        }
        other => panic!("{other:?}"),
    }
}

// ----- teardown (asyncio.run) -------------------------------------------------------

#[test]
fn teardown_waits_for_cleanup_then_reports_a_task_that_ignores_cancellation() {
    let lp = vloop();
    let reports = record(&lp);
    let out: Out = Rc::default();
    let (o1, o2) = (out.clone(), out.clone());
    lp.block_on(async move {
        detached("polite", async move {
            if corio::sleep(Duration::from_secs(3600)).await.is_err() {
                // Cleanup that takes time: the teardown waits for it.
                corio::sleep(Duration::from_secs(2)).await.unwrap();
                push(&o1, "polite-cleaned-up");
            }
        });
        detached("stubborn", async move {
            loop {
                if corio::sleep(Duration::from_secs(1)).await.is_err() {
                    push(&o2, "stubborn-ignores");
                }
            }
        });
        corio::sleep(Duration::from_secs(1)).await.unwrap();
    })
    .unwrap();
    let t0 = lp.time();
    lp.shutdown(Duration::from_secs(5)).unwrap();
    // Returned after the grace period, not never.
    assert_eq!(lp.time() - t0, Duration::from_secs(5));
    assert_eq!(trace(&out), "stubborn-ignores polite-cleaned-up");
    assert_eq!(lp.task_count(), 0);
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].kind, ExceptionKind::IgnoredCancellation);
    assert_eq!(reports[0].task.as_ref().unwrap().1, "stubborn");
}

#[test]
fn teardown_lets_cleanup_await_its_helpers_then_cancels_what_cleanup_left_behind() {
    let lp = vloop();
    let reports = record(&lp);
    let out: Out = Rc::default();
    let o = out.clone();
    lp.block_on(async move {
        detached("cleaner", async move {
            if corio::sleep(Duration::from_secs(3600)).await.is_ok() {
                return;
            }
            // Cleanup: a helper it awaits runs uncancelled...
            let o2 = o.clone();
            let helper = corio::spawn(async move {
                corio::sleep(Duration::from_secs(1)).await.unwrap();
                push(&o2, "helper-done");
            });
            helper.await.unwrap();
            // ...and one it leaves behind is cancelled once it is done.
            let o3 = o.clone();
            detached("left-behind", async move {
                if corio::sleep(Duration::from_secs(3600)).await.is_err() {
                    push(&o3, "left-behind-cancelled");
                }
            });
            corio::yield_now().await.unwrap(); // let it start
            push(&o, "cleaner-done");
        });
        corio::yield_now().await.unwrap();
    })
    .unwrap();
    let t0 = lp.time();
    lp.shutdown(Duration::from_secs(5)).unwrap();
    assert_eq!(trace(&out), "helper-done cleaner-done left-behind-cancelled");
    assert_eq!(lp.time() - t0, Duration::from_secs(1), "the helper's second, not the grace period");
    assert!(reports.borrow().is_empty(), "{:?}", reports.borrow());
}

#[test]
fn teardown_of_cooperative_tasks_ends_as_soon_as_they_are_done() {
    let lp = vloop();
    let reports = record(&lp);
    lp.block_on(async {
        for _ in 0..3 {
            corio::spawn(corio::sleep(Duration::from_secs(3600))).detach();
        }
    })
    .unwrap();
    let t0 = lp.time();
    lp.shutdown(Duration::from_secs(5)).unwrap();
    assert_eq!(lp.time(), t0, "no time passes when every task ends at once");
    assert_eq!(lp.task_count(), 0);
    assert!(reports.borrow().is_empty(), "{:?}", reports.borrow());
}
