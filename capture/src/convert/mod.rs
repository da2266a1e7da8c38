//! Conversion between the two dump formats.
//!
//! - ELF core → minidump: threads (registers, FP state), modules with
//!   build-ids read from the core's memory (else, only when the caller gives
//!   a [`Sysroot`], from the file under it), Maps,
//!   Auxv, CmdLine, ProcStatus (pid, name) and DsoDebug derived from the
//!   notes and memory, the Exception from `NT_SIGINFO`, memory per
//!   [`MemoryMode`], built by the same [`crate::minidump::build`] code as a
//!   live capture.
//! - minidump → ELF core: the minidump read into a snapshot (threads, the
//!   crashing/requesting one first, process facts, the Linux streams, every
//!   memory range of both memory lists as a mapping with its flags from
//!   Maps), written by the same ELF writer path as a live capture:
//!   one `NT_PRSTATUS` (+ `NT_FPREGSET`) per thread, `NT_PRPSINFO`,
//!   `NT_SIGINFO`, `NT_AUXV`, `NT_FILE` from the Maps stream, a `PT_LOAD` per
//!   range.
//!
//! Both directions are reader → [`Snapshot`](crate::snapshot::Snapshot) →
//! writer, through the code a live capture of that format uses.
//!
//! The input is not loaded: its headers, notes and streams are read once,
//! and memory is read from the file range by range as the output is
//! written, so converting a dump larger than RAM takes a few megabytes
//! (core-format's [`CoreFile`], minidump-format's [`MinidumpFile`]). The
//! output goes through a [`Sink`] (atomic, 0600, sparse).

mod from_core;
mod to_core;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use coroner_core_format::read::CoreFile;
use coroner_minidump_format::read::MinidumpFile;

use crate::minidump::host_file::Sysroot;
use crate::minidump::MemoryMode;
use crate::sink::Sink;
use crate::truncated::Truncation;
use crate::CaptureError;
use from_core::elf_to_minidump;
use to_core::minidump_to_elf;

/// A dump format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpFormat {
    /// ELF core file.
    Elf,
    /// Minidump.
    Minidump,
}

impl DumpFormat {
    /// Recognise a dump by its first bytes.
    ///
    /// ```
    /// use coroner_capture::DumpFormat;
    /// assert_eq!(DumpFormat::detect(b"MDMP\x93\xa7"), Some(DumpFormat::Minidump));
    /// assert_eq!(DumpFormat::detect(b"\x7fELF\x02"), Some(DumpFormat::Elf));
    /// assert_eq!(DumpFormat::detect(b"PK"), None);
    /// ```
    pub fn detect(head: &[u8]) -> Option<DumpFormat> {
        if head.starts_with(b"\x7fELF") {
            Some(DumpFormat::Elf)
        } else if head.starts_with(b"MDMP") {
            Some(DumpFormat::Minidump)
        } else {
            None
        }
    }
}

/// What a conversion did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConvertReport {
    /// Input format.
    pub from: DumpFormat,
    /// Output format.
    pub to: DumpFormat,
    /// Threads written.
    pub threads: usize,
    /// Memory ranges (minidump) or `PT_LOAD`s (ELF) written.
    pub memory_ranges: usize,
    /// Logical size of the output.
    pub bytes_written: u64,
    /// Bytes the output occupies on disk.
    pub bytes_allocated: u64,
    /// What the input lacked when it was truncated and
    /// [`ConvertOptions::allow_truncated`] let it through: that memory is
    /// not in the output (absent from a minidump's memory lists; `PT_LOAD`s
    /// with no file data in an ELF core, which debuggers report as
    /// unreadable).
    pub truncation: Option<Truncation>,
}

/// Why a dump could not be read for conversion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The input could not be opened or its type found.
    #[error("opening the input")]
    Open {
        /// The input.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The input is a directory, a pipe, a device …: conversion reads
    /// parts of the file in any order, which needs a regular file.
    #[error("the input is {kind}, not a regular file: conversion reads a dump file at random offsets; save the dump to a file first")]
    NotRegularFile {
        /// The input.
        path: PathBuf,
        /// What it is ("a directory", "a character device" …).
        kind: &'static str,
    },
    /// Reading the ELF core failed.
    #[error("reading the ELF core")]
    Elf(#[source] coroner_core_format::read::FileError),
    /// Reading the minidump failed.
    #[error("reading the minidump")]
    Minidump(#[source] coroner_minidump_format::read::FileError),
    /// The input is truncated and [`ConvertOptions::allow_truncated`] is off.
    #[error("{}; nothing was written", truncation.describe())]
    Truncated {
        /// What is missing.
        truncation: Truncation,
    },
}

/// What kind of file `ft` is, for messages.
#[cfg(unix)]
fn file_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_fifo() {
        "a pipe (FIFO)"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// What kind of file `ft` is, for messages.
#[cfg(not(unix))]
fn file_kind(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// How to convert.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConvertOptions {
    /// Output format (default: the other one).
    pub to: Option<DumpFormat>,
    /// Memory of a minidump output.
    pub memory: MemoryMode,
    /// Where to look for the files a dump names (for build-ids missing from
    /// its memory). `None`, the default, opens no host file at all: a dump
    /// is untrusted, and the paths in it are whatever its author wrote.
    /// With a sysroot, only regular files under it are opened, without
    /// blocking (see [`Sysroot`]).
    pub sysroot: Option<Sysroot>,
    /// Convert a truncated input: what it holds is converted, and what it
    /// lacks is reported in [`ConvertReport::truncation`] and marked in the
    /// output as not dumped. Off by default: a truncated input is refused
    /// with [`ConvertError::Truncated`].
    pub allow_truncated: bool,
}

impl ConvertOptions {
    /// Options with the output format `to` and minidump memory `memory`.
    pub fn new(to: Option<DumpFormat>, memory: MemoryMode) -> ConvertOptions {
        ConvertOptions {
            to,
            memory,
            sysroot: None,
            allow_truncated: false,
        }
    }

    /// Convert a truncated input (see [`ConvertOptions::allow_truncated`]).
    #[must_use]
    pub fn with_allow_truncated(mut self, allow: bool) -> ConvertOptions {
        self.allow_truncated = allow;
        self
    }

    /// Look for the files the dump names under `sysroot`.
    #[must_use]
    pub fn with_sysroot(mut self, sysroot: Sysroot) -> ConvertOptions {
        self.sysroot = Some(sysroot);
        self
    }
}

/// Convert the dump at `input` into `to` (default: the other format),
/// written through `sink`. `mode` chooses the memory of a minidump output.
/// Opens no file but `input` ([`convert_file_with`] can look for the
/// files the dump names).
///
/// `input` must be a regular file ([`ConvertError::NotRegularFile`]
/// otherwise): only its headers, notes and streams are loaded, and memory is
/// copied range by range, so memory use stays at a few megabytes whatever
/// the size of the dump.
pub fn convert_file(
    input: &Path,
    to: Option<DumpFormat>,
    mode: MemoryMode,
    sink: Sink,
) -> Result<ConvertReport, CaptureError> {
    convert_file_with(input, &ConvertOptions::new(to, mode), sink)
}

/// Convert the dump at `input` as `options` say, written through `sink`.
pub fn convert_file_with(
    input: &Path,
    options: &ConvertOptions,
    sink: Sink,
) -> Result<ConvertReport, CaptureError> {
    let open = |source| ConvertError::Open {
        path: input.to_owned(),
        source,
    };
    let file = File::open(input).map_err(open)?;
    let ft = file.metadata().map_err(open)?.file_type();
    if !ft.is_file() {
        return Err(ConvertError::NotRegularFile {
            path: input.to_owned(),
            kind: file_kind(&ft),
        }
        .into());
    }
    convert_source(&file, options, sink)
}

/// [`convert_file`] over a dump held in memory.
pub fn convert_bytes(
    data: &[u8],
    to: Option<DumpFormat>,
    mode: MemoryMode,
    sink: Sink,
) -> Result<ConvertReport, CaptureError> {
    convert_bytes_with(data, &ConvertOptions::new(to, mode), sink)
}

/// [`convert_file_with`] over a dump held in memory.
pub fn convert_bytes_with(
    data: &[u8],
    options: &ConvertOptions,
    sink: Sink,
) -> Result<ConvertReport, CaptureError> {
    convert_source(data, options, sink)
}

/// A dump file that both format crates can read at any offset.
trait DumpSource:
    coroner_core_format::read::ReadAt + coroner_minidump_format::read::ReadAt + Copy
{
}

impl<T> DumpSource for T where
    T: coroner_core_format::read::ReadAt + coroner_minidump_format::read::ReadAt + Copy
{
}

fn convert_source<S: DumpSource>(
    source: S,
    options: &ConvertOptions,
    mut sink: Sink,
) -> Result<ConvertReport, CaptureError> {
    let (to, mode) = (options.to, options.memory);
    let mut magic = [0u8; 4];
    let got = coroner_core_format::read::ReadAt::read_at(&source, 0, &mut magic).map_err(|e| {
        ConvertError::Elf(coroner_core_format::read::FileError::Io {
            offset: 0,
            source: e,
        })
    })?;
    let from = DumpFormat::detect(magic.get(..got).unwrap_or(&[])).ok_or(CaptureError::NotADump)?;
    let to = to.unwrap_or(match from {
        DumpFormat::Elf => DumpFormat::Minidump,
        DumpFormat::Minidump => DumpFormat::Elf,
    });
    // A truncated input is refused unless allowed; then what it lacks is
    // left out of the output (absent memory reads short).
    let check = |t: Option<Truncation>| match t {
        Some(truncation) if !options.allow_truncated => {
            Err(CaptureError::from(ConvertError::Truncated { truncation }))
        }
        t => Ok(t),
    };
    let (threads, memory_ranges, truncation) = match (from, to) {
        (DumpFormat::Elf, DumpFormat::Minidump) => {
            let core = CoreFile::open(source).map_err(ConvertError::Elf)?;
            let truncation = check(core_truncation(&core))?;
            let (threads, ranges) =
                elf_to_minidump(&core, mode, options.sysroot.as_ref(), &mut sink)?;
            (threads, ranges, truncation)
        }
        (DumpFormat::Minidump, DumpFormat::Elf) => {
            let dump = MinidumpFile::open(source).map_err(ConvertError::Minidump)?;
            let truncation = check(minidump_truncation(&dump))?;
            let missing = truncation
                .as_ref()
                .map_or(&[][..], |t| &t.missing_ranges[..]);
            let (threads, ranges) = minidump_to_elf(&dump, missing, &mut sink)?;
            (threads, ranges, truncation)
        }
        _ => return Err(CaptureError::AlreadyInFormat { format: from }),
    };
    let report = sink.finish()?;
    Ok(ConvertReport {
        from,
        to,
        threads,
        memory_ranges,
        bytes_written: report.bytes_written,
        bytes_allocated: report.bytes_allocated,
        truncation,
    })
}

/// What a truncated core lacks, with the threads whose stacks are gone.
fn core_truncation<R>(core: &CoreFile<R>) -> Option<Truncation> {
    let t = Truncation::from_core(&core.truncation()?);
    let sps = core.threads().map_while(Result::ok).filter_map(|t| {
        let sp = t.registers().ok()?.sp();
        Some((t.tid(), sp))
    });
    Some(t.with_threads(sps))
}

/// What a truncated minidump lacks, with the threads whose stacks are gone.
fn minidump_truncation<R>(dump: &MinidumpFile<R>) -> Option<Truncation> {
    let t = Truncation::from_minidump(&dump.truncation()?, &dump.memory_locations());
    let threads = dump.metadata().threads().ok().flatten();
    let sps = threads
        .into_iter()
        .flat_map(|l| l.iter())
        .map_while(Result::ok);
    let sps = sps.filter_map(|t| {
        let sp = t.context().ok()??.stack_pointer()?;
        Some((t.thread_id(), sp))
    });
    Some(t.with_threads(sps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_core_format::write::{BytesAt, StreamSink};
    use coroner_core_format::{
        CoreModel, Machine, PrPsInfo, PrStatus, Registers, SegmentModel, ThreadModel,
    };
    use coroner_proc_reader::parse::status::parse_status;

    /// A core whose process identity needs care: a name the kernel
    /// escapes, ids above `i32::MAX`.
    fn core_with_identity() -> Vec<u8> {
        let mut model = CoreModel::new(Machine::X86_64);
        let mut st = PrStatus::new(Registers::zeroed(Machine::X86_64));
        st.pid = 321;
        model.threads.push(ThreadModel::new(st));
        let mut ps = PrPsInfo {
            pid: 321,
            ppid: 7,
            uid: 4_000_000_000,
            gid: 3_000_000_001,
            sname: b'R',
            ..PrPsInfo::default()
        };
        ps.set_fname(b"we\tird\\na\nme");
        ps.set_psargs(b"/bin/weird\0--flag");
        model.prpsinfo = Some(ps);
        model.segments.push(SegmentModel::dumped(0x1000, 0x1000, 6));
        let mut sink = StreamSink::new(Vec::new());
        let mut memory = BytesAt {
            base: 0x1000,
            bytes: vec![1; 0x1000],
        };
        model.write(&mut memory, &mut sink).unwrap();
        sink.into_inner()
    }

    #[test]
    fn the_process_identity_survives_elf_to_minidump_to_elf() {
        let dir = tempfile::tempdir().unwrap();
        let (dmp, back) = (dir.path().join("c.dmp"), dir.path().join("c.core"));
        let core = core_with_identity();
        let sink = Sink::create(&dmp, false).unwrap();
        convert_bytes(&core, None, MemoryMode::Stacks, sink).unwrap();
        // The minidump's ProcStatus is the kernel's text for these facts.
        let bytes = std::fs::read(&dmp).unwrap();
        let dump = coroner_minidump_format::parse(&bytes).unwrap();
        let status = parse_status(dump.linux_proc_status().unwrap().unwrap()).unwrap();
        assert_eq!(status.name, b"we\tird\\na\nme");
        assert_eq!((status.tgid, status.pid, status.ppid), (321, 321, 7));
        assert_eq!(status.uid, [4_000_000_000; 4]);
        assert_eq!(status.gid, [3_000_000_001; 4]);
        assert_eq!(status.state, Some(b'R'));

        // And back: NT_PRPSINFO has them all again.
        convert_file(
            &dmp,
            None,
            MemoryMode::Stacks,
            Sink::create(&back, false).unwrap(),
        )
        .unwrap();
        let bytes = std::fs::read(&back).unwrap();
        let ps = coroner_core_format::parse(&bytes)
            .unwrap()
            .prpsinfo()
            .unwrap()
            .unwrap();
        assert_eq!(ps.fname_bytes(), b"we\tird\\na\nme");
        assert_eq!((ps.pid, ps.ppid), (321, 7));
        assert_eq!((ps.uid, ps.gid), (4_000_000_000, 3_000_000_001));
    }
}
