//! A live process through proc-reader: its [`Snapshot`] taken while frozen,
//! and its memory as a [`MemorySource`] for the format writers.

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use coroner_core_format::write::MemorySource;
use coroner_proc_reader::parse::auxv::{auxv_value, parse_auxv, AT_PAGESZ};
use coroner_proc_reader::parse::maps::Mapping;
use coroner_proc_reader::{Frozen, HostFacts, MemoryReader, Process, ReadMethod};

use crate::backing::{self, Backing, MappingBacking};
use crate::select::Selection;
use crate::snapshot::{self, Arch, ProcTexts, ProcessInfo, ProcessTimes, Snapshot, ThreadState};
use crate::CaptureError;

/// The target's memory through proc-reader's [`MemoryReader`]
/// (`process_vm_readv` in large batches, `/proc/<pid>/mem` where that stops
/// short, and `/proc/<pid>/pagemap` so that pages holding nothing are never
/// read, which would fault the zero page into the target).
///
/// Which absent pages hold nothing depends on the mapping (see
/// [`LiveMemory::set_mappings`]); until it is told the mappings, only the
/// pages pagemap reports present or swapped count as data.
#[derive(Debug)]
pub struct LiveMemory {
    reader: MemoryReader,
    mappings: Vec<MappingBacking>,
    /// Private mappings whose anonymous pages may be shared copy-on-write
    /// with another process (a child the target forked, or its copy), in
    /// address order: read through `/proc/<pid>/mem`, never pinned (see
    /// [`LiveMemory::open_copy`]), so the target gets no duplicates.
    shared_anon: Vec<Range<u64>>,
    /// Every read goes through `/proc/<pid>/mem` (the memory of a copy).
    never_pin: bool,
    warnings: Vec<String>,
    /// [`LiveMemory::starts_with_elf`]'s answers: a capture that selects
    /// twice (a minidump's plan from `maps`, then from `smaps`) reads each
    /// header once.
    elf_starts: HashMap<u64, bool>,
}

impl LiveMemory {
    /// Open the memory of `process`.
    pub fn open(process: &Process) -> Result<LiveMemory, CaptureError> {
        Ok(LiveMemory {
            reader: MemoryReader::new(process)?,
            mappings: Vec::new(),
            shared_anon: Vec::new(),
            never_pin: false,
            warnings: Vec::new(),
            elf_starts: HashMap::new(),
        })
    }

    /// Open the memory of a copy-on-write copy of a process
    /// ([`crate::cow_copy`]), read through `/proc/<pid>/mem` only.
    ///
    /// `process_vm_readv` pins the pages it reads (`FOLL_PIN`), and since
    /// Linux 5.19 a read-only pin of an anonymous page that a fork left
    /// shared makes the kernel first give the pinning process a private
    /// copy of it ("unshare", so that the pin stays coherent): reading a
    /// copy that way duplicated every page read — a page allocation and a
    /// 4 KiB copy each, and memory as large as the dump charged until the
    /// copy died (bench/snapshot.sh: 2.8 s instead of 1.8 s for 2 GiB).
    /// `/proc/<pid>/mem` takes plain page references (`FOLL_GET`), which
    /// leave the pages shared. The same holds for any process that shares
    /// pages with a child it forked: see [`LiveMemory::set_mappings`].
    pub(crate) fn open_copy(copy: &Process) -> Result<LiveMemory, CaptureError> {
        let mut memory = LiveMemory::open(copy)?;
        memory.never_pin = true;
        Ok(memory)
    }

    /// Read `buf` at `addr` with the method its mapping allows: never a
    /// pin of pages that may be shared copy-on-write.
    fn read_raw(&mut self, addr: u64, buf: &mut [u8]) -> coroner_proc_reader::Result<usize> {
        let end = addr.saturating_add(buf.len() as u64);
        let first = self.shared_anon.partition_point(|r| r.end <= addr);
        let shared = self.shared_anon.get(first).is_some_and(|r| r.start < end);
        self.reader.set_method(if self.never_pin || shared {
            ReadMethod::ProcMem
        } else {
            ReadMethod::Auto
        });
        self.reader.read_at(addr, buf)
    }

    /// The target's mappings (from `maps`, read while it is frozen), so that
    /// [`MemorySource::present_ranges`] follows the kernel's core dump: pages
    /// pagemap reports absent are holes in private anonymous memory only;
    /// shared memory adds the pages its file holds (which other processes
    /// may have written), and other mappings are read whole (file contents,
    /// `[vdso]`).
    ///
    /// Private mappings whose smaps show anonymous memory and resident
    /// pages that are not private dirty ones — pages shared copy-on-write
    /// with a child the target forked (a pre-forking server, redis during
    /// a BGSAVE) — are read through `/proc/<pid>/mem`: a read-only pin of
    /// `process_vm_readv` would make the kernel give the target a private
    /// duplicate of each such page (Linux >= 5.19 "unshares" an anonymous
    /// page a fork left shared before a read-only `FOLL_PIN`;
    /// `/proc/<pid>/mem` takes plain references).
    pub fn set_mappings(&mut self, mappings: &[coroner_proc_reader::Mapping]) {
        self.mappings = backing::classify(mappings);
        let mut shared_anon: Vec<Range<u64>> = mappings
            .iter()
            .filter(|m| {
                m.has_smaps && !m.perms.shared && m.anonymous > 0 && m.rss > m.private_dirty
            })
            .map(|m| m.start..m.end)
            .collect();
        shared_anon.sort_by_key(|r| r.start);
        self.shared_anon = shared_anon;
    }

    /// What went wrong without ending the capture (shared memory whose file
    /// could not be examined), once each; drained by the call.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Pages of `start..end` that pagemap reports present or swapped,
    /// appended to `out` in order, touching runs joined.
    fn pagemap_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        let page = self.reader.page_size();
        self.reader
            .scan_pagemap(start, end, |addr, entry| {
                if !entry.has_data() {
                    return;
                }
                let a = addr.max(start);
                let b = addr.saturating_add(page).min(end);
                crate::ranges::push_joined(out, a..b)
            })
            .map_err(to_io)
    }

    /// Whether the page at `addr` starts with the ELF magic (read from the
    /// target once per address).
    pub fn starts_with_elf(&mut self, addr: u64) -> bool {
        if let Some(&known) = self.elf_starts.get(&addr) {
            return known;
        }
        let mut magic = [0u8; 4];
        let elf = matches!(self.read_raw(addr, &mut magic), Ok(4)) && magic == *b"\x7fELF";
        self.elf_starts.insert(addr, elf);
        elf
    }
}

/// How long the target was held, from the outcome of thawing it. A thaw
/// error does not lose a complete dump: it becomes a warning that says what
/// to check, and the time is measured from `freeze_started` instead.
pub(crate) fn frozen_time(
    thawed: Result<coroner_proc_reader::Thawed, coroner_proc_reader::Error>,
    pid: u32,
    freeze_started: Instant,
    warnings: &mut Vec<String>,
) -> Duration {
    match thawed {
        Ok(t) => t.frozen_for,
        Err(e) => {
            warnings.push(format!(
                "resuming the target: {e}; check that process {pid} is running"
            ));
            freeze_started.elapsed()
        }
    }
}

fn to_io(e: coroner_proc_reader::Error) -> io::Error {
    io::Error::other(e)
}

impl MemorySource for LiveMemory {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        // Errors mean the process vanished or access was revoked, which ends
        // the capture. A short read stops at an unreadable page; go on past
        // it (zero-filled, so it becomes a hole like the kernel's
        // get_dump_page failures) instead of losing the rest of the request.
        let got = self.read_raw(addr, buf).map_err(to_io)?;
        if let Some(rest) = buf.get_mut(got..) {
            if !rest.is_empty() {
                self.reader
                    .read_with_holes(addr + got as u64, rest)
                    .map_err(to_io)?;
            }
        }
        Ok(buf.len())
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        if self.mappings.is_empty() {
            return self.pagemap_ranges(start, end, out);
        }
        // Each mapping overlapping start..end by its backing; no pages
        // outside the mappings.
        let first = self.mappings.partition_point(|m| m.range.end <= start);
        let mut found = Vec::new();
        for i in first..self.mappings.len() {
            let Some(m) = self.mappings.get(i) else { break };
            if m.range.start >= end {
                break;
            }
            let (a, b) = (start.max(m.range.start), end.min(m.range.end));
            match m.backing {
                Backing::Anonymous => self.pagemap_ranges(a, b, &mut found)?,
                Backing::Everything => found.push(a..b),
                Backing::Shared { .. } => {
                    self.pagemap_ranges(a, b, &mut found)?;
                    let (process, warnings) = (self.reader.process(), &mut self.warnings);
                    if let Some(m) = self.mappings.get_mut(i) {
                        if let Some(data) = backing::shared_file_data(process, m, warnings) {
                            // Sorted and disjoint: start at the first that
                            // ends after `a` (a window is a small part of a
                            // big mapping).
                            let from = data.partition_point(|r| r.end <= a);
                            found.extend(
                                data.iter()
                                    .skip(from)
                                    .take_while(|r| r.start < b)
                                    .map(|r| r.start.max(a)..r.end.min(b))
                                    .filter(|r| r.start < r.end),
                            );
                        }
                    }
                }
            }
        }
        let merged = crate::ranges::merge(found);
        // Join with what `out` already ends with, as the pagemap path does.
        for r in merged {
            crate::ranges::push_joined(out, r)
        }
        Ok(())
    }
}

fn ticks_to_us(ticks: u64) -> u64 {
    let hz = coroner_proc_reader::clock_ticks_per_second().max(1);
    ticks.saturating_mul(1_000_000) / hz
}

fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

/// What a capture reads of a process besides its threads and mappings:
/// files that describe the process, not the layout of its memory, so they
/// can be read outside the freeze (before it, or beside it on another
/// thread).
#[derive(Debug, Clone)]
pub struct Facts {
    /// Process-wide facts.
    pub info: ProcessInfo,
    /// The `/proc` texts a minidump keeps (empty when not asked for).
    pub texts: ProcTexts,
    /// The machine (when asked for).
    pub host: Option<HostFacts>,
    /// Where the files behind the mappings are opened
    /// ([`Process::map_files_dir`]).
    map_files: PathBuf,
}

impl Facts {
    /// The same facts, with the mapped files opened through `copy`'s
    /// `/proc/<pid>/map_files` (a copy-on-write copy of the process, whose
    /// mappings are those of the moment it was made).
    pub(crate) fn through(&self, copy: &Process) -> Facts {
        Facts {
            map_files: copy.map_files_dir(),
            ..self.clone()
        }
    }
}

/// Read the facts of `process`. With `texts`, also the raw `/proc` texts
/// (status, environ, auxv) and the host facts (CPU, kernel, boot time) that
/// a minidump records and an ELF core does not; without, the ELF capture
/// skips reading them.
pub fn read_facts(process: &Process, texts: bool) -> Result<Facts, CaptureError> {
    let pid = process.pid();
    let stat = process.stat()?;
    let (status, status_text) = if texts {
        let raw = process.status_raw().ok();
        let parsed = raw
            .as_deref()
            .and_then(|r| coroner_proc_reader::parse::status::parse_status(r).ok());
        (parsed, raw)
    } else {
        (Some(process.status()?), None)
    };
    let cmdline = process.cmdline_raw().unwrap_or_default();
    let auxv_raw = process.auxv_raw().ok();
    let entries = parse_auxv(auxv_raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let page_size = auxv_value(&entries, AT_PAGESZ)
        .filter(|p| p.is_power_of_two())
        .unwrap_or_else(coroner_proc_reader::page_size);
    let auxv = entries
        .into_iter()
        .filter(|e| e.key != 0)
        .map(|e| (e.key, e.value))
        .collect();
    let coredump_filter = process
        .coredump_filter()
        .unwrap_or(crate::select::CoredumpFilter::DEFAULT);
    let host = texts.then(HostFacts::read);
    let times = host.as_ref().map(|h| {
        let hz = coroner_proc_reader::clock_ticks_per_second().max(1);
        ProcessTimes {
            start: h
                .boot_time
                .unwrap_or(0)
                .saturating_add(stat.start_time / hz),
            user_us: ticks_to_us(stat.utime),
            system_us: ticks_to_us(stat.stime),
        }
    });
    let u = |v: i32| u32::try_from(v).unwrap_or(0);
    let info = ProcessInfo {
        pid,
        ppid: u(stat.ppid),
        pgrp: u(stat.pgrp),
        sid: u(stat.session),
        uid: status.as_ref().map_or(0, |s| s.uid[0]),
        gid: status.as_ref().map_or(0, |s| s.gid[0]),
        state: stat.state,
        nice: i8::try_from(stat.nice).unwrap_or(0),
        flags: u64::from(stat.flags),
        comm: stat.comm,
        cmdline,
        auxv,
        coredump_filter,
        page_size,
        times,
    };
    let texts = if texts {
        ProcTexts {
            status: status_text,
            environ: process.environ_raw().ok(),
            auxv: auxv_raw,
            maps: None,
        }
    } else {
        ProcTexts::default()
    };
    Ok(Facts {
        info,
        texts,
        host,
        map_files: process.map_files_dir(),
    })
}

/// The threads of a frozen process, main thread first.
pub fn thread_states(frozen: &Frozen<'_>) -> Vec<ThreadState> {
    frozen
        .threads()
        .iter()
        .map(|t| ThreadState {
            tid: t.tid,
            name: t.name.clone(),
            gp_regs: t.regs.gp.to_vec(),
            fp_regs: (!t.regs.fp.is_empty()).then(|| t.regs.fp.clone()),
            xstate: t.regs.xstate.clone(),
            sigpend: t.status.as_ref().map_or(0, |s| s.sig_pnd),
            sighold: t.status.as_ref().map_or(0, |s| s.sig_blk),
            siginfo: t.siginfo,
            utime_us: t.stat.as_ref().map_or(0, |s| ticks_to_us(s.utime)),
            stime_us: t.stat.as_ref().map_or(0, |s| ticks_to_us(s.stime)),
        })
        .collect()
}

/// The snapshot of a frozen process: `facts`, its threads, and `mappings`
/// (read while frozen; `maps` their text, when a format keeps it) with what
/// `selection` dumps of each.
pub fn snapshot(
    facts: &Facts,
    frozen: &Frozen<'_>,
    mappings: Vec<Mapping>,
    maps: Option<Vec<u8>>,
    memory: &mut LiveMemory,
    selection: &Selection,
) -> Result<Snapshot, CaptureError> {
    snapshot_of(
        facts,
        thread_states(frozen),
        mappings,
        maps,
        memory,
        selection,
    )
}

/// [`snapshot()`] from threads read earlier: a capture from a copy-on-write
/// copy ([`crate::cow_copy`]) reads them from the frozen target and the
/// mappings, after the thaw, from the copy (`memory` is then the copy's).
pub fn snapshot_of(
    facts: &Facts,
    threads: Vec<ThreadState>,
    mappings: Vec<Mapping>,
    maps: Option<Vec<u8>>,
    memory: &mut LiveMemory,
    selection: &Selection,
) -> Result<Snapshot, CaptureError> {
    let arch = Arch::host().ok_or_else(|| CaptureError::Unsupported {
        what: "this CPU architecture".into(),
    })?;
    let info = facts.info.clone();
    let map_files = &facts.map_files;
    let mappings = snapshot::select(
        mappings,
        selection,
        info.coredump_filter,
        info.page_size,
        |addr| memory.starts_with_elf(addr),
        |m| {
            m.is_file_backed()
                .then(|| map_files.join(format!("{:x}-{:x}", m.start, m.end)))
        },
    );
    Ok(Snapshot {
        arch,
        time: now_secs(),
        host: facts.host.clone(),
        process: info,
        texts: ProcTexts {
            maps,
            ..facts.texts.clone()
        },
        threads,
        mappings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[vvar]` cannot be read through /proc/pid/mem; `[vdso]` right after it
    /// can. One request over both must still return the vDSO's bytes.
    #[test]
    fn reads_go_on_past_unreadable_pages() {
        let me = Process::open(std::process::id()).unwrap();
        let maps = me.maps().unwrap();
        let find = |name: &[u8]| {
            maps.iter()
                .find(|m| m.path == name)
                .map(|m| (m.start, m.end))
        };
        let (Some(vvar), Some(vdso)) = (find(b"[vvar]"), find(b"[vdso]")) else {
            eprintln!("SKIP: no [vvar]/[vdso] mappings here");
            return;
        };
        let start = vvar.0;
        let len = usize::try_from(vdso.1 - start).unwrap();
        if maps
            .iter()
            .any(|m| m.start < vdso.0 && m.end > start && m.path.is_empty())
        {
            eprintln!("SKIP: [vvar] and [vdso] are not adjacent");
            return;
        }
        let mut mem = LiveMemory::open(&me).unwrap();
        let mut buf = vec![0xaau8; len];
        assert_eq!(mem.read_at(start, &mut buf).unwrap(), len);
        let at = usize::try_from(vdso.0 - start).unwrap();
        assert_eq!(
            &buf[at..at + 4],
            b"\x7fELF",
            "vDSO bytes after the unreadable [vvar]"
        );
        assert!(mem.starts_with_elf(vdso.0));
        assert!(!mem.starts_with_elf(vvar.0));
    }

    #[test]
    fn present_ranges_skip_untouched_memory() {
        let me = Process::open(std::process::id()).unwrap();
        let mut mem = LiveMemory::open(&me).unwrap();
        // A touched heap buffer is present; report covers it exactly.
        let data = vec![1u8; 64 << 10];
        let addr = data.as_ptr() as u64 / 4096 * 4096 + 4096;
        let mut out = Vec::new();
        mem.present_ranges(addr, addr + 8192, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0], addr..addr + 8192);
        // The first pages of the address space are never mapped: nothing present.
        let mut out = Vec::new();
        mem.present_ranges(0x1000, 0x3000, &mut out).unwrap();
        assert!(out.is_empty(), "{out:?}");
    }
}
