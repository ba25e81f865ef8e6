//! `join!` and `try_join!`: poll every future in place, in argument order,
//! until all have finished (or, for `try_join!`, one has failed).
//!
//! The expansion pins each future in a `MaybeDone` (`corio::__private`),
//! which keeps its output once it finishes, and polls the unfinished ones
//! from one `poll_fn`. The macro's own names use `Span::mixed_site()`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Token};

pub(crate) fn expand(input: TokenStream, fallible: bool) -> TokenStream {
    let futures = match Punctuated::<Expr, Token![,]>::parse_terminated.parse2(input) {
        Ok(futures) => futures,
        Err(error) => return error.to_compile_error(),
    };
    if futures.is_empty() {
        // Nothing to wait for: the empty tuple (in `Ok` for `try_join!`).
        return if fallible { quote!(::core::result::Result::Ok(())) } else { quote!(()) };
    }
    let site = Span::mixed_site();
    let cx = format_ident!("__corio_cx", span = site);
    let done = format_ident!("__corio_done", span = site);
    let names: Vec<_> = (0..futures.len()).map(|i| format_ident!("__corio_future_{}", i, span = site)).collect();
    let pins = futures
        .iter()
        .zip(&names)
        .map(|(future, name)| quote!(let mut #name = ::core::pin::pin!(::corio::__private::MaybeDone::new(#future));));
    let (polls, output) = if fallible {
        let polls = names.iter().map(|name| {
            quote! {
                if #name.as_mut().poll_done(#cx) {
                    if let ::core::option::Option::Some(error) = #name.as_mut().take_err() {
                        return ::core::task::Poll::Ready(::core::result::Result::Err(error));
                    }
                } else {
                    #done = false;
                }
            }
        });
        let output = quote!(::core::result::Result::Ok((#(#names.as_mut().take_ok(),)*)));
        (polls.collect::<Vec<_>>(), output)
    } else {
        let polls = names.iter().map(|name| quote!(#done &= #name.as_mut().poll_done(#cx);));
        (polls.collect(), quote!((#(#names.as_mut().take_output(),)*)))
    };
    quote! {{
        #(#pins)*
        ::core::future::poll_fn(|#cx: &mut ::core::task::Context<'_>| {
            let mut #done = true;
            #(#polls)*
            if #done {
                ::core::task::Poll::Ready(#output)
            } else {
                ::core::task::Poll::Pending
            }
        })
        .await
    }}
}
