//! Helpers for the toolbox tests (names, files, processes, streams): a lock
//! that runs a binary's tests one at a time, and a descriptor count to show
//! that nothing leaks.

#![allow(dead_code)] // each test file uses a subset

use std::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs the calling test alone among the tests of its binary that take this
/// lock: descriptor counts are only meaningful when no other test opens or
/// closes descriptors meanwhile.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The process's open descriptors (`/proc/self/fd`).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

/// Checks that `body` leaves as many descriptors open as it found. Blocking
/// pool threads may close theirs a little later, so the count is retried
/// for up to a second before the test fails.
pub fn no_fd_leak<R>(what: &str, body: impl FnOnce() -> R) -> R {
    let before = open_fds();
    let out = body();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let after = open_fds();
        if after <= before {
            return out;
        }
        if std::time::Instant::now() > deadline {
            let listing: Vec<String> = std::fs::read_dir("/proc/self/fd")
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| format!("{:?} -> {:?}", e.file_name(), std::fs::read_link(e.path()).ok()))
                .collect();
            panic!("{what}: {before} descriptors before, {after} after:\n{}", listing.join("\n"));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A fresh scratch directory under the system's temporary directory,
/// removed when dropped.
pub struct Scratch(pub std::path::PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("corio-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// This process's children that have exited and not been reaped.
pub fn zombies() -> Vec<u32> {
    let me = std::process::id();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return found };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // "pid (comm) S ppid ...": the command may hold spaces and parens.
        let Some(rest) = stat.rfind(')').map(|at| &stat[at + 2..]) else { continue };
        let mut fields = rest.split(' ');
        let (state, ppid) = (fields.next(), fields.next().and_then(|p| p.parse::<u32>().ok()));
        if state == Some("Z") && ppid == Some(me) {
            found.push(pid);
        }
    }
    found
}

/// Waits (really, up to `limit`) until `done()` holds; false if it never did.
pub fn eventually(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    done()
}

/// Whether process `pid` is a zombie (exited, not reaped).
pub fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rfind(')').map(|at| stat[at + 2..].starts_with('Z')))
        .unwrap_or(false)
}

pub mod process_cases;
