//! hyper's executor and timer on corio: [`CorioExecutor`] and [`CorioTimer`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// hyper's `Executor` on corio: each future becomes a task of the running
/// loop (hyper spawns HTTP/2 streams and client connections through it).
///
/// One executor for `Send` and `!Send` futures: a corio task never leaves
/// its loop, so a service holding an `Rc` works over HTTP/2 as well as
/// HTTP/1. `CorioExecutor` itself is `Send + Sync + Copy`, which
/// `hyper_util`'s pooled client asks of its executor.
///
/// # Panics
///
/// `execute` panics if no corio loop runs on the calling thread (hyper
/// calls it from inside the connection or request futures, which run on
/// the loop); tokio's executor does the same outside a tokio runtime.
///
/// ```
/// use corio::hyper::CorioExecutor;
/// use hyper::rt::Executor;
///
/// corio::run(async {
///     let (tx, rx) = corio::sync::oneshot::channel();
///     CorioExecutor.execute(async move { tx.send(7).unwrap() });
///     assert_eq!(rx.await.unwrap(), 7);
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CorioExecutor;

impl<F> hyper::rt::Executor<F> for CorioExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    #[track_caller]
    fn execute(&self, future: F) {
        crate::spawn(future).detach();
    }
}

/// hyper's `Timer` on the running loop's clock (header-read timeouts,
/// HTTP/2 keep-alive pings, the pooled client's idle timer). Under a
/// virtual clock hyper's timeouts are virtual too.
///
/// ```
/// use corio::hyper::CorioTimer;
/// use hyper::rt::Timer;
/// use std::time::Duration;
///
/// let lp = corio::builder().clock(corio::clock::VirtualClock::new()).build().unwrap();
/// lp.block_on(async {
///     let start = CorioTimer.now();
///     CorioTimer.sleep(Duration::from_secs(30)).await; // instant on a virtual clock
///     assert_eq!(CorioTimer.now() - start, Duration::from_secs(30));
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CorioTimer;

impl hyper::rt::Timer for CorioTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(CorioSleep(crate::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(CorioSleep(crate::sleep_until(deadline)))
    }

    fn now(&self) -> Instant {
        crate::time() // the loop's clock, which deadlines are measured on
    }
}

/// `corio::sleep` as hyper's `Sleep` (which resolves to `()`).
///
/// A cancel of the task ends the sleep as if it had run out (hyper's
/// `Sleep` has no error to carry it); the server's connections are wrapped
/// in `cancellable()`, which sees the cancel first and drops the connection.
struct CorioSleep(crate::time::Sleep);

impl Future for CorioSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl hyper::rt::Sleep for CorioSleep {}
