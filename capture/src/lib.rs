//! Capture live Linux processes as ELF cores (the way the kernel writes them)
//! or minidumps, and convert between the two.
//!
//! Layers, each usable alone:
//! - [`select`]: which memory of each mapping is dumped (the kernel's
//!   `vma_dump_size` rules, `--filter`, `--all`, `--exclude`), pure functions.
//! - [`snapshot`]: a format-neutral description of a frozen process
//!   (process facts, threads with registers, mappings with what to dump).
//! - [`live`]: taking a [`snapshot::Snapshot`] of a live process with
//!   proc-reader, and its memory as a source for the format writers.
//! - [`elf`]: a snapshot as an ELF core (core-format's writer).
//! - [`sink`]: where the bytes go (atomic, 0600, sparse file; or a stream).
//! - [`inspect`]: a summary of an ELF core (ours, the kernel's, gdb's) or of
//!   a minidump (ours, minidump-writer's, Breakpad's).
//! - [`minidump`]: a live process as a minidump ([`capture_minidump`]), built
//!   beside [`elf`] from the same [`live`], [`select`] and [`sink`].
//! - [`convert`]: ELF core ↔ minidump.
//! - [`cow_copy`]: `--snapshot`, the dump written from a copy-on-write copy
//!   the target makes of itself, so it is frozen for milliseconds.
//!
//! Inspecting and converting dumps builds on any OS; live capture
//! ([`live`], [`capture_elf`], [`capture_minidump`]) only on Linux.
//!
//! Capture a process (here a child of ours, so ptrace is allowed) and read
//! the core back:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use coroner_capture::{capture_elf, inspect::Summary, sink::Sink, CaptureOptions};
//! let mut child = std::process::Command::new("sleep").arg("30").spawn()?;
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join(format!("core.{}", child.id()));
//! let sink = Sink::create(&path, false)?;
//! let captured = capture_elf(child.id(), sink, &CaptureOptions::default(), &mut |_done, _total| {});
//! child.kill()?;
//! child.wait()?;
//! let report = captured?;
//! assert_eq!(report.path.as_deref(), Some(path.as_path()));
//! let summary = Summary::from_file(&path)?;
//! assert_eq!(summary.threads.len(), report.threads);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

/// The README's examples, compiled and run as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

// Reading, inspecting and converting dumps is file work and builds on any OS;
// capturing a live process (proc-reader's ptrace and /proc access) is
// Linux-only.
#[cfg(target_os = "linux")]
mod backing;
pub mod convert;
#[cfg(target_os = "linux")]
pub mod cow_copy;
mod direct;
pub mod elf;
#[cfg(test)]
mod format_agreement;
pub mod inspect;
#[cfg(target_os = "linux")]
pub mod live;
pub mod minidump;
mod os;
#[cfg(target_os = "linux")]
pub mod output_path;
mod ranges;
pub mod select;
pub mod sink;
pub mod snapshot;
mod staging;
pub mod truncated;
mod write_behind;

use std::path::PathBuf;
use std::time::Duration;

#[cfg(target_os = "linux")]
pub use elf::capture_elf;
#[cfg(target_os = "linux")]
pub use minidump::capture_minidump;
pub use minidump::MemoryMode;

/// Why a capture, a conversion or a read of a dump failed.
///
/// Every variant that wraps another error keeps it as its
/// [`source`](std::error::Error::source), so a caller can walk the chain
/// (for example to find the OS error code of a failed write). Messages say
/// what failed and where; they do not name any command-line option: that
/// advice is the caller's to give.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// Reading the process failed (permission, gone, ptrace …); the message
    /// says which and how to fix it.
    #[error(transparent)]
    Process(#[from] coroner_proc_reader::Error),
    /// The process exited, or was killed, after the capture had started; the
    /// source is the error this caused.
    #[error(
        "process {pid} exited during the capture (it ended, or was killed, while being dumped)"
    )]
    ExitedDuringCapture {
        /// The process.
        pid: u32,
        /// The failure its exit caused (often a failed memory read).
        #[source]
        source: Box<CaptureError>,
    },
    /// The output could not be created or completed.
    #[error(transparent)]
    Sink(#[from] sink::SinkError),
    /// The ELF writer failed (I/O on the output, or an inconsistent model).
    #[error("writing the core file: {0}")]
    Write(#[from] coroner_core_format::WriteError),
    /// The minidump writer failed (I/O on the output, or a layout that does
    /// not fit the format's 32-bit fields).
    #[error("writing the minidump: {0}")]
    MinidumpWrite(#[from] coroner_minidump_format::WriteError),
    /// The dump to convert could not be read.
    #[error(transparent)]
    Convert(#[from] convert::ConvertError),
    /// Memory could not be read while planning a dump (from the live process
    /// or from the dump being converted).
    #[error("reading memory for the dump: {source}")]
    Memory {
        /// The error of the memory source.
        #[source]
        source: std::io::Error,
    },
    /// The input is neither an ELF core nor a minidump.
    #[error(
        "not a dump: neither an ELF core (starts with \\x7fELF) nor a minidump (starts with MDMP)"
    )]
    NotADump,
    /// The input is already in the format asked for.
    #[error("the input is already {}; nothing to convert", match format {
        convert::DumpFormat::Elf => "an ELF core",
        convert::DumpFormat::Minidump => "a minidump",
    })]
    AlreadyInFormat {
        /// The input's (and requested) format.
        format: convert::DumpFormat,
    },
    /// The input parses but lacks, or has unusable, data the output needs.
    #[error("the input dump cannot be converted: {what}")]
    Incomplete {
        /// What is missing or unusable.
        what: String,
    },
    /// A copy-on-write copy was required ([`cow_copy::CowMode::Require`])
    /// and could not be made; the target is as it was.
    #[error("no copy-on-write copy of the process was made: {reason}")]
    CopyRefused {
        /// Why.
        reason: String,
    },
    /// Something this build does not handle (a CPU architecture, a register
    /// layout).
    #[error("unsupported: {what}")]
    Unsupported {
        /// What.
        what: String,
    },
}

impl CaptureError {
    /// Whether this is a failure to write the output (a full disk, a closed
    /// pipe, an output that cannot be created), as opposed to a failure to
    /// read the process or the input dump. A writer's failure to read the
    /// memory it copies is about the input.
    pub fn is_about_output(&self) -> bool {
        use coroner_core_format::WriteError as CoreWrite;
        use coroner_minidump_format::WriteError as MinidumpWrite;
        match self {
            CaptureError::Sink(_) => true,
            CaptureError::Write(w) => !matches!(w, CoreWrite::Memory { .. }),
            CaptureError::MinidumpWrite(w) => !matches!(
                w,
                MinidumpWrite::Source { .. } | MinidumpWrite::SourceOverread { .. }
            ),
            _ => false,
        }
    }

    /// A memory source's error: the process error it carries when it came
    /// from a live process (so that "gone" or "permission denied" keeps its
    /// type), else [`CaptureError::Memory`].
    pub(crate) fn from_memory(source: std::io::Error) -> CaptureError {
        if source
            .get_ref()
            .is_some_and(|e| e.is::<coroner_proc_reader::Error>())
        {
            if let Some(inner) = source.into_inner() {
                if let Ok(e) = inner.downcast::<coroner_proc_reader::Error>() {
                    return CaptureError::Process(*e);
                }
            }
            unreachable!("checked above that the io::Error holds a process error");
        }
        CaptureError::Memory { source }
    }

    /// `self`, or [`CaptureError::ExitedDuringCapture`] around it when
    /// `process` has exited (or become a zombie) meanwhile: that exit is
    /// then the cause, whatever error the capture met first.
    #[cfg(target_os = "linux")]
    pub(crate) fn blame_exit(self, process: &coroner_proc_reader::Process) -> CaptureError {
        if matches!(self, CaptureError::ExitedDuringCapture { .. }) {
            return self;
        }
        match process.zombie() {
            Some(false) => self,
            None | Some(true) => CaptureError::ExitedDuringCapture {
                pid: process.pid(),
                source: Box::new(self),
            },
        }
    }
}

/// How to capture.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// Which memory to dump.
    pub selection: select::Selection,
    /// Size of the one buffer memory is copied through (default 4 MiB).
    pub buffer_size: usize,
    /// Whether to dump a copy-on-write copy of the target instead of
    /// holding it frozen (`--snapshot`); Linux x86_64 only.
    #[cfg(target_os = "linux")]
    pub cow: cow_copy::CowMode,
}

impl Default for CaptureOptions {
    fn default() -> CaptureOptions {
        CaptureOptions {
            selection: select::Selection::default(),
            buffer_size: 4 << 20,
            #[cfg(target_os = "linux")]
            cow: cow_copy::CowMode::default(),
        }
    }
}

/// What a capture did.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureReport {
    /// The process.
    pub pid: u32,
    /// Final path (`None` for a stream).
    pub path: Option<PathBuf>,
    /// Threads written.
    pub threads: usize,
    /// Mappings (each one has a program header).
    pub mappings: usize,
    /// Mappings with bytes in the dump.
    pub mappings_dumped: usize,
    /// Logical size of the output.
    pub bytes_written: u64,
    /// Bytes the output occupies on disk.
    pub bytes_allocated: u64,
    /// Bytes of target memory read.
    pub memory_bytes_read: u64,
    /// Wall time from start to the file being in place.
    pub wall: Duration,
    /// Time the target was stopped.
    pub frozen: Duration,
    /// Non-fatal problems (threads that vanished, unreadable registers …).
    pub warnings: Vec<String>,
    /// Whether the dump came from a copy-on-write copy, or why not.
    #[cfg(target_os = "linux")]
    pub copy: cow_copy::CowReport,
}
