//! A [`Snapshot`] as a core-format [`CoreModel`], laid out like the kernel's
//! own cores: the first thread's `NT_PRSTATUS`, then `NT_PRPSINFO`,
//! `NT_SIGINFO`, `NT_AUXV`, `NT_FILE`, then that thread's `NT_FPREGSET` and
//! `NT_X86_XSTATE`, then every other thread's `PRSTATUS`/`FPREGSET`/`XSTATE`
//! (core-format's note encoder emits them in that order); one `PT_LOAD` per
//! mapping in address order, with `p_filesz` the selected dump length.

use coroner_core_format::{
    AuxvEntry, CoreModel, ElfSiginfo, FileMapping, FileNote, Machine, Note, PrPsInfo, PrStatus,
    Registers, SigInfo, ThreadModel, Timeval,
};
use coroner_proc_reader::parse::maps::Mapping;
use coroner_proc_reader::parse::siginfo::parse_siginfo;

use crate::snapshot::{Arch, Snapshot, ThreadState};
use crate::CaptureError;

fn timeval(us: u64) -> Timeval {
    Timeval {
        tv_sec: i64::try_from(us / 1_000_000).unwrap_or(i64::MAX),
        tv_usec: i64::try_from(us % 1_000_000).unwrap_or(0),
    }
}

fn clamp_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn thread_model(
    machine: Machine,
    snap: &Snapshot,
    t: &ThreadState,
) -> Result<ThreadModel, CaptureError> {
    let regs =
        Registers::from_words(machine, &t.gp_regs).ok_or_else(|| CaptureError::Unsupported {
            what: format!(
                "thread {}: {} words of general registers for {}",
                t.tid,
                t.gp_regs.len(),
                snap.arch.name()
            ),
        })?;
    let p = &snap.process;
    let mut st = PrStatus::new(regs);
    st.pid = clamp_i32(t.tid);
    st.ppid = clamp_i32(p.ppid);
    st.pgrp = clamp_i32(p.pgrp);
    st.sid = clamp_i32(p.sid);
    st.sigpend = t.sigpend;
    st.sighold = t.sighold;
    st.utime = timeval(t.utime_us);
    st.stime = timeval(t.stime_us);
    st.fpvalid = i32::from(t.fp_regs.is_some());
    // A thread stopped on its way into a signal has it as its current
    // signal, as the kernel and gdb's gcore record it.
    if let Some(info) = t.siginfo.as_ref().and_then(|raw| parse_siginfo(raw).ok()) {
        st.cursig = i16::try_from(info.signo).unwrap_or(0);
        st.info = ElfSiginfo {
            si_signo: info.signo,
            si_code: info.code,
            si_errno: info.errno,
        };
    }
    let mut tm = ThreadModel::new(st);
    if let Some(fp) = &t.fp_regs {
        tm = tm.with_note(Note::fpregset(fp.clone()));
    }
    if let Some(x) = &t.xstate {
        tm = tm.with_note(Note::x86_xstate(x.clone()));
    }
    Ok(tm)
}

/// The ELF machine of an architecture.
fn machine(arch: Arch) -> Machine {
    match arch {
        Arch::X86_64 => Machine::X86_64,
        Arch::Aarch64 => Machine::Aarch64,
    }
}

/// The core model of `snap`, the way the kernel would lay out its core.
pub fn core_model(snap: &Snapshot) -> Result<CoreModel, CaptureError> {
    let machine = machine(snap.arch);
    let p = &snap.process;
    let mut model = CoreModel::new(machine);
    for t in &snap.threads {
        model.threads.push(thread_model(machine, snap, t)?);
    }

    let mut ps = PrPsInfo {
        state: match p.state {
            b'R' => 0,
            b'S' => 1,
            b'D' => 2,
            b'T' | b't' => 3,
            b'Z' => 4,
            _ => 0,
        },
        sname: if p.state == 0 { b'R' } else { p.state },
        zomb: u8::from(p.state == b'Z'),
        nice: p.nice,
        flag: p.flags,
        uid: p.uid,
        gid: p.gid,
        pid: clamp_i32(p.pid),
        ppid: clamp_i32(p.ppid),
        pgrp: clamp_i32(p.pgrp),
        sid: clamp_i32(p.sid),
        ..PrPsInfo::default()
    };
    ps.set_fname(&p.comm);
    ps.set_psargs(&p.cmdline);
    model.prpsinfo = Some(ps);

    // The snapshot's signal (the one a minidump of it records as its
    // exception), as the thread received it; all zero when none was being
    // delivered, as in gcore's core of a job-control-stopped process.
    model.siginfo = Some(
        snap.stop_signal()
            .and_then(|(t, _)| SigInfo::from_bytes(t.siginfo.as_ref()?))
            .unwrap_or_else(|| SigInfo::new(0, 0, 0)),
    );

    // core-format's encoder appends the terminating AT_NULL. A snapshot
    // without an auxv (a minidump without its Auxv stream) gets no note.
    model.auxv = (!p.auxv.is_empty()).then(|| {
        p.auxv
            .iter()
            .map(|&(key, value)| AuxvEntry { key, value })
            .collect()
    });

    // NT_FILE lists the process's file mappings: from its maps text when the
    // snapshot keeps one (a converted minidump, whose mappings are only the
    // memory it holds), else from the mappings themselves.
    let from_text = snap.texts.mappings();
    let process_mappings: Vec<&Mapping> = match &from_text {
        Some(listed) => listed.iter().collect(),
        None => snap.mappings.iter().map(|s| &s.mapping).collect(),
    };
    let mut files = FileNote::kernel();
    for m in process_mappings.into_iter().filter(|m| m.is_file_backed()) {
        files.entries.push(FileMapping {
            start: m.start,
            end: m.end,
            file_offset: m.offset,
            path: m.path.clone(),
        });
    }
    model.files = Some(files);

    for s in &snap.mappings {
        let m = &s.mapping;
        model.segments.push(coroner_core_format::SegmentModel {
            vaddr: m.start,
            memsz: m.len(),
            filesz: s.dump_len.min(m.len()),
            flags: m.perms.elf_flags(),
        });
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::Summary;
    use crate::select::Selection;
    use crate::snapshot::{select, ProcessInfo};
    use coroner_core_format::write::{BytesAt, CoreWriter, StreamSink, WriteOptions};
    use coroner_proc_reader::parse::maps::parse_maps_line;

    fn regs(pc: u64, sp: u64) -> Vec<u64> {
        let mut words = vec![0u64; 27];
        words[16] = pc;
        words[19] = sp;
        words
    }

    /// A process with an ELF file mapping, a heap and a never-written
    /// reservation, written and read back without any live process.
    #[test]
    fn a_snapshot_becomes_a_kernel_shaped_core_that_reads_back() {
        let base = 0x10_0000u64;
        let lines = [
            format!(
                "{:x}-{:x} r--p 00000000 fd:01 7 /usr/bin/prog",
                base,
                base + 0x2000
            ),
            format!(
                "{:x}-{:x} rw-p 00000000 00:00 0 [heap]",
                base + 0x2000,
                base + 0x4000
            ),
            format!(
                "{:x}-{:x} rw-p 00000000 00:00 0",
                base + 0x4000,
                base + 0x8000
            ),
        ];
        let mut maps: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| parse_maps_line(l.as_bytes(), i + 1).unwrap())
            .collect();
        maps[0].has_smaps = true;
        maps[1].has_smaps = true;
        maps[1].anonymous = 0x2000;
        maps[2].has_smaps = true; // Anonymous 0: never written.
        let mut memory = vec![0u8; 0x8000];
        memory[..4].copy_from_slice(b"\x7fELF");
        memory[0x2000..0x2008].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        let mappings = select(
            maps,
            &Selection::default(),
            crate::select::CoredumpFilter::DEFAULT,
            4096,
            |a| a == base,
            |_| None,
        );
        let snap = Snapshot {
            process: ProcessInfo {
                pid: 42,
                ppid: 1,
                comm: b"prog".to_vec(),
                cmdline: b"prog\0--flag\0".to_vec(),
                auxv: vec![(6, 4096)],
                state: b'S',
                page_size: 4096,
                ..ProcessInfo::default()
            },
            threads: vec![
                ThreadState {
                    tid: 42,
                    gp_regs: regs(0x401000, 0x7ff0),
                    fp_regs: Some(vec![0; 512]),
                    ..Default::default()
                },
                ThreadState {
                    tid: 43,
                    gp_regs: regs(0x401100, 0x6ff0),
                    ..Default::default()
                },
            ],
            mappings,
            ..Snapshot::default()
        };
        let model = core_model(&snap).unwrap();
        let filesz: Vec<u64> = model.segments.iter().map(|s| s.filesz).collect();
        assert_eq!(filesz, [0x1000, 0x2000, 0]);
        assert_eq!(model.files.as_ref().unwrap().entries.len(), 1);

        let mut out = StreamSink::new(Vec::new());
        let mut mem = BytesAt {
            base,
            bytes: memory,
        };
        CoreWriter::new(WriteOptions::default())
            .write(&model, &mut mem, &mut out)
            .unwrap();
        let bytes = out.into_inner();
        let s = Summary::from_bytes(&bytes).unwrap();
        assert_eq!(s.process.pid, Some(42));
        assert_eq!(s.process.name.as_deref(), Some("prog"));
        assert_eq!(s.process.args.as_deref(), Some("prog --flag"));
        assert_eq!(s.process.signal, None);
        let t: Vec<(u32, u64, u64, bool)> = s
            .threads
            .iter()
            .map(|t| (t.tid, t.pc, t.sp, t.crashed))
            .collect();
        assert_eq!(
            t,
            [(42, 0x401000, 0x7ff0, false), (43, 0x401100, 0x6ff0, false)]
        );
        assert_eq!(s.threads[0].name.as_deref(), Some("prog"));
        assert_eq!(s.mappings[0].path.as_deref(), Some("/usr/bin/prog"));
        assert_eq!((s.mappings[2].dumped, s.mappings[2].total), (0, 0x4000));
        assert_eq!(s.modules.len(), 1);
        assert_eq!(
            s.modules[0].build_id, None,
            "a bare ELF magic has no build-id"
        );
        let core = coroner_core_format::parse(&bytes).unwrap();
        let mut word = [0u8; 8];
        core.read_memory(base + 0x2000, &mut word).unwrap();
        assert_eq!(u64::from_le_bytes(word), 0x1122_3344_5566_7788);
        // Kernel note order: PRSTATUS, PRPSINFO, SIGINFO, AUXV, FILE, FPREGSET, PRSTATUS.
        let types: Vec<u32> = core.notes().map(|n| n.unwrap().n_type).collect();
        assert_eq!(types, [1, 3, 0x5349_4749, 6, 0x4649_4c45, 2, 1]);
    }

    /// A thread caught on its way into a signal gives the core that signal:
    /// NT_SIGINFO holds its siginfo, and its PRSTATUS pr_cursig and pr_info
    /// name it, while the other threads' stay zero.
    #[test]
    fn a_thread_stopped_for_a_signal_gives_the_core_its_siginfo_and_cursig() {
        let mut raw = [0u8; 128];
        raw[..4].copy_from_slice(&23i32.to_le_bytes()); // SIGURG
        raw[8..12].copy_from_slice(&(-6i32).to_le_bytes()); // SI_TKILL
        raw[16..20].copy_from_slice(&4242i32.to_le_bytes()); // si_pid
        let snap = Snapshot {
            process: ProcessInfo {
                pid: 42,
                page_size: 4096,
                ..ProcessInfo::default()
            },
            threads: vec![
                ThreadState {
                    tid: 42,
                    gp_regs: regs(0x401000, 0x7ff0),
                    ..Default::default()
                },
                ThreadState {
                    tid: 43,
                    gp_regs: regs(0x401100, 0x6ff0),
                    siginfo: Some(raw),
                    ..Default::default()
                },
            ],
            mappings: Vec::new(),
            ..Snapshot::default()
        };
        let (thread, info) = snap.stop_signal().unwrap();
        assert_eq!((thread.tid, info.signo, info.code), (43, 23, -6));
        let model = core_model(&snap).unwrap();
        let si = model.siginfo.as_ref().unwrap();
        assert_eq!((si.signo(), si.code(), si.pid()), (23, -6, 4242));
        let cursig: Vec<(i16, i32)> = model
            .threads
            .iter()
            .map(|t| (t.prstatus.cursig, t.prstatus.info.si_signo))
            .collect();
        assert_eq!(cursig, [(0, 0), (23, 23)]);

        let unsignalled = Snapshot {
            threads: vec![snap.threads[0].clone()],
            ..snap
        };
        assert!(unsignalled.stop_signal().is_none());
        let model = core_model(&unsignalled).unwrap();
        assert_eq!(model.siginfo.unwrap().signo(), 0);
    }
}
