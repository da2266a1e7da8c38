//! Minidump → ELF core: one `NT_PRSTATUS` (+ `NT_FPREGSET`) per thread,
//! the crashing/requesting thread first, `NT_PRPSINFO`, `NT_SIGINFO`,
//! `NT_AUXV`, `NT_FILE` from the Maps stream, and a `PT_LOAD` per memory
//! range (split at mapping boundaries, flags from Maps).

use std::ops::Range;

use coroner_core_format::write::{CoreWriter, WriteOptions};
use coroner_core_format::{
    AuxvEntry, CoreModel, FileMapping, FileNote, Machine, Note, PrPsInfo, PrStatus, Registers,
    SegmentModel, SigInfo, ThreadModel,
};
use coroner_minidump_format::model::Context;
use coroner_minidump_format::raw::{DUMP_REQUESTED, PROCESSOR_ARCHITECTURE_ARM64};
use coroner_minidump_format::read::MinidumpFile;
use coroner_proc_reader::parse::status::parse_status;

use super::ConvertError;
use crate::ranges::subtract;
use crate::sink::Sink;
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

pub(super) fn minidump_to_elf<R: coroner_minidump_format::read::ReadAt>(
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
    let mut source = file.memory();
    writer.write(&model, &mut source, sink)?;
    Ok((model.threads.len(), model.segments.len()))
}
