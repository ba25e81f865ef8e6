//! corio's reactor backends.
#![warn(missing_docs)]
