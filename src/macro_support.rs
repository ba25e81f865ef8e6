//! What `#[corio::main]` and `#[corio::test]` expand to call. Not public
//! API: the macros are (`corio_macros`).
//!
//! A failure of the runtime is a panic with the runtime's message, except
//! that a panic of the body itself is resumed as it was, so that
//! `#[should_panic(expected = ...)]` sees the original message.

use crate::clock::{Clock, VirtualClock};
use crate::context::ContextStore;
use crate::executor::{Executor, SeededRandom};
use crate::runtime::{self, LoopError};
use crate::{Backend, MultiLoopError};
use std::future::Future;
use std::io;

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

/// `#[corio::main]`'s options.
#[derive(Debug, Clone, Copy)]
pub struct MainConfig {
    /// How many loops.
    pub loops: Loops,
    /// `backend = "..."`.
    pub backend: Option<Backend>,
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
    /// `backend = "..."`.
    pub backend: Option<Backend>,
}

/// `#[corio::main]`.
#[track_caller]
pub fn main<F: Future>(config: MainConfig, future: F) -> F::Output {
    match config.loops {
        Loops::One => run_once("corio::main", builder(config.backend).build(), future),
        Loops::Count(_) | Loops::PerCore => run_multi("corio::main", config.loops, config.backend, future),
    }
}

/// `#[corio::test]`.
#[track_caller]
pub fn test<F: Future>(config: TestConfig, future: F) -> F::Output {
    if !matches!(config.loops, Loops::One) {
        return run_multi("corio::test", config.loops, config.backend, future);
    }
    let builder = builder(config.backend);
    match (config.virtual_time, config.seed) {
        (false, None) => run_once("corio::test", builder.build(), future),
        (true, None) => run_once("corio::test", builder.clock(VirtualClock::new()).build(), future),
        (false, Some(seed)) => run_once("corio::test", builder.executor(SeededRandom::new(seed)).build(), future),
        (true, Some(seed)) => run_once(
            "corio::test",
            builder.clock(VirtualClock::new()).executor(SeededRandom::new(seed)).build(),
            future,
        ),
    }
}

fn builder(backend: Option<Backend>) -> crate::Builder {
    match backend {
        Some(backend) => crate::builder().backend(backend),
        None => crate::builder(),
    }
}

/// `asyncio.run` on a loop the caller configured.
#[track_caller]
fn run_once<C: Clock, E: Executor, X: ContextStore, F: Future>(
    who: &str,
    lp: io::Result<crate::EventLoop<C, E, X>>,
    future: F,
) -> F::Output {
    let lp = lp.unwrap_or_else(|err| panic!("{who}: cannot create the event loop: {err}"));
    let output = lp.block_on(future);
    let teardown = lp.shutdown(runtime::DEFAULT_SHUTDOWN_GRACE);
    lp.close();
    let output = settle(who, output);
    settle(who, teardown);
    output
}

#[track_caller]
fn run_multi<F: Future>(who: &str, loops: Loops, backend: Option<Backend>, future: F) -> F::Output {
    let mut builder = crate::multi_loop();
    if let Loops::Count(n) = loops {
        builder = builder.loops(n);
    }
    if let Some(backend) = backend {
        builder = builder.backend(backend);
    }
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

/// `backend = "..."`'s check, evaluated as a `const` in the user's crate: a
/// backend this build of corio lacks fails the build with a message naming
/// the feature to enable and the backends it has.
pub const fn require_backend(backend: Backend) {
    if !backend.is_compiled() {
        let (buffer, len) = missing_backend_message(backend);
        let (message, _) = buffer.split_at(len);
        match std::str::from_utf8(message) {
            Ok(message) => panic!("{}", message),
            Err(_) => panic!("backend = \"...\" names a backend this build of corio does not have"),
        }
    }
}

/// The message of [`require_backend`], built at compile time.
const fn missing_backend_message(backend: Backend) -> ([u8; 512], usize) {
    let mut out = ConstText { buffer: [0; 512], len: 0 };
    out.push("backend = \"");
    out.push(backend.name());
    if backend.feature_enabled() {
        out.push("\": this backend exists on ");
        out.push(backend.platforms());
        out.push(" only, not on ");
        out.push(std::env::consts::OS);
    } else {
        out.push("\": corio is built without it; enable corio's `");
        out.push(backend.name());
        out.push("` feature");
    }
    out.push(" (this build has: ");
    let mut any = false;
    let mut i = 0;
    while i < Backend::ALL.len() {
        if Backend::ALL[i].is_compiled() {
            if any {
                out.push(", ");
            }
            out.push(Backend::ALL[i].name());
            any = true;
        }
        i += 1;
    }
    if !any {
        out.push("none");
    }
    out.push(")");
    (out.buffer, out.len)
}

/// A byte buffer written at compile time (`format!` is not `const`).
struct ConstText {
    buffer: [u8; 512],
    len: usize,
}

impl ConstText {
    const fn push(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < self.buffer.len() {
            self.buffer[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
    }
}
