//! Why no backtraces could be produced at all. Problems with single modules
//! or threads do not fail the whole: they are reported next to them.

use std::io;
use std::path::PathBuf;

/// Why `stacks_of_*` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// The input file could not be opened or read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The file is neither an ELF core nor a minidump.
    #[error("{path} is neither an ELF core file nor a minidump (its first bytes are neither \\x7fELF nor MDMP)")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The ELF core is malformed.
    #[error("{path} is not a readable ELF core file: {source}")]
    Core {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: coroner_core_format::read::FileError,
    },
    /// The minidump is malformed.
    #[error("{path} is not a readable minidump: {source}")]
    Minidump {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: coroner_minidump_format::read::FileError,
    },
    /// A part of a dump needed for backtraces is malformed.
    #[error("{path}: {what}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The part.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The architecture has no unwinder here.
    #[error("{what}: unwinding is implemented for x86_64 and aarch64 only")]
    UnsupportedArch {
        /// What the input says.
        what: String,
    },
    /// The live process could not be read or frozen.
    #[cfg(target_os = "linux")]
    #[error("process {pid}: {source}")]
    Process {
        /// The process id.
        pid: u32,
        /// What went wrong (permission, process gone …).
        #[source]
        source: coroner_proc_reader::Error,
    },
    /// `--thread` named a thread the input does not have.
    #[error("thread {tid} is not in the input (it has {available})")]
    NoSuchThread {
        /// The thread asked for.
        tid: u32,
        /// The thread ids there are.
        available: String,
    },
}
