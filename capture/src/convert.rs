//! Conversion between the two dump formats.
//!
//! - ELF core → minidump: threads (registers, FP state), modules with
//!   build-ids read from the core's memory (else, only when the caller gives
//!   a [`Sysroot`], from the file under it), Maps,
//!   Auxv, CmdLine, ProcStatus (pid, name) and DsoDebug derived from the
//!   notes and memory, the Exception from `NT_SIGINFO`, memory per
//!   [`MemoryMode`], built by the same [`crate::minidump::build`] code as a
//!   live capture.
//! - minidump → ELF core: one `NT_PRSTATUS` (+ `NT_FPREGSET`) per thread, the
//!   crashing/requesting thread first, `NT_PRPSINFO`, `NT_SIGINFO`, `NT_AUXV`
//!   from the Auxv stream, `NT_FILE` from the Maps stream, and every memory
//!   range of both memory lists as a `PT_LOAD` (flags from Maps).
//!
//! The input is not loaded: its headers, notes and streams are read once,
//! and memory is read from the file range by range as the output is
//! written, so converting a dump larger than RAM takes a few megabytes
//! (core-format's [`CoreFile`], minidump-format's [`MinidumpFile`]). The
//! output goes through a [`Sink`] (atomic, 0600, sparse).

use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use coroner_core_format::read::{CoreFile, FileMemory};
use coroner_core_format::write::{CoreWriter, WriteOptions};
use coroner_core_format::{
    AuxvEntry, CoreModel, FileMapping, FileNote, Machine, Note, PrPsInfo, PrStatus, Registers,
    SegmentModel, SigInfo, ThreadModel,
};
use coroner_minidump_format::model::Context;
use coroner_minidump_format::raw::{DUMP_REQUESTED, PROCESSOR_ARCHITECTURE_ARM64};
use coroner_minidump_format::read::MinidumpFile;
use coroner_minidump_format::write::{Layout, MemorySource};

use crate::minidump::build::{minidump_model, DumpMemory};
use crate::minidump::host_file::Sysroot;
use crate::minidump::{MemoryMode, ZeroHoles};
use crate::snapshot::{self, Arch, ProcTexts, ProcessInfo, Snapshot, ThreadState};
use coroner_proc_reader::parse::maps::Mapping;
use coroner_proc_reader::parse::status::{parse_status, Status};

use crate::ranges::subtract;
use crate::sink::Sink;
use crate::truncated::Truncation;
use crate::CaptureError;

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
    /// use coroner_capture::convert::DumpFormat;
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

/// An ELF core's memory, read from the file, for the minidump builder and writer.
struct CoreMemory<'a, R>(FileMemory<'a, R>);

impl<R: coroner_core_format::read::ReadAt> MemorySource for CoreMemory<'_, R> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        coroner_core_format::write::MemorySource::read_at(&mut self.0, addr, buf)
    }
}

impl<R: coroner_core_format::read::ReadAt> DumpMemory for CoreMemory<'_, R> {
    fn present(&mut self, start: u64, end: u64) -> io::Result<Vec<Range<u64>>> {
        let mut out = Vec::new();
        coroner_core_format::write::MemorySource::present_ranges(
            &mut self.0,
            start,
            end,
            &mut out,
        )?;
        Ok(out)
    }
}

/// The [`Snapshot`] an ELF core describes: threads from its `NT_PRSTATUS`
/// notes (the first one's signal from `NT_SIGINFO`, else its `pr_cursig`),
/// the process from `NT_PRPSINFO` and `NT_AUXV`, and one mapping per
/// `PT_LOAD` (path and offset from `NT_FILE`) holding its `p_filesz` bytes.
fn core_snapshot<R: coroner_core_format::read::ReadAt>(
    core: &CoreFile<R>,
    sysroot: Option<&Sysroot>,
) -> Result<Snapshot, CaptureError> {
    let rd = |e: coroner_core_format::ReadError| ConvertError::Elf(e.into());
    let arch = match core.machine() {
        Some(Machine::X86_64) => Arch::X86_64,
        Some(Machine::Aarch64) => Arch::Aarch64,
        _ => {
            return Err(CaptureError::Unsupported {
                what: format!(
                    "converting a core of ELF machine {} (only x86_64 and aarch64)",
                    core.e_machine()
                ),
            })
        }
    };
    let ps = core.prpsinfo().map_err(rd)?;
    let pid = ps.as_ref().and_then(|p| u32::try_from(p.pid).ok());
    let fname = ps.as_ref().map(|p| p.fname_bytes().to_vec());

    let mut threads = Vec::new();
    for t in core.threads() {
        let t = t.map_err(rd)?;
        let regs = t.registers().map_err(rd)?;
        let fp = t.fpregset().map_err(rd)?;
        threads.push(ThreadState {
            tid: t.tid(),
            name: (Some(t.tid()) == pid)
                .then(|| fname.clone())
                .flatten()
                .unwrap_or_default(),
            gp_regs: regs.to_words(),
            fp_regs: fp.map(<[u8]>::to_vec),
            ..ThreadState::default()
        });
    }
    // The core's signal, given to its first (current) thread as the kernel
    // does: NT_SIGINFO, else that thread's pr_cursig.
    let siginfo = core.siginfo().map_err(rd)?;
    let first_sig = core
        .threads()
        .next()
        .and_then(Result::ok)
        .map_or(0, |t| i32::from(t.cursig()));
    let signal = match siginfo {
        Some(si) if si.signo() != 0 => Some(si),
        _ => (first_sig != 0).then(|| SigInfo::new(first_sig, 0, 0)),
    };
    if let (Some(first), Some(si)) = (threads.first_mut(), signal) {
        first.siginfo = Some(si.bytes);
    }

    let mut files: Vec<(u64, u64, u64, Vec<u8>)> = Vec::new();
    if let Some(view) = core.file_note().map_err(rd)? {
        for e in view.entries() {
            let e = e.map_err(rd)?;
            files.push((
                e.start,
                e.end,
                e.file_offset().unwrap_or(0),
                e.path.to_vec(),
            ));
        }
    }
    let mut mappings = Vec::new();
    for seg in core.load_segments() {
        let vaddr = seg.p_vaddr;
        let file = files.iter().find(|f| f.0 <= vaddr && vaddr < f.1);
        let flags = seg.p_flags;
        let mut m = Mapping::default();
        m.start = vaddr;
        m.end = vaddr.saturating_add(seg.p_memsz);
        m.perms.read = flags & 4 != 0;
        m.perms.write = flags & 2 != 0;
        m.perms.exec = flags & 1 != 0;
        m.offset = file.map_or(0, |f| f.2.saturating_add(vaddr - f.0));
        m.path = file.map(|f| f.3.clone()).unwrap_or_default();
        let located = sysroot.and_then(|root| root.locate(&String::from_utf8_lossy(&m.path)));
        mappings.push(snapshot::held(m, seg.p_filesz, located));
    }
    let auxv: Vec<(u64, u64)> = match core.auxv().map_err(rd)? {
        Some(it) => it
            .filter_map(Result::ok)
            .map(|e| (e.key, e.value))
            .filter(|e| e.0 != 0)
            .collect(),
        None => Vec::new(),
    };
    let auxv_bytes: Vec<u8> = auxv
        .iter()
        .chain(std::iter::once(&(0, 0)))
        .flat_map(|(k, v)| k.to_le_bytes().into_iter().chain(v.to_le_bytes()))
        .collect();

    // ProcStatus: the identity facts of NT_PRPSINFO, as the kernel's text.
    let status = ps.as_ref().map(|p| {
        let id = |v: i32| u32::try_from(v).unwrap_or(0);
        let mut st = Status::default();
        st.name = p.fname_bytes().to_vec();
        st.state = Some(p.sname);
        (st.tgid, st.pid, st.ppid) = (id(p.pid), id(p.pid), id(p.ppid));
        (st.uid, st.gid) = ([p.uid; 4], [p.gid; 4]);
        st.identity_text()
    });
    let cmdline = ps
        .as_ref()
        .map(|p| {
            let args = String::from_utf8_lossy(p.psargs_bytes())
                .trim_end()
                .to_owned();
            let mut v: Vec<u8> = args.split(' ').flat_map(|a| a.bytes().chain([0])).collect();
            if v.is_empty() {
                v.push(0);
            }
            v
        })
        .unwrap_or_default();
    let id = |v: i32| u32::try_from(v).unwrap_or(0);
    let process = ProcessInfo {
        pid: pid.unwrap_or(0),
        ppid: ps.as_ref().map_or(0, |p| id(p.ppid)),
        pgrp: ps.as_ref().map_or(0, |p| id(p.pgrp)),
        sid: ps.as_ref().map_or(0, |p| id(p.sid)),
        uid: ps.as_ref().map_or(0, |p| p.uid),
        gid: ps.as_ref().map_or(0, |p| p.gid),
        state: ps.as_ref().map_or(0, |p| p.sname),
        nice: ps.as_ref().map_or(0, |p| p.nice),
        flags: ps.as_ref().map_or(0, |p| p.flag),
        comm: fname.unwrap_or_default(),
        cmdline,
        auxv,
        coredump_filter: crate::select::DEFAULT_FILTER,
        page_size: 4096,
        times: None,
    };
    Ok(Snapshot {
        arch,
        time: 0,
        host: None,
        texts: ProcTexts {
            status,
            environ: None,
            auxv: (!process.auxv.is_empty()).then_some(auxv_bytes),
            maps: None,
        },
        process,
        threads,
        mappings,
    })
}

fn elf_to_minidump<R: coroner_core_format::read::ReadAt>(
    core: &CoreFile<R>,
    mode: MemoryMode,
    sysroot: Option<&Sysroot>,
    sink: &mut Sink,
) -> Result<(usize, usize), CaptureError> {
    let snap = core_snapshot(core, sysroot)?;
    let mut memory = CoreMemory(core.memory());
    let model = minidump_model(&snap, &mut memory, mode)?;
    let layout = Layout::plan(&model)?;
    let mut out = ZeroHoles::new(sink);
    layout.write(&mut memory, &mut out)?;
    out.finish()
        .map_err(|source| coroner_minidump_format::WriteError::Io {
            offset: layout.size(),
            source,
        })?;
    Ok((
        model.threads.len(),
        model.memory_list.len() + model.memory64_list.len(),
    ))
}

/// A minidump's memory, read from the file, as the ELF writer's source.
struct DumpBytes<'a, R>(coroner_minidump_format::read::FileMemory<'a, R>);

impl<R: coroner_minidump_format::read::ReadAt> coroner_core_format::write::MemorySource
    for DumpBytes<'_, R>
{
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        MemorySource::read_at(&mut self.0, addr, buf)
    }
}

/// x86-64 `user_regs_struct` words from a minidump context.
fn amd64_words(c: &coroner_minidump_format::raw::CONTEXT_AMD64) -> Vec<u64> {
    vec![
        c.r15,
        c.r14,
        c.r13,
        c.r12,
        c.rbp,
        c.rbx,
        c.r11,
        c.r10,
        c.r9,
        c.r8,
        c.rax,
        c.rcx,
        c.rdx,
        c.rsi,
        c.rdi,
        u64::MAX, // orig_rax: not in a minidump; "no syscall to restart"
        c.rip,
        c.cs.into(),
        c.eflags.into(),
        c.rsp,
        c.ss.into(),
        0, // fs_base: not in a minidump
        0, // gs_base
        c.ds.into(),
        c.es.into(),
        c.fs.into(),
        c.gs.into(),
    ]
}

fn minidump_to_elf<R: coroner_minidump_format::read::ReadAt>(
    file: &MinidumpFile<R>,
    missing: &[Range<u64>],
    sink: &mut Sink,
) -> Result<(usize, usize), CaptureError> {
    let rd = |e: coroner_minidump_format::ReadError| ConvertError::Minidump(e.into());
    let dump = file.metadata();
    let arm = dump
        .system_info()
        .map_err(rd)?
        .is_some_and(|si| si.raw.processor_architecture == PROCESSOR_ARCHITECTURE_ARM64);
    let machine = if arm {
        Machine::Aarch64
    } else {
        Machine::X86_64
    };
    let mut model = CoreModel::new(machine);

    let exception = dump.exception().map_err(rd)?;
    let (signal, sig_tid, sig_code, sig_addr) = match &exception {
        Some(e) if e.code() != DUMP_REQUESTED => (
            i32::try_from(e.code()).unwrap_or(0),
            Some(e.thread_id()),
            i32::from_ne_bytes(e.raw.exception_record.exception_flags.to_ne_bytes()),
            e.raw.exception_record.exception_address,
        ),
        Some(e) => (0, Some(e.thread_id()), 0, 0),
        None => (0, None, 0, 0),
    };

    let list = dump
        .threads()
        .map_err(rd)?
        .ok_or_else(|| CaptureError::Incomplete {
            what: "the minidump has no ThreadList".into(),
        })?;
    for t in list.iter() {
        let t = t.map_err(rd)?;
        let Some(ctx) = t.context().map_err(rd)? else {
            continue;
        };
        let (words, fp): (Vec<u64>, Option<Vec<u8>>) = match &ctx {
            Context::Amd64(c) => (amd64_words(c), Some(c.float_save.to_vec())),
            Context::Arm64(c) => {
                let mut w = c.iregs.to_vec();
                w.extend([c.sp, c.pc, u64::from(c.cpsr)]);
                let mut fp: Vec<u8> = c.float_regs.iter().flat_map(|v| v.to_le_bytes()).collect();
                fp.extend(c.fpsr.to_le_bytes());
                fp.extend(c.fpcr.to_le_bytes());
                fp.extend([0u8; 8]);
                (w, Some(fp))
            }
            // Contexts of other architectures (and any added later) have no ELF mapping here.
            _ => continue,
        };
        let regs =
            Registers::from_words(machine, &words).ok_or_else(|| CaptureError::Incomplete {
                what: format!("thread {}: its registers do not decode", t.thread_id()),
            })?;
        let mut st = PrStatus::new(regs);
        st.pid = i32::try_from(t.thread_id()).unwrap_or(i32::MAX);
        st.fpvalid = i32::from(fp.is_some());
        if signal != 0 && sig_tid == Some(t.thread_id()) {
            st.cursig = i16::try_from(signal).unwrap_or(0);
            st.info.si_signo = signal;
            st.info.si_code = sig_code;
        }
        let mut tm = ThreadModel::new(st);
        if let Some(fp) = fp {
            tm = tm.with_note(Note::fpregset(fp));
        }
        model.threads.push(tm);
    }
    // The crashing (or dump-requesting) thread first, as the kernel does.
    if let Some(i) = sig_tid.and_then(|tid| model.threads.iter().position(|t| t.tid() == tid)) {
        let t = model.threads.remove(i);
        model.threads.insert(0, t);
    }

    // The ProcStatus stream, typed (other writers' text that lacks an
    // identity field gives none of them).
    let status = dump
        .linux_proc_status()
        .map_err(rd)?
        .and_then(|text| parse_status(text).ok());
    let pid = dump
        .misc_info()
        .map_err(rd)?
        .filter(|m| m.raw.flags1 & coroner_minidump_format::raw::MINIDUMP_MISC1_PROCESS_ID != 0)
        .map(|m| m.raw.process_id)
        .or_else(|| status.as_ref().map(|s| s.tgid))
        .or_else(|| model.threads.first().map(ThreadModel::tid))
        .and_then(|p| i32::try_from(p).ok())
        .unwrap_or(0);
    let cmdline = dump
        .linux_cmd_line()
        .map_err(rd)?
        .unwrap_or_default()
        .to_vec();
    let mut ps = PrPsInfo {
        pid,
        ppid: status
            .as_ref()
            .and_then(|s| i32::try_from(s.ppid).ok())
            .unwrap_or(0),
        uid: status.as_ref().map_or(0, |s| s.uid[0]),
        gid: status.as_ref().map_or(0, |s| s.gid[0]),
        sname: b'S',
        state: 1,
        ..PrPsInfo::default()
    };
    let name = status.map(|s| s.name).unwrap_or_else(|| {
        let first = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        first
            .rsplit(|b| *b == b'/')
            .next()
            .unwrap_or_default()
            .to_vec()
    });
    ps.set_fname(&name);
    ps.set_psargs(&cmdline);
    model.prpsinfo = Some(ps);
    model.siginfo = Some(if signal != 0 {
        SigInfo::new(signal, 0, sig_code).with_addr(sig_addr)
    } else {
        SigInfo::new(0, 0, 0)
    });
    if let Some(auxv) = dump.linux_auxv().map_err(rd)? {
        model.auxv = Some(
            auxv.filter(|e| e.0 != 0)
                .map(|(key, value)| AuxvEntry { key, value })
                .collect(),
        );
    }

    // Maps: NT_FILE entries and segment permissions.
    let mut maps = Vec::new();
    if let Some(text) = dump.linux_maps().map_err(rd)? {
        for (i, line) in text.split(|b| *b == b'\n').enumerate() {
            if let Ok(m) = coroner_proc_reader::parse::maps::parse_maps_line(line, i + 1) {
                maps.push(m);
            }
        }
    }
    let mut files = FileNote::kernel();
    for m in maps.iter().filter(|m| m.path.first() == Some(&b'/')) {
        files.entries.push(FileMapping {
            start: m.start,
            end: m.end,
            file_offset: m.offset,
            path: m.path.clone(),
        });
    }
    model.files = Some(files);

    let mut ranges: Vec<Range<u64>> = Vec::new();
    for r in file.memory_locations() {
        if r.size > 0 {
            ranges.push(r.range());
        }
    }
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(l) if r.start <= l.end => l.end = l.end.max(r.end),
            _ => merged.push(r),
        }
    }
    // Memory a truncated input lacks becomes PT_LOADs without file data
    // (what a core says of memory it does not hold), the rest is dumped.
    let kept = subtract(merged.clone(), missing);
    let lost = subtract(merged, &kept);
    let mut pieces: Vec<(Range<u64>, bool)> = kept
        .into_iter()
        .map(|r| (r, true))
        .chain(lost.into_iter().map(|r| (r, false)))
        .collect();
    pieces.sort_by_key(|(r, _)| r.start);
    // Split at mapping boundaries so each PT_LOAD carries its mapping's flags.
    for (r, dumped) in pieces {
        let mut at = r.start;
        while at < r.end {
            let m = maps.iter().find(|m| m.start <= at && at < m.end);
            let next_start = maps.iter().map(|m| m.start).filter(|s| *s > at).min();
            let end = match m {
                Some(m) => m.end.min(r.end),
                None => next_start.unwrap_or(r.end).min(r.end),
            };
            let flags = m.map_or(4 | 2, |m| m.perms.elf_flags());
            model.segments.push(if dumped {
                SegmentModel::dumped(at, end - at, flags)
            } else {
                SegmentModel::skipped(at, end - at, flags)
            });
            at = end;
        }
    }

    let writer = CoreWriter::new(WriteOptions::default());
    let mut source = DumpBytes(file.memory());
    writer.write(&model, &mut source, sink)?;
    Ok((model.threads.len(), model.segments.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_core_format::write::{BytesAt, StreamSink};

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
        coroner_core_format::write::write_core(&model, &mut memory, &mut sink).unwrap();
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
