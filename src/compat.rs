//! tokio-only futures inside corio tasks (feature `tokio-compat`).
//!
//! Most of the ecosystem's clients (reqwest, tonic, sqlx, ...) call tokio's
//! reactor and timer, which panic outside a tokio runtime ("there is no
//! reactor running"). This module keeps one tokio runtime for the process
//! — one helper thread, named `corio-tokio-compat`, that drives tokio's I/O
//! driver and timer — and lets a corio task use it:
//!
//! ```
//! use std::time::Duration;
//!
//! corio::run(async {
//!     // Created and polled inside the wrapper.
//!     corio::compat::tokio(async { tokio::time::sleep(Duration::from_millis(1)).await }).await;
//!     // Created outside an async block: the closure runs in tokio's context.
//!     corio::compat::tokio_with(|| tokio::time::sleep(Duration::from_millis(1))).await;
//! })
//! .unwrap();
//! ```
//!
//! # The entry points
//!
//! * [`tokio(future)`](tokio()) wraps a future: every poll (and the drop)
//!   runs inside the tokio runtime's context, so tokio resources created
//!   *while it is polled* find their runtime. A future that only touches
//!   tokio when polled — an `async fn` such as `reqwest::get(url)` — may be
//!   created anywhere and passed in.
//! * [`tokio_with(|| make())`](tokio_with) for futures whose *creation*
//!   needs the runtime (`tokio::time::sleep(d)` registers its timer when
//!   created): the closure runs inside the context, then the future is
//!   wrapped as above.
//! * [`enter()`] for synchronous code that builds tokio things; the guard
//!   must be dropped before the next `.await` (tokio's guards nest per
//!   thread, and other corio tasks on this thread enter and leave theirs
//!   while yours is suspended). [`handle()`] is the runtime's handle, for
//!   `Handle::spawn` of `Send` futures onto the helper thread.
//!
//! # Costs and behaviour
//!
//! * One thread for the process, started by the first use. tokio's
//!   resources register with its driver; readiness and timers are noticed
//!   on the helper thread, which wakes the corio task through corio's
//!   cross-thread wake (an eventfd write). A wake-up costs that hop — a few
//!   microseconds — where a corio socket's costs none: see
//!   `docs/benchmarks.md` (the `tokio-compat` row) for the measured round trip.
//! * The wrapper is not a corio checkpoint (the future inside is tokio's):
//!   add `.cancellable()` (`corio::FutureExt`) to make a cancel of the task
//!   drop it at once.
//! * `tokio::spawn` inside the wrapper spawns onto the helper thread's
//!   runtime (the future must be `Send`); corio's own `spawn` keeps it on the
//!   loop.

use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

/// The process's tokio runtime: one worker thread, every driver enabled.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("corio-tokio-compat")
            .enable_all()
            .build()
            .unwrap_or_else(|err| panic!("corio::compat: cannot start the tokio runtime's thread: {err}"))
    })
}

/// The handle of the tokio runtime behind this module (started on first
/// use). `handle().spawn(fut)` runs a `Send` future on the helper thread.
///
/// # Panics
///
/// If the helper thread cannot be started (the process is out of threads).
pub fn handle() -> &'static tokio::runtime::Handle {
    runtime().handle()
}

/// Enters the tokio runtime's context on this thread until the guard is
/// dropped, for synchronous code that creates tokio resources. Drop it
/// before the next `.await`: see the [module documentation](self).
///
/// ```
/// let sleep = {
///     let _tokio = corio::compat::enter();
///     tokio::time::sleep(std::time::Duration::from_millis(1)) // registers with tokio's timer
/// };
/// corio::run(corio::compat::tokio(sleep)).unwrap();
/// ```
pub fn enter() -> tokio::runtime::EnterGuard<'static> {
    handle().enter()
}

/// Runs `future` inside the tokio runtime's context on every poll; see the
/// [module documentation](self).
///
/// ```
/// corio::run(async {
///     let (tx, mut rx) = tokio::sync::mpsc::channel(1);
///     corio::compat::handle().spawn(async move { tx.send("from tokio's thread").await.unwrap() });
///     let got = corio::compat::tokio(async move { rx.recv().await }).await;
///     assert_eq!(got, Some("from tokio's thread"));
/// })
/// .unwrap();
/// ```
pub fn tokio<F: Future>(future: F) -> Compat<F> {
    Compat { inner: Some(future) }
}

/// Calls `make` inside the tokio runtime's context and wraps the future it
/// returns with [`tokio()`]: for futures that need the runtime when they
/// are *created* (`tokio::time::sleep`, `tokio::net::TcpStream::connect`
/// in a non-`async` constructor, ...).
pub fn tokio_with<F: Future>(make: impl FnOnce() -> F) -> Compat<F> {
    let _tokio = enter();
    tokio(make())
}

pin_project! {
    /// A future polled (and dropped) inside the tokio runtime's context.
    /// Made by [`tokio()`] and [`tokio_with`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Compat<F> {
        #[pin]
        inner: Option<F>,
    }

    impl<F> PinnedDrop for Compat<F> {
        fn drop(this: Pin<&mut Self>) {
            // Dropping tokio resources (deregistering a socket, a timer
            // entry) may look for the runtime too.
            let mut this = this.project();
            if this.inner.is_some() {
                let _tokio = enter();
                this.inner.set(None);
            }
        }
    }
}

impl<F> std::fmt::Debug for Compat<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compat").finish_non_exhaustive()
    }
}

impl<F: Future> Future for Compat<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _tokio = enter();
        let inner = self.project().inner.as_pin_mut().expect("Compat polled after it was dropped");
        inner.poll(cx)
    }
}
