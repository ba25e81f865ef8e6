//! Which runtime the running loop belongs to, for code inside it
//! ([`current_loops`]). One thread-local per thread: a worker sets it once
//! (its first remote item), the main thread while the runtime exists.

use super::Loops;
use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    /// The runtime whose loop runs on this thread (see [`current_loops`]).
    static CURRENT: RefCell<Option<Loops>> = const { RefCell::new(None) };
}

/// The loops of the multi-loop runtime whose loop is running on this
/// thread, if any: how code inside a runtime (`#[corio::main(loops = 4)]`)
/// reaches the other loops.
///
/// ```
/// use corio_core::multi_loop::{current_loops, Builder};
/// use corio_core::reactor::ParkReactor;
///
/// let rt = Builder::new(|| Ok(ParkReactor::new())).loops(2).build().unwrap();
/// let on_loop_1 = rt.block_on(async {
///     let loops = current_loops().unwrap();
///     loops.spawn_on(1, async move { current_loops().and_then(|l| l.current()) }).unwrap().await.unwrap()
/// });
/// assert_eq!(on_loop_1.unwrap(), Some(1));
/// assert!(current_loops().is_none()); // no loop runs here now
/// ```
pub fn current_loops() -> Option<Loops> {
    CURRENT.with(|c| c.borrow().clone()).filter(|loops| loops.current().is_some())
}

/// Makes `loops` this thread's runtime; returns what it replaces.
pub(super) fn enter(loops: Loops) -> Option<Loops> {
    CURRENT.with(|c| c.borrow_mut().replace(loops))
}

/// Puts `previous` back, unless a later runtime has taken the slot since
/// `loops` entered.
pub(super) fn leave(loops: &Loops, previous: Option<Loops>) {
    CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        if current.as_ref().is_some_and(|now| Arc::ptr_eq(&now.handles, &loops.handles)) {
            *current = previous;
        }
    });
}
