//! Features are additive: a dependency enabling `uring`, `portable` and
//! `mock` does not change the backend an application on the default
//! features runs — the native reactor — and the dependency gets the
//! backend it chose.

use corio::backend::{ChosenBy, BACKEND_ENV};
use corio::Backend;

#[test]
fn a_dependency_enabling_more_backends_does_not_change_the_default() {
    // The dependency's features reached the facade: the backends are there.
    for backend in [Backend::Uring, Backend::Portable, Backend::Mock] {
        assert!(backend.is_compiled(), "{backend} is compiled in through corio-additive-lib");
    }
    if std::env::var_os(BACKEND_ENV).is_some_and(|value| !value.is_empty()) {
        eprintln!("CORIO_BACKEND is set: the default does not apply, the rest skipped");
        return;
    }
    // ...and the application still runs the native reactor.
    let native = if cfg!(any(target_os = "linux", target_os = "android")) { Backend::Epoll } else { Backend::Kqueue };
    assert_eq!(Backend::default_choice(), Some(native));
    let lp = corio::new_event_loop().unwrap();
    assert_eq!((lp.reactor().backend(), lp.reactor().chosen_by()), (native, ChosenBy::Default));
    let ran_on = corio::run(async { corio::runtime::metrics().backend }).unwrap();
    assert_eq!(ran_on, native.name());
    let rt = corio::multi_loop().loops(2).build().unwrap();
    assert_eq!(rt.main_loop().backend(), native.name());
}

#[test]
fn the_dependency_gets_the_backend_it_chose() {
    let lp = corio_additive_lib::simulated_loop().unwrap();
    assert_eq!(lp.backend(), "mock");
    lp.block_on(corio::sleep(std::time::Duration::from_secs(3600))).unwrap().unwrap();
    // virtual: instant
}
