//! Minidump → ELF core: the minidump's [`Snapshot`], written by the same
//! [`crate::elf::write_core`] as a live capture. Its threads (the
//! crashing/requesting one first, with the signal), the process (MiscInfo,
//! ProcStatus, CmdLine, Auxv), its `/proc` texts verbatim, and one mapping
//! per memory range (split at the Maps stream's mapping boundaries, which
//! give flags, path and offset); `NT_FILE` lists every file mapping of the
//! Maps stream.

use std::ops::Range;

use coroner_core_format::write::WriteOptions;
use coroner_core_format::{Machine, Registers, SigInfo};
use coroner_minidump_format::model::Context;
use coroner_minidump_format::raw::{DUMP_REQUESTED, PROCESSOR_ARCHITECTURE_ARM64};
use coroner_minidump_format::read::MinidumpFile;
use coroner_proc_reader::parse::maps::Mapping;
use coroner_proc_reader::parse::status::parse_status;

use super::ConvertError;
use crate::elf::write_core;
use crate::ranges::subtract;
use crate::sink::Sink;
use crate::snapshot::{self, Arch, ProcTexts, ProcessInfo, SelectedMapping, Snapshot, ThreadState};
use crate::CaptureError;

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

/// A thread's general registers in the kernel's `NT_PRSTATUS` order and
/// its `NT_FPREGSET`, from its minidump context; `None` for a context of an
/// architecture with no ELF mapping here.
fn linux_registers(ctx: &Context) -> Option<(Vec<u64>, Vec<u8>)> {
    match ctx {
        Context::Amd64(c) => Some((amd64_words(c), c.float_save.to_vec())),
        Context::Arm64(c) => {
            let mut w = c.iregs.to_vec();
            w.extend([c.sp, c.pc, u64::from(c.cpsr)]);
            let mut fp: Vec<u8> = c.float_regs.iter().flat_map(|v| v.to_le_bytes()).collect();
            fp.extend(c.fpsr.to_le_bytes());
            fp.extend(c.fpcr.to_le_bytes());
            fp.extend([0u8; 8]);
            Some((w, fp))
        }
        // Contexts of other architectures (and any added later).
        _ => None,
    }
}

/// The dump's memory as mappings in address order: every range of both
/// memory lists (merged where they touch), with what a truncated input
/// lacks (`missing`) kept as mappings that hold nothing, and each piece
/// split at the boundaries of the Maps stream's `maps`, from which it takes
/// its permissions, path and file offset (read-write and anonymous outside
/// them).
fn held_mappings(
    held: Vec<Range<u64>>,
    missing: &[Range<u64>],
    maps: &[Mapping],
) -> Vec<SelectedMapping> {
    let mut ranges: Vec<Range<u64>> = held.into_iter().filter(|r| r.start < r.end).collect();
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(l) if r.start <= l.end => l.end = l.end.max(r.end),
            _ => merged.push(r),
        }
    }
    // Memory a truncated input lacks becomes mappings without file data
    // (what a core says of memory it does not hold), the rest is dumped.
    let kept = subtract(merged.clone(), missing);
    let lost = subtract(merged, &kept);
    let mut pieces: Vec<(Range<u64>, bool)> = kept
        .into_iter()
        .map(|r| (r, true))
        .chain(lost.into_iter().map(|r| (r, false)))
        .collect();
    pieces.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::new();
    for (r, dumped) in pieces {
        let mut at = r.start;
        while at < r.end {
            let covering = maps.iter().find(|m| m.start <= at && at < m.end);
            let next_start = maps.iter().map(|m| m.start).filter(|s| *s > at).min();
            let end = match covering {
                Some(m) => m.end.min(r.end),
                None => next_start.unwrap_or(r.end).min(r.end),
            };
            let mapping = match covering {
                Some(m) => {
                    let mut piece = m.clone();
                    piece.offset = m.offset.saturating_add(at - m.start);
                    piece.start = at;
                    piece.end = end;
                    piece
                }
                None => {
                    let mut piece = Mapping::default();
                    (piece.start, piece.end) = (at, end);
                    (piece.perms.read, piece.perms.write) = (true, true);
                    piece
                }
            };
            let len = if dumped { end - at } else { 0 };
            out.push(snapshot::held(mapping, len, None));
            at = end;
        }
    }
    out
}

/// The [`Snapshot`] a minidump describes: its threads with registers (the
/// Exception's thread first, carrying the signal unless the dump was
/// requested), the process from MiscInfo, ProcStatus, CmdLine and Auxv, the
/// Linux streams as its `/proc` texts, and its memory as mappings
/// ([`held_mappings`]; `missing` is what a truncated input lacks).
fn minidump_snapshot<R>(
    file: &MinidumpFile<R>,
    missing: &[Range<u64>],
) -> Result<Snapshot, CaptureError> {
    let rd = |e: coroner_minidump_format::ReadError| ConvertError::Minidump(e.into());
    let dump = file.metadata();
    let arm = dump
        .system_info()
        .map_err(rd)?
        .is_some_and(|si| si.raw.processor_architecture == PROCESSOR_ARCHITECTURE_ARM64);
    let (arch, machine) = if arm {
        (Arch::Aarch64, Machine::Aarch64)
    } else {
        (Arch::X86_64, Machine::X86_64)
    };

    let exception = dump.exception().map_err(rd)?;
    let (signal, sig_tid) = match &exception {
        Some(e) if e.code() != DUMP_REQUESTED => {
            let record = &e.raw.exception_record;
            let signo = i32::try_from(e.code()).unwrap_or(0);
            // Breakpad's encoding of a signal: flags = si_code, address = si_addr.
            let code = i32::from_ne_bytes(record.exception_flags.to_ne_bytes());
            let info = SigInfo::new(signo, 0, code).with_addr(record.exception_address);
            ((signo != 0).then_some(info.bytes), Some(e.thread_id()))
        }
        Some(e) => (None, Some(e.thread_id())),
        None => (None, None),
    };

    let list = dump
        .threads()
        .map_err(rd)?
        .ok_or_else(|| CaptureError::Incomplete {
            what: "the minidump has no ThreadList".into(),
        })?;
    let mut threads = Vec::new();
    for t in list.iter() {
        let t = t.map_err(rd)?;
        let Some((gp_regs, fp)) = t.context().map_err(rd)?.as_ref().and_then(linux_registers)
        else {
            continue;
        };
        if Registers::from_words(machine, &gp_regs).is_none() {
            return Err(CaptureError::Incomplete {
                what: format!("thread {}: its registers do not decode", t.thread_id()),
            });
        }
        threads.push(ThreadState {
            tid: t.thread_id(),
            gp_regs,
            fp_regs: Some(fp),
            siginfo: signal.filter(|_| sig_tid == Some(t.thread_id())),
            ..ThreadState::default()
        });
    }
    // The crashing (or dump-requesting) thread first, as the kernel does.
    if let Some(i) = sig_tid.and_then(|tid| threads.iter().position(|t| t.tid == tid)) {
        let t = threads.remove(i);
        threads.insert(0, t);
    }

    // The ProcStatus stream, typed (other writers' text that lacks an
    // identity field gives none of them). Ids the ELF notes' signed fields
    // cannot hold are left 0.
    let status_text = dump.linux_proc_status().map_err(rd)?;
    let status = status_text.and_then(|text| parse_status(text).ok());
    let signed = |v: u32| i32::try_from(v).is_ok().then_some(v);
    let pid = dump
        .misc_info()
        .map_err(rd)?
        .filter(|m| m.raw.flags1 & coroner_minidump_format::raw::MINIDUMP_MISC1_PROCESS_ID != 0)
        .map(|m| m.raw.process_id)
        .or_else(|| status.as_ref().map(|s| s.tgid))
        .or_else(|| threads.first().map(|t| t.tid))
        .and_then(signed)
        .unwrap_or(0);
    let cmdline = dump
        .linux_cmd_line()
        .map_err(rd)?
        .unwrap_or_default()
        .to_vec();
    let comm = match &status {
        Some(s) => s.name.clone(),
        None => {
            let first = cmdline.split(|b| *b == 0).next().unwrap_or_default();
            let base = first.rsplit(|b| *b == b'/').next().unwrap_or_default();
            base.to_vec()
        }
    };
    let auxv: Vec<(u64, u64)> = match dump.linux_auxv().map_err(rd)? {
        Some(entries) => entries.filter(|e| e.0 != 0).collect(),
        None => Vec::new(),
    };

    let texts = ProcTexts {
        status: status_text.map(<[u8]>::to_vec),
        environ: dump.linux_environ().map_err(rd)?.map(<[u8]>::to_vec),
        auxv: ProcTexts::auxv_of(&auxv),
        maps: dump.linux_maps().map_err(rd)?.map(<[u8]>::to_vec),
    };
    let held = file.memory_locations().iter().map(|r| r.range()).collect();
    let mappings = held_mappings(held, missing, &texts.mappings().unwrap_or_default());

    let process = ProcessInfo {
        pid,
        ppid: status.as_ref().and_then(|s| signed(s.ppid)).unwrap_or(0),
        uid: status.as_ref().map_or(0, |s| s.uid[0]),
        gid: status.as_ref().map_or(0, |s| s.gid[0]),
        // Not recorded: the state of a process that was dumped while running.
        state: b'S',
        comm,
        cmdline,
        auxv,
        coredump_filter: crate::select::CoredumpFilter::DEFAULT,
        page_size: 4096,
        ..ProcessInfo::default()
    };
    Ok(Snapshot {
        arch,
        time: dump.header().time_date_stamp,
        host: None,
        texts,
        process,
        threads,
        mappings,
    })
}

/// Write the minidump `file` as an ELF core into `sink`, without the memory
/// of a truncated input's `missing` ranges: threads and `PT_LOAD`s written.
pub(super) fn minidump_to_elf<R: coroner_minidump_format::read::ReadAt>(
    file: &MinidumpFile<R>,
    missing: &[Range<u64>],
    sink: &mut Sink,
) -> Result<(usize, usize), CaptureError> {
    let snap = minidump_snapshot(file, missing)?;
    let mut memory = file.memory();
    write_core(&snap, &mut memory, sink, WriteOptions::default())?;
    Ok((snap.threads.len(), snap.mappings.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::{convert_bytes, DumpFormat};
    use crate::minidump::build::context_from_linux;
    use crate::minidump::MemoryMode;
    use coroner_minidump_format::model::{
        Exception, LinuxStreams, MemoryRange, MinidumpModel, MiscInfo, SystemInfo, Thread,
    };
    use coroner_minidump_format::write::MemorySource;
    use coroner_proc_reader::parse::maps::parse_maps_line;

    /// Memory where every byte is 0xab.
    struct Filled;

    impl MemorySource for Filled {
        fn read_at(&mut self, _addr: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(0xab);
            Ok(buf.len())
        }
    }

    fn context(pc: u64, sp: u64) -> Context {
        let mut words = vec![0u64; 27];
        words[16] = pc;
        words[19] = sp;
        context_from_linux(Arch::X86_64, &words, None).unwrap()
    }

    const MAPS: &str = "00400000-00402000 r-xp 00000000 fd:01 7 /usr/bin/prog\n\
        7f0000000000-7f0000001000 r--p 00001000 fd:01 8 /usr/lib/libc.so.6\n\
        7ffd00000000-7ffd00004000 rw-p 00000000 00:00 0 [stack]\n";

    /// A minidump of a process whose second thread crashed (SIGSEGV,
    /// SEGV_MAPERR at 0xdead), holding its stacks and a range that runs
    /// past the end of the program's mapping.
    fn crashed_minidump() -> Vec<u8> {
        let model = MinidumpModel {
            system_info: Some(SystemInfo::linux_amd64(2, "Linux")),
            misc_info: Some(MiscInfo::process(42, 0, 0, 0)),
            threads: vec![
                Thread {
                    thread_id: 42,
                    context: Some(context(0x401000, 0x7ffd_0000_3000)),
                    ..Thread::default()
                },
                Thread {
                    thread_id: 43,
                    context: Some(context(0x401f80, 0x7ffd_0000_2800)),
                    ..Thread::default()
                },
            ],
            exception: Some(Exception {
                thread_id: 43,
                code: 11,
                flags: 1,
                address: 0xdead,
                ..Exception::default()
            }),
            linux: LinuxStreams {
                maps: Some(MAPS.as_bytes().to_vec()),
                cmd_line: Some(b"/usr/bin/prog\0-x\0".to_vec()),
                auxv: Some(
                    [6u64, 4096, 0, 0]
                        .iter()
                        .flat_map(|w| w.to_le_bytes())
                        .collect(),
                ),
                ..LinuxStreams::default()
            },
            memory_list: vec![
                MemoryRange {
                    start: 0x401f00,
                    size: 0x200,
                },
                MemoryRange {
                    start: 0x7ffd_0000_2000,
                    size: 0x2000,
                },
            ],
            ..MinidumpModel::default()
        };
        let mut bytes = Vec::new();
        model.write(&mut Filled, &mut bytes).unwrap();
        bytes
    }

    /// The core of a converted minidump, as its snapshot gives it: the
    /// crashing thread first with the signal, every file mapping of the Maps
    /// stream in NT_FILE (also those whose memory the dump lacks), a PT_LOAD
    /// per memory range split at mapping boundaries.
    #[test]
    fn a_crashed_minidump_becomes_a_core_with_the_signal_on_its_first_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("core");
        let report = convert_bytes(
            &crashed_minidump(),
            Some(DumpFormat::Elf),
            MemoryMode::Stacks,
            Sink::create(&path, false).unwrap(),
        )
        .unwrap();
        assert_eq!((report.threads, report.memory_ranges), (2, 3));
        let bytes = std::fs::read(&path).unwrap();
        let core = coroner_core_format::parse(&bytes).unwrap();

        let threads: Vec<(u32, i16)> = core
            .threads()
            .map(|t| t.unwrap())
            .map(|t| (t.tid(), t.cursig()))
            .collect();
        assert_eq!(threads, [(43, 11), (42, 0)]);
        let si = core.siginfo().unwrap().unwrap();
        assert_eq!((si.signo(), si.code(), si.addr()), (11, 1, 0xdead));

        let files: Vec<(u64, u64, Vec<u8>)> = core
            .file_note()
            .unwrap()
            .unwrap()
            .entries()
            .map(|e| e.unwrap())
            .map(|e| (e.start, e.end, e.path.to_vec()))
            .collect();
        assert_eq!(
            files,
            [
                (0x400000, 0x402000, b"/usr/bin/prog".to_vec()),
                (
                    0x7f00_0000_0000,
                    0x7f00_0000_1000,
                    b"/usr/lib/libc.so.6".to_vec()
                )
            ]
        );
        let loads: Vec<(u64, u64, u64, u32)> = core
            .segments()
            .map(|s| {
                (
                    s.phdr.p_vaddr,
                    s.phdr.p_memsz,
                    s.phdr.p_filesz,
                    s.phdr.p_flags,
                )
            })
            .collect();
        assert_eq!(
            loads,
            [
                (0x401f00, 0x100, 0x100, 5),
                (0x402000, 0x100, 0x100, 6),
                (0x7ffd_0000_2000, 0x2000, 0x2000, 6)
            ]
        );
        let mut word = [0u8; 8];
        core.read_memory(0x7ffd_0000_2800, &mut word).unwrap();
        assert_eq!(word, [0xab; 8]);

        let ps = core.prpsinfo().unwrap().unwrap();
        assert_eq!((ps.pid, ps.fname_bytes()), (42, &b"prog"[..]));
        let auxv: Vec<(u64, u64)> = core
            .auxv()
            .unwrap()
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| (e.key, e.value))
            .collect();
        assert_eq!(auxv, [(6, 4096)]);
    }

    /// What a truncated minidump lacks stays a mapping that holds nothing;
    /// pieces inside a Maps mapping take its flags, path and offset.
    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn held_memory_is_split_at_mappings_and_what_is_missing_holds_nothing() {
        let maps = [parse_maps_line(b"1000-2400 r-xp 00010000 fd:01 7 /bin/x", 1).unwrap()];
        let got: Vec<(u64, u64, u64, u32, Vec<u8>, u64)> =
            held_mappings(vec![0x1000..0x3000], &[0x2000..0x2800], &maps)
                .into_iter()
                .map(|s| {
                    let m = s.mapping;
                    (
                        m.start,
                        m.end,
                        s.dump_len,
                        m.perms.elf_flags(),
                        m.path,
                        m.offset,
                    )
                })
                .collect();
        assert_eq!(
            got,
            [
                (0x1000, 0x2000, 0x1000, 5, b"/bin/x".to_vec(), 0x10000),
                (0x2000, 0x2400, 0, 5, b"/bin/x".to_vec(), 0x11000),
                (0x2400, 0x2800, 0, 6, Vec::new(), 0),
                (0x2800, 0x3000, 0x800, 6, Vec::new(), 0),
            ]
        );
    }
}
