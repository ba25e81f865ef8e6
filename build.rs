//! The facade's build script: short cfg names for "this backend is compiled
//! in" (its feature is on *and* the target has it).
//!
//! * `corio_epoll`, `corio_uring` — the feature, on Linux or Android;
//! * `corio_kqueue` — the feature, on macOS, iOS, FreeBSD, NetBSD or
//!   DragonFly (elsewhere the feature compiles only the translation layer);
//! * `corio_portable`, `corio_mock` — the feature, anywhere;
//! * `corio_no_backend` — none of them.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let feature = |name: &str| env::var_os(format!("CARGO_FEATURE_{}", name.to_uppercase())).is_some();
    let linux = matches!(os.as_str(), "linux" | "android");
    let bsd = matches!(os.as_str(), "macos" | "ios" | "freebsd" | "netbsd" | "dragonfly");
    let compiled = [
        ("corio_epoll", feature("epoll") && linux),
        ("corio_uring", feature("uring") && linux),
        ("corio_kqueue", feature("kqueue") && bsd),
        ("corio_portable", feature("portable")),
        ("corio_mock", feature("mock")),
    ];
    for (cfg, on) in compiled {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if on {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    println!("cargo::rustc-check-cfg=cfg(corio_no_backend)");
    if !compiled.iter().any(|(_, on)| *on) {
        println!("cargo::rustc-cfg=corio_no_backend");
    }
}
