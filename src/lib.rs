//! corio facade.
pub use corio_core::*;
