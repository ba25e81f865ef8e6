//! asyncio's `loop.add_signal_handler` / `remove_signal_handler`.
//!
//! Each handler is a task of the loop (named `signal-handler-SIGINT`, so it
//! shows in task listings) that waits on a [`Signals`] stream and schedules
//! the callback with `call_soon` for every arrival — so the callback runs on
//! the loop, in the context of the code that added it, and a panic in it goes
//! to the exception handler without removing the handler (asyncio runs it
//! as a `Handle` the same way). A loop keeps at most one handler per signal;
//! the table lives in a thread-local, since the loop lives on this thread.

use super::{Signal, Signals};
use crate::loom::corio_thread_local;
use crate::runtime::current;
use crate::runtime::shared::LoopId;
use crate::task::AnyTask;
use std::cell::RefCell;
use std::io;
use std::rc::Rc;

corio_thread_local! {
    /// The handler task of each (loop, signal) on this thread.
    static HANDLERS: RefCell<Vec<(LoopId, Signal, AnyTask)>> = RefCell::new(Vec::new());
}

/// Calls `callback` on the running loop each time `signal` arrives
/// (asyncio's `loop.add_signal_handler`). Replaces the loop's previous
/// handler for `signal`, if any.
///
/// Errors: no loop is running here, its reactor has no I/O, or the OS
/// refused the signal (see [`Signals::new`]). Invalid signals are already
/// refused by [`Signal::from_raw`].
///
/// ```no_run
/// use corio_core::signal::{add_signal_handler, Signal};
/// # async fn demo() -> std::io::Result<()> {
/// add_signal_handler(Signal::HUP, || println!("reloading configuration"))?;
/// # Ok(()) }
/// ```
pub fn add_signal_handler(signal: Signal, callback: impl Fn() + 'static) -> io::Result<()> {
    let loop_id = current::with_running(|l| l.id())
        .ok_or_else(|| io::Error::other("corio: add_signal_handler needs a running event loop on this thread"))?;
    let mut signals = Signals::new([signal])?;
    let callback = Rc::new(callback);
    let task = crate::task::Builder::new().name(format!("signal-handler-{signal}")).spawn(async move {
        loop {
            signals.recv().await?;
            let callback = callback.clone();
            crate::runtime::current::call_soon(move || callback());
        }
        #[allow(unreachable_code)]
        Ok::<(), io::Error>(())
    });
    let previous = HANDLERS.with(|h| {
        let mut handlers = h.borrow_mut();
        handlers.retain(|(.., task)| !task.done()); // ended with their loop
        let previous = handlers.iter().position(|(l, s, _)| (*l, *s) == (loop_id, signal));
        let previous = previous.map(|i| handlers.swap_remove(i).2);
        handlers.push((loop_id, signal, AnyTask::clone(&task)));
        previous
    });
    if let Some(previous) = previous {
        previous.abort();
    }
    task.detach();
    Ok(())
}

/// Removes the running loop's handler for `signal` (asyncio's
/// `loop.remove_signal_handler`): `true` if there was one. Once no listener
/// is left, the signal's previous disposition is restored, at the loop's
/// next iteration (when the handler's task is dropped).
pub fn remove_signal_handler(signal: Signal) -> bool {
    let Some(loop_id) = current::with_running(|l| l.id()) else {
        return false;
    };
    let removed = HANDLERS.with(|h| {
        let mut handlers = h.borrow_mut();
        let index = handlers.iter().position(|(l, s, _)| (*l, *s) == (loop_id, signal))?;
        Some(handlers.swap_remove(index).2)
    });
    match removed {
        Some(task) if !task.done() => {
            task.abort();
            true
        }
        _ => false,
    }
}
