//! A format-neutral snapshot of a process: what every output format needs,
//! apart from the memory contents, which the writers pull afterwards
//! through a memory source.
//!
//! A live capture takes it from proc-reader while the target is frozen
//! ([`crate::live`]); a conversion reads it from the input dump. Either
//! format is then written from it by one function: [`crate::elf::core_model`]
//! and [`crate::minidump::build::minidump_model`].

use std::path::PathBuf;

use coroner_proc_reader::parse::maps::{parse_maps_line, Mapping};
use coroner_proc_reader::parse::siginfo::{parse_siginfo, SigInfo, SIGINFO_SIZE};
use coroner_proc_reader::HostFacts;

use crate::select::CoredumpFilter;
#[cfg(target_os = "linux")]
use crate::select::{KernelDump, MappingDesc, Reason, Selection};

/// CPU architecture of the process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Arch {
    /// x86-64.
    #[default]
    X86_64,
    /// AArch64.
    Aarch64,
}

impl Arch {
    /// The host's.
    #[cfg(target_os = "linux")]
    pub fn host() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }

    /// The name `uname -m` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
}

/// CPU times of the whole process and when it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessTimes {
    /// When the process started, in seconds since the epoch.
    pub start: u64,
    /// User CPU time in microseconds.
    pub user_us: u64,
    /// System CPU time in microseconds.
    pub system_us: u64,
}

/// Texts of the process as the kernel printed them, for a format that keeps
/// them verbatim (a minidump's Linux streams); `None` when not read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcTexts {
    /// `/proc/pid/status`.
    pub status: Option<Vec<u8>>,
    /// `/proc/pid/environ`.
    pub environ: Option<Vec<u8>>,
    /// `/proc/pid/auxv`, raw.
    pub auxv: Option<Vec<u8>>,
    /// `/proc/pid/maps`.
    pub maps: Option<Vec<u8>>,
}

impl ProcTexts {
    /// The mappings of the maps text, if there is one: every line that
    /// parses (a dump's text is untrusted, and another writer's lines may
    /// not all be the kernel's).
    pub(crate) fn mappings(&self) -> Option<Vec<Mapping>> {
        let text = self.maps.as_deref()?;
        let lines = text.split(|b| *b == b'\n').enumerate();
        Some(
            lines
                .filter_map(|(i, line)| parse_maps_line(line, i + 1).ok())
                .collect(),
        )
    }

    /// The raw auxiliary vector of `(key, value)` pairs (without AT_NULL),
    /// as `/proc/pid/auxv` of a 64-bit little-endian process holds it,
    /// ending with AT_NULL; `None` when there are none.
    pub(crate) fn auxv_of(auxv: &[(u64, u64)]) -> Option<Vec<u8>> {
        let words = auxv.iter().chain(std::iter::once(&(0, 0)));
        (!auxv.is_empty()).then(|| {
            words
                .flat_map(|(k, v)| k.to_le_bytes().into_iter().chain(v.to_le_bytes()))
                .collect()
        })
    }
}

/// Process-wide facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process id (thread group id).
    pub pid: u32,
    /// Parent pid.
    pub ppid: u32,
    /// Process group.
    pub pgrp: u32,
    /// Session.
    pub sid: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// State letter from `stat` (`S`, `R` …).
    pub state: u8,
    /// Nice value.
    pub nice: i8,
    /// Kernel task flags (`stat` field 9).
    pub flags: u64,
    /// `comm` (at most 15 bytes).
    pub comm: Vec<u8>,
    /// `/proc/pid/cmdline`: NUL-separated arguments.
    pub cmdline: Vec<u8>,
    /// The auxiliary vector as `(key, value)` pairs, without the final AT_NULL.
    pub auxv: Vec<(u64, u64)>,
    /// The target's `/proc/pid/coredump_filter`.
    pub coredump_filter: CoredumpFilter,
    /// Page size of the target.
    pub page_size: u64,
    /// Start time and CPU times, when known.
    pub times: Option<ProcessTimes>,
}

/// One thread, stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadState {
    /// Thread id.
    pub tid: u32,
    /// Thread name (`comm` of the task).
    pub name: Vec<u8>,
    /// General registers in the kernel's `NT_PRSTATUS` order (x86_64
    /// `user_regs_struct`, aarch64 `user_pt_regs`).
    pub gp_regs: Vec<u64>,
    /// `NT_PRFPREG` (512-byte FXSAVE area on x86_64), if readable.
    pub fp_regs: Option<Vec<u8>>,
    /// `NT_X86_XSTATE`, if readable.
    pub xstate: Option<Vec<u8>>,
    /// Pending signals (`SigPnd`).
    pub sigpend: u64,
    /// Blocked signals (`SigBlk`).
    pub sighold: u64,
    /// The raw `siginfo_t` of the signal the thread was on its way to
    /// receive when it was stopped, if it was (`None` when stopped by our
    /// interrupt or a job-control stop).
    pub siginfo: Option<[u8; SIGINFO_SIZE]>,
    /// User CPU time in microseconds.
    pub utime_us: u64,
    /// System CPU time in microseconds.
    pub stime_us: u64,
}

/// One mapping with the decision of what to dump.
#[derive(Debug, Clone)]
pub struct SelectedMapping {
    /// The mapping as proc-reader read it (maps + smaps).
    pub mapping: Mapping,
    /// Bytes from `start` to dump (0, a page, or the whole mapping).
    pub dump_len: u64,
    /// The operator (`--exclude`) or the program (MADV_DONTDUMP, unless
    /// the selection takes everything) excluded it: no byte of it is
    /// written, not even a thread's stack or the code around its pc.
    pub excluded: bool,
    /// Where the mapped file can be read on this machine
    /// (`/proc/<pid>/map_files/…` for a live process; for a dump, under
    /// the sysroot the user gave), for facts not found in memory such as
    /// build-ids; `None` when it cannot.
    pub file: Option<PathBuf>,
}

/// Everything but memory contents.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The process's architecture.
    pub arch: Arch,
    /// When the snapshot was taken, in seconds since the epoch; 0 when
    /// unknown (a conversion).
    pub time: u32,
    /// The machine the process ran on (CPU, kernel); `None` when unknown.
    pub host: Option<HostFacts>,
    /// The process.
    pub process: ProcessInfo,
    /// Its `/proc` texts, for formats that keep them.
    pub texts: ProcTexts,
    /// Threads; the first one is the one a debugger shows as current (the
    /// main thread for a live capture).
    pub threads: Vec<ThreadState>,
    /// Mappings in address order, with what to dump of each.
    pub mappings: Vec<SelectedMapping>,
}

/// The dump decision for a mapping that nothing excludes, taken from a
/// dump being converted: `dump_len` bytes from its start are held.
pub(crate) fn held(mapping: Mapping, dump_len: u64, file: Option<PathBuf>) -> SelectedMapping {
    SelectedMapping {
        mapping,
        dump_len,
        excluded: false,
        file,
    }
}

impl Snapshot {
    /// The signal the dump records, the same for every format: that of the
    /// first thread (in snapshot order) stopped on its way into a signal,
    /// with the thread. `None` when no thread was: the dump was requested.
    pub fn stop_signal(&self) -> Option<(&ThreadState, SigInfo)> {
        self.threads.iter().find_map(|t| {
            let info = parse_siginfo(t.siginfo.as_ref()?).ok()?;
            (info.signo != 0).then_some((t, info))
        })
    }
}

/// The selection's view of a proc-reader mapping.
#[cfg(target_os = "linux")]
pub fn describe(m: &Mapping) -> MappingDesc<'_> {
    MappingDesc {
        start: m.start,
        end: m.end,
        read: m.perms.read,
        shared: m.perms.shared,
        offset: m.offset,
        inode: m.inode,
        path: (!m.path.is_empty()).then(|| std::str::from_utf8(&m.path).unwrap_or("?")),
        dontdump: m.vm_flags.dont_dump(),
        io: m.vm_flags.io(),
        hugetlb: m.vm_flags.hugetlb(),
        // The kernel asks "has an anon_vma"; smaps' Anonymous/Swap tell. Without
        // smaps, assume anonymous and writable file memory has been written.
        has_anon_pages: if m.has_smaps {
            m.anonymous > 0 || m.swap > 0
        } else {
            m.perms.write || !m.is_file_backed()
        },
    }
}

/// Decide what to dump of each mapping. `starts_with_elf` is asked, for
/// mappings the kernel would dump one page of, whether the mapping begins
/// with the ELF magic (the kernel reads the target's memory for that too).
/// `file_of` says where a mapping's file can be read (see
/// [`SelectedMapping::file`]).
#[cfg(target_os = "linux")]
pub fn select(
    mappings: Vec<Mapping>,
    selection: &Selection,
    target_filter: CoredumpFilter,
    page_size: u64,
    mut starts_with_elf: impl FnMut(u64) -> bool,
    mut file_of: impl FnMut(&Mapping) -> Option<PathBuf>,
) -> Vec<SelectedMapping> {
    mappings
        .into_iter()
        .map(|mapping| {
            let d = selection.decide(&describe(&mapping), target_filter);
            let dump_len = match d.dump {
                KernelDump::Nothing => 0,
                KernelDump::Whole => mapping.len(),
                KernelDump::ElfHeaderIfMagic => {
                    if starts_with_elf(mapping.start) {
                        page_size.min(mapping.len())
                    } else {
                        0
                    }
                }
            };
            SelectedMapping {
                excluded: d.reason == Reason::Excluded
                    || (mapping.vm_flags.dont_dump() && !selection.all),
                file: file_of(&mapping),
                mapping,
                dump_len,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_proc_reader::parse::maps::parse_maps_line;

    #[test]
    fn select_applies_the_elf_magic_check() {
        let maps = [
            &b"400000-401000 r--p 00000000 fd:01 12 /usr/bin/prog"[..],
            b"401000-402000 r-xp 00001000 fd:01 12 /usr/bin/prog",
            b"7f0000000000-7f0000001000 r--p 00000000 fd:01 13 /usr/share/locale/data",
            b"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]",
        ];
        let mappings: Vec<Mapping> = maps
            .iter()
            .enumerate()
            .map(|(i, l)| parse_maps_line(l, i + 1).unwrap())
            .collect();
        let mut asked = Vec::new();
        let sel = select(
            mappings,
            &Selection::default(),
            crate::select::CoredumpFilter::DEFAULT,
            4096,
            |a| {
                asked.push(a);
                a == 0x400000
            },
            |_| None,
        );
        assert_eq!(asked, [0x400000, 0x7f0000000000]);
        let lens: Vec<u64> = sel.iter().map(|s| s.dump_len).collect();
        // No smaps: the stack is assumed written, read-only file memory not.
        assert_eq!(lens, [4096, 0, 0, 0x21000]);
    }
}
