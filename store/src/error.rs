//! Why storing or reading a crash failed.

use std::io;
use std::path::PathBuf;

/// An error of the crash store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store directory is unusable (a symlink, not a directory, not ours).
    #[error("the crash store {dir} is unusable: {why}")]
    Unusable {
        /// The directory.
        dir: PathBuf,
        /// What is wrong and what to do.
        why: String,
    },
    /// An I/O error.
    #[error("cannot {what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On what.
        path: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Writing a dump file failed.
    #[error(transparent)]
    Sink(#[from] coroner_capture::SinkError),
    /// The handler's arguments are not what the installed pattern passes.
    #[error("bad crash-handler arguments: {0}")]
    Arguments(String),
    /// The `core_pattern` cannot be built.
    #[error("{0}")]
    Pattern(String),
    /// No stored crash matches.
    #[error("no stored crash matches {0:?}; see `coroner crashes list`")]
    NotFound(String),
    /// Several stored crashes match.
    #[error("{query:?} matches {count} stored crashes; give more of the id")]
    Ambiguous {
        /// What was asked.
        query: String,
        /// How many match.
        count: usize,
    },
    /// A metadata or config file is not valid JSON of the expected shape.
    #[error("{path} is not valid: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
}

impl StoreError {
    pub(crate) fn io(
        what: &'static str,
        path: impl std::fmt::Display,
        source: io::Error,
    ) -> StoreError {
        StoreError::Io {
            what,
            path: path.to_string(),
            source,
        }
    }
}
