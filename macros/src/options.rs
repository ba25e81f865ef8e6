//! The options of `#[corio::main(...)]` and `#[corio::test(...)]`, parsed
//! and checked: every mistake is a `syn::Error` pointing at the offending
//! tokens, which the caller turns into a `compile_error!`.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, Meta, Token};

/// Which macro the options belong to (the options differ).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Main => "#[corio::main]",
            Kind::Test => "#[corio::test]",
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Kind::Main => "`loops = N`, `multi_loop` or `backend = \"...\"`",
            Kind::Test => "`virtual_time`, `seed = N`, `loops = N`, `multi_loop` or `backend = \"...\"`",
        }
    }
}

/// How many loops the runtime has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loops {
    /// One loop on the calling thread (`corio::run`).
    One,
    /// A multi-loop runtime of this many loops.
    Count(usize),
    /// A multi-loop runtime of one loop per core.
    PerCore,
}

/// The backends `backend = "..."` takes, with the `corio::Backend`
/// variant each names.
pub(crate) const BACKENDS: [(&str, &str); 5] =
    [("epoll", "Epoll"), ("uring", "Uring"), ("kqueue", "Kqueue"), ("portable", "Portable"), ("mock", "Mock")];

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) loops: Loops,
    pub(crate) virtual_time: bool,
    pub(crate) seed: Option<u64>,
    /// The `corio::Backend` variant `backend = "..."` names.
    pub(crate) backend: Option<&'static str>,
}

/// Parses the attribute's arguments for `kind`.
pub(crate) fn parse(kind: Kind, args: TokenStream) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut options = Options { loops: Loops::One, virtual_time: false, seed: None, backend: None };
    let mut loops_span: Option<Span> = None;
    let mut seen: Vec<String> = Vec::new();
    for meta in metas {
        let name = meta.path().get_ident().map(ToString::to_string).unwrap_or_default();
        let span = syn::spanned::Spanned::span(&meta);
        if seen.contains(&name) {
            return Err(syn::Error::new(span, format!("`{name}` is given twice")));
        }
        seen.push(name.clone());
        match (name.as_str(), &meta, kind) {
            ("loops", Meta::NameValue(nv), _) => {
                let loops = integer(&nv.value, "loops", "loops = 4")?;
                if loops == 0 {
                    return Err(syn::Error::new_spanned(&nv.value, "`loops` must be at least 1"));
                }
                let loops = usize::try_from(loops)
                    .map_err(|_| syn::Error::new_spanned(&nv.value, "`loops` is too large for this target"))?;
                exclusive(&mut loops_span, span)?;
                options.loops = Loops::Count(loops);
            }
            ("multi_loop", Meta::Path(_), _) => {
                exclusive(&mut loops_span, span)?;
                options.loops = Loops::PerCore;
            }
            ("backend", Meta::NameValue(nv), _) => options.backend = Some(backend(&nv.value)?),
            ("backend", _, _) => {
                return Err(syn::Error::new(span, "`backend` takes a value, e.g. `backend = \"uring\"`"));
            }
            ("virtual_time", Meta::Path(_), Kind::Test) => options.virtual_time = true,
            ("seed", Meta::NameValue(nv), Kind::Test) => options.seed = Some(integer(&nv.value, "seed", "seed = 7")?),
            ("loops" | "seed", _, _) if kind == Kind::Test || name == "loops" => {
                return Err(syn::Error::new(span, format!("`{name}` takes a value, e.g. `{name} = 4`")));
            }
            ("multi_loop" | "virtual_time", _, _) if kind == Kind::Test || name == "multi_loop" => {
                return Err(syn::Error::new(span, format!("`{name}` takes no value")));
            }
            ("virtual_time" | "seed", _, Kind::Main) => {
                return Err(syn::Error::new(
                    span,
                    format!("`{name}` is a #[corio::test] option; #[corio::main] takes {}", kind.expected()),
                ));
            }
            _ => {
                return Err(syn::Error::new(
                    span,
                    format!("unknown option for {}; expected {}", kind.name(), kind.expected()),
                ));
            }
        }
    }
    if options.loops != Loops::One && (options.virtual_time || options.seed.is_some()) {
        return Err(syn::Error::new(
            loops_span.unwrap_or_else(Span::call_site),
            "`virtual_time` and `seed` apply to a single loop; they cannot be combined with `loops` or `multi_loop`",
        ));
    }
    Ok(options)
}

/// `loops = N` and `multi_loop` say the same thing: only one may appear.
fn exclusive(loops_span: &mut Option<Span>, span: Span) -> syn::Result<()> {
    if loops_span.replace(span).is_some() {
        return Err(syn::Error::new(span, "give either `loops = N` or `multi_loop`, not both"));
    }
    Ok(())
}

/// `backend = "uring"`: one of the five names, as its `corio::Backend`
/// variant. Whether the build has it is checked where the expansion is
/// compiled (a `const` that fails with the list of compiled-in backends).
fn backend(value: &Expr) -> syn::Result<&'static str> {
    let Expr::Lit(ExprLit { lit: Lit::Str(name), .. }) = value else {
        return Err(syn::Error::new_spanned(value, "`backend` takes a string literal, e.g. `backend = \"uring\"`"));
    };
    let name = name.value();
    BACKENDS.iter().find(|(known, _)| *known == name).map(|(_, variant)| *variant).ok_or_else(|| {
        let names: Vec<String> = BACKENDS.iter().map(|(known, _)| format!("\"{known}\"")).collect();
        syn::Error::new_spanned(value, format!("unknown backend {name:?}; the backends are {}", names.join(", ")))
    })
}

fn integer(value: &Expr, name: &str, example: &str) -> syn::Result<u64> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Int(int), .. }) => int.base10_parse::<u64>(),
        _ => Err(syn::Error::new_spanned(value, format!("`{name}` takes an integer literal, e.g. `{example}`"))),
    }
}
