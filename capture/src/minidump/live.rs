//! Live capture as a minidump: the same freeze / snapshot / thaw sequence as
//! the ELF capture, with the minidump model built by [`super::build`].

use std::io::{self, BufWriter};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Instant;

use coroner_minidump_format::model::{Exception, LinuxStreams, MiscInfo, Model, SystemInfo};
use coroner_minidump_format::write::{Layout, MemorySource};
use coroner_proc_reader::parse::maps::{join_maps_smaps, parse_maps};
use coroner_proc_reader::{FreezeOptions, Process, StopKind};

use super::build::{
    build_model, context_from_linux, Arch, DumpInput, DumpMemory, MappingInput, ThreadInput,
};
use super::{MemoryMode, ZeroHoles};
use crate::live::LiveMemory;
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

fn read_text(path: &str) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

fn cpuinfo_field<'a>(cpuinfo: &'a str, key: &str) -> Option<&'a str> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// SystemInfo of this machine: architecture, CPU count, x86 vendor and
/// CPUID version from `/proc/cpuinfo`, OS version from `/proc/sys/kernel`.
pub(crate) fn host_system_info(arch: Arch, cpuinfo: &[u8]) -> SystemInfo {
    let text = String::from_utf8_lossy(cpuinfo);
    let cpus = text
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count()
        .max(1);
    let cpus = u8::try_from(cpus).unwrap_or(u8::MAX);
    let release = read_text("/proc/sys/kernel/osrelease")
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let version = read_text("/proc/sys/kernel/version")
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
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
        let num = |k: &str| {
            cpuinfo_field(&text, k)
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        };
        let (family, model, stepping) = (num("cpu family"), num("model"), num("stepping"));
        si.processor_level = u16::try_from(family).unwrap_or(0);
        si.processor_revision = u16::try_from((model << 8) | stepping).unwrap_or(0);
        let mut vendor = [0u8; 12];
        if let Some(v) = cpuinfo_field(&text, "vendor_id") {
            for (d, s) in vendor.iter_mut().zip(v.bytes()) {
                *d = s;
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

/// Seconds since the epoch the process started (`btime` + `starttime`).
fn create_time(start_ticks: u64) -> u32 {
    let btime = read_text("/proc/stat")
        .and_then(|b| {
            String::from_utf8_lossy(&b).lines().find_map(|l| {
                l.strip_prefix("btime ")
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
        })
        .unwrap_or(0);
    u32::try_from(btime.saturating_add(start_ticks / 100)).unwrap_or(u32::MAX)
}

fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

/// Turn a snapshot's mappings into builder input.
pub(crate) fn mapping_inputs(snap: &Snapshot, all: bool) -> Vec<MappingInput> {
    let pid = snap.process.pid;
    snap.mappings
        .iter()
        .map(|s| {
            let m = &s.mapping;
            let path = String::from_utf8_lossy(&m.path).into_owned();
            let file = m
                .is_file_backed()
                .then(|| PathBuf::from(format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end)));
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

/// What a minidump capture reads without the target frozen.
struct Unfrozen {
    info: ProcessInfo,
    /// The mappings with smaps figures, joined later to `maps` read frozen.
    smaps: Vec<coroner_proc_reader::Mapping>,
    linux: LinuxStreams,
    misc: MiscInfo,
    system_info: SystemInfo,
}

fn read_unfrozen(process: &Process, arch: Arch) -> Result<Unfrozen, CaptureError> {
    let pid = process.pid();
    // Each file once: the raw bytes go into the Linux streams, the parsed
    // values into the process facts the selection needs.
    let stat = process.stat()?;
    let cmdline = process.read_file("cmdline").unwrap_or_default();
    let auxv_raw = process.auxv_raw().ok();
    let auxv: Vec<(u64, u64)> = auxv_raw
        .as_deref()
        .unwrap_or_default()
        .chunks_exact(16)
        .map(|kv| {
            let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
            (word(&kv[..8]), word(&kv[8..]))
        })
        .take_while(|(k, _)| *k != 0)
        .collect();
    // AT_PAGESZ.
    let page_size = auxv
        .iter()
        .find(|(k, _)| *k == 6)
        .map(|(_, v)| *v)
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096);
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
    let cpuinfo = read_text("/proc/cpuinfo");
    let system_info = host_system_info(arch, cpuinfo.as_deref().unwrap_or_default());
    let linux = LinuxStreams {
        cpu_info: cpuinfo,
        proc_status: process.read_file("status").ok(),
        lsb_release: read_text("/etc/lsb-release").or_else(|| read_text("/etc/os-release")),
        cmd_line: Some(cmdline),
        environ: process.environ_raw().ok(),
        auxv: auxv_raw,
        maps: None,
        dso_debug: None,
    };
    let misc = MiscInfo::process(
        pid,
        create_time(stat.start_time),
        u32::try_from(stat.utime / 100).unwrap_or(u32::MAX),
        u32::try_from(stat.stime / 100).unwrap_or(u32::MAX),
    );
    let smaps = process.mappings()?;
    Ok(Unfrozen {
        info,
        smaps,
        linux,
        misc,
        system_info,
    })
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
    let mut memory = LiveMemory::open(&process)?;
    // Per-thread stat/status files are not needed for a minidump (they
    // cost two opens per thread while the target is stopped).
    let mut freeze = FreezeOptions::default();
    freeze.thread_files = false;
    // What needs no freeze (smaps above all: the slowest /proc file by far)
    // is read on a second thread while this one freezes the target; ptrace
    // ties the tracees to the freezing thread, so that one stays here.
    let freeze_started = Instant::now();
    let (unfrozen, frozen) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| read_unfrozen(&process, arch));
        let frozen = process.freeze_with(freeze);
        let unfrozen = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (unfrozen, frozen)
    });
    let frozen = frozen?;
    // An error here drops `frozen`, which thaws the target.
    let Unfrozen {
        info,
        smaps,
        linux,
        misc,
        system_info,
    } = unfrozen?;
    let written = (|| {
        let maps = process.read_file("maps")?;
        let listed = parse_maps(&maps).map_err(|e| CaptureError::Unsupported {
            what: format!("/proc/{pid}/maps: {e}"),
        })?;
        let page = info.page_size;
        let filter = info.coredump_filter;
        let mappings = snapshot::select(
            join_maps_smaps(listed, &smaps),
            &options.selection,
            filter,
            page,
            |addr| memory.starts_with_elf(addr),
        );
        let snap = Snapshot {
            process: info,
            threads: Vec::new(),
            mappings,
        };
        let mut threads = Vec::new();
        let mut exception = None;
        for t in frozen.threads() {
            let fp = (!t.regs.fp.is_empty()).then_some(t.regs.fp.as_slice());
            let context = context_from_linux(arch, &t.regs.gp, fp).ok_or_else(|| {
                CaptureError::Unsupported {
                    what: format!("thread {}: registers", t.tid),
                }
            })?;
            if let (StopKind::Signal { signal }, None) = (t.stop, &exception) {
                let si = t.siginfo.unwrap_or([0; 128]);
                let word = |o: usize| i32::from_le_bytes(si[o..o + 4].try_into().unwrap_or([0; 4]));
                // SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV carry si_addr.
                let address = if matches!(signal, 4 | 5 | 7 | 8 | 11) {
                    u64::from_le_bytes(si[16..24].try_into().unwrap_or([0; 8]))
                } else {
                    0
                };
                exception = Some(Exception {
                    thread_id: t.tid,
                    code: u32::try_from(signal).unwrap_or(0),
                    flags: u32::from_ne_bytes(word(8).to_ne_bytes()),
                    address,
                    context: Some(context.clone()),
                    ..Exception::default()
                });
            }
            threads.push(ThreadInput {
                tid: t.tid,
                name: (!t.name.is_empty()).then(|| String::from_utf8_lossy(&t.name).into_owned()),
                context,
            });
        }
        let exception = exception.unwrap_or_else(|| {
            let mut e = Exception::dump_requested(pid);
            e.context = threads
                .iter()
                .find(|t| t.tid == pid)
                .map(|t| t.context.clone());
            e
        });
        let mut model = Model {
            time_date_stamp: now_secs(),
            system_info: Some(system_info),
            misc_info: Some(misc),
            exception: Some(exception),
            linux,
            ..Model::default()
        };
        model.linux.maps = Some(maps);
        let input = DumpInput {
            arch,
            threads,
            mappings: mapping_inputs(&snap, options.selection.all),
            auxv: snap.process.auxv.clone(),
            page_size: snap.process.page_size,
            model,
        };
        let model =
            build_model(input, &mut memory, mode).map_err(|e| CaptureError::Unsupported {
                what: format!("reading the process while planning the minidump: {e}"),
            })?;
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
        let mut out = BufWriter::with_capacity(1 << 20, ZeroHoles::new(&mut sink));
        layout.write(&mut source, &mut out)?;
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(ZeroHoles::finish)
            .map_err(|source| coroner_minidump_format::WriteError::Io {
                offset: layout.size(),
                source,
            })?;
        Ok::<_, CaptureError>((snap, model, source.done))
    })();
    // Thaw first, whatever happened. A write error ends the capture; a thaw
    // error does not lose the (complete) dump but is reported loudly (as the
    // ELF capture does).
    let thawed = frozen.thaw();
    let (snap, model, read) = written?;
    let mut warnings = Vec::new();
    let frozen_for = match thawed {
        Ok(t) => t.frozen_for,
        Err(e) => {
            warnings.push(format!(
                "resuming the target: {e}; check that process {pid} is running"
            ));
            freeze_started.elapsed()
        }
    };
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
