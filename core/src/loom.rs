//! The concurrency seam: every atomic, lock, cell and thread-local that crosses
//! threads comes from here.
//!
//! Normally these are `std`'s types. Under `--cfg corio_loom` they are loom's,
//! so the model checker in `corio-verify` sees every interleaving of the task
//! state machine, the wake path and the loop's park/unpark. A crate-specific
//! cfg is used rather than plain `loom`, which would also flip every
//! loom-aware dependency.
//!
//! [`UnsafeCell`] is wrapped so call sites use `with`/`with_mut` in both builds.

#[cfg(not(corio_loom))]
mod imp {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
    pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};
    pub(crate) use std::thread;

    /// `std::cell::UnsafeCell` with loom's closure-based interface.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// Leak tracking is loom's; in normal builds it is a zero-sized no-op.
    #[derive(Debug, Default)]
    pub(crate) struct LeakTrack;

    impl LeakTrack {
        pub(crate) fn new() -> Self {
            LeakTrack
        }
    }

    /// Blocks the calling thread until [`Notify::notify`] or the timeout.
    #[derive(Debug, Default)]
    pub(crate) struct Notify {
        notified: Mutex<bool>,
        cond: Condvar,
    }

    impl Notify {
        pub(crate) fn notify(&self) {
            *self.notified.lock().unwrap_or_else(|e| e.into_inner()) = true;
            self.cond.notify_one();
        }

        /// Waits for a notification (consuming it) or until `timeout` passes.
        pub(crate) fn wait(&self, timeout: Option<std::time::Duration>) {
            let mut notified = self.notified.lock().unwrap_or_else(|e| e.into_inner());
            // A timeout beyond the clock's range waits without a limit.
            let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
            while !*notified {
                match deadline {
                    None => notified = self.cond.wait(notified).unwrap_or_else(|e| e.into_inner()),
                    Some(deadline) => {
                        let now = std::time::Instant::now();
                        if now >= deadline {
                            break;
                        }
                        notified =
                            self.cond.wait_timeout(notified, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
                    }
                }
            }
            *notified = false;
        }
    }
}

#[cfg(corio_loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
    pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};
    pub(crate) use loom::thread;

    /// Every task carries one; loom fails the model if a task is never freed.
    #[derive(Debug)]
    pub(crate) struct LeakTrack(#[allow(dead_code)] loom::alloc::Track<()>);

    impl LeakTrack {
        pub(crate) fn new() -> Self {
            LeakTrack(loom::alloc::Track::new(()))
        }
    }

    /// loom's park/unpark primitive. Loom has no timed waits, so a wait with a
    /// timeout returns at once: the reactor contract allows early returns.
    #[derive(Debug)]
    pub(crate) struct Notify(loom::sync::Notify);

    impl Default for Notify {
        fn default() -> Self {
            Notify(loom::sync::Notify::new())
        }
    }

    impl Notify {
        pub(crate) fn notify(&self) {
            self.0.notify();
        }

        pub(crate) fn wait(&self, timeout: Option<std::time::Duration>) {
            if timeout.is_none() {
                self.0.wait();
            }
        }
    }
}

pub(crate) use imp::*;

/// Declares a thread-local: `std`'s normally, loom's (one per model thread)
/// under `corio_loom`.
macro_rules! corio_thread_local {
    ($(#[$attr:meta])* static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(corio_loom))]
        std::thread_local! { $(#[$attr])* static $name: $t = const { $init }; }
        #[cfg(corio_loom)]
        loom::thread_local! { $(#[$attr])* static $name: $t = $init; }
    };
}
pub(crate) use corio_thread_local;
