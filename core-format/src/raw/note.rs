//! Note header and the note types found in Linux core files.
#![allow(non_camel_case_types)]

use scroll::{Pread, Pwrite, SizeWith};

/// ELF64 note header (12 bytes), followed by the name and the descriptor,
/// each padded to 4 bytes (also in ELF64 cores).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct Elf64_Nhdr {
    /// Name length including its terminating NUL.
    pub n_namesz: u32,
    /// Descriptor length.
    pub n_descsz: u32,
    /// Note type.
    pub n_type: u32,
}

/// Size of [`Elf64_Nhdr`].
pub const NHDR_SIZE: usize = 12;
/// Alignment of note names and descriptors in core files.
pub const NOTE_ALIGN: usize = 4;

/// Owner name of the generic core notes (`NT_PRSTATUS`, `NT_FPREGSET`,
/// `NT_PRPSINFO`, `NT_SIGINFO`, `NT_AUXV`, `NT_FILE`).
pub const NOTE_NAME_CORE: &[u8] = b"CORE";
/// Owner name of the other register notes (`NT_X86_XSTATE`, `NT_ARM_*` …).
pub const NOTE_NAME_LINUX: &[u8] = b"LINUX";

/// `struct elf_prstatus`: signal, ids, times and general registers.
pub const NT_PRSTATUS: u32 = 1;
/// `elf_fpregset_t` (x86_64 `user_fpregs_struct`, 512 bytes; aarch64
/// `user_fpsimd_state`, 528 bytes).
pub const NT_FPREGSET: u32 = 2;
/// Same value as [`NT_FPREGSET`] (the name aarch64 uses).
pub const NT_PRFPREG: u32 = 2;
/// `struct elf_prpsinfo`.
pub const NT_PRPSINFO: u32 = 3;
/// `struct task_struct` (unused by Linux).
pub const NT_TASKSTRUCT: u32 = 4;
/// The auxiliary vector: `u64` (type, value) pairs ending with `AT_NULL`.
pub const NT_AUXV: u32 = 6;
/// `siginfo_t` of the signal that caused the dump (128 bytes).
pub const NT_SIGINFO: u32 = 0x5349_4749;
/// Mapped files.
pub const NT_FILE: u32 = 0x4649_4c45;
/// `user_fxsr_struct` (i386).
pub const NT_PRXFPREG: u32 = 0x46e6_2b7f;
/// x86 extended state (XSAVE area), CPU-dependent size, owner "LINUX".
pub const NT_X86_XSTATE: u32 = 0x202;
/// x86 shadow stack pointer.
pub const NT_X86_SHSTK: u32 = 0x204;
/// x86 XSAVE layout description (newer kernels, once per core).
pub const NT_X86_XSAVE_LAYOUT: u32 = 0x205;
/// aarch64 TLS register.
pub const NT_ARM_TLS: u32 = 0x401;
/// aarch64 hardware breakpoint registers.
pub const NT_ARM_HW_BREAK: u32 = 0x402;
/// aarch64 hardware watchpoint registers.
pub const NT_ARM_HW_WATCH: u32 = 0x403;
/// aarch64 system call number.
pub const NT_ARM_SYSTEM_CALL: u32 = 0x404;
/// aarch64 SVE registers.
pub const NT_ARM_SVE: u32 = 0x405;
/// aarch64 pointer authentication masks.
pub const NT_ARM_PAC_MASK: u32 = 0x406;
/// aarch64 tagged address control.
pub const NT_ARM_TAGGED_ADDR_CTRL: u32 = 0x409;

#[cfg(test)]
mod tests {
    use super::*;
    use scroll::ctx::SizeWith;

    #[test]
    fn nhdr_size_matches_spec() {
        assert_eq!(Elf64_Nhdr::size_with(&scroll::LE), NHDR_SIZE);
    }
}
