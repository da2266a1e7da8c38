//! The CPU architectures unwound, and a thread's registers by DWARF number.

use coroner_core_format::Registers;

/// A CPU architecture the unwinder knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Arch {
    /// x86_64 (System V ABI DWARF register numbers).
    X86_64,
    /// aarch64 (AAPCS64 DWARF register numbers).
    Aarch64,
}

/// Slots in a [`RegisterFile`]: DWARF numbers 0..=32 cover both
/// architectures' integer registers (aarch64's pc, which has no DWARF
/// number, is kept in slot 32).
const SLOTS: usize = 33;

impl Arch {
    /// DWARF number of the stack pointer.
    pub(crate) fn sp(self) -> u16 {
        match self {
            Arch::X86_64 => 7,
            Arch::Aarch64 => 31,
        }
    }

    /// DWARF number of the frame pointer (`rbp` / `x29`).
    pub(crate) fn fp(self) -> u16 {
        match self {
            Arch::X86_64 => 6,
            Arch::Aarch64 => 29,
        }
    }

    /// DWARF number of the CFI's return-address column (`rip` / `x30`).
    pub(crate) fn return_address(self) -> u16 {
        match self {
            Arch::X86_64 => 16,
            Arch::Aarch64 => 30,
        }
    }

    /// The slot holding the program counter.
    fn pc_slot(self) -> u16 {
        match self {
            Arch::X86_64 => 16,
            Arch::Aarch64 => 32,
        }
    }

    /// The registers an ABI call preserves, which keep their value in the
    /// caller when the CFI says nothing about them.
    pub(crate) fn callee_saved(self, reg: u16) -> bool {
        match self {
            // rbx, rbp, rsp, r12–r15.
            Arch::X86_64 => matches!(reg, 3 | 6 | 7 | 12..=15),
            // x19–x29, sp.
            Arch::Aarch64 => matches!(reg, 19..=29 | 31),
        }
    }

    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
}

/// A thread's integer registers by DWARF number; `None` where unknown
/// (a caller-saved register in an unwound frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegisterFile {
    arch: Arch,
    values: [Option<u64>; SLOTS],
}

impl RegisterFile {
    /// No register known.
    pub(crate) fn unknown(arch: Arch) -> RegisterFile {
        RegisterFile {
            arch,
            values: [None; SLOTS],
        }
    }

    pub(crate) fn arch(&self) -> Arch {
        self.arch
    }

    pub(crate) fn get(&self, reg: u16) -> Option<u64> {
        self.values.get(usize::from(reg)).copied().flatten()
    }

    pub(crate) fn set(&mut self, reg: u16, value: Option<u64>) {
        if let Some(slot) = self.values.get_mut(usize::from(reg)) {
            *slot = value;
        }
    }

    pub(crate) fn pc(&self) -> Option<u64> {
        self.get(self.arch.pc_slot())
    }

    pub(crate) fn set_pc(&mut self, pc: u64) {
        self.set(self.arch.pc_slot(), Some(pc));
    }

    pub(crate) fn sp(&self) -> Option<u64> {
        self.get(self.arch.sp())
    }

    pub(crate) fn fp(&self) -> Option<u64> {
        self.get(self.arch.fp())
    }

    /// From a core's (or ptrace's) general registers.
    pub(crate) fn from_registers(regs: &Registers) -> Option<RegisterFile> {
        match regs {
            Registers::X86_64(r) => {
                let mut file = RegisterFile::unknown(Arch::X86_64);
                let by_number = [
                    r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10,
                    r.r11, r.r12, r.r13, r.r14, r.r15, r.rip,
                ];
                for (number, value) in (0u16..).zip(by_number) {
                    file.set(number, Some(value));
                }
                Some(file)
            }
            Registers::Aarch64(r) => {
                let mut file = RegisterFile::unknown(Arch::Aarch64);
                for (number, value) in (0u16..).zip(r.regs.iter()) {
                    file.set(number, Some(*value));
                }
                file.set(31, Some(r.sp));
                file.set_pc(r.pc);
                Some(file)
            }
            // Registers is non_exhaustive: a future machine has no unwinder yet.
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_core_format::X86_64Regs;

    #[test]
    fn x86_64_registers_land_on_their_dwarf_numbers() {
        let regs = Registers::X86_64(X86_64Regs {
            rip: 0x401000,
            rsp: 0x7ff0,
            rbp: 0x7ff8,
            rbx: 3,
            r15: 15,
            ..Default::default()
        });
        let file = RegisterFile::from_registers(&regs).unwrap();
        assert_eq!(file.pc(), Some(0x401000));
        assert_eq!(file.sp(), Some(0x7ff0));
        assert_eq!(file.fp(), Some(0x7ff8));
        assert_eq!(file.get(3), Some(3));
        assert_eq!(file.get(15), Some(15));
        assert_eq!(file.get(40), None);
    }
}
