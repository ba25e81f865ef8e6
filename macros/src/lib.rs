//! `#[corio::main]` and `#[corio::test]`: run an `async fn` on a corio event
//! loop. Use them through the `corio` crate, which re-exports both; the
//! expansion calls `corio::__private`, so this crate has no runtime code.
//!
//! Options:
//!
//! | option | `main` | `test` | meaning |
//! |---|---|---|---|
//! | (none) | yes | yes | one loop on the calling thread (`corio::run`) |
//! | `loops = N` | yes | yes | a multi-loop runtime of N loops; the body runs on loop 0 |
//! | `multi_loop` | yes | yes | a multi-loop runtime of one loop per core |
//! | `virtual_time` | | yes | the loop runs on a virtual clock: sleeps are instant and exact |
//! | `seed = N` | | yes | the ready queue runs in a seeded random order (reproducible) |
//!
//! Mistakes are `compile_error!`s pointing at the offending tokens: a
//! function that is not `async`, takes arguments or is generic, an unknown
//! or repeated option, a value where none belongs, `loops = 0`, options
//! that exclude each other, a `#[test]` next to `#[corio::test]`.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod expand;
mod options;

use proc_macro::TokenStream;

/// Runs `async fn main` on a corio runtime: one event loop on the main
/// thread by default (like `asyncio.run`), or a multi-loop runtime with
/// `loops = N` or `multi_loop` (one loop per core) whose loop 0 runs the
/// body. The body's output is `main`'s: return a `Result` to exit with an
/// error.
///
/// ```ignore
/// #[corio::main(multi_loop)]
/// async fn main() -> std::io::Result<()> {
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(options::Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on its own event loop and tears the loop down
/// after (remaining tasks cancelled, cleanup awaited). `virtual_time` puts
/// the loop on a virtual clock; `seed = N` runs ready tasks in a seeded
/// random order; `loops = N` / `multi_loop` run it on a multi-loop runtime.
///
/// ```ignore
/// #[corio::test(virtual_time, seed = 7)]
/// async fn an_hour_passes_at_once() {
///     corio::sleep(std::time::Duration::from_secs(3600)).await.unwrap();
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(options::Kind::Test, args.into(), item.into()).into()
}
