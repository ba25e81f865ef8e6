//! Choosing a backend in the program: `Builder::backend`, the macros'
//! `backend = "..."`, the multi-loop builder; what the loop reports (its
//! backend, metrics, `Debug`); the mock chosen by name refusing real
//! descriptors; the default order. Each case is compiled for the feature
//! sets it applies to, so this file runs in every build of `.ci/run`'s
//! feature matrix. (`CORIO_BACKEND` has its own binary, `backend_env`.)

use corio::backend::{AnyReactor, BackendError, ChosenBy, BACKEND_ENV};
use corio::Backend;
use std::io;

/// The default order applies (no `CORIO_BACKEND`).
fn default_order_applies() -> bool {
    let set = std::env::var_os(BACKEND_ENV).is_some_and(|value| !value.is_empty());
    if set {
        eprintln!("CORIO_BACKEND is set: the default order does not apply, case skipped");
    }
    !set
}

#[test]
fn every_compiled_backend_runs_when_the_program_chooses_it() {
    for backend in Backend::compiled() {
        let lp = corio::builder().backend(backend).build().unwrap_or_else(|err| panic!("{backend}: {err}"));
        assert_eq!(lp.backend(), backend.name());
        assert_eq!(lp.reactor().backend(), backend);
        assert_eq!(lp.reactor().chosen_by(), ChosenBy::Program);
        assert!(lp.reactor().fallbacks().is_empty());
        assert_eq!(lp.metrics().backend, backend.name());
        let debug = format!("{lp:?}");
        assert!(debug.starts_with(&format!("EventLoop {{ backend: \"{backend}\", running: false")), "{debug}");
        // And the loop runs: a task, a timer.
        let out = lp.block_on(async {
            corio::sleep(std::time::Duration::from_millis(1)).await.unwrap();
            corio::spawn(async { corio::runtime::metrics().backend }).await.unwrap()
        });
        assert_eq!(out.unwrap(), backend.name());
    }
}

#[test]
fn a_backend_the_build_lacks_is_an_error_listing_what_it_has() {
    let has: Vec<&str> = Backend::compiled().map(Backend::name).collect();
    for backend in Backend::ALL.into_iter().filter(|b| !b.is_compiled()) {
        let err = corio::builder().backend(backend).build().expect_err("not compiled in");
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        let inner = err.get_ref().and_then(|e| e.downcast_ref::<BackendError>());
        assert!(
            matches!(inner, Some(BackendError::NotCompiled { backend: b, chosen_by: ChosenBy::Program }) if *b == backend)
        );
        let message = err.to_string();
        for name in &has {
            assert!(message.contains(name), "{message} lists {name}");
        }
        let err = corio::multi_loop().loops(2).backend(backend).build().expect_err("not compiled in");
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn the_default_is_the_native_reactor_whatever_else_is_compiled_in() {
    if !default_order_applies() {
        return;
    }
    let expected = Backend::default_choice();
    if cfg!(all(feature = "epoll", target_os = "linux")) {
        assert_eq!(expected, Some(Backend::Epoll));
    } else if cfg!(all(feature = "portable", not(feature = "epoll"))) {
        assert_eq!(expected, Some(Backend::Portable));
    } else if cfg!(all(feature = "uring", not(feature = "epoll"), not(feature = "portable"))) {
        assert_eq!(expected, Some(Backend::Uring));
    } else if cfg!(all(feature = "mock", not(any(feature = "epoll", feature = "portable", feature = "uring")))) {
        assert_eq!(expected, Some(Backend::Mock));
    }
    match expected {
        Some(backend) => {
            let lp = corio::new_event_loop().expect("the default backend starts");
            assert_eq!((lp.reactor().backend(), lp.reactor().chosen_by()), (backend, ChosenBy::Default));
            assert_eq!(corio::run(async { corio::runtime::metrics().backend }).unwrap(), backend.name());
        }
        None => {
            // A build without backends: a clear error at once, before any socket.
            let err = corio::new_event_loop().expect_err("no backend");
            assert!(err.to_string().starts_with("no reactor backend is compiled into corio"), "{err}");
            assert!(matches!(corio::run(async {}), Err(corio::LoopError::Reactor(_))));
        }
    }
}

#[test]
fn every_loop_of_a_multi_loop_runtime_runs_the_chosen_backend() {
    for backend in Backend::compiled() {
        let rt = corio::multi_loop().loops(2).backend(backend).build().unwrap();
        let loops = rt.loops();
        let names = rt
            .run(async move {
                let worker = loops.spawn_on(1, async { corio::runtime::metrics().backend }).unwrap();
                (corio::runtime::metrics().backend, worker.await.unwrap())
            })
            .unwrap();
        assert_eq!(names, (backend.name(), backend.name()));
    }
}

/// The mock backend, chosen by name, serves the simulated network and
/// refuses real descriptors at once: a clear error, never a read that
/// waits forever for readiness nobody reports.
#[test]
#[cfg(feature = "mock")]
fn the_mock_chosen_by_name_refuses_real_sockets() {
    use corio::net::{TcpListener, TcpStream, UdpSocket, UnixStream};

    let lp = corio::builder().backend(Backend::Mock).build().unwrap();
    let real = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = real.local_addr().unwrap();
    let errors = lp
        .block_on(async move {
            vec![
                TcpListener::bind("127.0.0.1:0").map(drop).unwrap_err(),
                TcpStream::connect(addr).await.map(drop).unwrap_err(),
                UdpSocket::bind("127.0.0.1:0").map(drop).unwrap_err(),
                UnixStream::pair().map(drop).unwrap_err(),
            ]
        })
        .unwrap();
    for err in errors {
        assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
        assert!(err.to_string().starts_with("the mock backend serves only the simulated network"), "{err}");
    }
    assert_eq!(lp.reactor().registered(), 0);
    assert!(lp.reactor().as_mock().unwrap().is_simulated_only());
}

#[cfg(feature = "mock")]
#[corio::test(backend = "mock", virtual_time, seed = 3)]
async fn the_test_macro_takes_the_mock() {
    assert_eq!(corio::runtime::metrics().backend, "mock");
    let err = corio::net::TcpListener::bind("127.0.0.1:0").map(drop).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    // The virtual clock: an hour at once.
    corio::sleep(std::time::Duration::from_secs(3600)).await.unwrap();
}

#[cfg(all(feature = "epoll", target_os = "linux"))]
#[corio::test(backend = "epoll")]
async fn the_test_macro_takes_epoll() {
    assert_eq!(corio::runtime::metrics().backend, "epoll");
    let listener = corio::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = corio::spawn(async move { corio::net::TcpStream::connect(addr).await.map(drop) });
    listener.accept().await.unwrap();
    client.await.unwrap().unwrap();
}

#[cfg(all(feature = "uring", target_os = "linux"))]
#[corio::test(backend = "uring", loops = 2)]
async fn the_test_macro_takes_io_uring_on_every_loop() {
    let loops = corio::multi_loop::current_loops().unwrap();
    let worker = loops.spawn_on(1, async { corio::runtime::metrics().backend }).unwrap();
    assert_eq!((corio::runtime::metrics().backend, worker.await.unwrap()), ("uring", "uring"));
}

#[cfg(feature = "portable")]
#[corio::test(backend = "portable")]
async fn the_test_macro_takes_portable() {
    assert_eq!(corio::runtime::metrics().backend, "portable");
    let (a, b) = corio::net::UnixStream::pair().unwrap();
    a.write_all(b"hi").await.unwrap();
    let mut buf = [0; 2];
    let n = b.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], &b"hi"[..n]);
    assert!(n > 0);
}

#[test]
fn any_reactor_names_its_backend_and_chooser() {
    for backend in Backend::compiled() {
        let reactor = AnyReactor::new(backend).unwrap();
        assert_eq!(corio::reactor::Reactor::name(&reactor), backend.name());
        assert_eq!(format!("{}", reactor.chosen_by()), "chosen by the program");
    }
}
