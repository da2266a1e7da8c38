//! A minidump [`MinidumpModel`] from a [`Snapshot`] and its memory ([`DumpMemory`]):
//! SystemInfo, MiscInfo, the Exception (the snapshot's stop signal), the
//! Linux streams, threads with contexts and stacks, thread names, modules
//! with build-ids, the memory lists for the chosen [`MemoryMode`],
//! MemoryInfoList, Maps and DsoDebug.
//!
//! Live capture ([`super::capture_minidump`]) and ELF core → minidump
//! conversion ([`crate::convert`]) both take a [`Snapshot`] and call
//! [`minidump_model`]; the ELF core of a snapshot is
//! [`crate::elf::core_model`].

// Dump contents are untrusted: the same no-panic lint wall as the format crates.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

use std::io;
use std::ops::Range;

use coroner_minidump_format::model::{
    Context, Exception, LinuxStreams, MemoryRange, MinidumpModel, MiscInfo, Thread, ThreadName,
};
use coroner_minidump_format::raw::{
    MemoryProtection, MemoryState, MemoryType, MINIDUMP_MEMORY_INFO,
};
use coroner_minidump_format::write::MemorySource;
use coroner_proc_reader::parse::maps::Mapping;

pub use super::context::context_from_linux;
use super::modules::modules;
use super::system_info::system_info;
use super::{elf, MemoryMode};
use crate::ranges::{merge, subtract};
use crate::snapshot::Snapshot;
use crate::CaptureError;

/// Bytes captured before and after each thread's instruction pointer.
pub const PC_WINDOW: u64 = 256;
/// Largest stack copied for one thread (from its page-aligned stack pointer
/// up to the end of its stack mapping, as Breakpad and minidump-writer do).
pub const MAX_STACK: u64 = 8 << 20;

/// What planning a minidump reads of a process's memory, over any
/// [`MemorySource`] (a live process, a core being converted).
pub trait DumpMemory: MemorySource {
    /// The parts of `start..end` that hold data (pages present or swapped
    /// in a live process; dumped bytes of a core), from
    /// [`MemorySource::present_ranges`]. Reading anything else would either
    /// change the target (fault in the zero page) or give zeros.
    fn present(&mut self, start: u64, end: u64) -> io::Result<Vec<Range<u64>>> {
        let mut out = Vec::new();
        self.present_ranges(start, end, &mut out)?;
        Ok(out)
    }

    /// Read exactly `buf.len()` bytes at `addr`.
    fn read_exact(&mut self, addr: u64, buf: &mut [u8]) -> bool {
        let mut done = 0usize;
        while done < buf.len() {
            let Some(rest) = buf.get_mut(done..) else {
                return false;
            };
            match self.read_at(addr.saturating_add(done as u64), rest) {
                Ok(0) | Err(_) => return false,
                Ok(n) => done = done.saturating_add(n),
            }
        }
        true
    }
}

impl<T: MemorySource + ?Sized> DumpMemory for T {}

/// A `/proc/pid/maps` line for `m` (the Maps stream of a snapshot that has
/// no maps text).
pub fn maps_line(m: &Mapping) -> String {
    let flag = |b: bool, c: char| if b { c } else { '-' };
    format!(
        "{:08x}-{:08x} {}{}{}{} {:08x} 00:00 {} {}\n",
        m.start,
        m.end,
        flag(m.perms.read, 'r'),
        flag(m.perms.write, 'w'),
        flag(m.perms.exec, 'x'),
        if m.perms.shared { 's' } else { 'p' },
        m.offset,
        m.inode,
        String::from_utf8_lossy(&m.path)
    )
    .replace(" \n", "\n")
}

/// Seconds of a count of microseconds, clamped to the 32-bit field.
fn secs_u32(us: u64) -> u32 {
    u32::try_from(us / 1_000_000).unwrap_or(u32::MAX)
}

/// The streams that describe the process rather than its memory:
/// SystemInfo, MiscInfo, the Exception and the Linux streams.
fn process_streams(snap: &Snapshot, contexts: &[(u32, Context)]) -> MinidumpModel {
    let p = &snap.process;
    let context_of = |tid: u32| {
        contexts
            .iter()
            .find(|(t, _)| *t == tid)
            .map(|(_, c)| c.clone())
    };
    // The snapshot's signal, which the ELF core records too (NT_SIGINFO,
    // pr_cursig): code = signal, flags = si_code, address = si_addr for a
    // fault, as Breakpad writes a crash. Without one, the dump was
    // requested, by the first (current) thread.
    let exception = match snap.stop_signal() {
        Some((thread, info)) => Exception {
            thread_id: thread.tid,
            code: u32::try_from(info.signo).unwrap_or(0),
            flags: u32::from_ne_bytes(info.code.to_ne_bytes()),
            address: info.fault_address.unwrap_or(0),
            context: context_of(thread.tid),
            ..Exception::default()
        },
        None => {
            let tid = snap.threads.first().map_or(p.pid, |t| t.tid);
            Exception {
                context: context_of(tid),
                ..Exception::dump_requested(tid)
            }
        }
    };
    let misc_info = match p.times {
        Some(t) => Some(MiscInfo::process(
            p.pid,
            u32::try_from(t.start).unwrap_or(u32::MAX),
            secs_u32(t.user_us),
            secs_u32(t.system_us),
        )),
        None => (p.pid != 0).then(|| MiscInfo {
            flags1: coroner_minidump_format::raw::MINIDUMP_MISC1_PROCESS_ID,
            process_id: p.pid,
            ..MiscInfo::default()
        }),
    };
    MinidumpModel {
        time_date_stamp: snap.time,
        system_info: Some(system_info(snap.arch, snap.host.as_ref())),
        misc_info,
        exception: Some(exception),
        linux: LinuxStreams {
            cpu_info: snap.host.as_ref().and_then(|h| h.cpuinfo_raw.clone()),
            proc_status: snap.texts.status.clone(),
            lsb_release: snap
                .host
                .as_ref()
                .and_then(|h| h.distribution_release.clone()),
            cmd_line: (!p.cmdline.is_empty()).then(|| p.cmdline.clone()),
            environ: snap.texts.environ.clone(),
            auxv: snap.texts.auxv.clone(),
            maps: snap.texts.maps.clone(),
            dso_debug: None,
        },
        ..MinidumpModel::default()
    }
}

fn page_down(a: u64, page: u64) -> u64 {
    a & !(page.saturating_sub(1))
}

/// Intersect `r` with `present`, keeping the run of present bytes that
/// starts at `r.start` (or the first one after it).
fn first_present_run(r: Range<u64>, present: &[Range<u64>]) -> Option<Range<u64>> {
    let mut run: Option<Range<u64>> = None;
    for p in present {
        let a = p.start.max(r.start);
        let b = p.end.min(r.end);
        if a >= b {
            continue;
        }
        match &mut run {
            None => run = Some(a..b),
            Some(cur) if cur.end == a => cur.end = b,
            Some(_) => break,
        }
    }
    run
}

fn to_range(r: &Range<u64>) -> MemoryRange {
    MemoryRange {
        start: r.start,
        size: r.end.saturating_sub(r.start),
    }
}

/// Windows `PAGE_*` protection for `rwx`.
fn page_protection(m: &Mapping) -> u32 {
    MemoryProtection::from_rwx(m.perms.read, m.perms.write, m.perms.exec).bits()
}

/// The stack range of a thread whose stack pointer is `sp`: from the page
/// holding `sp` to the end of its mapping (skipping up to 1 MiB of guard
/// pages when `sp` points into one), present bytes only.
fn stack_range(
    snap: &Snapshot,
    memory: &mut dyn DumpMemory,
    sp: u64,
) -> io::Result<Option<Range<u64>>> {
    let page = snap.process.page_size;
    let mut at = page_down(sp, page);
    let limit = at.saturating_add(1 << 20);
    let mapping = loop {
        match snap.mappings.iter().find(|m| m.mapping.contains(at)) {
            Some(m) if m.mapping.perms.read || m.mapping.perms.write => break Some(m),
            _ if at < limit => at = at.saturating_add(page),
            _ => break None,
        }
    };
    let Some(m) = mapping.filter(|m| !m.excluded) else {
        return Ok(None);
    };
    let start = at.max(m.mapping.start);
    let end = m.mapping.end.min(start.saturating_add(MAX_STACK));
    let present = memory.present(start, end)?;
    Ok(first_present_run(start..end, &present))
}

/// The minidump of `snap`: its process streams, then threads, names,
/// modules, memory per `mode`, MemoryInfoList, Maps (generated from the
/// mappings when the snapshot has no maps text) and DsoDebug, reading
/// from `memory` what it needs to plan (stack extents, ELF headers,
/// build-ids, `r_debug`). The memory ranges' bytes are left to the writer.
pub fn minidump_model(
    snap: &Snapshot,
    memory: &mut dyn DumpMemory,
    mode: MemoryMode,
) -> Result<MinidumpModel, CaptureError> {
    let mut contexts = Vec::with_capacity(snap.threads.len());
    for t in &snap.threads {
        let context =
            context_from_linux(snap.arch, &t.gp_regs, t.fp_regs.as_deref()).ok_or_else(|| {
                CaptureError::Unsupported {
                    what: format!(
                        "thread {}: {} words of general registers for {}",
                        t.tid,
                        t.gp_regs.len(),
                        snap.arch.name()
                    ),
                }
            })?;
        contexts.push((t.tid, context));
    }
    let mut model = process_streams(snap, &contexts);
    add_memory_and_modules(snap, contexts, memory, mode, &mut model)
        .map_err(CaptureError::from_memory)?;
    Ok(model)
}

/// Add threads, names, memory, modules, MemoryInfoList, Maps (when not set)
/// and DsoDebug to `model`.
fn add_memory_and_modules(
    snap: &Snapshot,
    contexts: Vec<(u32, Context)>,
    memory: &mut dyn DumpMemory,
    mode: MemoryMode,
    model: &mut MinidumpModel,
) -> io::Result<()> {
    // Threads and their stacks.
    let mut stacks: Vec<Range<u64>> = Vec::new();
    let mut pc_windows: Vec<Range<u64>> = Vec::new();
    let mut threads = Vec::new();
    for (t, (tid, context)) in snap.threads.iter().zip(contexts) {
        let sp = context.stack_pointer().unwrap_or(0);
        let stack = stack_range(snap, memory, sp)?;
        if let Some(s) = &stack {
            stacks.push(s.clone());
        }
        if let Some(pc) = context.instruction_pointer() {
            if let Some(m) = snap
                .mappings
                .iter()
                .map(|s| (&s.mapping, s.excluded))
                .find(|(m, excluded)| m.contains(pc) && m.perms.read && !excluded)
                .map(|(m, _)| m)
            {
                let a = pc.saturating_sub(PC_WINDOW).max(m.start);
                let b = pc.saturating_add(PC_WINDOW).min(m.end);
                pc_windows.push(a..b);
            }
        }
        threads.push(Thread {
            thread_id: tid,
            stack: stack.as_ref().map(to_range),
            context: Some(context),
            ..Thread::default()
        });
        if !t.name.is_empty() {
            model.thread_names.push(ThreadName {
                thread_id: tid,
                name: String::from_utf8_lossy(&t.name).into_owned(),
            });
        }
    }
    model.threads = threads;

    // Memory: stacks first, then the other small ranges, then what the mode
    // adds; the MemoryList never holds overlapping ranges. A thread whose
    // stack is a MemoryList range shares that copy; one whose stack overlaps
    // another's (two threads on one mapping) gets its own copy besides.
    let stacks_sorted = merge(stacks);
    // Threads waiting in the same place share a window: ask pagemap once
    // per merged window, not once per thread.
    let mut windows = Vec::new();
    for w in merge(pc_windows) {
        windows.extend(memory.present(w.start, w.end)?);
    }
    let windows = subtract(merge(windows), &stacks_sorted);
    let mut bulk = Vec::new();
    for s in &snap.mappings {
        let m = &s.mapping;
        if s.excluded || s.dump_len == 0 {
            continue;
        }
        let wanted = match mode {
            MemoryMode::Stacks => false,
            MemoryMode::Heap => m.perms.write && !m.perms.shared && !m.is_file_backed(),
            MemoryMode::Full => true,
        };
        if wanted {
            let end = m.start.saturating_add(s.dump_len).min(m.end);
            bulk.extend(memory.present(m.start, end)?);
        }
    }
    let bulk = merge(bulk);
    let mut small: Vec<MemoryRange> = stacks_sorted.iter().map(to_range).collect();
    small.extend(windows.iter().map(to_range));
    match mode {
        MemoryMode::Full => {
            model.memory64_list = bulk.iter().map(to_range).collect();
        }
        MemoryMode::Heap | MemoryMode::Stacks => {
            let extra = subtract(
                bulk,
                &merge(stacks_sorted.iter().chain(&windows).cloned().collect()),
            );
            let total = extra.iter().fold(0u64, |sum, r| {
                sum.saturating_add(r.end.saturating_sub(r.start))
            });
            if total < (3 << 30) {
                small.extend(extra.iter().map(to_range));
            } else {
                model.memory64_list = extra.iter().map(to_range).collect();
            }
        }
    }
    small.sort_by_key(|r| r.start);
    model.memory_list = small;

    model.modules = modules(&snap.mappings, memory);

    model.memory_info = snap
        .mappings
        .iter()
        .map(|s| {
            let m = &s.mapping;
            let prot = page_protection(m);
            MINIDUMP_MEMORY_INFO {
                base_address: m.start,
                allocation_base: m.start,
                allocation_protection: prot,
                region_size: m.len(),
                state: MemoryState::MEM_COMMIT.bits(),
                protection: prot,
                _type: if m.is_file_backed() {
                    MemoryType::MEM_MAPPED
                } else {
                    MemoryType::MEM_PRIVATE
                }
                .bits(),
                ..MINIDUMP_MEMORY_INFO::default()
            }
        })
        .collect();

    if model.linux.maps.is_none() {
        let text: String = snap
            .mappings
            .iter()
            .map(|s| maps_line(&s.mapping))
            .collect();
        model.linux.maps = Some(text.into_bytes());
    }
    let mut read = |a: u64, b: &mut [u8]| memory.read_exact(a, b);
    model.linux.dso_debug = elf::dso_debug(&mut read, &snap.process.auxv);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn range_helpers() {
        assert_eq!(
            first_present_run(0x1000..0x5000, &[0..0x2000, 0x2000..0x3000, 0x4000..0x5000]),
            Some(0x1000..0x3000)
        );
        assert_eq!(first_present_run(0x1000..0x2000, &[0x3000..0x4000]), None);
    }

    #[test]
    fn maps_lines_look_like_the_kernel_s() {
        use coroner_proc_reader::parse::maps::{parse_maps, parse_maps_line};
        let m = parse_maps_line(b"400000-401000 r-xp 00000000 fd:01 12 /bin/x", 1).unwrap();
        assert_eq!(
            maps_line(&m),
            "00400000-00401000 r-xp 00000000 00:00 12 /bin/x\n"
        );
        let a = parse_maps_line(b"1000-2000 rw-p 00000000 00:00 0", 1).unwrap();
        let parsed = parse_maps(maps_line(&a).as_bytes()).unwrap();
        assert_eq!(
            (parsed[0].start, parsed[0].end, parsed[0].perms.write),
            (0x1000, 0x2000, true)
        );
    }
}
