//! What `#[corio::main]` and `#[corio::test]` expand to call. Not public
//! API: the macros are (`corio_macros`).
//!
//! A failure of the runtime is a panic with the runtime's message, except
//! that a panic of the body itself is resumed as it was, so that
//! `#[should_panic(expected = ...)]` sees the original message.

use crate::clock::VirtualClock;
use crate::executor::{Executor, SeededRandom};
use crate::runtime::{self, LoopError};
use crate::MultiLoopError;
use corio_core::clock::Clock;
use corio_core::context::ContextStore;
use corio_core::reactor::Reactor;
use std::future::Future;

pub use crate::select_support::{select_start, MaybeDone};

/// How many loops (`loops = N`, `multi_loop`, or neither).
#[derive(Debug, Clone, Copy)]
pub enum Loops {
    /// One loop on this thread.
    One,
    /// A multi-loop runtime of N loops.
    Count(usize),
    /// A multi-loop runtime of one loop per core.
    PerCore,
}

/// `#[corio::test]`'s options.
#[derive(Debug, Clone, Copy)]
pub struct TestConfig {
    /// How many loops.
    pub loops: Loops,
    /// Run on a virtual clock.
    pub virtual_time: bool,
    /// Run the ready queue in this seeded random order.
    pub seed: Option<u64>,
}

/// `#[corio::main]`.
#[track_caller]
pub fn main<F: Future>(loops: Loops, future: F) -> F::Output {
    match loops {
        Loops::One => settle("corio::main", crate::run(future)),
        Loops::Count(_) | Loops::PerCore => run_multi("corio::main", loops, future),
    }
}

/// `#[corio::test]`.
#[track_caller]
pub fn test<F: Future>(config: TestConfig, future: F) -> F::Output {
    if !matches!(config.loops, Loops::One) {
        return run_multi("corio::test", config.loops, future);
    }
    let builder = crate::builder().unwrap_or_else(|err| panic!("corio::test: cannot create the reactor: {err}"));
    match (config.virtual_time, config.seed) {
        (false, None) => run_once(builder.build(), future),
        (true, None) => run_once(builder.clock(VirtualClock::new()).build(), future),
        (false, Some(seed)) => run_once(builder.executor(SeededRandom::new(seed)).build(), future),
        (true, Some(seed)) => {
            run_once(builder.clock(VirtualClock::new()).executor(SeededRandom::new(seed)).build(), future)
        }
    }
}

/// `asyncio.run` on a loop the caller configured.
#[track_caller]
fn run_once<R: Reactor, C: Clock, E: Executor, X: ContextStore, F: Future>(
    lp: runtime::EventLoop<R, C, E, X>,
    future: F,
) -> F::Output {
    let output = lp.block_on(future);
    let teardown = lp.shutdown(runtime::DEFAULT_SHUTDOWN_GRACE);
    lp.close();
    let output = settle("corio::test", output);
    settle("corio::test", teardown);
    output
}

#[track_caller]
fn run_multi<F: Future>(who: &str, loops: Loops, future: F) -> F::Output {
    let builder = match loops {
        Loops::Count(n) => crate::multi_loop().loops(n),
        _ => crate::multi_loop(),
    };
    let rt = builder.build().unwrap_or_else(|err| panic!("{who}: cannot start the loops: {err}"));
    match rt.run(future) {
        Ok(output) => output,
        Err(MultiLoopError::Loop { error, .. }) => settle(who, Err(error)),
        Err(err) => panic!("{who}: {err}"),
    }
}

#[track_caller]
fn settle<T>(who: &str, result: Result<T, LoopError>) -> T {
    match result {
        Ok(output) => output,
        Err(LoopError::Panicked(panic)) => match panic.into_payload() {
            Some(payload) => std::panic::resume_unwind(payload),
            None => panic!("{who}: the body panicked"),
        },
        Err(err) => panic!("{who}: {err}"),
    }
}
