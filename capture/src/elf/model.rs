//! A [`Snapshot`] as a core-format [`CoreModel`], laid out like the kernel's
//! own cores: the first thread's `NT_PRSTATUS`, then `NT_PRPSINFO`,
//! `NT_SIGINFO`, `NT_AUXV`, `NT_FILE`, then that thread's `NT_FPREGSET` and
//! `NT_X86_XSTATE`, then every other thread's `PRSTATUS`/`FPREGSET`/`XSTATE`
//! (core-format's note encoder emits them in that order); one `PT_LOAD` per
//! mapping in address order, with `p_filesz` the selected dump length.

use coroner_core_format::{
    AuxvEntry, CoreModel, FileMapping, FileNote, Machine, Note, PrPsInfo, PrStatus, Registers,
    SigInfo, ThreadModel, Timeval,
};

use crate::snapshot::{Snapshot, ThreadState};
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
        Registers::from_bytes(machine, &t.gp_regs).ok_or_else(|| CaptureError::Unsupported {
            what: format!(
                "thread {}: {} bytes of general registers",
                t.tid,
                t.gp_regs.len()
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
    let mut tm = ThreadModel::new(st);
    if let Some(fp) = &t.fp_regs {
        tm = tm.with_note(Note::fpregset(fp.clone()));
    }
    if let Some(x) = &t.xstate {
        tm = tm.with_note(Note::x86_xstate(x.clone()));
    }
    Ok(tm)
}

/// Build the core model of `snap` for `machine`.
pub fn core_model(machine: Machine, snap: &Snapshot) -> Result<CoreModel, CaptureError> {
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

    // A live capture has no signal: an all-zero siginfo, like gcore's for a
    // process that was not stopped by one.
    model.siginfo = Some(SigInfo::new(0, 0, 0));

    // core-format's encoder appends the terminating AT_NULL.
    model.auxv = Some(
        p.auxv
            .iter()
            .map(|&(key, value)| AuxvEntry { key, value })
            .collect(),
    );

    let mut files = FileNote::kernel();
    for s in &snap.mappings {
        let m = &s.mapping;
        if m.is_file_backed() {
            files.entries.push(FileMapping {
                start: m.start,
                end: m.end,
                file_offset: m.offset,
                path: m.path.clone(),
            });
        }
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
