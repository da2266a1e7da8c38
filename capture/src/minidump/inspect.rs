//! A minidump as the same [`Summary`] `inspect` gives for an ELF core: ours,
//! and Breakpad-style writers' (minidump-writer, Crashpad), which may lack
//! any of the optional streams.
//!
//! Where each field comes from: pid from MiscInfo; name from the ProcStatus
//! `Name:` line (else the command line's first word); args from CmdLine;
//! signal and fault address from the Exception stream unless it says
//! `DUMP_REQUESTED`; thread names from ThreadNames; mappings from the Linux
//! Maps stream (else MemoryInfoList, else the memory ranges), with `dumped`
//! the bytes of memory ranges inside each; modules from ModuleList with
//! `build_id` the CodeView code id.

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

use std::ops::Range;

use coroner_minidump_format::raw::{
    MemoryState, DUMP_REQUESTED, PROCESSOR_ARCHITECTURE_AMD64, PROCESSOR_ARCHITECTURE_ARM64,
};
use coroner_minidump_format::{read, ReadError};

use crate::inspect::{
    checked_total, MappingSummary, ModuleSummary, ProcessSummary, Summary, ThreadSummary,
};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Overlap of `a` with the sorted, merged ranges `dumped`.
fn covered(a: Range<u64>, dumped: &[Range<u64>]) -> u64 {
    dumped
        .iter()
        .map(|r| r.end.min(a.end).saturating_sub(r.start.max(a.start)))
        .sum()
}

/// Summarise the minidump in `data`.
///
/// ```
/// use coroner_minidump_format::model::{MinidumpModel, MiscInfo, SystemInfo, Thread};
/// use coroner_minidump_format::write::NoMemory;
/// let model = MinidumpModel {
///     system_info: Some(SystemInfo::linux_amd64(2, "Linux")),
///     misc_info: Some(MiscInfo::process(42, 0, 0, 0)),
///     threads: vec![Thread { thread_id: 42, ..Thread::default() }],
///     ..MinidumpModel::default()
/// };
/// let mut bytes = Vec::new();
/// model.write(&mut NoMemory, &mut bytes).unwrap();
/// let s = coroner_capture::inspect::Summary::from_minidump_bytes(&bytes).unwrap();
/// assert_eq!((s.format, s.machine.as_str(), s.process.pid), ("minidump", "x86_64", Some(42)));
/// assert_eq!(s.threads[0].tid, 42);
/// ```
pub fn summarise(data: &[u8]) -> Result<Summary, ReadError> {
    let dump = read::parse(data)?;
    let mut s = Summary {
        format: "minidump",
        ..Summary::default()
    };
    // One unreadable stream (an absurd count or size) does not hide the
    // others: its error becomes a warning and the summary goes on without it.
    let mut warnings = Vec::new();
    let mut stream = |what: &str, leaves_out: &str, e: ReadError| {
        warnings.push(format!(
            "the {what} stream is unreadable ({e}): {leaves_out} not shown"
        ));
    };
    macro_rules! read_or_warn {
        ($read:expr, $what:literal, $leaves_out:literal) => {
            match $read {
                Ok(v) => v,
                Err(e) => {
                    stream($what, $leaves_out, e);
                    None
                }
            }
        };
    }
    let si = read_or_warn!(dump.system_info(), "SystemInfo", "the machine is");
    s.machine = match si.map(|si| si.raw.processor_architecture) {
        Some(PROCESSOR_ARCHITECTURE_AMD64) => "x86_64".to_owned(),
        Some(PROCESSOR_ARCHITECTURE_ARM64) => "aarch64".to_owned(),
        Some(other) => other.to_string(),
        None => "unknown".to_owned(),
    };

    let mut p = ProcessSummary::default();
    if let Some(mi) = read_or_warn!(dump.misc_info(), "MiscInfo", "the pid from it is") {
        if mi.raw.flags1 & coroner_minidump_format::raw::MINIDUMP_MISC1_PROCESS_ID != 0 {
            p.pid = Some(mi.raw.process_id);
        }
    }
    let status = read_or_warn!(
        dump.linux_proc_status(),
        "ProcStatus",
        "the name and pid from it are"
    )
    .map(text);
    if let Some(status) = &status {
        for line in status.lines() {
            if let Some(v) = line.strip_prefix("Name:") {
                p.name = Some(v.trim().to_owned());
            }
            if let (Some(v), None) = (line.strip_prefix("Tgid:"), p.pid) {
                p.pid = v.trim().parse().ok();
            }
        }
    }
    if let Some(cmd) = read_or_warn!(dump.linux_cmd_line(), "CmdLine", "the arguments are") {
        let args: Vec<String> = cmd
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(text)
            .collect();
        if p.name.is_none() {
            p.name = args
                .first()
                .map(|a| a.rsplit('/').next().unwrap_or(a).chars().take(15).collect());
        }
        p.args = Some(args.join(" "));
    }
    let mut crashed_tid = None;
    if let Some(e) = read_or_warn!(dump.exception(), "Exception", "the signal is") {
        if e.code() != DUMP_REQUESTED {
            let signal = i32::try_from(e.code()).ok();
            p.signal = signal;
            if matches!(signal, Some(4 | 5 | 7 | 8 | 11)) {
                p.fault_address = Some(e.raw.exception_record.exception_address);
            }
            crashed_tid = Some(e.thread_id());
        }
    }

    let mut names = Vec::new();
    if let Some(tn) = read_or_warn!(dump.thread_names(), "ThreadNames", "thread names are") {
        for n in tn.iter() {
            match n {
                Ok(n) => names.push(n),
                Err(e) => {
                    let rest = format!("thread names after the first {} are", names.len());
                    stream("ThreadNames", &rest, e);
                    break;
                }
            }
        }
    }
    if let Some(list) = read_or_warn!(dump.threads(), "ThreadList", "threads are") {
        for t in list.iter() {
            let t = match t {
                Ok(t) => t,
                Err(e) => {
                    let rest = format!("threads after the first {} are", s.threads.len());
                    stream("ThreadList", &rest, e);
                    break;
                }
            };
            let tid = t.thread_id();
            let ctx = match t.context() {
                Ok(ctx) => ctx,
                Err(e) => {
                    stream("ThreadList", &format!("thread {tid}'s registers are"), e);
                    None
                }
            };
            let crashed = crashed_tid == Some(tid);
            s.threads.push(ThreadSummary {
                tid,
                name: names.iter().find(|n| n.0 == tid).map(|n| n.1.clone()),
                pc: ctx
                    .as_ref()
                    .and_then(|c| c.instruction_pointer())
                    .unwrap_or(0),
                sp: ctx.as_ref().and_then(|c| c.stack_pointer()).unwrap_or(0),
                signal: if crashed { p.signal.unwrap_or(0) } else { 0 },
                crashed,
            });
        }
    }
    if p.pid.is_none() {
        p.pid = s.threads.first().map(|t| t.tid);
    }
    if let (Some(pid), Some(name)) = (p.pid, p.name.clone()) {
        if let Some(t) = s
            .threads
            .iter_mut()
            .find(|t| t.tid == pid && t.name.is_none())
        {
            t.name = Some(name);
        }
    }
    s.process = p;

    let mut dumped: Vec<Range<u64>> = Vec::new();
    match dump.memory() {
        Ok(memory) => {
            for r in memory.regions() {
                match r {
                    Ok(r) => {
                        let r = r.range();
                        dumped.push(r.start..r.start.saturating_add(r.size));
                    }
                    Err(e) => {
                        let rest = format!("memory ranges after the first {} are", dumped.len());
                        stream("MemoryList", &rest, e);
                        break;
                    }
                }
            }
        }
        Err(e) => stream("MemoryList", "dumped memory is", e),
    }
    dumped.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::new();
    for r in dumped {
        match merged.last_mut() {
            Some(l) if r.start <= l.end => l.end = l.end.max(r.end),
            _ => merged.push(r),
        }
    }

    let maps = read_or_warn!(dump.linux_maps(), "Maps", "mappings from it are");
    let memory_info = if maps.is_some() {
        None
    } else {
        read_or_warn!(dump.memory_info(), "MemoryInfoList", "mappings from it are")
    };
    if let Some(maps) = maps {
        for (i, line) in maps.split(|b| *b == b'\n').enumerate() {
            let Ok(m) =
                coroner_proc_reader::parse::maps::parse_maps_line(line, i.saturating_add(1))
            else {
                continue;
            };
            let perms: String = [
                (m.perms.read, 'r'),
                (m.perms.write, 'w'),
                (m.perms.exec, 'x'),
            ]
            .iter()
            .map(|&(on, c)| if on { c } else { '-' })
            .collect();
            let file = m.is_file_backed();
            s.mappings.push(MappingSummary {
                start: m.start,
                end: m.end,
                perms,
                path: (!m.path.is_empty()).then(|| text(&m.path)),
                file_offset: file.then_some(m.offset),
                dumped: covered(m.start..m.end, &merged),
                total: m.len(),
            });
        }
    } else if let Some(info) = memory_info {
        for mi in info.iter() {
            let mi = match mi {
                Ok(mi) => mi,
                Err(e) => {
                    let rest = format!("regions after the first {} are", s.mappings.len());
                    stream("MemoryInfoList", &rest, e);
                    break;
                }
            };
            if mi.state_flags() != MemoryState::MEM_COMMIT {
                continue;
            }
            let end = mi.base_address.saturating_add(mi.region_size);
            if mi.base_address.checked_add(mi.region_size).is_none() {
                s.warnings.push(format!(
                    "memory info region at {:#x}: its size {:#x} runs past the end of the \
                     address space (shown as ending at {end:#x})",
                    mi.base_address, mi.region_size
                ));
            }
            let p = mi.protection_flags();
            let perms: String = [
                (p.is_readable(), 'r'),
                (p.is_writable(), 'w'),
                (p.is_executable(), 'x'),
            ]
            .iter()
            .map(|&(set, c)| if set { c } else { '-' })
            .collect();
            s.mappings.push(MappingSummary {
                start: mi.base_address,
                end,
                perms,
                dumped: covered(mi.base_address..end, &merged),
                total: mi.region_size,
                ..MappingSummary::default()
            });
        }
    } else {
        for r in &merged {
            s.mappings.push(MappingSummary {
                start: r.start,
                end: r.end,
                perms: "???".to_owned(),
                dumped: r.end.saturating_sub(r.start),
                total: r.end.saturating_sub(r.start),
                ..MappingSummary::default()
            });
        }
    }

    if let Some(list) = read_or_warn!(dump.modules(), "ModuleList", "modules are") {
        for m in list.iter() {
            let m = match m {
                Ok(m) => m,
                Err(e) => {
                    let rest = format!("modules after the first {} are", s.modules.len());
                    stream("ModuleList", &rest, e);
                    break;
                }
            };
            let path = match m.name() {
                Ok(path) => path,
                Err(e) => {
                    let at = m.base();
                    stream(
                        "ModuleList",
                        &format!("the name of the module at {at:#x} is"),
                        e,
                    );
                    String::new()
                }
            };
            s.modules.push(ModuleSummary {
                path,
                base: m.base(),
                end: m.base().saturating_add(m.size().into()),
                build_id: m.code_id().ok().flatten().filter(|id| !id.is_empty()),
            });
        }
    }

    s.warnings.extend(warnings);
    // Merged ranges are disjoint: their sizes add up to at most 2^64.
    let bytes_dumped = checked_total(
        merged.iter().map(|r| r.end.saturating_sub(r.start)),
        "the memory ranges' sizes",
        &mut s.warnings,
    );
    let bytes_mapped = checked_total(
        s.mappings.iter().map(|m| m.total),
        "the mappings' sizes",
        &mut s.warnings,
    );
    s.count_totals(bytes_dumped, bytes_mapped, data.len() as u64);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_minidump_format::model::*;
    use coroner_minidump_format::write::SliceSource;

    /// A file whose directory lies past its end is read whole, from its
    /// start, wherever the caller left the file's cursor.
    #[test]
    fn a_layout_it_cannot_follow_is_read_whole_from_the_start() {
        use std::io::{Read, Write};
        let mut bytes = b"MDMP".to_vec();
        bytes.extend_from_slice(&0xa793u32.to_le_bytes()); // version
        bytes.extend_from_slice(&1u32.to_le_bytes()); // one stream
        bytes.extend_from_slice(&0xffff_0000u32.to_le_bytes()); // directory: past the end
        bytes.resize(100, 7);
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&bytes).unwrap();
        // As `Summary::from_file` does: a first read moves the cursor.
        let mut prefix = Vec::new();
        (&mut &file).read_to_end(&mut prefix).unwrap();
        assert_eq!(
            crate::minidump::without_memory::read_without_memory(&file, bytes.len() as u64)
                .unwrap(),
            bytes
        );
    }

    /// The directory entry (type, size, rva) of stream `kind` in `file`.
    fn directory_entry(file: &[u8], kind: u32) -> usize {
        let u32_at = |o: usize| u32::from_le_bytes(file[o..o + 4].try_into().unwrap());
        let (count, dir) = (u32_at(8) as usize, u32_at(12) as usize);
        (0..count)
            .map(|i| dir + 12 * i)
            .find(|&e| u32_at(e) == kind)
            .unwrap_or_else(|| panic!("no stream {kind}"))
    }

    #[test]
    fn one_absurd_stream_leaves_the_rest_of_the_summary_readable() {
        let mut file = synthetic_dump();
        // ModuleList (4): a module count of 0x7fffffff.
        let modules = directory_entry(&file, 4);
        let rva = u32::from_le_bytes(file[modules + 8..modules + 12].try_into().unwrap());
        file[rva as usize..rva as usize + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        // ThreadNames (24): a size far past the end of the file.
        let names = directory_entry(&file, 24);
        file[names + 4..names + 8].copy_from_slice(&0xffff_0000u32.to_le_bytes());

        let s = summarise(&file).unwrap();
        // What can be read is shown …
        assert_eq!(s.process.pid, Some(77));
        assert_eq!(s.threads.len(), 2);
        assert_eq!(s.mappings.len(), 2);
        assert_eq!(s.totals.bytes_dumped, 0x1000);
        // … the rest is left out with a warning naming the stream.
        assert!(s.modules.is_empty(), "{:?}", s.modules);
        assert_eq!(s.threads[1].name, None);
        assert!(
            s.warnings.iter().any(|w| w.contains("ModuleList")),
            "{:?}",
            s.warnings
        );
        assert!(
            s.warnings.iter().any(|w| w.contains("ThreadNames")),
            "{:?}",
            s.warnings
        );
        // Through a file too (the memory-less read must not trip on it).
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, &file).unwrap();
        let from_file = crate::inspect::Summary::from_file(f.path()).unwrap();
        assert_eq!(from_file.threads.len(), 2);
        assert_eq!(from_file.warnings.len(), s.warnings.len());
    }

    #[allow(clippy::field_reassign_with_default)]
    fn synthetic_dump() -> Vec<u8> {
        let mut model = MinidumpModel::default();
        model.system_info = Some(SystemInfo::linux_amd64(2, "Linux"));
        model.misc_info = Some(MiscInfo::process(77, 0, 0, 0));
        model.exception = Some(Exception {
            thread_id: 78,
            code: 11,
            address: 0x10,
            ..Exception::default()
        });
        let regs = UserRegsX86_64 {
            rip: 0x401000,
            rsp: 0x10ff0,
            ..Default::default()
        };
        for tid in [77, 78] {
            model.threads.push(Thread {
                thread_id: tid,
                context: Some(Context::from_linux_x86_64(&regs, &[0; 512])),
                ..Thread::default()
            });
        }
        model.thread_names.push(ThreadName {
            thread_id: 78,
            name: "worker".into(),
        });
        model.linux.cmd_line = Some(b"/usr/bin/prog\0-v\0".to_vec());
        model.linux.maps = Some(b"00010000-00012000 rw-p 00000000 00:00 0 [stack]\n00400000-00401000 r-xp 00000000 08:01 5 /usr/bin/prog\n".to_vec());
        model.modules.push(Module {
            base: 0x400000,
            size: 0x1000,
            name: "/usr/bin/prog".into(),
            code_view: Some(CodeView::Elf {
                build_id: vec![0xab, 0xcd],
            }),
            ..Module::default()
        });
        model.memory_list.push(MemoryRange {
            start: 0x10000,
            size: 0x1000,
        });
        let mem = vec![1u8; 0x1000];
        let mut file = Vec::new();
        model
            .write(&mut SliceSource::new(0x10000, &mem), &mut file)
            .unwrap();
        file
    }

    #[test]
    fn a_synthetic_dump_is_summarised_whole() {
        let file = synthetic_dump();
        let s = summarise(&file).unwrap();
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(s.format, "minidump");
        assert_eq!(s.machine, "x86_64");
        assert_eq!(s.process.pid, Some(77));
        assert_eq!(s.process.name.as_deref(), Some("prog"));
        assert_eq!(s.process.args.as_deref(), Some("/usr/bin/prog -v"));
        assert_eq!(
            (s.process.signal, s.process.fault_address),
            (Some(11), Some(0x10))
        );
        assert_eq!(s.threads.len(), 2);
        assert!(s.threads[1].crashed && !s.threads[0].crashed);
        assert_eq!(s.threads[1].name.as_deref(), Some("worker"));
        assert_eq!(s.threads[0].name.as_deref(), Some("prog"));
        assert_eq!((s.threads[0].pc, s.threads[0].sp), (0x401000, 0x10ff0));
        assert_eq!(s.mappings.len(), 2);
        assert_eq!(
            (s.mappings[0].dumped, s.mappings[0].total),
            (0x1000, 0x2000)
        );
        assert_eq!(s.mappings[1].path.as_deref(), Some("/usr/bin/prog"));
        assert_eq!(s.modules[0].build_id.as_deref(), Some("abcd"));
        assert_eq!(s.totals.bytes_dumped, 0x1000);
    }
}
