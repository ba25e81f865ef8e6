//! The expansion: `async fn f() -> T { body }` becomes
//! `fn f() -> T { ::corio::__private::<main|test>(config, async move { body }) }`.

use crate::options::{self, Kind, Loops, Options};
use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

/// Expands the macro; a mistake becomes a `compile_error!` followed by the
/// function unchanged (so that the only error the user sees is ours).
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new_spanned(&item, format!("{} applies to an `async fn`", kind.name()));
            return with_item(error, item);
        }
    };
    match options::parse(kind, args).and_then(|options| check(kind, &function).map(|()| options)) {
        Ok(options) => generate(kind, &options, function),
        Err(error) => with_item(error, item),
    }
}

fn with_item(error: syn::Error, item: TokenStream) -> TokenStream {
    let error = error.to_compile_error();
    quote! { #error #item }
}

/// What the function must look like.
fn check(kind: Kind, function: &ItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            sig.fn_token,
            format!("{} needs an `async fn`: the `async` keyword is missing", kind.name()),
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(&sig.inputs, format!("{} functions take no arguments", kind.name())));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(&sig.generics, format!("{} functions cannot be generic", kind.name())));
    }
    if kind == Kind::Test {
        if let Some(attr) = function.attrs.iter().find(|a| a.path().is_ident("test")) {
            return Err(syn::Error::new_spanned(
                attr,
                "#[corio::test] already makes this a test: remove the second `#[test]`",
            ));
        }
    }
    Ok(())
}

fn generate(kind: Kind, options: &Options, function: ItemFn) -> TokenStream {
    let ItemFn { attrs, vis, mut sig, block } = function;
    sig.asyncness = None;
    let loops = match options.loops {
        Loops::One => quote!(::corio::__private::Loops::One),
        Loops::Count(n) => quote!(::corio::__private::Loops::Count(#n)),
        Loops::PerCore => quote!(::corio::__private::Loops::PerCore),
    };
    // A backend the build lacks fails the build here, naming the ones it has.
    let (backend, check) = match options.backend {
        Some(variant) => {
            let variant = syn::Ident::new(variant, proc_macro2::Span::call_site());
            (
                quote!(::core::option::Option::Some(::corio::Backend::#variant)),
                quote!(const _: () = ::corio::__private::require_backend(::corio::Backend::#variant);),
            )
        }
        None => (quote!(::core::option::Option::None), quote!()),
    };
    let body = quote! { async move #block };
    match kind {
        Kind::Main => quote! {
            #(#attrs)*
            #vis #sig {
                #check
                ::corio::__private::main(::corio::__private::MainConfig { loops: #loops, backend: #backend }, #body)
            }
        },
        Kind::Test => {
            let virtual_time = options.virtual_time;
            let seed = match options.seed {
                Some(seed) => quote!(::core::option::Option::Some(#seed)),
                None => quote!(::core::option::Option::None),
            };
            quote! {
                #[::core::prelude::v1::test]
                #(#attrs)*
                #vis #sig {
                    #check
                    ::corio::__private::test(
                        ::corio::__private::TestConfig {
                            loops: #loops,
                            virtual_time: #virtual_time,
                            seed: #seed,
                            backend: #backend,
                        },
                        #body,
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The error messages, checked on the token level (the `compile_fail`
    //! doctests in the `corio` crate check that they stop the build).
    use super::*;
    use quote::quote;

    fn error(kind: Kind, args: TokenStream, item: TokenStream) -> String {
        let out = expand(kind, args, item).to_string();
        assert!(out.contains("compile_error"), "expected an error, got {out}");
        out
    }

    #[test]
    fn function_shape_errors() {
        let out = error(
            Kind::Main,
            quote!(),
            quote!(
                fn main() {}
            ),
        );
        assert!(out.contains("#[corio::main] needs an `async fn`"), "{out}");
        let out = error(
            Kind::Test,
            quote!(),
            quote!(
                async fn t(x: u8) {}
            ),
        );
        assert!(out.contains("#[corio::test] functions take no arguments"), "{out}");
        let out = error(
            Kind::Test,
            quote!(),
            quote!(
                async fn t<T>() {}
            ),
        );
        assert!(out.contains("cannot be generic"), "{out}");
        let out = error(
            Kind::Test,
            quote!(),
            quote!(
                #[test]
                async fn t() {}
            ),
        );
        assert!(out.contains("remove the second `#[test]`"), "{out}");
        let out = error(
            Kind::Main,
            quote!(),
            quote!(
                struct NotAFunction;
            ),
        );
        assert!(out.contains("#[corio::main] applies to an `async fn`"), "{out}");
    }

    #[test]
    fn option_errors() {
        let f = quote!(
            async fn t() {}
        );
        let cases: &[(Kind, TokenStream, &str)] = &[
            (Kind::Main, quote!(loops = 0), "`loops` must be at least 1"),
            (Kind::Main, quote!(loops = "4"), "`loops` takes an integer literal, e.g. `loops = 4`"),
            (Kind::Main, quote!(loops), "`loops` takes a value, e.g. `loops = 4`"),
            (Kind::Main, quote!(multi_loop = 2), "`multi_loop` takes no value"),
            (Kind::Main, quote!(loops = 2, multi_loop), "give either `loops = N` or `multi_loop`, not both"),
            (Kind::Main, quote!(loops = 2, loops = 3), "`loops` is given twice"),
            (Kind::Main, quote!(virtual_time), "`virtual_time` is a #[corio::test] option"),
            (
                Kind::Main,
                quote!(workers = 4),
                "unknown option for #[corio::main]; expected `loops = N`, `multi_loop` or `backend = \\\"...\\\"`",
            ),
            (Kind::Main, quote!(backend), "`backend` takes a value, e.g. `backend = \\\"uring\\\"`"),
            (Kind::Test, quote!(backend = uring), "`backend` takes a string literal, e.g. `backend = \\\"uring\\\"`"),
            (
                Kind::Main,
                quote!(backend = "iocp"),
                "unknown backend \\\"iocp\\\"; the backends are \\\"epoll\\\", \\\"uring\\\", \\\"kqueue\\\", \\\"portable\\\", \\\"mock\\\"",
            ),
            (Kind::Test, quote!(backend = "mock", backend = "mock"), "`backend` is given twice"),
            (Kind::Test, quote!(seed = x), "`seed` takes an integer literal, e.g. `seed = 7`"),
            (Kind::Test, quote!(seed), "`seed` takes a value, e.g. `seed = 4`"),
            (Kind::Test, quote!(virtual_time = true), "`virtual_time` takes no value"),
            (Kind::Test, quote!(virtual_time, loops = 2), "cannot be combined with `loops` or `multi_loop`"),
            (Kind::Test, quote!(seed = 1, multi_loop), "cannot be combined with `loops` or `multi_loop`"),
            (Kind::Test, quote!(flavor = "multi_thread"), "unknown option for #[corio::test]"),
        ];
        for (kind, args, message) in cases {
            let out = error(*kind, args.clone(), f.clone());
            assert!(out.contains(message), "{args}: expected {message:?} in {out}");
        }
    }

    #[test]
    fn expansions() {
        let out = expand(
            Kind::Main,
            quote!(),
            quote!(
                async fn main() -> u8 {
                    1
                }
            ),
        )
        .to_string();
        assert!(out.contains("fn main () -> u8"), "{out}");
        assert!(
            out.contains(
                ":: corio :: __private :: main (:: corio :: __private :: MainConfig { loops : :: corio :: __private :: \
                 Loops :: One , backend : :: core :: option :: Option :: None }"
            ),
            "{out}"
        );
        assert!(!out.contains("require_backend"), "{out}");
        let out = expand(
            Kind::Main,
            quote!(loops = 4),
            quote!(
                async fn main() {}
            ),
        )
        .to_string();
        assert!(out.contains("Loops :: Count (4usize)"), "{out}");
        let out = expand(
            Kind::Main,
            quote!(multi_loop),
            quote!(
                async fn main() {}
            ),
        )
        .to_string();
        assert!(out.contains("Loops :: PerCore"), "{out}");
        let out = expand(
            Kind::Test,
            quote!(virtual_time, seed = 7),
            quote!(
                #[ignore]
                async fn t() {}
            ),
        )
        .to_string();
        assert!(out.starts_with("# [:: core :: prelude :: v1 :: test] # [ignore] fn t ()"), "{out}");
        assert!(out.contains("virtual_time : true , seed : :: core :: option :: Option :: Some (7u64)"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
        let out = expand(
            Kind::Test,
            quote!(backend = "uring", loops = 2),
            quote!(
                async fn t() {}
            ),
        )
        .to_string();
        assert!(
            out.contains("const _ : () = :: corio :: __private :: require_backend (:: corio :: Backend :: Uring) ;"),
            "{out}"
        );
        assert!(out.contains("backend : :: core :: option :: Option :: Some (:: corio :: Backend :: Uring)"), "{out}");
        assert!(out.contains("Loops :: Count (2usize)"), "{out}");
    }
}
