//! asyncio's stream exceptions as typed errors.

use std::fmt;
use std::io;

/// The stream ended before the read was satisfied (asyncio's
/// `IncompleteReadError`): `partial` holds the bytes read before the end,
/// which the reader no longer has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    /// What was read before the stream ended.
    pub partial: Vec<u8>,
    /// How many bytes were expected (`None` for `readuntil`).
    pub expected: Option<usize>,
}

impl fmt::Display for IncompleteReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expected {
            Some(n) => write!(f, "{} bytes read on a total of {n} expected bytes", self.partial.len()),
            None => write!(f, "{} bytes read on a total of undefined expected bytes", self.partial.len()),
        }
    }
}

impl std::error::Error for IncompleteReadError {}

/// The separator was not found within the reader's limit (asyncio's
/// `LimitOverrunError`). The data stays in the reader's buffer; `consumed`
/// is how many bytes can be taken (with `read`/`readexactly`) before
/// looking again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOverrunError {
    /// asyncio's message: "Separator is found, but chunk is longer than
    /// limit" or "Separator is not found, and chunk exceed the limit".
    pub message: &'static str,
    /// How many bytes to consume before retrying.
    pub consumed: usize,
}

impl fmt::Display for LimitOverrunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} bytes)", self.message, self.consumed)
    }
}

impl std::error::Error for LimitOverrunError {}

/// Why a `readuntil`, `readline` or `readexactly` failed.
///
/// Converts into `io::Error` for `?` in I/O code: `Incomplete` as
/// `UnexpectedEof`, `LimitOverrun` as `InvalidData` (each carrying the
/// typed error), `Io` as itself (so a cancellation stays one).
#[derive(Debug)]
pub enum ReadError {
    /// The stream ended first.
    Incomplete(IncompleteReadError),
    /// The separator was not found within the limit.
    LimitOverrun(LimitOverrunError),
    /// The connection failed, the input was invalid, or the task was
    /// cancelled (an error carrying its `Cancelled`).
    Io(io::Error),
}

impl ReadError {
    /// The partial data of an `Incomplete` error.
    pub fn partial(&self) -> Option<&[u8]> {
        match self {
            ReadError::Incomplete(err) => Some(&err.partial),
            _ => None,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Incomplete(err) => err.fmt(f),
            ReadError::LimitOverrun(err) => err.fmt(f),
            ReadError::Io(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Incomplete(err) => Some(err),
            ReadError::LimitOverrun(err) => Some(err),
            ReadError::Io(err) => Some(err),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(err: io::Error) -> ReadError {
        ReadError::Io(err)
    }
}

impl From<crate::task::Cancelled> for ReadError {
    fn from(cancelled: crate::task::Cancelled) -> ReadError {
        ReadError::Io(cancelled.into())
    }
}

impl From<ReadError> for io::Error {
    fn from(err: ReadError) -> io::Error {
        match err {
            ReadError::Incomplete(err) => io::Error::new(io::ErrorKind::UnexpectedEof, err),
            ReadError::LimitOverrun(err) => io::Error::new(io::ErrorKind::InvalidData, err),
            ReadError::Io(err) => err,
        }
    }
}
