//! Typed errors for everything that can go wrong at the edges: scenario files,
//! data files, flags and output paths.
//!
//! Every input error names the file, the line (or CSV row), the field, what was
//! expected and what was found, so an analyst can fix a hand-edited file without
//! reading code. Errors are printed in exactly one place (the binary's `main`),
//! and map to documented exit codes: 2 for bad input, 1 for an internal failure.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in an input an error sits. `line` is 1-based; for CSV files it is the
/// physical line of the record (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub field: Option<String>,
}

impl Location {
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Location { file: file.into(), line: None, field: None }
    }
    pub fn at(file: impl Into<PathBuf>, line: Option<usize>, field: impl Into<String>) -> Self {
        Location { file: file.into(), line, field: Some(field.into()) }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value in a scenario or data file is missing, malformed or out of range.
    #[error("{location}: expected {expected}, found {found}")]
    Input { location: Location, expected: String, found: String },

    /// A file (or an output folder to report on) could not be read.
    #[error("{}: expected a file or folder that can be read, found: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },

    /// A command-line flag is invalid.
    #[error("flag `{flag}`: expected {expected}, found {found}")]
    Flag { flag: String, expected: String, found: String },

    /// The output location cannot be used.
    #[error("output `{}`: {reason}", path.display())]
    Output { path: PathBuf, reason: String },

    /// The run would need more memory than the machine has.
    #[error("{0}")]
    Resources(String),

    /// The run was interrupted before it completed.
    #[error("interrupted: {0}")]
    Interrupted(String),

    /// A bug or an unexpected failure inside shareshift.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn input(location: Location, expected: impl Into<String>, found: impl Into<String>) -> Self {
        Error::Input { location, expected: expected.into(), found: found.into() }
    }

    pub fn read(path: &Path, source: std::io::Error) -> Self {
        Error::Read { path: path.to_path_buf(), source }
    }

    pub fn output(path: &Path, reason: impl Into<String>) -> Self {
        Error::Output { path: path.to_path_buf(), reason: reason.into() }
    }

    /// The process exit code for this error: 2 for anything the user can fix in
    /// their input, 1 for internal failures, 130 for an interruption.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input { .. } | Error::Read { .. } | Error::Flag { .. } | Error::Output { .. } => 2,
            Error::Resources(_) => 2,
            Error::Interrupted(_) => 130,
            Error::Internal(_) => 1,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// 1-based line of a byte offset in a text, for errors that carry a span.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}
