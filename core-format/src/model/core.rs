use crate::{raw, AuxvEntry, FileNote, Machine, PrPsInfo, PrStatus, SigInfo};

/// A note kept as raw bytes: owner name (without its NUL), type, descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Note {
    /// Owner name without the terminating NUL (`CORE`, `LINUX`, …).
    pub name: Vec<u8>,
    /// Note type.
    pub n_type: u32,
    /// Descriptor bytes.
    pub desc: Vec<u8>,
}

impl Note {
    /// A note with any name, type and descriptor.
    pub fn new(name: impl Into<Vec<u8>>, n_type: u32, desc: impl Into<Vec<u8>>) -> Note {
        Note {
            name: name.into(),
            n_type,
            desc: desc.into(),
        }
    }

    /// `NT_FPREGSET` (owner `CORE`): x86_64 `user_fpregs_struct` (512 bytes)
    /// or aarch64 `user_fpsimd_state` (528 bytes), as PTRACE_GETREGSET returns it.
    pub fn fpregset(desc: impl Into<Vec<u8>>) -> Note {
        Note::new(raw::NOTE_NAME_CORE, raw::NT_FPREGSET, desc)
    }

    /// `NT_X86_XSTATE` (owner `LINUX`), the XSAVE area of any size.
    pub fn x86_xstate(desc: impl Into<Vec<u8>>) -> Note {
        Note::new(raw::NOTE_NAME_LINUX, raw::NT_X86_XSTATE, desc)
    }

    /// Any other register set note (owner `LINUX`), for example `NT_ARM_TLS`.
    pub fn linux(n_type: u32, desc: impl Into<Vec<u8>>) -> Note {
        Note::new(raw::NOTE_NAME_LINUX, n_type, desc)
    }
}

/// Whether a note that follows an `NT_PRSTATUS` belongs to that thread: the
/// kernel names every register set note `LINUX`, except `NT_FPREGSET`
/// which is `CORE`. Anything else (`NT_PRPSINFO`, `NT_SIGINFO`, `NT_AUXV`,
/// `NT_FILE`, custom notes) is process-wide.
pub fn is_thread_note(name: &[u8], n_type: u32) -> bool {
    name == raw::NOTE_NAME_LINUX || (name == raw::NOTE_NAME_CORE && n_type == raw::NT_FPREGSET)
}

/// One thread: its `NT_PRSTATUS` and the register notes that follow it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThreadModel {
    /// Status and general registers.
    pub prstatus: PrStatus,
    /// Register set notes written after the `NT_PRSTATUS`, in order
    /// (kernel: `NT_FPREGSET`, then `NT_X86_XSTATE` / other `LINUX` notes).
    /// Only notes for which [`is_thread_note`] holds are read back as the
    /// thread's; others come back as process notes.
    pub notes: Vec<Note>,
}

impl ThreadModel {
    /// A thread with no register notes yet.
    pub fn new(prstatus: PrStatus) -> ThreadModel {
        ThreadModel {
            prstatus,
            notes: Vec::new(),
        }
    }

    /// Append a register note (builder style).
    pub fn with_note(mut self, note: Note) -> ThreadModel {
        self.notes.push(note);
        self
    }

    /// The thread id.
    pub fn tid(&self) -> u32 {
        self.prstatus.tid()
    }
}

/// A memory mapping: one `PT_LOAD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SegmentModel {
    /// Start address (`p_vaddr`).
    pub vaddr: u64,
    /// Size in memory (`p_memsz`).
    pub memsz: u64,
    /// How many bytes from `vaddr` on are written to the file (`p_filesz`,
    /// 0 ..= `memsz`); the rest is "mapped but not in the file".
    pub filesz: u64,
    /// `PF_R | PF_W | PF_X`.
    pub flags: u32,
}

impl SegmentModel {
    /// A segment whose memory is dumped whole (`filesz == memsz`).
    pub fn dumped(vaddr: u64, memsz: u64, flags: u32) -> SegmentModel {
        SegmentModel {
            vaddr,
            memsz,
            filesz: memsz,
            flags,
        }
    }

    /// A segment that is listed but whose memory is not dumped (`filesz == 0`).
    pub fn skipped(vaddr: u64, memsz: u64, flags: u32) -> SegmentModel {
        SegmentModel {
            vaddr,
            memsz,
            filesz: 0,
            flags,
        }
    }
}

/// Everything a core file holds except the memory bytes.
///
/// The writer lays it out as the kernel does: the first thread's
/// `NT_PRSTATUS`, then `NT_PRPSINFO`, `NT_SIGINFO`, `NT_AUXV`, `NT_FILE`,
/// then the first thread's register notes, then every other thread
/// (`NT_PRSTATUS` + register notes), then the custom [`notes`](Self::notes);
/// then one `PT_LOAD` per segment, page-aligned data.
///
/// ```
/// use coroner_core_format::*;
///
/// let mut model = CoreModel::new(Machine::X86_64);
/// // From PTRACE_GETREGSET NT_PRSTATUS (216 bytes) / NT_FPREGSET / NT_X86_XSTATE.
/// let gp = vec![0u8; 216];
/// let mut st = PrStatus::new(Registers::from_bytes(Machine::X86_64, &gp).unwrap());
/// st.pid = 4242; // the tid
/// st.fpvalid = 1;
/// model.threads.push(
///     ThreadModel::new(st).with_note(Note::fpregset(vec![0; 512])).with_note(Note::x86_xstate(vec![0; 2696])),
/// );
/// let mut ps = PrPsInfo { pid: 4242, sname: b'S', state: 1, ..PrPsInfo::default() };
/// ps.set_fname(b"server");
/// ps.set_psargs(b"/usr/bin/server\0--port\08080\0");
/// model.prpsinfo = Some(ps);
/// model.siginfo = Some(SigInfo::new(0, 0, 0)); // live capture: no signal
/// model.auxv = Some(vec![AuxvEntry { key: raw::AT_PAGESZ, value: 4096 }]);
/// let mut files = FileNote::kernel(); // page_size 4096, offsets given in bytes
/// files.entries.push(FileMapping { start: 0x400000, end: 0x401000, file_offset: 0x1000, path: b"/usr/bin/server".to_vec() });
/// model.files = Some(files);
/// model.segments.push(SegmentModel::dumped(0x400000, 0x1000, raw::PF_R | raw::PF_X));
/// model.segments.push(SegmentModel::skipped(0x7f00_0000_0000, 1 << 30, 0)); // listed, not dumped
/// assert_eq!(write::Layout::plan(&model).unwrap().phnum(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreModel {
    /// Architecture (`e_machine`); every thread's registers must match it.
    pub machine: Machine,
    /// Threads; the first is the current (crashing) one.
    pub threads: Vec<ThreadModel>,
    /// `NT_PRPSINFO`.
    pub prpsinfo: Option<PrPsInfo>,
    /// `NT_SIGINFO`.
    pub siginfo: Option<SigInfo>,
    /// `NT_AUXV` without the final `AT_NULL` (`None`: no note).
    pub auxv: Option<Vec<AuxvEntry>>,
    /// `NT_FILE`.
    pub files: Option<FileNote>,
    /// Process-wide custom notes, written after all threads.
    pub notes: Vec<Note>,
    /// The mappings, one `PT_LOAD` each, in the order given (the kernel's
    /// is ascending addresses).
    pub segments: Vec<SegmentModel>,
}

impl CoreModel {
    /// An empty model for `machine`.
    pub fn new(machine: Machine) -> CoreModel {
        CoreModel {
            machine,
            threads: Vec::new(),
            prpsinfo: None,
            siginfo: None,
            auxv: None,
            files: None,
            notes: Vec::new(),
            segments: Vec::new(),
        }
    }
}
