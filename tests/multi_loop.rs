//! The multi-loop runtime (`corio::multi_loop`): a server on every loop,
//! spawning and calling onto any loop from any thread, shutdown with work
//! still running everywhere, panics through handles, bad input, and the
//! thread loop policy (`get_running_loop`, `set_event_loop`).
//!
//! No timing is asserted; threads meet through channels and events.

use corio::clock::VirtualClock;
use corio::multi_loop::SpawnOnError;
use corio::net::{TcpListener, TcpStream};
use corio::sync::{oneshot, Event};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// One counter per loop.
fn per_loop(loops: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..loops).map(|_| AtomicUsize::new(0)).collect())
}

fn snapshot(counts: &[AtomicUsize]) -> Vec<usize> {
    counts.iter().map(|c| c.load(Ordering::SeqCst)).collect()
}

/// The accept loop of loop `index`: counts each connection and echoes it in
/// a task of its own on this loop.
async fn serve(listener: TcpListener, index: usize, accepted: Arc<Vec<AtomicUsize>>) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        accepted[index].fetch_add(1, Ordering::SeqCst);
        corio::spawn(async move {
            let mut buf = [0u8; 64];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        })
        .detach();
    }
}

/// Issue 7's server test: one `SO_REUSEPORT` listener per loop on one port;
/// 64 clients connect (Linux hashes each connection to one listener); every
/// loop must have served some, and every byte comes back.
#[test]
fn echo_connections_are_served_on_every_loop() {
    const LOOPS: usize = 2;
    const CLIENTS: usize = 64;
    let rt = corio::multi_loop().loops(LOOPS).build().unwrap();
    let loops = rt.loops();
    let accepted = per_loop(LOOPS);
    let counts = accepted.clone();
    rt.run(async move {
        let first = TcpListener::bind_reuse_port("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr: SocketAddr = first.local_addr().unwrap();
        let mut listening = Vec::new();
        for index in 1..LOOPS {
            let (tx, rx) = oneshot::channel();
            listening.push(rx);
            let accepted = accepted.clone();
            loops
                .get(index)
                .unwrap()
                .spawn_with(move || async move {
                    assert_eq!(corio::get_running_loop().map(|h| h.is_current()), Ok(true));
                    let listener = TcpListener::bind_reuse_port(addr).unwrap();
                    tx.send(()).unwrap();
                    serve(listener, index, accepted).await
                })
                .unwrap()
                .detach();
        }
        corio::spawn(serve(first, 0, accepted.clone())).detach();
        for rx in listening {
            rx.await.unwrap();
        }
        for client in 0..CLIENTS {
            let stream = TcpStream::connect(addr).await.unwrap();
            let message = format!("client {client}");
            stream.write_all(message.as_bytes()).await.unwrap();
            let mut echoed = vec![0u8; message.len()];
            let mut got = 0;
            while got < echoed.len() {
                let n = stream.read(&mut echoed[got..]).await.unwrap();
                assert!(n > 0, "client {client}: the server closed early");
                got += n;
            }
            assert_eq!(echoed, message.as_bytes());
        }
        // The accept loops are still running: `run`'s shutdown cancels them.
    })
    .unwrap();
    let served = snapshot(&counts);
    assert_eq!(served.iter().sum::<usize>(), CLIENTS, "every connection accepted once: {served:?}");
    assert!(served.iter().all(|&n| n > 0), "every loop served some connections: {served:?}");
}

/// `spawn_on` from a thread that runs no loop: each task runs on the loop
/// it was sent to, and the handles come back to be awaited elsewhere.
#[test]
fn spawn_on_from_another_thread_runs_on_that_loop() {
    let rt = corio::multi_loop().loops(3).build().unwrap();
    let loops = rt.loops();
    let remote = loops.clone();
    let tasks = std::thread::spawn(move || {
        (0..remote.len())
            .rev()
            .map(|index| {
                let probe = remote.clone();
                remote.spawn_on(index, async move { (index, probe.current()) }).unwrap()
            })
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    let ran_on = rt
        .block_on(async move {
            let mut ran_on = Vec::new();
            for task in tasks {
                ran_on.push(task.await.unwrap());
            }
            ran_on
        })
        .unwrap();
    assert_eq!(ran_on, vec![(2, Some(2)), (1, Some(1)), (0, Some(0))]);
    // The free function is the same hand-off.
    let task = corio::spawn_on(loops.get(1).unwrap(), async { 7 }).unwrap();
    assert_eq!(rt.block_on(task).unwrap().unwrap(), 7);
    rt.shutdown().unwrap();
}

/// `call_soon_threadsafe` from a plain thread reaches every loop, each
/// callback on its own loop's thread.
#[test]
fn call_soon_threadsafe_reaches_each_loop() {
    const LOOPS: usize = 3;
    let rt = corio::multi_loop().loops(LOOPS).build().unwrap();
    let loops = rt.loops();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let all_ran = Arc::new(Event::new());
    let (remote, log, done) = (loops.clone(), seen.clone(), all_ran.clone());
    std::thread::spawn(move || {
        for index in 0..LOOPS {
            let (probe, log, done) = (remote.clone(), log.clone(), done.clone());
            remote
                .call_soon_threadsafe(index, move || {
                    let mut log = log.lock().unwrap();
                    log.push((index, probe.current(), std::thread::current().name().map(str::to_owned)));
                    if log.len() == LOOPS {
                        done.set();
                    }
                })
                .unwrap();
        }
    })
    .join()
    .unwrap();
    rt.block_on(async move { all_ran.wait().await.unwrap() }).unwrap();
    rt.shutdown().unwrap();
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    let main_name = std::thread::current().name().map(str::to_owned);
    assert_eq!(
        seen,
        vec![
            (0, Some(0), main_name),
            (1, Some(1), Some("corio-loop-1".to_owned())),
            (2, Some(2), Some("corio-loop-2".to_owned())),
        ]
    );
}

/// Shutdown with a task still running on every loop: each is cancelled on
/// its own loop and its cleanup runs before `shutdown` returns.
#[test]
fn shutdown_cancels_tasks_on_every_loop_and_runs_their_cleanup() {
    const LOOPS: usize = 3;
    let rt = corio::multi_loop().loops(LOOPS).build().unwrap();
    let started = per_loop(LOOPS);
    let cleaned = per_loop(LOOPS);
    let (s, c) = (started.clone(), cleaned.clone());
    let running = rt
        .spawn_on_each(move |index| {
            let (started, cleaned) = (s.clone(), c.clone());
            async move {
                started[index].fetch_add(1, Ordering::SeqCst);
                // Cancelled here at shutdown; the error is the cleanup's cue.
                let slept = corio::sleep(Duration::from_secs(3600)).await;
                assert!(slept.is_err());
                cleaned[index].fetch_add(1, Ordering::SeqCst);
                slept
            }
        })
        .unwrap();
    // Let every task start: await a probe on each loop after it.
    let loops = rt.loops();
    rt.block_on(async move {
        for index in 0..LOOPS {
            loops.spawn_on(index, corio::yield_now()).unwrap().await.unwrap().unwrap();
        }
    })
    .unwrap();
    assert_eq!(snapshot(&started), vec![1; LOOPS]);
    rt.shutdown().unwrap();
    assert_eq!(snapshot(&cleaned), vec![1; LOOPS], "every loop ran its task's cleanup");
    for task in running {
        assert!(task.done());
        assert!(task.cancelled(), "the task ended cancelled");
    }
}

/// A task that ignores cancellation is aborted after the grace period (on
/// the loop's virtual clock: instant) and reported to that loop's exception
/// handler; shutdown does not wait for it forever.
#[test]
fn shutdown_aborts_and_reports_a_task_that_ignores_cancellation() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let log = reports.clone();
    let rt = corio::multi_loop()
        .loops(2)
        .shutdown_grace(Duration::from_secs(10))
        .build_with(move |index, builder| {
            let lp = builder.clock(VirtualClock::new()).build()?;
            let log = log.clone();
            lp.set_exception_handler(move |context| log.lock().unwrap().push((index, context.to_string())));
            Ok(lp)
        })
        .unwrap();
    let loops = rt.loops();
    let stubborn = loops
        .spawn_on(1, async {
            loop {
                // Swallows every cancel.
                let _ = corio::sleep(Duration::from_secs(1)).await;
            }
        })
        .unwrap();
    rt.block_on(async move { loops.spawn_on(1, corio::yield_now()).unwrap().await.unwrap().unwrap() }).unwrap();
    rt.shutdown().unwrap();
    assert!(stubborn.done());
    let reports = reports.lock().unwrap();
    assert!(
        reports.iter().any(|(index, text)| *index == 1 && text.contains("multi_loop.rs")),
        "loop 1 reported the aborted task with its spawn location: {reports:?}"
    );
}

/// A panic on a worker loop comes back through the task's handle, also one
/// in the function `spawn_with` sends; the worker loop keeps running.
#[test]
fn panics_on_a_worker_loop_are_reported_through_handles() {
    let rt = corio::multi_loop().loops(2).build().unwrap();
    let loops = rt.loops();
    let in_task = loops.spawn_on(1, async { panic!("boom on loop 1") }).unwrap();
    let in_build =
        loops.get(1).unwrap().spawn_with(|| -> std::future::Ready<u8> { panic!("boom while building") }).unwrap();
    let after = loops.spawn_on(1, async { "still running" }).unwrap();
    let (a, b, c) = rt.block_on(async move { (in_task.await, in_build.await, after.await) }).unwrap();
    let a = a.unwrap_err().into_panic().expect("a panic");
    assert_eq!(a.message(), Some("boom on loop 1"));
    let b = b.unwrap_err().into_panic().expect("a panic");
    assert_eq!(b.message(), Some("boom while building"));
    assert_eq!(c.unwrap(), "still running");
    rt.shutdown().unwrap();
}

/// `stop()` inside a worker loop ends one `run_forever`; the worker resumes
/// and keeps serving until the runtime shuts down.
#[test]
fn stop_on_a_worker_loop_does_not_end_the_worker() {
    let rt = corio::multi_loop().loops(2).build().unwrap();
    let loops = rt.loops();
    let out = rt
        .block_on(async move {
            loops.spawn_on(1, async { corio::stop() }).unwrap().await.unwrap();
            loops.spawn_on(1, async { 5 }).unwrap().await.unwrap()
        })
        .unwrap();
    assert_eq!(out, 5);
    rt.shutdown().unwrap();
}

/// Bad input is an error, not a panic: zero loops, a loop index out of
/// range, work for a runtime that has shut down.
#[test]
fn bad_input_is_a_clear_error() {
    let err = corio::multi_loop().loops(0).build().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("at least one loop"), "{err}");

    let rt = corio::multi_loop().loops(2).build().unwrap();
    let loops = rt.loops();
    let err = loops.spawn_on(2, async {}).unwrap_err();
    assert_eq!(err, SpawnOnError::NoSuchLoop { index: 2, loops: 2 });
    assert_eq!(err.to_string(), "there is no loop 2: the runtime has 2 loops (0..2)");
    assert_eq!(loops.call_soon_threadsafe(9, || {}).unwrap_err(), SpawnOnError::NoSuchLoop { index: 9, loops: 2 });
    rt.shutdown().unwrap();
    assert_eq!(loops.spawn_on(1, async {}).unwrap_err(), SpawnOnError::Closed);
    assert!(loops.spawn(async {}).is_err());
    assert_eq!(loops.call_soon_threadsafe(0, || {}).unwrap_err(), SpawnOnError::Closed);

    // A loop that cannot be built is reported, and the loops started before
    // it are shut down.
    let err = corio::multi_loop()
        .loops(3)
        .build_with(|index, builder| {
            if index == 2 {
                return Err(io::Error::other("no reactor for loop 2"));
            }
            builder.build()
        })
        .unwrap_err();
    assert_eq!(err.to_string(), "no reactor for loop 2");
}

/// Dropping a runtime without `shutdown` still stops and joins every
/// worker, running the cleanup of their tasks.
#[test]
fn dropping_the_runtime_shuts_it_down() {
    let cleaned = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    {
        let rt = corio::multi_loop().loops(2).build().unwrap();
        let c = cleaned.clone();
        rt.loops()
            .spawn_on(1, async move {
                tx.send(()).unwrap();
                let _ = corio::sleep(Duration::from_secs(3600)).await;
                c.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
            .detach();
        rx.recv().unwrap();
    }
    assert_eq!(cleaned.load(Ordering::SeqCst), 1);
}

/// asyncio's thread loop policy: `get_running_loop` is the running loop's
/// handle (an error outside one); `set_event_loop`/`get_event_loop` keep a
/// loop per thread.
#[test]
fn thread_loop_policy() {
    assert_eq!(corio::get_running_loop().unwrap_err(), corio::NoRunningLoop);
    assert_eq!(corio::get_event_loop().err(), Some(corio::NoEventLoop));
    assert!(corio::set_event_loop(Some(corio::new_event_loop().unwrap())).is_none());
    let lp = corio::get_event_loop().unwrap();
    let inside = lp.block_on(async { corio::get_running_loop().map(|h| h.is_current()) }).unwrap();
    assert_eq!(inside, Ok(true));
    // Another thread has its own (empty) slot.
    std::thread::spawn(|| assert!(corio::get_event_loop().is_err())).join().unwrap();
    drop(lp);
    assert!(corio::set_event_loop(None).is_some());
    assert!(corio::get_event_loop().is_err());
}
