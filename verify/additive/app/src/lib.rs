//! An application's view of corio when one of its dependencies
//! (`corio-additive-lib`) enables more backends: its tests
//! (`tests/default_is_native.rs`) check that the extra features made those
//! backends available and changed nothing about the one the application
//! runs. Being workspace members, the two crates also build the facade
//! with every backend during `cargo test --workspace`, so the facade's own
//! backend tests cover all of them there.
