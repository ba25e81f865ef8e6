//! Memory figures (W12): bytes per idle task, bytes per pending timer, and peak RSS with 1M sleeping tasks.
//!
//! Bytes come from a counting global allocator (live heap bytes requested, before the allocator's own rounding), so
//! they are exact and repeatable; the future's own size is reported beside them. Peak RSS is `VmHWM` of a child
//! process that does nothing but hold 1M sleeping tasks on one runtime, so the runtimes do not share a high-water
//! mark.

use crate::harness::Runtime;
use crate::workloads::rt;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Counts live heap bytes while [`COUNTING`] is on (one relaxed load per allocation when it is off).
pub struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Live bytes allocated by `f` and still held when it returns (counting on around it only).
fn held_by<T>(f: impl FnOnce() -> T) -> (T, i64) {
    LIVE.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let out = f();
    COUNTING.store(false, Ordering::Relaxed);
    (out, LIVE.load(Ordering::Relaxed))
}

const LONG: Duration = Duration::from_secs(3600);

/// Tasks alive for the idle-task figure.
const IDLE_TASKS: u64 = 100_000;

static POLLED: AtomicU64 = AtomicU64::new(0);

/// An idle task's body: counts itself in, then waits forever (1 byte of future state).
async fn idle() {
    POLLED.fetch_add(1, Ordering::Relaxed);
    std::future::pending::<()>().await
}

/// Heap bytes per idle task: 100k detached tasks that ran once and wait forever, measured inside the runtime.
fn bytes_per_idle_task(runtime: Runtime) -> f64 {
    POLLED.store(0, Ordering::Relaxed);
    let bytes = match runtime {
        Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio(async {
            let ((), bytes) = held_by(|| (0..IDLE_TASKS).for_each(|_| corio::spawn(idle()).detach()));
            while POLLED.load(Ordering::Relaxed) < IDLE_TASKS {
                corio::yield_now().await.unwrap();
            }
            bytes
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(async {
            let ((), bytes) = held_by(|| {
                (0..IDLE_TASKS).for_each(|_| drop(tokio::spawn(idle())));
            });
            while POLLED.load(Ordering::Relaxed) < IDLE_TASKS {
                tokio::task::yield_now().await;
            }
            bytes
        }),
        Runtime::Smol => rt::smol(|ex| async move {
            let ((), bytes) = held_by(|| (0..IDLE_TASKS).for_each(|_| ex.spawn(idle()).detach()));
            while POLLED.load(Ordering::Relaxed) < IDLE_TASKS {
                futures_lite::future::yield_now().await;
            }
            bytes
        }),
    };
    bytes as f64 / IDLE_TASKS as f64
}

/// Heap bytes per pending timer beyond the sleep future itself: 100k boxed sleeps polled once and held.
fn bytes_per_timer(runtime: Runtime) -> f64 {
    use futures_lite::future::block_on as poll_in_place;
    use futures_lite::future::poll_once;
    const TIMERS: usize = 100_000;
    fn measure<S: std::future::Future>(make: impl Fn() -> S) -> (f64, usize) {
        let mut sleeps = Vec::with_capacity(TIMERS);
        let ((), bytes) = held_by(|| {
            for _ in 0..TIMERS {
                let mut sleep = Box::pin(make());
                assert!(poll_in_place(poll_once(&mut sleep)).is_none());
                sleeps.push(sleep);
            }
        });
        let size = std::mem::size_of::<S>();
        ((bytes as f64 - (TIMERS * size) as f64) / TIMERS as f64, size)
    }
    // The futures register with the runtime entered around them, so each is made inside it.
    let (bytes, _) = match runtime {
        Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => {
            rt::corio(async { measure(|| corio::sleep(LONG)) })
        }
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(async { measure(|| tokio::time::sleep(LONG)) }),
        Runtime::Smol => rt::smol(|_| async { measure(|| async_io::Timer::after(LONG)) }),
    };
    bytes
}

/// Sleeping tasks in the RSS child.
pub const RSS_TASKS: u64 = 1_000_000;

/// The child's job: hold 1M sleeping tasks on `runtime`, then print `VmHWM` in KiB.
pub fn rss_child(runtime: Runtime) {
    POLLED.store(0, Ordering::Relaxed);
    async fn sleeper() {
        POLLED.fetch_add(1, Ordering::Relaxed);
        let _ = corio::sleep(LONG).await;
    }
    match runtime {
        Runtime::Corio | Runtime::CorioUring | Runtime::CorioTwoLoops => rt::corio(async {
            for _ in 0..RSS_TASKS {
                corio::spawn(sleeper()).detach();
            }
            while POLLED.load(Ordering::Relaxed) < RSS_TASKS {
                corio::yield_now().await.unwrap();
            }
            println!("{}", peak_rss_kib());
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(async {
            for _ in 0..RSS_TASKS {
                drop(tokio::spawn(async {
                    POLLED.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(LONG).await
                }));
            }
            while POLLED.load(Ordering::Relaxed) < RSS_TASKS {
                tokio::task::yield_now().await;
            }
            println!("{}", peak_rss_kib());
        }),
        Runtime::Smol => rt::smol(|ex| async move {
            for _ in 0..RSS_TASKS {
                ex.spawn(async {
                    POLLED.fetch_add(1, Ordering::Relaxed);
                    async_io::Timer::after(LONG).await
                })
                .detach();
            }
            while POLLED.load(Ordering::Relaxed) < RSS_TASKS {
                futures_lite::future::yield_now().await;
            }
            println!("{}", peak_rss_kib());
        }),
    }
}

/// `VmHWM` from /proc/self/status, in KiB (0 where there is no /proc).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs the RSS child for `runtime`; its peak RSS in MiB.
fn peak_rss_mib(runtime: Runtime) -> Result<f64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out =
        std::process::Command::new(exe).args(["--rss-child", runtime.name()]).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("the child failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let kib: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|_| "no figure from the child")?;
    Ok(kib / 1024.0)
}

/// The memory table: one row per runtime (corio-uring and tokio-mt share their loop's figures and are left out).
pub fn table() -> String {
    let mut out = String::from(
        "| runtime | heap bytes per idle task (future: 1 B) | heap bytes per pending timer (beyond the future) | \
         peak RSS, 1M sleeping tasks |\n|---|---|---|---|\n",
    );
    for runtime in [Runtime::Corio, Runtime::TokioCt, Runtime::Smol] {
        let task = bytes_per_idle_task(runtime);
        let timer = bytes_per_timer(runtime);
        let rss = match peak_rss_mib(runtime) {
            Ok(mib) => format!("{mib:.0} MiB"),
            Err(e) => format!("failed: {e}"),
        };
        out.push_str(&format!("| {} | {task:.0} | {timer:.0} | {rss} |\n", runtime.name()));
    }
    out
}
