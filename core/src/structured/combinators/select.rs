//! `select`: race futures; the first to finish wins, the rest are dropped.
//!
//! The futures are polled in place, in argument order every time (biased,
//! so runs are deterministic; put the branch that must win ties first).
//! The race is transparent to cancellation: a cancel of the awaiting task
//! reaches the branches' own checkpoints, and a branch that returns the
//! `Cancelled` wins like any other. The losers are dropped when the race
//! returns (tasks among them are detached, as dropping a `Task` does).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The winner of a two-way [`select`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Either<A, B> {
    /// The first future finished first.
    Left(A),
    /// The second future finished first.
    Right(B),
}

/// Races two futures: the output of the first to finish (`a` wins ties).
///
/// ```
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// # use corio_core::clock::VirtualClock;
/// use corio_core::structured::Either;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// lp.block_on(async {
///     let slow = corio_core::sleep(Duration::from_secs(5));
///     let fast = async {
///         corio_core::sleep(Duration::from_secs(1)).await?;
///         Ok::<_, corio_core::task::Cancelled>("fast")
///     };
///     match corio_core::select(slow, fast).await {
///         Either::Right(out) => assert_eq!(out.unwrap(), "fast"),
///         Either::Left(_) => unreachable!(),
///     }
/// })
/// .unwrap();
/// ```
///
/// **Cancel safety:** not cancel-safe: dropping it drops both futures.
pub fn select<A: Future, B: Future>(a: A, b: B) -> Select<A, B> {
    Select { a: Some(a), b: Some(b) }
}

/// The future of [`select`].
#[must_use = "futures do nothing unless awaited"]
pub struct Select<A, B> {
    /// Both structurally pinned; `None` once the race is over.
    a: Option<A>,
    b: Option<B>,
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `a` and `b` are polled in place and dropped in place (set
        // to `None`), never moved.
        let this = unsafe { self.get_unchecked_mut() };
        let (Some(a), Some(b)) = (this.a.as_mut(), this.b.as_mut()) else {
            panic!("a select future polled after it returned");
        };
        // SAFETY: pinned in place, see above.
        let winner = match unsafe { Pin::new_unchecked(a) }.poll(cx) {
            Poll::Ready(out) => Either::Left(out),
            // SAFETY: pinned in place, see above.
            Poll::Pending => match unsafe { Pin::new_unchecked(b) }.poll(cx) {
                Poll::Ready(out) => Either::Right(out),
                Poll::Pending => return Poll::Pending,
            },
        };
        this.a = None;
        this.b = None;
        Poll::Ready(winner)
    }
}

impl<A, B> fmt::Debug for Select<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select").field("finished", &self.a.is_none()).finish()
    }
}

/// Races any number of futures: `Some((index, output))` of the first to
/// finish (the lowest index wins ties), or `None` at once if there are
/// none.
///
/// ```
/// # use corio_core::runtime::EventLoop;
/// # use corio_core::reactor::ParkReactor;
/// # use corio_core::clock::VirtualClock;
/// use std::time::Duration;
/// # let lp = EventLoop::builder(ParkReactor::new()).clock(VirtualClock::new()).build();
/// lp.block_on(async {
///     let sleeps = [3, 1, 2].map(|s| corio_core::sleep(Duration::from_secs(s)));
///     let (index, slept) = corio_core::select_all(sleeps).await.unwrap();
///     assert_eq!(index, 1);
///     assert!(slept.is_ok());
/// })
/// .unwrap();
/// ```
///
/// **Cancel safety:** not cancel-safe: dropping it drops every future.
pub fn select_all<I>(futures: I) -> SelectAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    SelectAll { futures: futures.into_iter().map(Box::pin).collect() }
}

/// The future of [`select_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct SelectAll<F> {
    futures: Vec<Pin<Box<F>>>,
}

impl<F> Unpin for SelectAll<F> {}

impl<F: Future> Future for SelectAll<F> {
    type Output = Option<(usize, F::Output)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        for (index, future) in this.futures.iter_mut().enumerate() {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                this.futures.clear(); // the losers are dropped
                return Poll::Ready(Some((index, output)));
            }
        }
        if this.futures.is_empty() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

impl<F> fmt::Debug for SelectAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectAll").field("racing", &self.futures.len()).finish()
    }
}
