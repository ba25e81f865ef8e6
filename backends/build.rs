//! Turns the environment variable `CORIO_MUTANT=<name>` into the cfg
//! `corio_mutant = "<name>"`, which plants one known bug (see
//! `verify/mutants.sh`), for corio-backends as for corio-core.
//!
//! A cfg set through `RUSTFLAGS` changes the flags of every crate in the graph,
//! so each mutant would rebuild all dependencies. Going through this build
//! script rebuilds only corio-core and its dependents, which keeps the mutant
//! script (one build per planted bug) fast. The loom build itself uses
//! `RUSTFLAGS="--cfg corio_loom"` because it also selects loom as a dependency.

fn main() {
    println!("cargo:rerun-if-env-changed=CORIO_MUTANT");
    if let Ok(name) = std::env::var("CORIO_MUTANT") {
        if !name.is_empty() {
            println!("cargo:rustc-cfg=corio_mutant=\"{name}\"");
        }
    }
}
