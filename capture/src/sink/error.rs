//! Why a sink failed, and what a finished one produced.

use std::io;
use std::path::PathBuf;

/// Why the output could not be created or completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The destination exists and `force` was not given.
    #[error("{path} already exists")]
    Exists {
        /// The destination.
        path: PathBuf,
    },
    /// The destination is a symbolic link.
    #[error("{path} is a symbolic link; a dump is never written through one")]
    Symlink {
        /// The destination.
        path: PathBuf,
    },
    /// The destination is a directory or other non-file.
    #[error("{path} is not a regular file")]
    NotAFile {
        /// The destination.
        path: PathBuf,
    },
    /// The temporary file could not be created in the destination's directory.
    #[error("cannot create a file in {dir}: {source}")]
    CreateTemp {
        /// The directory.
        dir: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// An I/O error on a named file.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done ("create", "write", "fsync", "rename" …).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The flag given to [`Sink::stop_when`](super::Sink::stop_when) was set before the output was
    /// complete; a file output was removed, a stream holds a partial dump.
    #[error("stopped before the output was complete (stop code {code})")]
    Stopped {
        /// The value the flag held (the CLI stores the signal number).
        code: usize,
    },
    /// [`Sink::spill`](super::Sink::spill) needs a file system with unnamed temporary files.
    #[error("cannot spill into {dir}: {source}; give a directory on a local file system (ext4, xfs, btrfs, tmpfs) or stream directly")]
    NoSpill {
        /// The directory.
        dir: PathBuf,
        /// Why `O_TMPFILE` failed there.
        #[source]
        source: io::Error,
    },
}

/// What a finished sink produced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkReport {
    /// The final path, `None` for a stream.
    pub path: Option<PathBuf>,
    /// Logical size of the output (data + holes).
    pub bytes_written: u64,
    /// Bytes the file occupies on disk (`st_blocks * 512`); for a stream, the
    /// bytes written.
    pub bytes_allocated: u64,
}
