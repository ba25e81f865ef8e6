//! corio's verification suites. Everything is in `tests/`:
//!
//! * `loom_*.rs` — loom models of the task state machine, the wake path and
//!   the loop's park/unpark (`RUSTFLAGS="--cfg corio_loom"`, release build).
//! * `prop_*.rs` — proptest properties against executable reference models.
//! * `mock_*.rs` — mockall call contracts of the loop against its traits.
//!
//! `mutants.sh` plants each known bug (a patch in `mutants/`) and requires
//! the check that targets it to fail. See `docs/verification.md`.
