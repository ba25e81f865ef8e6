//! asyncio's event loop policy, reduced to what Rust needs: the loop
//! running on this thread, and a loop *set* for this thread between runs.
//!
//! asyncio keeps a "current loop" per thread (`set_event_loop`), which
//! `get_event_loop` returns when no loop runs. corio keeps the same slot, a
//! thread-local holding an `Rc<EventLoop>`: a loop belongs to its thread,
//! so the slot is per thread and never shared. Unlike asyncio before 3.12,
//! nothing is created implicitly: `get_event_loop` without a set loop is an
//! error, as in asyncio 3.14.

use crate::{EventLoop, LoopHandle};
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

thread_local! {
    /// The loop set for this thread with [`set_event_loop`].
    static THREAD_LOOP: RefCell<Option<Rc<EventLoop>>> = const { RefCell::new(None) };
}

/// A handle to the loop running on this thread (asyncio's
/// `get_running_loop`). Errors if none runs.
///
/// ```
/// assert!(corio::get_running_loop().is_err());
/// corio::run(async {
///     let lp = corio::get_running_loop().unwrap();
///     assert!(lp.is_current());
/// })
/// .unwrap();
/// ```
pub fn get_running_loop() -> Result<LoopHandle, NoRunningLoop> {
    corio_core::try_handle().ok_or(NoRunningLoop)
}

/// Sets (or, with `None`, clears) the loop of this thread (asyncio's
/// `set_event_loop`) and returns the previous one. The thread keeps the
/// loop alive until it is replaced or the thread exits.
///
/// ```
/// let lp = corio::new_event_loop().unwrap();
/// corio::set_event_loop(Some(lp));
/// let out = corio::get_event_loop().unwrap().block_on(async { 1 + 1 });
/// assert_eq!(out.unwrap(), 2);
/// assert!(corio::set_event_loop(None).is_some());
/// assert!(corio::get_event_loop().is_err());
/// ```
pub fn set_event_loop(lp: Option<EventLoop>) -> Option<Rc<EventLoop>> {
    THREAD_LOOP.with(|slot| std::mem::replace(&mut *slot.borrow_mut(), lp.map(Rc::new)))
}

/// The loop set for this thread with [`set_event_loop`] (asyncio's
/// `get_event_loop` outside a running loop). Errors if none is set; inside
/// a running loop use [`get_running_loop`]. The returned `Rc` can run it:
/// `get_event_loop()?.block_on(...)`.
pub fn get_event_loop() -> Result<Rc<EventLoop>, NoEventLoop> {
    THREAD_LOOP.with(|slot| slot.borrow().clone()).ok_or(NoEventLoop)
}

/// No loop is running on this thread ([`get_running_loop`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRunningLoop;

impl fmt::Display for NoRunningLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no running event loop on this thread")
    }
}

impl std::error::Error for NoRunningLoop {}

/// No loop is set for this thread ([`get_event_loop`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoEventLoop;

impl fmt::Display for NoEventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no event loop is set for this thread (call corio::set_event_loop first)")
    }
}

impl std::error::Error for NoEventLoop {}
