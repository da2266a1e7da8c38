//! ELF core → minidump: the core's [`Snapshot`], written by
//! [`minidump_model`].

use coroner_core_format::read::CoreFile;
use coroner_core_format::{Machine, SigInfo};
use coroner_minidump_format::write::Layout;
use coroner_proc_reader::parse::maps::Mapping;
use coroner_proc_reader::parse::status::Status;

use super::ConvertError;
use crate::minidump::build::minidump_model;
use crate::minidump::host_file::Sysroot;
use crate::minidump::MemoryMode;
use crate::sink::Sink;
use crate::snapshot::{self, Arch, ProcTexts, ProcessInfo, Snapshot, ThreadState};
use crate::CaptureError;

/// The [`Snapshot`] an ELF core describes: threads from its `NT_PRSTATUS`
/// notes (the first one's signal from `NT_SIGINFO`, else its `pr_cursig`),
/// the process from `NT_PRPSINFO` and `NT_AUXV`, and one mapping per
/// `PT_LOAD` (path and offset from `NT_FILE`) holding its `p_filesz` bytes.
fn core_snapshot<R: coroner_core_format::read::ReadAt>(
    core: &CoreFile<R>,
    sysroot: Option<&Sysroot>,
) -> Result<Snapshot, CaptureError> {
    let rd = |e: coroner_core_format::ReadError| ConvertError::Elf(e.into());
    let arch = match core.machine() {
        Some(Machine::X86_64) => Arch::X86_64,
        Some(Machine::Aarch64) => Arch::Aarch64,
        _ => {
            return Err(CaptureError::Unsupported {
                what: format!(
                    "converting a core of ELF machine {} (only x86_64 and aarch64)",
                    core.e_machine()
                ),
            })
        }
    };
    let ps = core.prpsinfo().map_err(rd)?;
    let pid = ps.as_ref().and_then(|p| u32::try_from(p.pid).ok());
    let fname = ps.as_ref().map(|p| p.fname_bytes().to_vec());

    let mut threads = Vec::new();
    for t in core.threads() {
        let t = t.map_err(rd)?;
        let regs = t.registers().map_err(rd)?;
        let fp = t.fpregset().map_err(rd)?;
        threads.push(ThreadState {
            tid: t.tid(),
            name: (Some(t.tid()) == pid)
                .then(|| fname.clone())
                .flatten()
                .unwrap_or_default(),
            gp_regs: regs.to_words(),
            fp_regs: fp.map(<[u8]>::to_vec),
            ..ThreadState::default()
        });
    }
    // The core's signal, given to its first (current) thread as the kernel
    // does: NT_SIGINFO, else that thread's pr_cursig.
    let siginfo = core.siginfo().map_err(rd)?;
    let first_sig = core
        .threads()
        .next()
        .and_then(Result::ok)
        .map_or(0, |t| i32::from(t.cursig()));
    let signal = match siginfo {
        Some(si) if si.signo() != 0 => Some(si),
        _ => (first_sig != 0).then(|| SigInfo::new(first_sig, 0, 0)),
    };
    if let (Some(first), Some(si)) = (threads.first_mut(), signal) {
        first.siginfo = Some(si.bytes);
    }

    let mut files: Vec<(u64, u64, u64, Vec<u8>)> = Vec::new();
    if let Some(view) = core.file_note().map_err(rd)? {
        for e in view.entries() {
            let e = e.map_err(rd)?;
            files.push((
                e.start,
                e.end,
                e.file_offset().unwrap_or(0),
                e.path.to_vec(),
            ));
        }
    }
    let mut mappings = Vec::new();
    for seg in core.load_segments() {
        let vaddr = seg.p_vaddr;
        let file = files.iter().find(|f| f.0 <= vaddr && vaddr < f.1);
        let flags = seg.p_flags;
        let mut m = Mapping::default();
        m.start = vaddr;
        m.end = vaddr.saturating_add(seg.p_memsz);
        m.perms.read = flags & 4 != 0;
        m.perms.write = flags & 2 != 0;
        m.perms.exec = flags & 1 != 0;
        m.offset = file.map_or(0, |f| f.2.saturating_add(vaddr - f.0));
        m.path = file.map(|f| f.3.clone()).unwrap_or_default();
        let located = sysroot.and_then(|root| root.locate(&String::from_utf8_lossy(&m.path)));
        mappings.push(snapshot::held(m, seg.p_filesz, located));
    }
    let auxv: Vec<(u64, u64)> = match core.auxv().map_err(rd)? {
        Some(it) => it
            .filter_map(Result::ok)
            .map(|e| (e.key, e.value))
            .filter(|e| e.0 != 0)
            .collect(),
        None => Vec::new(),
    };

    // ProcStatus: the identity facts of NT_PRPSINFO, as the kernel's text.
    let status = ps.as_ref().map(|p| {
        let id = |v: i32| u32::try_from(v).unwrap_or(0);
        let mut st = Status::default();
        st.name = p.fname_bytes().to_vec();
        st.state = Some(p.sname);
        (st.tgid, st.pid, st.ppid) = (id(p.pid), id(p.pid), id(p.ppid));
        (st.uid, st.gid) = ([p.uid; 4], [p.gid; 4]);
        st.identity_text()
    });
    let cmdline = ps
        .as_ref()
        .map(|p| {
            let args = String::from_utf8_lossy(p.psargs_bytes())
                .trim_end()
                .to_owned();
            let mut v: Vec<u8> = args.split(' ').flat_map(|a| a.bytes().chain([0])).collect();
            if v.is_empty() {
                v.push(0);
            }
            v
        })
        .unwrap_or_default();
    let id = |v: i32| u32::try_from(v).unwrap_or(0);
    let process = ProcessInfo {
        pid: pid.unwrap_or(0),
        ppid: ps.as_ref().map_or(0, |p| id(p.ppid)),
        pgrp: ps.as_ref().map_or(0, |p| id(p.pgrp)),
        sid: ps.as_ref().map_or(0, |p| id(p.sid)),
        uid: ps.as_ref().map_or(0, |p| p.uid),
        gid: ps.as_ref().map_or(0, |p| p.gid),
        state: ps.as_ref().map_or(0, |p| p.sname),
        nice: ps.as_ref().map_or(0, |p| p.nice),
        flags: ps.as_ref().map_or(0, |p| p.flag),
        comm: fname.unwrap_or_default(),
        cmdline,
        auxv,
        coredump_filter: crate::select::CoredumpFilter::DEFAULT,
        page_size: 4096,
        times: None,
    };
    Ok(Snapshot {
        arch,
        time: 0,
        host: None,
        texts: ProcTexts {
            status,
            environ: None,
            auxv: ProcTexts::auxv_of(&process.auxv),
            maps: None,
        },
        process,
        threads,
        mappings,
    })
}

pub(super) fn elf_to_minidump<R: coroner_core_format::read::ReadAt>(
    core: &CoreFile<R>,
    mode: MemoryMode,
    sysroot: Option<&Sysroot>,
    sink: &mut Sink,
) -> Result<(usize, usize), CaptureError> {
    let snap = core_snapshot(core, sysroot)?;
    let mut memory = core.memory();
    let model = minidump_model(&snap, &mut memory, mode)?;
    let layout = Layout::plan(&model)?;
    layout.write(&mut memory, sink)?;
    Ok((
        model.threads.len(),
        model.memory_list.len() + model.memory64_list.len(),
    ))
}
