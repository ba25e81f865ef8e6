//! `#[corio::main]` and `#[corio::test]`: run an `async fn` on a corio event
//! loop; `select!`, `join!` and `try_join!`: wait for several futures at
//! once. Use them through the `corio` crate, which re-exports both; the
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
mod join;
mod options;
mod select;

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

/// Waits on several futures at once and runs the handler of the first to
/// complete whose output matches its pattern; the other futures are dropped
/// (tokio's `select!`). Use it as `corio::select!`.
///
/// ```text
/// corio::select! {
///     biased;                                   // optional: poll in order
///     pattern = future, if precondition => handler,
///     ...
///     else => handler,                          // when every branch is disabled
/// }
/// ```
///
/// See the facade's `corio::select!` documentation for the rules and an
/// example. A proc macro rather than `macro_rules!`: the expansion needs one
/// enum variant and one pinned local per branch, which a declarative macro
/// cannot count or name.
#[proc_macro]
pub fn select(input: TokenStream) -> TokenStream {
    select::expand(input.into()).into()
}

/// Waits for every future and returns their outputs as a tuple (tokio's
/// `join!`). Use it as `corio::join!`.
#[proc_macro]
pub fn join(input: TokenStream) -> TokenStream {
    join::expand(input.into(), false).into()
}

/// Waits for every future returning `Result<T, E>`; `Ok` with the tuple of
/// values, or the first `Err` (the other futures are then dropped) (tokio's
/// `try_join!`). Use it as `corio::try_join!`.
#[proc_macro]
pub fn try_join(input: TokenStream) -> TokenStream {
    join::expand(input.into(), true).into()
}
