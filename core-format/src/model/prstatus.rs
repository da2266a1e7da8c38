use scroll::Pwrite;

use crate::{raw, Machine, ReadError, Registers};

/// `struct elf_siginfo` of `NT_PRSTATUS`: signo, code, errno.
pub type ElfSiginfo = raw::elf_siginfo;
/// A `timeval` of `NT_PRSTATUS` (seconds, microseconds).
pub type Timeval = raw::timeval;

/// A thread's status (`NT_PRSTATUS`, `struct elf_prstatus`), typed.
///
/// ```
/// use coroner_core_format::{Machine, PrStatus, Registers, X86_64Regs};
/// let mut st = PrStatus::new(Registers::X86_64(X86_64Regs { rip: 0x1000, ..Default::default() }));
/// st.pid = 1234;
/// st.cursig = 11;
/// let bytes = st.to_bytes();
/// assert_eq!(bytes.len(), 336);
/// assert_eq!(PrStatus::parse(Machine::X86_64, &bytes, 0).unwrap(), st);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrStatus {
    /// `pr_info`: signal number, code, errno.
    pub info: ElfSiginfo,
    /// `pr_cursig`: the current signal.
    pub cursig: i16,
    /// `pr_sigpend`: pending signals.
    pub sigpend: u64,
    /// `pr_sighold`: blocked signals.
    pub sighold: u64,
    /// `pr_pid`: the thread id.
    pub pid: i32,
    /// `pr_ppid`.
    pub ppid: i32,
    /// `pr_pgrp`.
    pub pgrp: i32,
    /// `pr_sid`.
    pub sid: i32,
    /// `pr_utime`.
    pub utime: Timeval,
    /// `pr_stime`.
    pub stime: Timeval,
    /// `pr_cutime`.
    pub cutime: Timeval,
    /// `pr_cstime`.
    pub cstime: Timeval,
    /// `pr_reg`: general registers; their variant decides the machine.
    pub regs: Registers,
    /// `pr_fpvalid`: nonzero when an `NT_FPREGSET` follows.
    pub fpvalid: i32,
}

impl PrStatus {
    /// A status with the given registers and everything else zero.
    pub fn new(regs: Registers) -> PrStatus {
        PrStatus {
            info: ElfSiginfo::default(),
            cursig: 0,
            sigpend: 0,
            sighold: 0,
            pid: 0,
            ppid: 0,
            pgrp: 0,
            sid: 0,
            utime: Timeval::default(),
            stime: Timeval::default(),
            cutime: Timeval::default(),
            cstime: Timeval::default(),
            regs,
            fpvalid: 0,
        }
    }

    /// The thread id (`pr_pid`) as unsigned.
    pub fn tid(&self) -> u32 {
        u32::from_ne_bytes(self.pid.to_ne_bytes())
    }

    /// Decode the architecture-independent first 112 bytes.
    pub fn parse_common(
        desc: &[u8],
        note_offset: u64,
    ) -> Result<raw::elf_prstatus_common, ReadError> {
        super::read_desc(
            desc,
            raw::NT_PRSTATUS,
            note_offset,
            raw::PRSTATUS_COMMON_SIZE,
        )
    }

    /// Decode a `NT_PRSTATUS` descriptor of `machine` (at least 336 bytes on
    /// x86_64, 392 on aarch64).
    pub fn parse(machine: Machine, desc: &[u8], note_offset: u64) -> Result<PrStatus, ReadError> {
        let expected = machine.prstatus_size();
        let (common, regs, fpvalid) = match machine {
            Machine::X86_64 => {
                let r: raw::elf_prstatus_x86_64 =
                    super::read_desc(desc, raw::NT_PRSTATUS, note_offset, expected)?;
                (r.common, Registers::X86_64(r.pr_reg), r.pr_fpvalid)
            }
            Machine::Aarch64 => {
                let r: raw::elf_prstatus_aarch64 =
                    super::read_desc(desc, raw::NT_PRSTATUS, note_offset, expected)?;
                (r.common, Registers::Aarch64(r.pr_reg), r.pr_fpvalid)
            }
        };
        Ok(PrStatus {
            info: common.pr_info,
            cursig: common.pr_cursig,
            sigpend: common.pr_sigpend,
            sighold: common.pr_sighold,
            pid: common.pr_pid,
            ppid: common.pr_ppid,
            pgrp: common.pr_pgrp,
            sid: common.pr_sid,
            utime: common.pr_utime,
            stime: common.pr_stime,
            cutime: common.pr_cutime,
            cstime: common.pr_cstime,
            regs,
            fpvalid,
        })
    }

    /// Encode as a `NT_PRSTATUS` descriptor of the registers' machine.
    pub fn to_bytes(&self) -> Vec<u8> {
        let common = raw::elf_prstatus_common {
            pr_info: self.info,
            pr_cursig: self.cursig,
            pr_pad0: 0,
            pr_sigpend: self.sigpend,
            pr_sighold: self.sighold,
            pr_pid: self.pid,
            pr_ppid: self.ppid,
            pr_pgrp: self.pgrp,
            pr_sid: self.sid,
            pr_utime: self.utime,
            pr_stime: self.stime,
            pr_cutime: self.cutime,
            pr_cstime: self.cstime,
        };
        let mut out = vec![0u8; self.regs.machine().prstatus_size()];
        // Cannot fail: the buffer has exactly the structure's size.
        let _ = match self.regs {
            Registers::X86_64(r) => out.pwrite_with(
                raw::elf_prstatus_x86_64 {
                    common,
                    pr_reg: r,
                    pr_fpvalid: self.fpvalid,
                    pr_pad1: 0,
                },
                0,
                scroll::LE,
            ),
            Registers::Aarch64(r) => out.pwrite_with(
                raw::elf_prstatus_aarch64 {
                    common,
                    pr_reg: r,
                    pr_fpvalid: self.fpvalid,
                    pr_pad1: 0,
                },
                0,
                scroll::LE,
            ),
        };
        out
    }
}
