//! `select!`: parse the branches, check them, and expand to one `poll_fn`
//! over the pinned futures and a `match` on the winner.
//!
//! The expansion (for branches `i`):
//!
//! ```text
//! {
//!     let mut disabled = [false; N];
//!     if !(precondition_i) { disabled[i] = true; }     // for branches with `, if`
//!     let out = {
//!         let mut f_i = pin!(future_i);                // every future is evaluated
//!         let start = 0 | __private::select_start(N);  // `biased;` or not
//!         poll_fn(|cx| { for k in 0..N { match (start + k) % N {
//!             i if !disabled[i] => if let Ready(v) = f_i.poll(cx) {
//!                 disabled[i] = true;
//!                 match &v { pattern_i_without_bindings_modes => {}, _ => continue }
//!                 return Ready(Out::_i(v));
//!             }, ...
//!         } } if all disabled { Ready(Out::Disabled) } else { Pending } }).await
//!     };                                                // the losers are dropped here
//!     match out { Out::_i(pattern_i) => handler_i, ..., Out::Disabled => else_handler }
//! }
//! ```
//!
//! The macro's own names use `Span::mixed_site()`, so they cannot clash
//! with the caller's; patterns, futures and handlers keep the caller's
//! spans.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Pat, Token};

struct Branch {
    pat: Pat,
    future: Expr,
    precondition: Option<Expr>,
    handler: Expr,
}

struct Select {
    biased: bool,
    branches: Vec<Branch>,
    otherwise: Option<Expr>,
}

mod kw {
    syn::custom_keyword!(biased);
}

impl Parse for Select {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut biased = false;
        if input.peek(kw::biased) && input.peek2(Token![;]) {
            input.parse::<kw::biased>()?;
            input.parse::<Token![;]>()?;
            biased = true;
        }
        let mut branches = Vec::new();
        let mut otherwise = None;
        while !input.is_empty() {
            if input.peek(Token![else]) {
                let else_token: Token![else] = input.parse()?;
                if otherwise.is_some() {
                    return Err(syn::Error::new_spanned(else_token, "select! takes one `else` branch"));
                }
                input.parse::<Token![=>]>()?;
                otherwise = Some(parse_handler(input)?);
                continue;
            }
            let pat = Pat::parse_multi_with_leading_vert(input)?;
            input.parse::<Token![=]>()?;
            let future: Expr = input.parse()?;
            let precondition = if input.peek(Token![,]) && input.peek2(Token![if]) {
                input.parse::<Token![,]>()?;
                input.parse::<Token![if]>()?;
                Some(input.parse()?)
            } else {
                None
            };
            input.parse::<Token![=>]>()?;
            let handler = parse_handler(input)?;
            branches.push(Branch { pat, future, precondition, handler });
        }
        Ok(Select { biased, branches, otherwise })
    }
}

/// A handler: an expression, then a comma unless it is a block or the last.
fn parse_handler(input: ParseStream<'_>) -> syn::Result<Expr> {
    let handler: Expr = input.parse()?;
    let block_like = matches!(
        handler,
        Expr::Block(_)
            | Expr::If(_)
            | Expr::Match(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
            | Expr::Unsafe(_)
            | Expr::Async(_)
    );
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    } else if !input.is_empty() && !block_like {
        return Err(input.error("expected `,` after this select! branch's handler"));
    }
    Ok(handler)
}

/// Whether `pat` matches every value (so its branch cannot be disabled by
/// a mismatch). Conservative: unknown shapes count as refutable.
fn irrefutable(pat: &Pat) -> bool {
    match pat {
        Pat::Ident(ident) => ident.subpat.is_none(),
        Pat::Wild(_) => true,
        Pat::Tuple(tuple) => tuple.elems.iter().all(irrefutable),
        Pat::Paren(paren) => irrefutable(&paren.pat),
        Pat::Reference(reference) => irrefutable(&reference.pat),
        Pat::Type(typed) => irrefutable(&typed.pat),
        _ => false,
    }
}

/// `pat` for matching a reference to the value: `ref` and `mut` binding
/// modes removed (the bindings are unused there).
fn clean(pat: &Pat) -> Pat {
    let mut pat = pat.clone();
    clean_in_place(&mut pat);
    pat
}

fn clean_in_place(pat: &mut Pat) {
    match pat {
        Pat::Ident(ident) => {
            ident.by_ref = None;
            ident.mutability = None;
            if let Some((_, sub)) = &mut ident.subpat {
                clean_in_place(sub);
            }
        }
        Pat::Or(or) => or.cases.iter_mut().for_each(clean_in_place),
        Pat::Paren(paren) => clean_in_place(&mut paren.pat),
        Pat::Reference(reference) => {
            reference.mutability = None;
            clean_in_place(&mut reference.pat);
        }
        Pat::Slice(slice) => slice.elems.iter_mut().for_each(clean_in_place),
        Pat::Struct(structure) => structure.fields.iter_mut().for_each(|field| clean_in_place(&mut field.pat)),
        Pat::Tuple(tuple) => tuple.elems.iter_mut().for_each(clean_in_place),
        Pat::TupleStruct(tuple) => tuple.elems.iter_mut().for_each(clean_in_place),
        Pat::Type(typed) => clean_in_place(&mut typed.pat),
        _ => {}
    }
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let select: Select = match syn::parse2(input) {
        Ok(select) => select,
        Err(error) => return error.to_compile_error(),
    };
    let n = select.branches.len();
    if n == 0 {
        return match select.otherwise {
            // Nothing to wait for: the `else` branch runs.
            Some(otherwise) => quote!({ #otherwise }),
            None => {
                syn::Error::new(Span::call_site(), "select! needs at least one `pattern = future => handler` branch")
                    .to_compile_error()
            }
        };
    }
    if select.otherwise.is_none()
        && select.branches.iter().all(|branch| branch.precondition.is_some() || !irrefutable(&branch.pat))
    {
        let first = &select.branches[0].pat;
        return syn::Error::new_spanned(
            first,
            "every branch of this select! can be disabled (by an `if` precondition or a pattern that may not \
             match): add an `else => ...` branch for the case where all are (tokio panics there)",
        )
        .to_compile_error();
    }

    let site = Span::mixed_site();
    let disabled = format_ident!("__corio_disabled", span = site);
    let out = format_ident!("__corio_out", span = site);
    let value = format_ident!("__corio_value", span = site);
    let cx = format_ident!("__corio_cx", span = site);
    let start = format_ident!("__corio_start", span = site);
    let k = format_ident!("__corio_k", span = site);
    let out_enum = format_ident!("__CorioOut", span = site);
    let n_lit = Literal::usize_unsuffixed(n);

    let futures: Vec<_> = (0..n).map(|i| format_ident!("__corio_future_{}", i, span = site)).collect();
    let variants: Vec<_> = (0..n).map(|i| format_ident!("_{}", i, span = site)).collect();
    let generics: Vec<_> = (0..n).map(|i| format_ident!("__T{}", i, span = site)).collect();
    let indices: Vec<_> = (0..n).map(Literal::usize_unsuffixed).collect();

    let preconditions = select.branches.iter().zip(&indices).filter_map(|(branch, i)| {
        branch.precondition.as_ref().map(|cond| quote!(if !(#cond) { #disabled[#i] = true; }))
    });
    let pins = select.branches.iter().zip(&futures).map(|(branch, future)| {
        let expr = &branch.future;
        quote!(let mut #future = ::core::pin::pin!(#expr);)
    });
    let polls = select.branches.iter().enumerate().map(|(i, branch)| {
        let (index, future, variant) = (&indices[i], &futures[i], &variants[i]);
        let cleaned = clean(&branch.pat);
        quote! {
            #index => {
                if !#disabled[#index] {
                    if let ::core::task::Poll::Ready(#value) =
                        ::core::future::Future::poll(#future.as_mut(), #cx)
                    {
                        #disabled[#index] = true;
                        #[allow(unused_variables, unreachable_patterns)]
                        match &#value {
                            #cleaned => {}
                            _ => continue,
                        }
                        return ::core::task::Poll::Ready(#out_enum::#variant(#value));
                    }
                }
            }
        }
    });
    let arms = select.branches.iter().enumerate().map(|(i, branch)| {
        let (pat, handler, variant) = (&branch.pat, &branch.handler, &variants[i]);
        quote!(#out_enum::#variant(#pat) => { #handler })
    });
    let otherwise = match &select.otherwise {
        Some(handler) => quote!(#out_enum::Disabled => { #handler }),
        // Unreachable: some branch can neither be disabled nor mismatch
        // (checked above), and a select! returns once it completes.
        None => {
            quote_spanned!(site=> #out_enum::Disabled => ::core::unreachable!("a select! branch that cannot be disabled"))
        }
    };
    // A refutable pattern leaves the winner's other shapes unmatched (they
    // disabled the branch and never reach here).
    let mismatch = select.branches.iter().any(|branch| !irrefutable(&branch.pat)).then(|| {
        quote_spanned! {site=>
            #[allow(unreachable_patterns)]
            _ => ::core::unreachable!("a select! value that did not match its pattern won")
        }
    });
    let start_expr = if select.biased { quote!(0usize) } else { quote!(::corio::__private::select_start(#n_lit)) };

    quote! {{
        enum #out_enum<#(#generics),*> {
            #(#variants(#generics),)*
            Disabled,
        }
        #[allow(unused_mut)]
        let mut #disabled = [false; #n_lit];
        #(#preconditions)*
        let #out = {
            #(#pins)*
            let #start: usize = #start_expr;
            ::core::future::poll_fn(|#cx: &mut ::core::task::Context<'_>| {
                for #k in 0..#n_lit {
                    match (#start + #k) % #n_lit {
                        #(#polls)*
                        _ => ::core::unreachable!(),
                    }
                }
                if #disabled.iter().all(|d| *d) {
                    ::core::task::Poll::Ready(#out_enum::Disabled)
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await
        };
        match #out {
            #(#arms)*
            #otherwise,
            #mismatch
        }
    }}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(input: TokenStream) -> String {
        let output = expand(input).to_string();
        assert!(output.contains("compile_error"), "expected an error, got {output}");
        output
    }

    #[test]
    fn all_branches_refutable_without_else_is_an_error() {
        let e = error_of(quote!(Some(v) = rx.recv() => v, Ok(x) = other => x));
        assert!(e.contains("add an `else"), "{e}");
        let e = error_of(quote!(v = a, if ready => v));
        assert!(e.contains("add an `else"), "{e}");
    }

    #[test]
    fn an_irrefutable_branch_needs_no_else() {
        let out = expand(quote!(Some(v) = rx.recv() => v, _ = sleep => 0,)).to_string();
        assert!(!out.contains("compile_error"), "{out}");
        let out = expand(quote!(biased; (a, mut b) = pair => a + b)).to_string();
        assert!(!out.contains("compile_error") && !out.contains("select_start"), "{out}");
    }

    #[test]
    fn mistakes_are_errors() {
        assert!(error_of(quote!()).contains("at least one"));
        assert!(error_of(quote!(a = x => 1 b = y => 2)).contains("expected `,`"));
        assert!(error_of(quote!(a = x => 1, else => 2, else => 3)).contains("one `else`"));
    }

    #[test]
    fn binding_modes_are_removed_for_the_match_test() {
        let pat: Pat = syn::parse_quote!(Some((ref mut a, mut b)));
        let cleaned = clean(&pat);
        assert_eq!(quote!(#cleaned).to_string(), quote!(Some((a, b))).to_string());
    }
}
