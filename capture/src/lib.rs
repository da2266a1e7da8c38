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
mod direct;
pub mod elf;
pub mod inspect;
#[cfg(target_os = "linux")]
pub mod live;
pub mod minidump;
mod os;
mod ranges;
pub mod select;
pub mod sink;
pub mod snapshot;
pub mod truncated;

use std::path::PathBuf;
use std::time::Duration;

#[cfg(target_os = "linux")]
pub use elf::capture_elf;
#[cfg(target_os = "linux")]
pub use minidump::capture_minidump;
pub use minidump::MemoryMode;

/// Why a capture failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// Reading the process failed (permission, gone, ptrace …); the message
    /// says which and how to fix it.
    #[error(transparent)]
    Process(#[from] coroner_proc_reader::Error),
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
    /// Something this build does not handle.
    #[error("unsupported: {what}")]
    Unsupported {
        /// What.
        what: String,
    },
}

/// How to capture.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// Which memory to dump.
    pub selection: select::Selection,
    /// Size of the one buffer memory is copied through (default 4 MiB).
    pub buffer_size: usize,
}

impl Default for CaptureOptions {
    fn default() -> CaptureOptions {
        CaptureOptions {
            selection: select::Selection::default(),
            buffer_size: 4 << 20,
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
}
