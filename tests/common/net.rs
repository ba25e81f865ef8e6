//! One I/O test suite, every backend: the tests in `tests/io_suite.rs` are
//! generic over [`Net`], and `per_backend!` instantiates each of them for
//! epoll, io_uring and the portable reactor (real loopback TCP, system
//! clock) and for the mock
//! (the simulated network with latency, jitter, small buffers and an
//! `EAGAIN` storm, on the virtual clock under a fixed seed), each built
//! directly on its reactor; and once more (`selected::*`) on the backend
//! the run-time choice picks — `CORIO_BACKEND`, else the default order —
//! through `corio::new_event_loop`/`corio::builder`, which `.ci/run` runs
//! once per backend.

#![allow(dead_code, async_fn_in_trait)]

use corio::clock::Clock;
use corio::context::ContextStore;
use corio::executor::Executor;
use corio::net::{TcpListener, TcpStream};
use corio::reactor::Reactor;
use corio::runtime::EventLoop;
use corio::Backend;
use corio_backends::epoll::EpollReactor;
use corio_backends::mock::{MockReactor, NetConfig, SimListener, SimNet, SimStream, Simulation};
use corio_backends::portable::PortableReactor;
use corio_backends::uring::UringReactor;
use futures_util::io::{AsyncRead, AsyncWrite};
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

/// A backend as the suite sees it: a loop, and streams to test.
pub trait Net: 'static {
    const NAME: &'static str;
    type Listener: 'static;
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;

    /// Runs `future` on a fresh loop of this backend.
    fn block_on<F: Future>(future: F) -> F::Output;
    /// A listener on a fresh loopback address.
    fn listen() -> io::Result<Self::Listener>;
    fn addr(listener: &Self::Listener) -> SocketAddr;
    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream>;
    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream>;
    async fn read(stream: &Self::Stream, buf: &mut [u8]) -> io::Result<usize>;
    async fn write(stream: &Self::Stream, buf: &[u8]) -> io::Result<usize>;
    fn shutdown_write(stream: &Self::Stream) -> io::Result<()>;
    /// Closes abortively: the peer sees `ConnectionReset`.
    fn reset(stream: Self::Stream) -> io::Result<()>;
    /// Stops watching the stream while it stays open.
    fn deregister(stream: &Self::Stream) -> io::Result<()>;
    /// An address nobody listens on.
    fn closed_addr() -> SocketAddr;
}

// ----- real sockets: epoll and io_uring -----------------------------------------

macro_rules! real_backend {
    ($name:ident, $label:literal, $make_loop:expr) => {
        pub struct $name;

        impl Net for $name {
            const NAME: &'static str = $label;
            type Listener = TcpListener;
            type Stream = TcpStream;

            fn block_on<F: Future>(future: F) -> F::Output {
                let lp = $make_loop.unwrap_or_else(|err| {
                    panic!("{} is not available here ({err}); the suite needs every backend", $label)
                });
                let out = lp.block_on(future).expect("the loop runs the test");
                lp.shutdown(Duration::from_secs(5)).expect("teardown");
                out
            }

            fn listen() -> io::Result<TcpListener> {
                TcpListener::bind("127.0.0.1:0")
            }

            fn addr(listener: &TcpListener) -> SocketAddr {
                listener.local_addr().unwrap()
            }

            async fn accept(listener: &TcpListener) -> io::Result<TcpStream> {
                Ok(listener.accept().await?.0)
            }

            async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
                TcpStream::connect(addr).await
            }

            async fn read(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
                stream.read(buf).await
            }

            async fn write(stream: &TcpStream, buf: &[u8]) -> io::Result<usize> {
                stream.write(buf).await
            }

            fn shutdown_write(stream: &TcpStream) -> io::Result<()> {
                stream.shutdown(Shutdown::Write)
            }

            fn reset(stream: TcpStream) -> io::Result<()> {
                stream.set_linger(Some(Duration::ZERO))
            }

            fn deregister(stream: &TcpStream) -> io::Result<()> {
                stream.as_async().deregister()
            }

            fn closed_addr() -> SocketAddr {
                // A free port, closed again: nobody listens there.
                std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
            }
        }
    };
}

real_backend!(Epoll, "epoll", EpollReactor::new().map(EventLoop::new));
real_backend!(Uring, "io_uring", UringReactor::new().map(EventLoop::new));
real_backend!(Portable, "portable (polling)", PortableReactor::new().map(EventLoop::new));
real_backend!(Selected, "the selected backend", selected_loop());

/// The backend `CORIO_BACKEND` names, else the default order's first.
pub fn selected_backend() -> Backend {
    Backend::from_env()
        .unwrap_or_else(|err| panic!("{err}"))
        .or_else(Backend::default_choice)
        .expect("a build with a backend")
}

/// A loop through the run-time choice, checked to run the backend chosen.
fn selected_loop() -> io::Result<corio::EventLoop> {
    let lp = corio::new_event_loop()?;
    assert_eq!(lp.reactor().backend(), selected_backend(), "the loop runs the backend chosen");
    Ok(lp)
}

/// Runs the real-socket or the simulated-network instance of a test, by
/// the backend the run-time choice picks.
pub fn on_selected(real: fn(), mock: fn()) {
    match selected_backend() {
        Backend::Mock => mock(),
        _ => real(),
    }
}

// ----- the simulated network ------------------------------------------------------

/// The seed of the mock runs (`CORIO_SEED` overrides it, as in every
/// simulation).
pub const SIM_SEED: u64 = 0x5eed;

/// The network the suite runs on: 1 ms latency with up to 2 ms of jitter
/// (segments overtake each other), 16 KiB receive buffers (back-pressure
/// early), 512-byte segments, and 5% spurious `EAGAIN`s.
pub fn sim_config() -> NetConfig {
    NetConfig::default()
        .latency(Duration::from_millis(1))
        .jitter(Duration::from_millis(2))
        .capacity(16 * 1024)
        .segment(512)
        .eagain_per_mille(50)
}

thread_local! {
    static SIM_NET: RefCell<Option<SimNet>> = const { RefCell::new(None) };
}

/// The simulated network of the running mock test.
pub fn sim_net() -> SimNet {
    SIM_NET.with(|n| n.borrow().clone().expect("inside Mock::block_on"))
}

/// Runs `future` on `lp`, whose reactor is `reactor`, with a simulated
/// network for [`sim_net`]; tears the loop down after.
fn on_sim_net<R: Reactor, C: Clock, E: Executor, X: ContextStore, F: Future>(
    lp: &EventLoop<R, C, E, X>,
    reactor: &MockReactor,
    seed: u64,
    future: F,
) -> F::Output {
    let net = SimNet::new(reactor, seed, sim_config());
    SIM_NET.with(|n| *n.borrow_mut() = Some(net));
    let out = lp.block_on(future);
    let teardown = lp.shutdown(Duration::from_secs(5));
    SIM_NET.with(|n| *n.borrow_mut() = None);
    teardown.expect("teardown");
    out.expect("the loop runs the test")
}

macro_rules! sim_backend {
    ($name:ident, $label:literal, |$future:ident| $block_on:block) => {
        pub struct $name;

        impl Net for $name {
            const NAME: &'static str = $label;
            type Listener = SimListener;
            type Stream = SimStream;

            fn block_on<F: Future>($future: F) -> F::Output {
                $block_on
            }

            fn listen() -> io::Result<SimListener> {
                SimListener::bind(&sim_net(), "127.0.0.1:0".parse().unwrap())
            }

            fn addr(listener: &SimListener) -> SocketAddr {
                listener.local_addr()
            }

            async fn accept(listener: &SimListener) -> io::Result<SimStream> {
                Ok(listener.accept().await?.0)
            }

            async fn connect(addr: SocketAddr) -> io::Result<SimStream> {
                SimStream::connect(&sim_net(), addr).await
            }

            async fn read(stream: &SimStream, buf: &mut [u8]) -> io::Result<usize> {
                stream.read(buf).await
            }

            async fn write(stream: &SimStream, buf: &[u8]) -> io::Result<usize> {
                stream.write(buf).await
            }

            fn shutdown_write(stream: &SimStream) -> io::Result<()> {
                stream.shutdown(Shutdown::Write);
                Ok(())
            }

            fn reset(stream: SimStream) -> io::Result<()> {
                stream.abort();
                Ok(())
            }

            fn deregister(stream: &SimStream) -> io::Result<()> {
                stream.as_async().deregister()
            }

            fn closed_addr() -> SocketAddr {
                "127.0.0.1:1".parse().unwrap()
            }
        }
    };
}

sim_backend!(Mock, "mock", |future| {
    let sim = Simulation::new(SIM_SEED);
    sim.run(|lp| on_sim_net(lp, lp.reactor(), sim.seed(), future))
});

// `CORIO_BACKEND=mock`: the simulated network on a loop the run-time
// choice built (its mock refuses real descriptors).
#[cfg(feature = "mock")]
sim_backend!(SelectedMock, "the selected backend (mock)", |future| {
    let sim = Simulation::new(SIM_SEED);
    let lp = corio::builder()
        .clock(corio_backends::mock::VirtualClock::new())
        .executor(corio_backends::mock::SeededRandom::new(sim.seed()))
        .build()
        .unwrap_or_else(|err| panic!("the mock backend: {err}"));
    assert_eq!(lp.reactor().backend(), Backend::Mock, "the loop runs the backend chosen");
    let reactor = lp.reactor().as_mock().expect("the mock's reactor");
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| on_sim_net(&lp, reactor, sim.seed(), future))) {
        Ok(out) => out,
        Err(panic) => {
            eprintln!("failed with seed {seed}; replay it with CORIO_SEED={seed}", seed = sim.seed());
            std::panic::resume_unwind(panic)
        }
    }
});

/// Without the facade's `mock` feature, `CORIO_BACKEND=mock` has no loop.
#[cfg(not(feature = "mock"))]
pub type SelectedMock = Mock;

/// Instantiates each generic test `fn name<N: Net>()` once per backend, as
/// `epoll::name`, `uring::name`, `portable::name` and `mock::name`, and as
/// `selected::name` on the backend `CORIO_BACKEND` (else the default order)
/// picks.
#[macro_export]
macro_rules! per_backend {
    ($($test:ident),* $(,)?) => {
        mod epoll {
            $( #[test] fn $test() { super::$test::<$crate::common::net::Epoll>() } )*
        }
        mod uring {
            $( #[test] fn $test() { super::$test::<$crate::common::net::Uring>() } )*
        }
        mod portable {
            $( #[test] fn $test() { super::$test::<$crate::common::net::Portable>() } )*
        }
        mod mock {
            $( #[test] fn $test() { super::$test::<$crate::common::net::Mock>() } )*
        }
        mod selected {
            $( #[test] fn $test() {
                $crate::common::net::on_selected(
                    super::$test::<$crate::common::net::Selected>,
                    super::$test::<$crate::common::net::SelectedMock>,
                )
            } )*
        }
    };
}
