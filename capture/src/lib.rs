//! Capture live Linux processes as ELF cores (the way the kernel writes them)
//! or minidumps, and convert between the two.
//!
//! The public surface is this crate root, plus the [`inspect`] module:
//! - capture: [`capture_elf`], [`capture_minidump`] (Linux only), with
//!   [`CaptureOptions`] (which memory: [`Selection`]; `--snapshot`:
//!   [`CowMode`]; an optional [`Progress`] callback) and a
//!   [`CaptureReport`];
//! - output: [`Sink`], an atomic, 0600, sparse file, or any stream;
//! - conversion: [`convert_file`] and its kin, ELF core ↔ minidump, with
//!   [`ConvertOptions`] and a [`ConvertReport`];
//! - reading: [`inspect::Summary`] of an ELF core (ours, the kernel's,
//!   gdb's) or a minidump (ours, minidump-writer's, Breakpad's).
//!
//! Inside, both formats are written from one format-neutral snapshot of
//! the process (threads with registers, the stop signal, mappings with
//! what to dump of each): a live capture takes it from proc-reader while
//! the target is frozen, a conversion reads it from the input dump, and one
//! function per format writes it.
//!
//! Inspecting and converting dumps builds on any OS; live capture
//! ([`capture_elf`], [`capture_minidump`]) only on Linux.
//!
//! Capture a process (here a child of ours, so ptrace is allowed) and read
//! the core back:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use coroner_capture::{capture_elf, inspect::Summary, CaptureOptions, Sink};
//! let mut child = std::process::Command::new("sleep").arg("30").spawn()?;
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join(format!("core.{}", child.id()));
//! let sink = Sink::create(&path, false)?;
//! let options = CaptureOptions::default().with_buffer_size(1 << 20);
//! let captured = capture_elf(child.id(), sink, &options);
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
// Linux-only. Every module but `inspect` is internal: what a user needs of
// them is re-exported below.
#[cfg(target_os = "linux")]
mod backing;
#[cfg(target_os = "linux")]
mod byte_runs;
mod convert;
#[cfg(target_os = "linux")]
mod cow_copy;
mod direct;
mod elf;
#[cfg(test)]
mod format_agreement;
pub mod inspect;
#[cfg(target_os = "linux")]
mod live;
#[cfg(target_os = "linux")]
mod made_ahead;
mod minidump;
mod options;
mod os;
#[cfg(target_os = "linux")]
mod output_path;
#[cfg(target_os = "linux")]
mod pre_copy;
mod progress;
mod ranges;
mod select;
mod sink;
mod snapshot;
mod staging;
// Only the tests that capture the C target of the unpublished
// coroner-test-support use it.
#[cfg(all(test, target_os = "linux", coroner_repo_tests))]
mod test_snapshot;
mod truncated;
mod write_behind;

pub use convert::{
    convert_bytes, convert_bytes_with, convert_file, convert_file_with, ConvertError,
    ConvertOptions, ConvertReport, DumpFormat,
};
#[cfg(target_os = "linux")]
pub use cow_copy::{CowMode, CowReport};
#[cfg(target_os = "linux")]
pub use elf::capture_elf;
#[cfg(target_os = "linux")]
pub use made_ahead::MadeAhead;
#[cfg(target_os = "linux")]
pub use minidump::capture_minidump;
pub use minidump::host_file::Sysroot;
pub use minidump::MemoryMode;
pub use options::{CaptureOptions, CaptureReport};
#[cfg(target_os = "linux")]
pub use output_path::{choose as choose_output_path, OutputChoice, OutputPath};
#[cfg(target_os = "linux")]
pub use pre_copy::{pre_copy_refusal, PreCopyReport};
pub use progress::{Phase, Progress, ProgressFn};
pub use select::{parse_filter, CoredumpFilter, Exclude, ExcludeParseError, Selection};
pub use sink::{free_space, Sink, SinkError, SinkReport};
pub use truncated::Truncation;

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
    Sink(#[from] SinkError),
    /// The ELF writer failed (I/O on the output, or an inconsistent model).
    #[error("writing the core file: {0}")]
    Write(#[from] coroner_core_format::WriteError),
    /// The minidump writer failed (I/O on the output, or a layout that does
    /// not fit the format's 32-bit fields).
    #[error("writing the minidump: {0}")]
    MinidumpWrite(#[from] coroner_minidump_format::WriteError),
    /// The dump to convert could not be read.
    #[error(transparent)]
    Convert(#[from] ConvertError),
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
        DumpFormat::Elf => "an ELF core",
        DumpFormat::Minidump => "a minidump",
    })]
    AlreadyInFormat {
        /// The input's (and requested) format.
        format: DumpFormat,
    },
    /// The input parses but lacks, or has unusable, data the output needs.
    #[error("the input dump cannot be converted: {what}")]
    Incomplete {
        /// What is missing or unusable.
        what: String,
    },
    /// A copy-on-write copy was required ([`CowMode::Require`])
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
            CaptureError::Write(w) => !matches!(
                w,
                CoreWrite::Memory { .. } | CoreWrite::SourceOverread { .. }
            ),
            CaptureError::MinidumpWrite(w) => !matches!(
                w,
                MinidumpWrite::Memory { .. } | MinidumpWrite::SourceOverread { .. }
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
