//! A tour of corio: the seed's concepts, end to end, in one readable printout.
//!
//! ```sh
//! cargo run --release --example tour
//! ```
//!
//! 1. The event loop: `call_soon` runs callbacks in FIFO order, a callback
//!    scheduled during an iteration waits for the next one, `call_later`
//!    timers run in deadline order, a cancelled timer never runs.
//! 2. Tasks: spawned, named, awaited for their results; a panic is caught.
//! 3. Cancellation: delivered at the next await, cleaned up with more awaits,
//!    seen by the awaiter; done-callbacks run through `call_soon`.
//! 4. Structured concurrency: a task group whose first failure cancels the
//!    rest and reports every failure together; a timeout scope.
//! 5. Context variables: each task runs in a copy of its spawner's context.
//! 6. Time: `sleep` on the loop's clock.
//! 7. I/O: an echo round trip over loopback through the reactor, on the
//!    backend the loop runs (epoll by default on Linux; `CORIO_BACKEND=uring`
//!    or `portable` picks another).
//! 8. Locks and queues, and looking inside: a FIFO lock hand-over, a
//!    producer/consumer queue with `join`, a task dump showing where each
//!    task waits, and the loop's metrics.
//! 9. The toolbox: a file written and read back on the blocking pool, a
//!    subprocess spoken to through its pipes, and a server reached through
//!    asyncio's streams (`open_connection`, `readline`, `drain`).

use corio::{Cancelled, ContextVar, JoinError};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn push(log: &Log, line: impl Into<String>) {
    log.borrow_mut().push(line.into());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("corio tour\n==========\n");
    event_loop_order()?;
    corio::run(async {
        tasks().await?;
        cancellation().await?;
        structured().await?;
        context_variables().await?;
        time().await?;
        echo().await?;
        sync_and_introspection().await?;
        toolbox().await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })??;
    println!("\nDone. Tests: .ci/run; docs: docs/.");
    Ok(())
}

/// 1. asyncio's `_run_once`: the oracle program t01, on a real loop.
fn event_loop_order() -> Result<(), Box<dyn std::error::Error>> {
    println!("1. The event loop");
    let lp = corio::new_event_loop()?;
    let out = log();
    fn callback(out: Log, n: u32) {
        push(&out, format!("cb{n}"));
        if n == 1 {
            // Scheduled while the iteration runs: it waits for the next one.
            corio::call_soon(move || callback(out, 10));
        }
    }
    let o = out.clone();
    lp.call_later(Duration::from_millis(20), move || push(&o, "later20"));
    let o = out.clone();
    lp.call_later(Duration::from_millis(10), move || push(&o, "later10"));
    let o = out.clone();
    let cancelled = lp.call_later(Duration::from_millis(15), move || push(&o, "cancelled!"));
    cancelled.cancel();
    for n in 1..=3 {
        let o = out.clone();
        lp.call_soon(move || callback(o, n));
    }
    lp.call_later(Duration::from_millis(30), corio::stop);
    lp.run_forever()?;
    println!("   call_soon x3, call_later 20/10/15(cancelled) ms -> {}", out.borrow().join(" "));
    println!("   ({} loop iterations)\n", lp.stats().iterations);
    Ok(())
}

/// 2. Spawning, naming, joining; a panic is caught and reported through the
///    handle, and the loop keeps running.
async fn tasks() -> Result<(), Cancelled> {
    println!("2. Tasks");
    let square = corio::spawn(async { 12 * 12 });
    let named = corio::task::Builder::new().name("greeter").spawn(async { "hello from a named task" });
    println!("   {} -> {:?}", square.name(), square.await);
    println!("   {} -> {:?}", named.name(), named.await);
    // The default panic hook would print the panic (and a backtrace) to
    // stderr; keep the tour's output readable.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let doomed = corio::spawn(async {
        if corio::time() > Instant::now() + Duration::from_secs(3600) {
            return 0;
        }
        panic!("a bug in a task");
    });
    let joined = doomed.await;
    std::panic::set_hook(hook);
    match joined {
        Err(JoinError::Panicked(panic)) => {
            println!("   a panicking task -> JoinError::Panicked({:?})", panic.message())
        }
        other => println!("   unexpected: {other:?}"),
    }
    let (a, b) = (log(), log());
    let (ta, tb) = (a.clone(), b.clone());
    let one = corio::spawn(async move {
        for i in 1..=3 {
            push(&ta, format!("a{i}"));
            corio::yield_now().await?;
        }
        Ok::<_, Cancelled>(())
    });
    let two = corio::spawn(async move {
        for i in 1..=3 {
            push(&tb, format!("b{i}"));
            corio::yield_now().await?;
        }
        Ok::<_, Cancelled>(())
    });
    let _ = (one.await, two.await);
    let interleaved: Vec<_> =
        a.borrow().iter().zip(b.borrow().iter()).flat_map(|(x, y)| [x.clone(), y.clone()]).collect();
    println!("   two tasks alternating yield_now -> {}\n", interleaved.join(" "));
    Ok(())
}

/// 3. The oracle program t02: cancel(msg) is delivered at the next await, the
///    task cleans up (awaiting again), re-raises, and the awaiter sees it.
async fn cancellation() -> Result<(), Cancelled> {
    println!("3. Cancellation");
    let out = log();
    let o = out.clone();
    let worker = corio::spawn(async move {
        match corio::sleep(Duration::from_secs(10)).await {
            Ok(()) => Ok(()),
            Err(cancelled) => {
                let cancelling = corio::current_task().map_or(0, |t| t.cancelling());
                push(&o, format!("caught:{}:cancelling={cancelling}", cancelled.message().unwrap_or("")));
                corio::sleep(Duration::ZERO).await?; // async cleanup is allowed
                push(&o, "cleanup-done");
                Err(cancelled) // re-raise: the task ends cancelled
            }
        }
    });
    let o = out.clone();
    let _ = worker.add_done_callback(move |info| push(&o, format!("done-cb cancelled={}", info.cancelled())));
    corio::sleep(Duration::ZERO).await?;
    worker.cancel_with("stop");
    push(&out, "after-cancel-call");
    if let Err(err) = worker.await {
        if err.is_cancelled() {
            push(&out, "awaiter-saw-cancel");
        }
    }
    corio::sleep(Duration::ZERO).await?;
    println!("   {}\n", out.borrow().join(" | "));
    Ok(())
}

/// 4. The oracle programs t03 and t04: a task group's first failure cancels
///    the other children and the body, and every failure comes back
///    together; a timeout scope turns its own expiry into `Elapsed`.
async fn structured() -> Result<(), Cancelled> {
    println!("4. Structured concurrency");
    #[derive(Debug)]
    enum Error {
        Cancelled(#[allow(dead_code)] Cancelled),
        Value(&'static str),
        Spawn(#[allow(dead_code)] corio::SpawnError),
    }
    impl From<Cancelled> for Error {
        fn from(c: Cancelled) -> Self {
            Error::Cancelled(c)
        }
    }
    impl From<corio::SpawnError> for Error {
        fn from(e: corio::SpawnError) -> Self {
            Error::Spawn(e)
        }
    }
    let ms = Duration::from_millis;
    let out = log();
    let o = out.clone();
    let start = corio::time(); // one clock reading: b and d share a deadline
    let group = corio::task_group(|tg| async move {
        for (name, delay, fails) in [("a", 10, false), ("b", 20, true), ("c", 50, false), ("d", 20, true)] {
            let o = o.clone();
            tg.spawn(async move {
                if let Err(cancelled) = corio::sleep_until(start + ms(delay)).await {
                    push(&o, format!("{name}-cancelled"));
                    return Err(cancelled.into());
                }
                push(&o, format!("{name}-{}", if fails { "raises" } else { "finished" }));
                if fails {
                    Err(Error::Value(name))
                } else {
                    Ok(())
                }
            })?;
        }
        corio::sleep(ms(1000)).await?; // cancelled by b's failure
        Ok::<_, Error>(())
    })
    .await;
    match group {
        Err(corio::GroupError::Failed(failures)) => {
            let mut names: Vec<String> = failures
                .errors()
                .map(|e| match e {
                    Error::Value(name) => name.to_string(),
                    other => format!("{other:?}"),
                })
                .collect();
            names.sort();
            push(&out, format!("group:{}", names.join(",")));
        }
        Err(corio::GroupError::Cancelled(c)) => return Err(c),
        Ok(()) => push(&out, "group:ok?"),
    }
    match corio::timeout(ms(10)).run(corio::sleep(ms(1000))).await {
        Err(corio::Elapsed { .. }) => push(&out, "timeout-1"),
        Ok(slept) => slept?,
    }
    println!("   {}\n", out.borrow().join(" | "));
    Ok(())
}

static VAR: ContextVar<&'static str> = ContextVar::with_default("var", "default");

/// 4. The oracle program t06: each task gets a copy of the context at spawn.
async fn context_variables() -> Result<(), Cancelled> {
    println!("5. Context variables");
    let out = log();
    async fn child(out: Log, name: &'static str) -> Result<(), Cancelled> {
        push(&out, format!("{name}-sees={}", VAR.get().unwrap_or("?")));
        VAR.set(name);
        corio::sleep(Duration::ZERO).await?;
        push(&out, format!("{name}-after={}", VAR.get().unwrap_or("?")));
        Ok(())
    }
    let token = VAR.set("parent");
    let t1 = corio::spawn(child(out.clone(), "c1"));
    VAR.set("parent2");
    let t2 = corio::spawn(child(out.clone(), "c2"));
    let _ = (t1.await, t2.await);
    push(&out, format!("parent={}", VAR.get().unwrap_or("?")));
    VAR.reset(token).expect("a token from this context");
    push(&out, format!("after-reset={}", VAR.get().unwrap_or("?")));
    VAR.set("for-callback");
    let future = corio::Completion::new();
    let setter = future.clone();
    corio::call_soon(move || {
        let _ = setter.set_result(VAR.get().unwrap_or("?"));
    });
    VAR.set("changed");
    push(&out, format!("callback-saw={}", future.wait().await?));
    println!("   {}\n", out.borrow().join(" | "));
    Ok(())
}

/// 5. Sleeping on the loop's clock (the system clock here; tests use a
///    virtual one that jumps).
async fn time() -> Result<(), Cancelled> {
    println!("6. Time");
    let start = corio::time();
    corio::sleep(Duration::from_millis(50)).await?;
    println!("   sleep(50 ms) took {:.1} ms on the loop's clock\n", (corio::time() - start).as_secs_f64() * 1e3);
    Ok(())
}

/// 6. A TCP echo round trip over loopback, through the reactor.
async fn echo() -> std::io::Result<()> {
    println!("7. I/O");
    let backend = corio::runtime::metrics().backend;
    println!("   the loop runs on the {backend} backend (CORIO_BACKEND=epoll|uring|portable chooses)");
    let listener = corio::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = corio::spawn(async move {
        let (stream, _) = listener.accept().await?;
        let mut buf = [0u8; 1024];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            stream.write_all(&buf[..n]).await?;
        }
    });
    let client = corio::net::TcpStream::connect(addr).await?;
    let message = b"hello, corio";
    client.write_all(message).await?;
    client.shutdown(std::net::Shutdown::Write)?;
    let mut echoed = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        echoed.extend_from_slice(&buf[..n]);
    }
    server.await.map_err(std::io::Error::other)??;
    println!("   sent {:?} to {addr}, echoed {:?}", String::from_utf8_lossy(message), String::from_utf8_lossy(&echoed));
    Ok(())
}

/// 8. asyncio's Lock and Queue (fair, cancel-safe, `Send + Sync`), then a
///    task dump (`corio::task::dump`) and the loop's counters.
async fn sync_and_introspection() -> Result<(), Box<dyn std::error::Error>> {
    use corio::sync::{Lock, Queue};
    use std::sync::Arc;

    println!("\n8. Locks, queues, dumps, metrics");
    // The lock is handed over in FIFO order: waiters get it in the order they asked.
    let lock = Arc::new(Lock::new());
    let order = log();
    let held = lock.acquire().await?;
    let waiters: Vec<_> = ["w1", "w2", "w3"]
        .into_iter()
        .map(|name| {
            let (lock, order) = (lock.clone(), order.clone());
            corio::task::Builder::new().name(name).spawn(async move {
                let _guard = lock.acquire().await?;
                push(&order, name);
                corio::yield_now().await
            })
        })
        .collect();
    corio::yield_now().await?; // every waiter is now queued on the lock

    // Where is w1? The dump says, as data and as text (the echo example
    // prints a whole one on SIGUSR1).
    let dump = corio::task::dump().to_string();
    let mut lines = dump.lines().skip_while(|line| !line.trim_start().starts_with("w1 "));
    for line in lines.by_ref().take(2) {
        println!("   dump: {}", line.trim());
    }
    drop(held);
    for waiter in waiters {
        waiter.await??;
    }
    println!("   lock hand-over order: {}", order.borrow().join(" "));

    // A bounded queue: the producer waits while it is full; join() waits
    // until every item was marked done.
    let queue = Rc::new(Queue::new(2));
    let consumer = {
        let queue = queue.clone();
        corio::spawn(async move {
            let mut sum = 0;
            for _ in 0..5 {
                sum += queue.get().await?;
                queue.task_done()?;
            }
            Ok::<_, Box<dyn std::error::Error>>(sum)
        })
    };
    for item in 1..=5 {
        queue.put(item).await?;
    }
    queue.join().await?;
    println!("   queue: 5 items through a queue of 2, sum {}", consumer.await??);

    let m = corio::runtime::metrics();
    println!(
        "   metrics ({}): {} tasks spawned, {} polls, {} iterations, {} reactor waits",
        m.backend, m.tasks_spawned, m.task_polls, m.iterations, m.reactor_waits
    );
    Ok(())
}

/// 9. Files, a subprocess and asyncio's streams.
async fn toolbox() -> std::io::Result<()> {
    use corio::process::{Command, Stdio};
    use corio::streams::{open_connection, start_server, StreamReader, StreamWriter};

    println!("\n9. Files, subprocesses, streams");
    // A file, on the blocking pool: the loop keeps running meanwhile.
    let path = std::env::temp_dir().join(format!("corio-tour-{}.txt", std::process::id()));
    corio::fs::write(&path, "written by corio::fs\n").await?;
    let text = corio::fs::read_to_string(&path).await?;
    corio::fs::remove_file(&path).await?;
    println!("   read back {:?}", text.trim_end());

    // A subprocess: its exit is watched by the loop (a pidfd on Linux).
    let mut sort = Command::new("sh").args(["-c", "sort"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    let (sorted, _) = sort.communicate(Some(b"pear\napple\nfig\n")).await?;
    let sorted = String::from_utf8_lossy(&sorted).split_whitespace().collect::<Vec<_>>().join(" ");
    println!("   sh -c sort -> {sorted} ({})", sort.wait().await?);

    // A server and a client through asyncio's streams API.
    async fn shout(mut reader: StreamReader, writer: StreamWriter) {
        while let Ok(line) = reader.readline().await {
            if line.is_empty() || writer.write(&line.to_ascii_uppercase()).is_err() || writer.drain().await.is_err() {
                break;
            }
        }
    }
    let server = start_server(shout, "127.0.0.1", 0).await?;
    let port = server.sockets()[0].as_inet().map_or(0, |a| a.port());
    let (mut reader, writer) = open_connection("localhost", port).await?; // resolved on the pool
    writer.write(b"hello, streams\n")?;
    writer.drain().await?;
    let reply = reader.readline().await?;
    writer.close();
    writer.wait_closed().await?;
    server.close();
    server.wait_closed().await?;
    println!("   open_connection(localhost:{port}) -> {:?}", String::from_utf8_lossy(&reply).trim_end());
    Ok(())
}
