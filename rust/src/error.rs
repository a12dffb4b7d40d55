//! The core's one error type.
//!
//! Parsing is total (see `trace.rs`): malformed text never becomes an `Error`, it becomes an
//! [`crate::trace::Issue`]. Errors are reserved for misuse of the API (an argument out of range),
//! and the Python binding maps each variant to one exception class in `py.rs`.

use std::fmt;

/// Everything that can go wrong in the core when it is called wrongly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// An argument is out of its valid range; `name` is the argument's name as the user wrote it.
    InvalidArgument { name: &'static str, message: String },
    /// A file the core reads or writes itself (LSH spill files) failed.
    Io { message: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument { name, message } => write!(f, "invalid `{name}`: {message}"),
            Error::Io { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// The core's result alias.
pub type Result<T> = std::result::Result<T, Error>;
