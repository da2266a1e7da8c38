//! The owned description of a minidump: what [`write`](crate::write) writes
//! and what [`Minidump::to_model`](crate::read::Minidump::to_model) returns.
//!
//! A [`Model`] holds every stream except memory contents: memory ranges are
//! only addresses and sizes, and their bytes are pulled from a
//! [`MemorySource`](crate::write::MemorySource) while writing. For every model
//! `m`, `parse(write(m)).to_model() == m` (a property test checks it).
//!
//! Streams are written in a fixed order; an empty list or `None` means the
//! stream is left out.

use crate::raw::{self, CONTEXT_AMD64, CONTEXT_ARM64, MINIDUMP_MEMORY_INFO, VS_FIXEDFILEINFO};

/// Everything in a minidump except the memory bytes.
///
/// ```
/// use coroner_minidump_format::model::{Model, Thread, Context, MemoryRange, SystemInfo};
/// let mut model = Model::default();
/// model.system_info = Some(SystemInfo::linux_amd64(4, "Linux 6.1.0 #1 SMP x86_64"));
/// model.threads.push(Thread {
///     thread_id: 42,
///     stack: Some(MemoryRange { start: 0x7ffd_0000_0000, size: 0x1000 }),
///     context: Some(Context::Amd64(Box::default())),
///     ..Thread::default()
/// });
/// // Stack bytes are found by address in the MemoryList, so list them there too.
/// model.memory_list.push(MemoryRange { start: 0x7ffd_0000_0000, size: 0x1000 });
/// assert_eq!(model.threads.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    /// `MINIDUMP_HEADER::time_date_stamp`: seconds since the epoch.
    pub time_date_stamp: u32,
    /// `MINIDUMP_HEADER::flags` (`MINIDUMP_TYPE`).
    pub flags: u64,
    /// SystemInfo stream. Stack walkers need it.
    pub system_info: Option<SystemInfo>,
    /// MiscInfo stream.
    pub misc_info: Option<MiscInfo>,
    /// ThreadList stream. Stack walkers need it.
    pub threads: Vec<Thread>,
    /// ThreadNames stream.
    pub thread_names: Vec<ThreadName>,
    /// ModuleList stream.
    pub modules: Vec<Module>,
    /// Exception stream.
    pub exception: Option<Exception>,
    /// MemoryInfoList stream.
    pub memory_info: Vec<MINIDUMP_MEMORY_INFO>,
    /// Breakpad's Linux streams.
    pub linux: LinuxStreams,
    /// Streams of other types (and later duplicates of known ones), kept as
    /// raw bytes and written last, in this order.
    pub other_streams: Vec<RawStream>,
    /// MemoryList stream: small ranges such as stacks, each with a 32-bit RVA
    /// (so they must all lie below 4 GiB in the file).
    pub memory_list: Vec<MemoryRange>,
    /// Memory64List stream: any amount of memory, written last in the file.
    pub memory64_list: Vec<MemoryRange>,
}

/// A range of the dumped process's address space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemoryRange {
    /// First address.
    pub start: u64,
    /// Number of bytes.
    pub size: u64,
}

impl MemoryRange {
    /// The address one past the end, or `None` if that overflows.
    pub fn end(&self) -> Option<u64> {
        self.start.checked_add(self.size)
    }
}

/// One thread of the ThreadList stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thread {
    /// Thread id (Linux tid).
    pub thread_id: u32,
    /// Suspend count.
    pub suspend_count: u32,
    /// Priority class.
    pub priority_class: u32,
    /// Priority.
    pub priority: u32,
    /// Thread environment block (Linux: TLS base or 0).
    pub teb: u64,
    /// The thread's stack memory. When the same range is also in
    /// [`Model::memory_list`] the thread points at that copy; otherwise the
    /// bytes are written once more for the thread alone.
    pub stack: Option<MemoryRange>,
    /// The CPU context.
    pub context: Option<Context>,
}

/// A thread's CPU registers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Context {
    /// x86-64.
    Amd64(Box<CONTEXT_AMD64>),
    /// AArch64.
    Arm64(Box<CONTEXT_ARM64>),
    /// Any other context, kept as bytes (a reader recognises `CONTEXT_AMD64`
    /// by its 1232-byte size and flag, `CONTEXT_ARM64` by 912 bytes and flag).
    Other(Vec<u8>),
}

impl Context {
    /// The instruction pointer (rip / pc), when the architecture is known.
    pub fn instruction_pointer(&self) -> Option<u64> {
        match self {
            Context::Amd64(c) => Some(c.rip),
            Context::Arm64(c) => Some(c.pc),
            Context::Other(_) => None,
        }
    }

    /// The stack pointer (rsp / sp), when the architecture is known.
    pub fn stack_pointer(&self) -> Option<u64> {
        match self {
            Context::Amd64(c) => Some(c.rsp),
            Context::Arm64(c) => Some(c.sp),
            Context::Other(_) => None,
        }
    }

    /// An x86-64 context from Linux's `user_regs_struct` (`NT_PRSTATUS` /
    /// `PTRACE_GETREGS`) and the 512-byte FXSAVE image (`NT_PRFPREG`), with
    /// flags `CONTEXT_AMD64_FULL | CONTEXT_AMD64_SEGMENTS`.
    ///
    /// ```
    /// use coroner_minidump_format::model::{Context, UserRegsX86_64};
    /// let regs = UserRegsX86_64 { rip: 0x401000, rsp: 0x7ffc_0000, ..Default::default() };
    /// let ctx = Context::from_linux_x86_64(&regs, &[0u8; 512]);
    /// assert_eq!(ctx.instruction_pointer(), Some(0x401000));
    /// ```
    pub fn from_linux_x86_64(regs: &UserRegsX86_64, fxsave: &[u8; 512]) -> Context {
        let mx_csr = fxsave
            .get(24..28)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_le_bytes);
        Context::Amd64(Box::new(CONTEXT_AMD64 {
            context_flags: raw::CONTEXT_AMD64_FULL | raw::CONTEXT_AMD64_SEGMENTS,
            mx_csr,
            cs: low16(regs.cs),
            ds: low16(regs.ds),
            es: low16(regs.es),
            fs: low16(regs.fs),
            gs: low16(regs.gs),
            ss: low16(regs.ss),
            eflags: low32(regs.eflags),
            rax: regs.rax,
            rcx: regs.rcx,
            rdx: regs.rdx,
            rbx: regs.rbx,
            rsp: regs.rsp,
            rbp: regs.rbp,
            rsi: regs.rsi,
            rdi: regs.rdi,
            r8: regs.r8,
            r9: regs.r9,
            r10: regs.r10,
            r11: regs.r11,
            r12: regs.r12,
            r13: regs.r13,
            r14: regs.r14,
            r15: regs.r15,
            rip: regs.rip,
            float_save: *fxsave,
            ..CONTEXT_AMD64::default()
        }))
    }

    /// An AArch64 context from Linux's `user_pt_regs` (`NT_PRSTATUS`) and,
    /// when available, `user_fpsimd_state` (`NT_PRFPREG`).
    ///
    /// ```
    /// use coroner_minidump_format::model::{Context, UserPtRegsArm64};
    /// let regs = UserPtRegsArm64 { pc: 0x400000, sp: 0x7ff0, ..Default::default() };
    /// assert_eq!(Context::from_linux_arm64(&regs, None).stack_pointer(), Some(0x7ff0));
    /// ```
    pub fn from_linux_arm64(regs: &UserPtRegsArm64, fpsimd: Option<&UserFpsimdArm64>) -> Context {
        let mut ctx = CONTEXT_ARM64 {
            context_flags: raw::CONTEXT_ARM64_CONTROL | raw::CONTEXT_ARM64_INTEGER,
            cpsr: low32(regs.pstate),
            iregs: regs.regs,
            sp: regs.sp,
            pc: regs.pc,
            ..CONTEXT_ARM64::default()
        };
        if let Some(fp) = fpsimd {
            ctx.context_flags |= raw::CONTEXT_ARM64_FLOATING_POINT;
            ctx.float_regs = fp.vregs;
            ctx.fpsr = fp.fpsr;
            ctx.fpcr = fp.fpcr;
        }
        Context::Arm64(Box::new(ctx))
    }
}

fn low16(v: u64) -> u16 {
    u16::try_from(v & 0xffff).unwrap_or_default()
}

fn low32(v: u64) -> u32 {
    u32::try_from(v & 0xffff_ffff).unwrap_or_default()
}

/// Linux x86-64 `struct user_regs_struct`, in kernel order (27 u64 words).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct UserRegsX86_64 {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

impl UserRegsX86_64 {
    /// From the 27 words in kernel order (as in `elf_prstatus.pr_reg`).
    ///
    /// ```
    /// use coroner_minidump_format::model::UserRegsX86_64;
    /// let mut words = [0u64; 27];
    /// words[16] = 0x401000; // rip
    /// assert_eq!(UserRegsX86_64::from_words(&words).rip, 0x401000);
    /// ```
    pub fn from_words(w: &[u64; 27]) -> UserRegsX86_64 {
        let [r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs] =
            *w;
        UserRegsX86_64 {
            r15,
            r14,
            r13,
            r12,
            rbp,
            rbx,
            r11,
            r10,
            r9,
            r8,
            rax,
            rcx,
            rdx,
            rsi,
            rdi,
            orig_rax,
            rip,
            cs,
            eflags,
            rsp,
            ss,
            fs_base,
            gs_base,
            ds,
            es,
            fs,
            gs,
        }
    }
}

/// Linux AArch64 `struct user_pt_regs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserPtRegsArm64 {
    /// x0–x30.
    pub regs: [u64; 31],
    /// SP.
    pub sp: u64,
    /// PC.
    pub pc: u64,
    /// PSTATE.
    pub pstate: u64,
}

/// Linux AArch64 `struct user_fpsimd_state`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserFpsimdArm64 {
    /// v0–v31.
    pub vregs: [u128; 32],
    /// FPSR.
    pub fpsr: u32,
    /// FPCR.
    pub fpcr: u32,
}

/// One module of the ModuleList stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    /// Load address.
    pub base: u64,
    /// Size of the mapped image.
    pub size: u32,
    /// Checksum.
    pub checksum: u32,
    /// Timestamp.
    pub time_date_stamp: u32,
    /// Path of the file.
    pub name: String,
    /// Windows version resource (zero on Linux).
    pub version_info: VS_FIXEDFILEINFO,
    /// The CodeView record: ELF build id or PDB reference.
    pub code_view: Option<CodeView>,
    /// The misc record, raw.
    pub misc_record: Option<Vec<u8>>,
}

/// A module's CodeView record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeView {
    /// Breakpad's "BpEL" record: the ELF build id (`NT_GNU_BUILD_ID`).
    Elf {
        /// The build id bytes.
        build_id: Vec<u8>,
    },
    /// A PDB 7.0 "RSDS" record.
    Pdb70 {
        /// The PDB GUID, as stored.
        guid: [u8; 16],
        /// The PDB age.
        age: u32,
        /// The PDB path, without its terminating NUL.
        file_name: Vec<u8>,
    },
    /// Any other record, raw (signature included).
    Other(Vec<u8>),
}

impl CodeView {
    /// The code id as tools show it: the ELF build id in lower-case hex.
    ///
    /// ```
    /// use coroner_minidump_format::model::CodeView;
    /// let cv = CodeView::Elf { build_id: vec![0xde, 0xad, 0xbe, 0xef] };
    /// assert_eq!(cv.code_id().as_deref(), Some("deadbeef"));
    /// ```
    pub fn code_id(&self) -> Option<String> {
        match self {
            CodeView::Elf { build_id } => Some(crate::read::hex(build_id)),
            _ => None,
        }
    }

    /// The debug id as Breakpad tools show it: for ELF the first 16 bytes of
    /// the build id (zero-padded) read as a GUID, then age 0; for PDB 7.0 the
    /// GUID and age. `None` for an all-zero build id or a nil GUID, as
    /// rust-minidump does.
    ///
    /// ```
    /// use coroner_minidump_format::model::CodeView;
    /// let cv = CodeView::Elf { build_id: (1u8..=20).collect() };
    /// assert_eq!(cv.debug_id().as_deref(), Some("0403020106050807090A0B0C0D0E0F100"));
    /// ```
    pub fn debug_id(&self) -> Option<String> {
        let (guid, age) = match self {
            CodeView::Elf { build_id } if build_id.iter().all(|b| *b == 0) => return None,
            CodeView::Pdb70 { guid, .. } if guid.iter().all(|b| *b == 0) => return None,
            CodeView::Elf { build_id } => {
                let mut g = [0u8; 16];
                for (d, s) in g.iter_mut().zip(build_id.iter()) {
                    *d = *s;
                }
                (g, 0)
            }
            CodeView::Pdb70 { guid, age, .. } => (*guid, *age),
            CodeView::Other(_) => return None,
        };
        Some(crate::read::debug_id(&guid, age))
    }
}

/// The SystemInfo stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemInfo {
    /// `PROCESSOR_ARCHITECTURE_*` (AMD64 = 9, ARM64 = 12).
    pub processor_architecture: u16,
    /// CPU family.
    pub processor_level: u16,
    /// CPU model and stepping.
    pub processor_revision: u16,
    /// Number of CPUs.
    pub number_of_processors: u8,
    /// Product type.
    pub product_type: u8,
    /// OS major version.
    pub major_version: u32,
    /// OS minor version.
    pub minor_version: u32,
    /// OS build number.
    pub build_number: u32,
    /// Platform id (Linux = 0x8201).
    pub platform_id: u32,
    /// CSD version string (on Linux the full `uname` line).
    pub csd_version: Option<String>,
    /// Suite mask.
    pub suite_mask: u16,
    /// `CPU_INFORMATION` (see [`SystemInfo::set_x86_cpu`]).
    pub cpu: [u8; 24],
}

impl SystemInfo {
    /// Linux on x86-64 with `cpus` processors and the OS string `csd`.
    ///
    /// ```
    /// use coroner_minidump_format::model::SystemInfo;
    /// let mut si = SystemInfo::linux_amd64(8, "Linux 6.1.0");
    /// si.set_x86_cpu(*b"GenuineIntel", 0x906ea, 0xbfebfbff, 0);
    /// assert_eq!(si.x86_vendor(), Some(*b"GenuineIntel"));
    /// ```
    pub fn linux_amd64(cpus: u8, csd: &str) -> SystemInfo {
        SystemInfo {
            processor_architecture: raw::PROCESSOR_ARCHITECTURE_AMD64,
            number_of_processors: cpus,
            platform_id: raw::PLATFORM_ID_LINUX,
            csd_version: Some(csd.to_owned()),
            ..SystemInfo::default()
        }
    }

    /// Linux on AArch64 with `cpus` processors and the OS string `csd`.
    pub fn linux_arm64(cpus: u8, csd: &str) -> SystemInfo {
        SystemInfo {
            processor_architecture: raw::PROCESSOR_ARCHITECTURE_ARM64,
            ..SystemInfo::linux_amd64(cpus, csd)
        }
    }

    /// Fill `cpu` as x86 `CPU_INFORMATION`: vendor id, CPUID version,
    /// feature and AMD extended feature words.
    pub fn set_x86_cpu(&mut self, vendor: [u8; 12], version: u32, features: u32, amd_ext: u32) {
        let mut cpu = [0u8; 24];
        let parts = [
            version.to_le_bytes(),
            features.to_le_bytes(),
            amd_ext.to_le_bytes(),
        ];
        let bytes = vendor.iter().chain(parts.iter().flatten());
        for (slot, b) in cpu.iter_mut().zip(bytes) {
            *slot = *b;
        }
        self.cpu = cpu;
    }

    /// The x86 vendor id ("GenuineIntel", "AuthenticAMD") when `cpu` holds one.
    pub fn x86_vendor(&self) -> Option<[u8; 12]> {
        let v: [u8; 12] = self.cpu.get(..12)?.try_into().ok()?;
        (v.iter().any(|b| *b != 0)).then_some(v)
    }
}

/// The MiscInfo stream (`MINIDUMP_MISC_INFO`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MiscInfo {
    /// `MINIDUMP_MISC1_*` flags saying which fields are valid.
    pub flags1: u32,
    /// Process id.
    pub process_id: u32,
    /// Process start, seconds since the epoch.
    pub process_create_time: u32,
    /// User CPU seconds.
    pub process_user_time: u32,
    /// Kernel CPU seconds.
    pub process_kernel_time: u32,
    /// Bytes of later `MINIDUMP_MISC_INFO_N` versions, kept raw.
    pub extra: Vec<u8>,
}

impl MiscInfo {
    /// Process id and times, with the matching flags set.
    ///
    /// ```
    /// use coroner_minidump_format::model::MiscInfo;
    /// let mi = MiscInfo::process(1234, 1_700_000_000, 3, 1);
    /// assert_eq!(mi.process_id, 1234);
    /// ```
    pub fn process(pid: u32, create_time: u32, user_time: u32, kernel_time: u32) -> MiscInfo {
        MiscInfo {
            flags1: raw::MINIDUMP_MISC1_PROCESS_ID | raw::MINIDUMP_MISC1_PROCESS_TIMES,
            process_id: pid,
            process_create_time: create_time,
            process_user_time: user_time,
            process_kernel_time: kernel_time,
            extra: Vec::new(),
        }
    }
}

/// The Exception stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exception {
    /// The thread that crashed (or was dumped).
    pub thread_id: u32,
    /// Signal number, or [`DUMP_REQUESTED`](crate::raw::DUMP_REQUESTED) for a live capture.
    pub code: u32,
    /// `si_code`.
    pub flags: u32,
    /// Chained record address (0).
    pub record: u64,
    /// Faulting address.
    pub address: u64,
    /// Up to 15 parameters.
    pub parameters: Vec<u64>,
    /// The thread's context at the exception.
    pub context: Option<Context>,
}

impl Exception {
    /// A "dump requested" exception for a live capture of `thread_id`.
    ///
    /// ```
    /// use coroner_minidump_format::model::Exception;
    /// assert_eq!(Exception::dump_requested(7).code, 0xffff_ffff);
    /// ```
    pub fn dump_requested(thread_id: u32) -> Exception {
        Exception {
            thread_id,
            code: raw::DUMP_REQUESTED,
            ..Exception::default()
        }
    }
}

/// One entry of the ThreadNames stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadName {
    /// Thread id.
    pub thread_id: u32,
    /// Its name.
    pub name: String,
}

/// Breakpad's Linux streams: the raw bytes of the `/proc` files, plus DsoDebug.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinuxStreams {
    /// `/proc/cpuinfo`.
    pub cpu_info: Option<Vec<u8>>,
    /// `/proc/<pid>/status`.
    pub proc_status: Option<Vec<u8>>,
    /// `/etc/lsb-release` (or os-release).
    pub lsb_release: Option<Vec<u8>>,
    /// `/proc/<pid>/cmdline`.
    pub cmd_line: Option<Vec<u8>>,
    /// `/proc/<pid>/environ`.
    pub environ: Option<Vec<u8>>,
    /// `/proc/<pid>/auxv`.
    pub auxv: Option<Vec<u8>>,
    /// `/proc/<pid>/maps`.
    pub maps: Option<Vec<u8>>,
    /// The dynamic linker's `r_debug` and link map.
    pub dso_debug: Option<DsoDebug>,
}

/// The `MD_LINUX_DSO_DEBUG` stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DsoDebug {
    /// `r_version`.
    pub version: u32,
    /// `r_brk`.
    pub brk: u64,
    /// `r_ldbase`.
    pub ldbase: u64,
    /// `_DYNAMIC` of the executable.
    pub dynamic: u64,
    /// The link map.
    pub link_maps: Vec<LinkMap>,
}

/// One `link_map` entry of [`DsoDebug`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkMap {
    /// `l_addr`.
    pub addr: u64,
    /// `l_name`.
    pub name: String,
    /// `l_ld`.
    pub ld: u64,
}

/// A stream the crate has no type for, kept as bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawStream {
    /// Stream type.
    pub stream_type: u32,
    /// Its bytes.
    pub data: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amd64_context_from_linux_registers() {
        let mut words = [0u64; 27];
        for (i, w) in words.iter_mut().enumerate() {
            *w = 0x1000 + i as u64;
        }
        let regs = UserRegsX86_64::from_words(&words);
        assert_eq!((regs.r15, regs.rip, regs.gs), (0x1000, 0x1010, 0x101a));
        let mut fx = [0u8; 512];
        fx[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        fx[160] = 0xaa; // xmm0
        let Context::Amd64(c) = Context::from_linux_x86_64(&regs, &fx) else {
            panic!()
        };
        assert_eq!(c.context_flags, 0x10000f);
        assert_eq!(
            (c.rip, c.rsp, c.rax, c.r8, c.rdi),
            (0x1010, 0x1013, 0x100a, 0x1009, 0x100e)
        );
        assert_eq!((c.cs, c.ss, c.ds, c.fs), (0x1011, 0x1014, 0x1017, 0x1019));
        assert_eq!(c.eflags, 0x1012);
        assert_eq!(c.mx_csr, 0x1f80);
        assert_eq!(c.float_save[160], 0xaa);
    }

    #[test]
    fn arm64_context_from_linux_registers() {
        let mut regs = UserPtRegsArm64 {
            sp: 1,
            pc: 2,
            pstate: 0x6000_0000,
            ..Default::default()
        };
        regs.regs[29] = 0xf0;
        let Context::Arm64(c) = Context::from_linux_arm64(&regs, None) else {
            panic!()
        };
        assert_eq!(c.context_flags, 0x400003);
        assert_eq!((c.sp, c.pc, c.cpsr, c.iregs[29]), (1, 2, 0x6000_0000, 0xf0));
        let fp = UserFpsimdArm64 {
            vregs: [7; 32],
            fpsr: 1,
            fpcr: 2,
        };
        let Context::Arm64(c) = Context::from_linux_arm64(&regs, Some(&fp)) else {
            panic!()
        };
        assert_eq!(c.context_flags, 0x400007);
        assert_eq!((c.float_regs[31], c.fpsr, c.fpcr), (7, 1, 2));
    }

    #[test]
    fn code_and_debug_ids() {
        let cv = CodeView::Elf {
            build_id: vec![0; 20],
        };
        assert_eq!(
            cv.code_id().as_deref(),
            Some("0000000000000000000000000000000000000000")
        );
        assert_eq!(cv.debug_id(), None);
        let short = CodeView::Elf {
            build_id: vec![0x11, 0x22],
        };
        assert_eq!(
            short.debug_id().as_deref(),
            Some("000022110000000000000000000000000")
        );
        assert_eq!(CodeView::Other(vec![1]).code_id(), None);
    }
}
