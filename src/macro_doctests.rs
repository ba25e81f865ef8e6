//! `#[corio::main]` and `#[corio::test]` as doctests: a multi-loop `main`
//! that runs, and every kind of mistake failing the build. (The exact
//! messages are checked by the unit tests in `macros/src/expand.rs`.)
//!
//! ```
//! #[corio::main(loops = 2)]
//! async fn main() {
//!     let loops = corio::multi_loop::current_loops().unwrap();
//!     let on = loops.spawn_on(1, async { corio::multi_loop::current_loops().unwrap().current() });
//!     assert_eq!(on.unwrap().await.unwrap(), Some(1));
//! }
//! ```
//!
//! ```
//! #[corio::main]
//! async fn main() -> Result<(), corio::Cancelled> {
//!     corio::sleep(std::time::Duration::from_millis(1)).await
//! }
//! ```
//!
//! Not `async`:
//! ```compile_fail
//! #[corio::main]
//! fn main() {}
//! ```
//! Arguments:
//! ```compile_fail
//! #[corio::test]
//! async fn t(x: u32) {}
//! # fn main() {}
//! ```
//! Two `#[test]`s:
//! ```compile_fail
//! #[corio::test]
//! #[test]
//! async fn t() {}
//! # fn main() {}
//! ```
//! Zero loops:
//! ```compile_fail
//! #[corio::main(loops = 0)]
//! async fn main() {}
//! ```
//! A test option on `main`:
//! ```compile_fail
//! #[corio::main(virtual_time)]
//! async fn main() {}
//! ```
//! A seed that is not an integer:
//! ```compile_fail
//! #[corio::test(seed = "seven")]
//! async fn t() {}
//! # fn main() {}
//! ```
//! Options that exclude each other:
//! ```compile_fail
//! #[corio::test(virtual_time, loops = 2)]
//! async fn t() {}
//! # fn main() {}
//! ```
//! An unknown option:
//! ```compile_fail
//! #[corio::main(flavor = "multi_thread")]
//! async fn main() {}
//! ```
//! A backend name that is no backend's:
//! ```compile_fail
//! #[corio::main(backend = "iocp")]
//! async fn main() {}
//! ```
//! A backend as something other than a string:
//! ```compile_fail
//! #[corio::test(backend = uring)]
//! async fn t() {}
//! # fn main() {}
//! ```
//!
//! A backend the build has, in both macros:
//! ```
//! #[corio::main(backend = "epoll")]
//! async fn main() {
//!     assert_eq!(corio::runtime::metrics().backend, "epoll");
//! }
//! ```

/// A backend this build lacks fails the build in a `const` evaluation
/// (E0080) whose message names the feature and the backends compiled in:
/// kqueue exists on macOS and the BSDs only.
///
/// ```compile_fail,E0080
/// #[corio::main(backend = "kqueue")]
/// async fn main() {}
/// ```
#[cfg(target_os = "linux")]
pub struct MissingBackend;
