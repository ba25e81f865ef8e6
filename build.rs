//! Turns `CORIO_MUTANT=<name>` into the cfg `corio_mutant = "<name>"` for
//! the facade too (its bridges, `src/hyper/`, plant mutants of their own);
//! see `core/build.rs` and `verify/mutants.sh`.

fn main() {
    println!("cargo:rerun-if-env-changed=CORIO_MUTANT");
    if let Ok(name) = std::env::var("CORIO_MUTANT") {
        if !name.is_empty() {
            println!("cargo:rustc-cfg=corio_mutant=\"{name}\"");
        }
    }
}
