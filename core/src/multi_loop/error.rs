//! Why a multi-loop runtime failed.

use crate::runtime::LoopError;
use std::fmt;

/// Why a [`MultiLoop`](super::MultiLoop) failed to run or shut down.
#[derive(Debug)]
#[non_exhaustive]
pub enum MultiLoopError {
    /// Loop `index` failed (for loop 0, also: the main future panicked or
    /// ended cancelled).
    Loop {
        /// Which loop.
        index: usize,
        /// What happened.
        error: LoopError,
    },
    /// The thread of loop `index` panicked outside the loop (in the
    /// function that builds the loop).
    WorkerPanicked {
        /// Which loop.
        index: usize,
    },
}

impl fmt::Display for MultiLoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultiLoopError::Loop { index, error } => write!(f, "loop {index}: {error}"),
            MultiLoopError::WorkerPanicked { index } => write!(f, "the thread of loop {index} panicked"),
        }
    }
}

impl std::error::Error for MultiLoopError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MultiLoopError::Loop { error, .. } => Some(error),
            MultiLoopError::WorkerPanicked { .. } => None,
        }
    }
}
