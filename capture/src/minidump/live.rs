//! Live capture as a minidump: the same freeze / snapshot / thaw sequence as
//! the ELF capture, with the minidump model built by [`super::build`].

use std::io::{self, BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use coroner_minidump_format::model::{Exception, LinuxStreams, MiscInfo, Model, SystemInfo};
use coroner_minidump_format::write::{Layout, MemorySource};
use coroner_proc_reader::parse::auxv::{auxv_value, parse_auxv, AT_PAGESZ};
use coroner_proc_reader::parse::maps::{join_maps_smaps, parse_maps};
use coroner_proc_reader::{FreezeOptions, Frozen, HostFacts, Process};

use super::build::{
    build_model, context_from_linux, Arch, DumpInput, DumpMemory, MappingInput, ThreadInput,
};
use super::{MemoryMode, ZeroHoles};
use crate::live::{self, LiveMemory};
use crate::select::Reason;
use crate::sink::Sink;
use crate::snapshot::{self, ProcessInfo, Snapshot};
use crate::{CaptureError, CaptureOptions, CaptureReport};

impl MemorySource for LiveMemory {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        coroner_core_format::write::MemorySource::read_at(self, addr, buf)
    }
}

impl DumpMemory for LiveMemory {
    fn present(&mut self, start: u64, end: u64) -> io::Result<Vec<Range<u64>>> {
        let mut out = Vec::new();
        coroner_core_format::write::MemorySource::present_ranges(self, start, end, &mut out)?;
        Ok(out)
    }
}

/// Counts bytes pulled by the writer and reports progress.
pub(crate) struct Counting<'a, M: ?Sized> {
    pub(crate) inner: &'a mut M,
    pub(crate) done: u64,
    pub(crate) total: u64,
    pub(crate) callback: &'a mut dyn FnMut(u64, u64),
}

impl<M: MemorySource + ?Sized> MemorySource for Counting<'_, M> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read_at(addr, buf)?;
        self.done = self.done.saturating_add(buf.len() as u64).min(self.total);
        (self.callback)(self.done, self.total);
        Ok(n)
    }
}

/// SystemInfo of this machine: architecture, CPU count, x86 vendor and
/// CPUID version from `cpuinfo`, OS version from the kernel release.
pub(crate) fn host_system_info(arch: Arch, host: &HostFacts) -> SystemInfo {
    let cpu = &host.cpuinfo;
    let cpus = u8::try_from(cpu.processors.max(1)).unwrap_or(u8::MAX);
    let release = host.kernel_release.as_deref().unwrap_or_default();
    let version = host.kernel_version.as_deref().unwrap_or_default();
    let machine = match arch {
        Arch::X86_64 => "x86_64",
        Arch::Aarch64 => "aarch64",
    };
    let csd = format!("Linux {release} {version} {machine}");
    let mut si = match arch {
        Arch::X86_64 => SystemInfo::linux_amd64(cpus, &csd),
        Arch::Aarch64 => SystemInfo::linux_arm64(cpus, &csd),
    };
    // The version numbers stay 0, as Breakpad and minidump-writer leave them
    // on Linux: readers take the kernel release from the CSD string.
    if arch == Arch::X86_64 {
        let (family, model, stepping) = (
            cpu.family.unwrap_or(0),
            cpu.model.unwrap_or(0),
            cpu.stepping.unwrap_or(0),
        );
        si.processor_level = u16::try_from(family).unwrap_or(0);
        si.processor_revision = u16::try_from((model << 8) | stepping).unwrap_or(0);
        let mut vendor = [0u8; 12];
        if let Some(v) = &cpu.vendor_id {
            for (d, s) in vendor.iter_mut().zip(v) {
                *d = *s;
            }
        }
        // CPUID leaf 1 EAX layout: stepping, model, family, ext model, ext family.
        let (base_family, ext_family) = if family > 0xf {
            (0xf, family - 0xf)
        } else {
            (family, 0)
        };
        let version = (stepping & 0xf)
            | ((model & 0xf) << 4)
            | ((base_family & 0xf) << 8)
            | (((model >> 4) & 0xf) << 16)
            | ((ext_family & 0xff) << 20);
        si.set_x86_cpu(vendor, version, 0, 0);
    }
    si
}

/// Seconds since the epoch the process started (boot time + `starttime`).
fn create_time(boot_time: Option<u64>, start_ticks: u64) -> u32 {
    let hz = coroner_proc_reader::clock_ticks_per_second().max(1);
    u32::try_from(boot_time.unwrap_or(0).saturating_add(start_ticks / hz)).unwrap_or(u32::MAX)
}

fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

/// Turn a snapshot's mappings into builder input; each file-backed
/// mapping's file is read through `map_files` (see
/// [`Process::map_files_dir`]).
pub(crate) fn mapping_inputs(snap: &Snapshot, all: bool, map_files: &Path) -> Vec<MappingInput> {
    snap.mappings
        .iter()
        .map(|s| {
            let m = &s.mapping;
            let path = String::from_utf8_lossy(&m.path).into_owned();
            let file = m
                .is_file_backed()
                .then(|| map_files.join(format!("{:x}-{:x}", m.start, m.end)));
            MappingInput {
                start: m.start,
                end: m.end,
                read: m.perms.read,
                write: m.perms.write,
                exec: m.perms.exec,
                shared: m.perms.shared,
                offset: m.offset,
                inode: m.inode,
                path,
                dump_len: s.dump_len,
                excluded: s.reason == Reason::Excluded || (m.vm_flags.dont_dump() && !all),
                file,
            }
        })
        .collect()
}

/// The small `/proc` files a minidump capture reads once each (all but
/// `maps`, `smaps` and the frozen threads), read beside the freeze: they
/// describe the process, not the layout of its memory.
#[derive(Clone)]
struct Facts {
    info: ProcessInfo,
    linux: LinuxStreams,
    misc: MiscInfo,
    system_info: SystemInfo,
    /// Where the files behind the mappings are opened.
    map_files: PathBuf,
}

fn read_facts(process: &Process, arch: Arch) -> Result<Facts, CaptureError> {
    let pid = process.pid();
    // Each file once: the raw bytes go into the Linux streams, the parsed
    // values into the process facts the selection needs.
    let stat = process.stat()?;
    let cmdline = process.cmdline_raw().unwrap_or_default();
    let auxv_raw = process.auxv_raw().ok();
    let entries = parse_auxv(auxv_raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let page_size = auxv_value(&entries, AT_PAGESZ)
        .filter(|p| p.is_power_of_two())
        .unwrap_or_else(coroner_proc_reader::page_size);
    let auxv: Vec<(u64, u64)> = entries.into_iter().map(|e| (e.key, e.value)).collect();
    let coredump_filter = process
        .coredump_filter()
        .map(|f| f.0)
        .unwrap_or(crate::select::DEFAULT_FILTER);
    let u = |v: i32| u32::try_from(v).unwrap_or(0);
    let info = ProcessInfo {
        pid,
        ppid: u(stat.ppid),
        pgrp: u(stat.pgrp),
        sid: u(stat.session),
        state: stat.state,
        nice: i8::try_from(stat.nice).unwrap_or(0),
        flags: u64::from(stat.flags),
        comm: stat.comm.clone(),
        cmdline: cmdline.clone(),
        auxv,
        coredump_filter,
        page_size,
        ..ProcessInfo::default()
    };
    let host = HostFacts::read();
    let system_info = host_system_info(arch, &host);
    let linux = LinuxStreams {
        cpu_info: host.cpuinfo_raw.clone(),
        proc_status: process.status_raw().ok(),
        lsb_release: host.distribution_release.clone(),
        cmd_line: Some(cmdline),
        environ: process.environ_raw().ok(),
        auxv: auxv_raw,
        maps: None,
        dso_debug: None,
    };
    // MiscInfo times are whole seconds.
    let hz = coroner_proc_reader::clock_ticks_per_second().max(1);
    let misc = MiscInfo::process(
        pid,
        create_time(host.boot_time, stat.start_time),
        u32::try_from(stat.utime / hz).unwrap_or(u32::MAX),
        u32::try_from(stat.stime / hz).unwrap_or(u32::MAX),
    );
    Ok(Facts {
        info,
        linux,
        misc,
        system_info,
        map_files: process.map_files_dir(),
    })
}

/// `/proc/<pid>/maps`, raw and parsed (read while frozen), and given to
/// `memory` so that it knows which absent pages hold data.
fn read_maps(
    process: &Process,
    memory: &mut LiveMemory,
) -> Result<(Vec<u8>, Vec<coroner_proc_reader::Mapping>), CaptureError> {
    let maps = process.maps_raw()?;
    let listed = parse_maps(&maps).map_err(|source| coroner_proc_reader::Error::Parse {
        pid: process.pid(),
        path: format!("/proc/{}/maps", process.pid()).into(),
        source,
    })?;
    memory.set_mappings(&listed);
    Ok((maps, listed))
}

/// Whether the mapping at `addr` starts with the ELF magic, each address
/// read from the target once per capture.
fn starts_with_elf(cache: &mut Vec<(u64, bool)>, memory: &mut LiveMemory, addr: u64) -> bool {
    if let Some(&(_, elf)) = cache.iter().find(|(a, _)| *a == addr) {
        return elf;
    }
    let elf = memory.starts_with_elf(addr);
    cache.push((addr, elf));
    elf
}

/// A planned minidump: the selection it was planned from and the model.
struct Planned {
    snap: Snapshot,
    mappings: Vec<MappingInput>,
    model: Model,
}

/// Whether the stacks-only `model` planned from `early` (mappings from
/// `maps` alone) is the one `real` (joined to `smaps`) gives. Every input
/// but `dump_len` (which only `heap` and `full` use) must be the same, except
/// that smaps may mark mappings MADV_DONTDUMP (`excluded`) that the model
/// does not use: anonymous ones (a module's header and build-id are read
/// from file mappings) that hold none of its memory ranges. A stack or pc
/// window in such a mapping is a memory range, so it sends the plan back
/// to be made again, as does any other difference.
fn plan_still_holds(early: &[MappingInput], real: &[MappingInput], model: &Model) -> bool {
    let ranges: Vec<(u64, u64)> = model
        .memory_list
        .iter()
        .chain(&model.memory64_list)
        .chain(model.threads.iter().filter_map(|t| t.stack.as_ref()))
        .map(|r| (r.start, r.start.saturating_add(r.size)))
        .collect();
    early.len() == real.len()
        && early.iter().zip(real).all(|(a, b)| {
            let same = (a.start, a.end, a.read, a.write, a.exec, a.shared)
                == (b.start, b.end, b.read, b.write, b.exec, b.shared)
                && (a.offset, a.inode, &a.path, &a.file) == (b.offset, b.inode, &b.path, &b.file);
            let unused = || {
                !a.is_file()
                    && a.file.is_none()
                    && !ranges.iter().any(|&(s, e)| s < a.end && a.start < e)
            };
            same && (a.excluded == b.excluded || (!a.excluded && b.excluded && unused()))
        })
}

/// Select the mappings (`listed` from `maps`, joined to `smaps`) and build
/// the minidump model of the frozen threads.
#[allow(clippy::too_many_arguments)]
fn plan(
    frozen: &Frozen<'_>,
    facts: &Facts,
    maps: &[u8],
    listed: &[coroner_proc_reader::Mapping],
    smaps: &[coroner_proc_reader::Mapping],
    options: &CaptureOptions,
    memory: &mut LiveMemory,
    elf_cache: &mut Vec<(u64, bool)>,
    mode: MemoryMode,
    arch: Arch,
) -> Result<Planned, CaptureError> {
    let pid = facts.info.pid;
    let info = facts.info.clone();
    let page = info.page_size;
    let filter = info.coredump_filter;
    let mappings = snapshot::select(
        join_maps_smaps(listed.to_vec(), smaps),
        &options.selection,
        filter,
        page,
        |addr| starts_with_elf(elf_cache, memory, addr),
    );
    let snap = Snapshot {
        process: info,
        threads: live::thread_states(frozen),
        mappings,
    };
    let mut threads = Vec::new();
    for t in frozen.threads() {
        let fp = (!t.regs.fp.is_empty()).then_some(t.regs.fp.as_slice());
        let context =
            context_from_linux(arch, &t.regs.gp, fp).ok_or_else(|| CaptureError::Unsupported {
                what: format!("thread {}: registers", t.tid),
            })?;
        threads.push(ThreadInput {
            tid: t.tid,
            name: (!t.name.is_empty()).then(|| String::from_utf8_lossy(&t.name).into_owned()),
            context,
        });
    }
    let context_of = |tid: u32| {
        threads
            .iter()
            .find(|t| t.tid == tid)
            .map(|t| t.context.clone())
    };
    // The snapshot's signal, which the ELF core records too (NT_SIGINFO,
    // pr_cursig): code = signal, flags = si_code, address = si_addr, as
    // Breakpad writes a crash.
    let exception = match snap.stop_signal() {
        Some((thread, info)) => Exception {
            thread_id: thread.tid,
            code: u32::try_from(info.signo).unwrap_or(0),
            flags: u32::from_ne_bytes(info.code.to_ne_bytes()),
            address: info.fault_address.unwrap_or(0),
            context: context_of(thread.tid),
            ..Exception::default()
        },
        None => Exception {
            context: context_of(pid),
            ..Exception::dump_requested(pid)
        },
    };
    let mut model = Model {
        time_date_stamp: now_secs(),
        system_info: Some(facts.system_info.clone()),
        misc_info: Some(facts.misc.clone()),
        exception: Some(exception),
        linux: facts.linux.clone(),
        ..Model::default()
    };
    model.linux.maps = Some(maps.to_vec());
    let mappings = mapping_inputs(&snap, options.selection.all, &facts.map_files);
    let input = DumpInput {
        arch,
        threads,
        mappings: mappings.clone(),
        auxv: snap.process.auxv.clone(),
        page_size: snap.process.page_size,
        model,
    };
    let model = build_model(input, memory, mode).map_err(CaptureError::from_memory)?;
    Ok(Planned {
        snap,
        mappings,
        model,
    })
}

/// The whole minidump of `model` serialised in memory, with its memory read
/// from the (frozen) target: the bytes and how many bytes of memory were
/// read. Used while `smaps` is still being read, so that only one `write`
/// is left once it confirms the plan; the bytes go nowhere else unless it
/// does (they may hold MADV_DONTDUMP memory otherwise, and are dropped).
fn serialize(
    model: &Model,
    memory: &mut LiveMemory,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Vec<u8>, u64), CaptureError> {
    let layout = Layout::plan(model)?;
    let total: u64 = model
        .memory_list
        .iter()
        .chain(&model.memory64_list)
        .map(|r| r.size)
        .sum();
    let mut source = Counting {
        inner: memory,
        done: 0,
        total,
        callback: progress,
    };
    let mut bytes = Vec::with_capacity(usize::try_from(layout.size()).unwrap_or(0));
    layout.write(&mut source, &mut bytes)?;
    Ok((bytes, source.done))
}

/// Capture process `pid` as a minidump into `sink` and finish the sink
/// (fsync + rename for a file). `options.selection` applies to the memory
/// of `heap` and `full`, and exclusions to everything; `progress(done,
/// total)` is called with bytes of memory copied.
pub fn capture_minidump(
    pid: u32,
    mut sink: Sink,
    options: &CaptureOptions,
    mode: MemoryMode,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CaptureReport, CaptureError> {
    let started = Instant::now();
    let arch = Arch::host().ok_or_else(|| CaptureError::Unsupported {
        what: "this CPU architecture".into(),
    })?;
    let process = Process::open(pid)?;
    // Per-thread stat/status files are not needed for a minidump (they
    // cost two opens per thread while the target is stopped).
    let mut freeze = FreezeOptions::default();
    freeze.thread_files = false;
    // Two threads share the work. This one freezes the target (ptrace ties
    // the tracees to the thread that seized them), then plans a stacks-only
    // dump from `maps` and serialises it in memory. The other reads the small
    // /proc files during the freeze and then `smaps`, the slowest file by far
    // (the kernel walks every resident page) and the only one with the
    // MADV_DONTDUMP flag. It waits for the freeze first: read earlier, a
    // mapping the target madvised meanwhile could show without that flag.
    // The plan made from `maps` alone is kept only if smaps changes nothing
    // in it (no DONTDUMP mapping holds a stack, a pc or a module header), and
    // made again otherwise; nothing reaches the sink before that check, and
    // the serialised bytes are dropped unwritten if it fails.
    //
    // With `--all`, a stacks-only dump needs nothing from smaps: DONTDUMP is
    // not honoured, and the other flags and page counts decide only what
    // `heap` and `full` add. The page walk is then skipped.
    let need_smaps = !(options.selection.all && mode == MemoryMode::Stacks);
    // Opened before the reader thread exists: a process whose memory cannot
    // be opened (a kernel thread, a zombie, another user's process) fails
    // here, as the ELF capture does, with nothing to wait for or undo.
    let mut memory = LiveMemory::open(&process)?;
    let freeze_started = Instant::now();
    let mut elf_cache = Vec::new();
    let (facts_tx, facts_rx) = mpsc::channel();
    let (frozen_tx, frozen_rx) = mpsc::channel::<bool>();
    let (smaps, facts, frozen, early) = std::thread::scope(|scope| {
        let process = &process;
        let reader = scope.spawn(move || {
            // The receiver is gone only if the main thread failed first.
            let _ = facts_tx.send(read_facts(process, arch));
            match frozen_rx.recv() {
                Ok(true) if need_smaps => Some(process.mappings().map_err(CaptureError::from)),
                Ok(true) => Some(Ok(Vec::new())),
                // The freeze failed: the capture ends with its error.
                Ok(false) | Err(_) => None,
            }
        });
        // Every path from here reaches this send (the reader waits for it
        // before `smaps`), so the scope's join cannot wait forever.
        let frozen = process.freeze_with(freeze);
        let _ = frozen_tx.send(frozen.is_ok());
        drop(frozen_tx);
        let facts = facts_rx.recv().ok();
        let mut early = None;
        if let (Ok(frozen), Some(Ok(f)), MemoryMode::Stacks) = (&frozen, &facts, mode) {
            early = Some(read_maps(process, &mut memory).and_then(|(maps, listed)| {
                let planned = plan(
                    frozen,
                    f,
                    &maps,
                    &listed,
                    &[],
                    options,
                    &mut memory,
                    &mut elf_cache,
                    mode,
                    arch,
                )?;
                let bytes = serialize(&planned.model, &mut memory, &mut *progress)?;
                Ok((maps, listed, planned, bytes))
            }));
        }
        let smaps = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (smaps, facts, frozen, early)
    });
    let frozen = frozen?;
    // An error here drops `frozen`, which thaws the target.
    let written = (|| {
        let smaps = smaps.ok_or_else(|| CaptureError::Unsupported {
            what: format!("/proc/{pid}/smaps was not read"),
        })??;
        let facts = facts.ok_or_else(|| CaptureError::Unsupported {
            what: format!("/proc/{pid}: the process files were not read"),
        })??;
        let (maps, listed, early) = match early {
            Some(e) => {
                let (maps, listed, planned, bytes) = e?;
                (maps, listed, Some((planned, bytes)))
            }
            None => {
                let (maps, listed) = read_maps(&process, &mut memory)?;
                (maps, listed, None)
            }
        };
        // The early plan (from `maps` alone) is kept only when the selection
        // with smaps gives the same mapping inputs: the same inputs give the
        // same model. Otherwise plan again, now with smaps.
        let kept = early.and_then(|(p, bytes)| {
            let snap = Snapshot {
                process: p.snap.process.clone(),
                threads: Vec::new(),
                mappings: snapshot::select(
                    join_maps_smaps(listed.clone(), &smaps),
                    &options.selection,
                    facts.info.coredump_filter,
                    facts.info.page_size,
                    |addr| starts_with_elf(&mut elf_cache, &mut memory, addr),
                ),
            };
            let real = mapping_inputs(&snap, options.selection.all, &facts.map_files);
            plan_still_holds(&p.mappings, &real, &p.model).then(|| {
                let planned = Planned {
                    snap,
                    mappings: real,
                    model: p.model,
                };
                (planned, bytes)
            })
        });
        let (planned, prebuilt) = match kept {
            Some((planned, bytes)) => (planned, Some(bytes)),
            None => (
                plan(
                    &frozen,
                    &facts,
                    &maps,
                    &listed,
                    &smaps,
                    options,
                    &mut memory,
                    &mut elf_cache,
                    mode,
                    arch,
                )?,
                None,
            ),
        };
        let Planned { snap, model, .. } = planned;
        if let Some((bytes, read)) = prebuilt {
            // Everything is read: written after the thaw, below.
            return Ok::<_, CaptureError>((snap, model, read, Some(bytes)));
        }
        let layout = Layout::plan(&model)?;
        let total: u64 = model
            .memory_list
            .iter()
            .chain(&model.memory64_list)
            .map(|r| r.size)
            .sum();
        let mut source = Counting {
            inner: &mut memory,
            done: 0,
            total,
            callback: progress,
        };
        // A buffer no larger than the dump (a stacks-only one is often
        // ~100 KiB): a 1 MiB buffer is a fresh mapping to fault in and unmap.
        let buffer = usize::try_from(layout.size().min(1 << 20)).unwrap_or(1 << 20);
        let mut out = BufWriter::with_capacity(buffer.max(4096), ZeroHoles::new(&mut sink));
        layout.write(&mut source, &mut out)?;
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(ZeroHoles::finish)
            .map_err(|source| coroner_minidump_format::WriteError::Io {
                offset: layout.size(),
                source,
            })?;
        Ok::<_, CaptureError>((snap, model, source.done, None))
    })();
    // Thaw first, whatever happened. A write error ends the capture; a thaw
    // error does not lose the (complete) dump but is reported loudly (as the
    // ELF capture does). A dump already serialised in memory (stacks only,
    // plan confirmed by smaps) reaches the file after the thaw: the target
    // is not kept stopped for the write.
    let thawed = frozen.thaw();
    let (snap, model, read, serialized) = written.map_err(|e| e.blame_exit(&process))?;
    if let Some(bytes) = serialized {
        let mut out = ZeroHoles::new(&mut sink);
        out.write_all(&bytes)
            .and_then(|()| out.finish())
            .map_err(|source| coroner_minidump_format::WriteError::Io {
                offset: bytes.len() as u64,
                source,
            })?;
    }
    let mut warnings = memory.take_warnings();
    let frozen_for = live::frozen_time(thawed, pid, freeze_started, &mut warnings);
    let report = sink.finish()?;
    let without_stack = model.threads.iter().filter(|t| t.stack.is_none()).count();
    if without_stack > 0 {
        warnings.push(format!(
            "{without_stack} thread(s) have no stack in the dump (stack pointer outside any readable, included mapping)"
        ));
    }
    Ok(CaptureReport {
        pid,
        path: report.path,
        threads: model.threads.len(),
        mappings: snap.mappings.len(),
        mappings_dumped: snap
            .mappings
            .iter()
            .filter(|s| {
                model
                    .memory_list
                    .iter()
                    .chain(&model.memory64_list)
                    .any(|r| {
                        r.start < s.mapping.end && s.mapping.start < r.start.saturating_add(r.size)
                    })
            })
            .count(),
        bytes_written: report.bytes_written,
        bytes_allocated: report.bytes_allocated,
        memory_bytes_read: read,
        wall: started.elapsed(),
        frozen: frozen_for,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(start: u64, path: &str) -> MappingInput {
        MappingInput {
            start,
            end: start + 0x1000,
            read: true,
            write: true,
            path: path.into(),
            dump_len: 0x1000,
            ..MappingInput::default()
        }
    }

    /// The plan made from `maps` alone is kept only when smaps changes
    /// nothing a stacks-only dump depends on: `dump_len` may change, and a
    /// DONTDUMP flag (`excluded`) may appear on an anonymous mapping that
    /// holds none of the model's memory; any other difference, a newly
    /// excluded mapping the model has memory from, or a file mapping, sends
    /// it back to be made again.
    #[test]
    fn a_plan_from_maps_alone_is_kept_only_when_smaps_changes_nothing_it_uses() {
        use coroner_minidump_format::model::{MemoryRange, Thread};
        let early = vec![
            mapping(0x1000, "[stack]"),
            mapping(0x3000, ""),
            MappingInput {
                inode: 7,
                file: Some(PathBuf::from("/proc/1/map_files/5000-6000")),
                ..mapping(0x5000, "/usr/lib/libx.so")
            },
        ];
        let mut model = Model {
            memory_list: vec![MemoryRange {
                start: 0x1800,
                size: 0x100,
            }],
            ..Model::default()
        };
        assert!(plan_still_holds(&early, &early, &model));
        let mut same = early.clone();
        same[1].dump_len = 0;
        assert!(plan_still_holds(&early, &same, &model));
        // DONTDUMP on the unused anonymous mapping: kept.
        let mut unused = early.clone();
        unused[1].excluded = true;
        assert!(plan_still_holds(&early, &unused, &model));
        // ... but not once the model holds memory from it, as a range or
        // as a thread's stack.
        let mut holding = model.clone();
        holding.memory_list.push(MemoryRange {
            start: 0x3ff0,
            size: 0x20,
        });
        assert!(!plan_still_holds(&early, &unused, &holding));
        let mut stack = model.clone();
        stack.threads.push(Thread {
            stack: Some(MemoryRange {
                start: 0x3000,
                size: 0x10,
            }),
            ..Thread::default()
        });
        assert!(!plan_still_holds(&early, &unused, &stack));
        // DONTDUMP where the model has memory (the stack), on a file
        // mapping (module header, build-id), or a flag that went away.
        let mut dontdump = early.clone();
        dontdump[0].excluded = true;
        assert!(!plan_still_holds(&early, &dontdump, &model));
        let mut module = early.clone();
        module[2].excluded = true;
        assert!(!plan_still_holds(&early, &module, &model));
        assert!(!plan_still_holds(&unused, &early, &model));
        let mut moved = early.clone();
        moved[1].end += 0x1000;
        assert!(!plan_still_holds(&early, &moved, &model));
        assert!(!plan_still_holds(&early, &early[..1], &model));
        model.memory_list.clear();
        assert!(plan_still_holds(&early, &unused, &model));
    }
}
