use scroll::{Pread, Pwrite};

use crate::{raw, Machine};

/// x86_64 general registers (`struct user_regs_struct`, 27 × u64).
pub type X86_64Regs = raw::user_regs_struct;
/// aarch64 general registers (`struct user_pt_regs`, 34 × u64).
pub type Aarch64Regs = raw::user_pt_regs;

/// The general registers of a thread (`pr_reg` of `NT_PRSTATUS`).
///
/// ```
/// use coroner_core_format::{Registers, X86_64Regs};
/// let regs = Registers::X86_64(X86_64Regs { rip: 0x401000, rsp: 0x7ffc_0000, ..Default::default() });
/// assert_eq!((regs.pc(), regs.sp()), (0x401000, 0x7ffc_0000));
/// let words = regs.to_words();
/// assert_eq!(words.len(), 27);
/// assert_eq!(words[16], 0x401000); // rip is index 16
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Registers {
    /// x86_64.
    X86_64(X86_64Regs),
    /// aarch64.
    Aarch64(Aarch64Regs),
}

impl Registers {
    /// The architecture.
    pub fn machine(&self) -> Machine {
        match self {
            Registers::X86_64(_) => Machine::X86_64,
            Registers::Aarch64(_) => Machine::Aarch64,
        }
    }

    /// Program counter (`rip` / `pc`).
    pub fn pc(&self) -> u64 {
        match self {
            Registers::X86_64(r) => r.rip,
            Registers::Aarch64(r) => r.pc,
        }
    }

    /// Stack pointer (`rsp` / `sp`).
    pub fn sp(&self) -> u64 {
        match self {
            Registers::X86_64(r) => r.rsp,
            Registers::Aarch64(r) => r.sp,
        }
    }

    /// Frame pointer (`rbp` / `x29`).
    pub fn fp(&self) -> u64 {
        match self {
            Registers::X86_64(r) => r.rbp,
            Registers::Aarch64(r) => r.regs.get(29).copied().unwrap_or(0),
        }
    }

    /// All zero registers of `machine`.
    pub fn zeroed(machine: Machine) -> Registers {
        match machine {
            Machine::X86_64 => Registers::X86_64(X86_64Regs::default()),
            Machine::Aarch64 => Registers::Aarch64(Aarch64Regs::default()),
        }
    }

    /// Decode from the little-endian bytes of `user_regs_struct` /
    /// `user_pt_regs` (what `PTRACE_GETREGSET NT_PRSTATUS` returns).
    /// `None` if `bytes` is shorter than 216 / 272 bytes.
    pub fn from_bytes(machine: Machine, bytes: &[u8]) -> Option<Registers> {
        match machine {
            Machine::X86_64 => bytes.pread_with(0, scroll::LE).ok().map(Registers::X86_64),
            Machine::Aarch64 => bytes.pread_with(0, scroll::LE).ok().map(Registers::Aarch64),
        }
    }

    /// From the registers as u64 words in kernel order (27 for x86_64, 34
    /// for aarch64). `None` if the count is wrong.
    pub fn from_words(machine: Machine, words: &[u64]) -> Option<Registers> {
        if words.len() != machine.gp_register_count() {
            return None;
        }
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        Registers::from_bytes(machine, &bytes)
    }

    /// The little-endian bytes, as in `pr_reg`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.machine().gp_register_count().saturating_mul(8)];
        // Cannot fail: the buffer has exactly the structure's size.
        let _ = match self {
            Registers::X86_64(r) => out.pwrite_with(*r, 0, scroll::LE),
            Registers::Aarch64(r) => out.pwrite_with(*r, 0, scroll::LE),
        };
        out
    }

    /// The registers as u64 words in kernel order.
    pub fn to_words(&self) -> Vec<u64> {
        self.to_bytes()
            .chunks_exact(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect()
    }
}
