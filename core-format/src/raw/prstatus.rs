//! `struct elf_prstatus` (`NT_PRSTATUS`) and the general register sets it
//! embeds.
#![allow(non_camel_case_types)]

use scroll::{Pread, Pwrite, SizeWith};

/// `struct elf_siginfo` (12 bytes). Note the order: signo, code, errno.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct elf_siginfo {
    /// Signal number.
    pub si_signo: i32,
    /// Signal code.
    pub si_code: i32,
    /// Errno.
    pub si_errno: i32,
}

/// `struct __kernel_old_timeval` on 64-bit (16 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct timeval {
    /// Seconds.
    pub tv_sec: i64,
    /// Microseconds.
    pub tv_usec: i64,
}

/// The architecture-independent first 112 bytes of `struct elf_prstatus`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct elf_prstatus_common {
    /// Signal information.
    pub pr_info: elf_siginfo,
    /// Current signal.
    pub pr_cursig: i16,
    /// Padding.
    pub pr_pad0: u16,
    /// Set of pending signals.
    pub pr_sigpend: u64,
    /// Set of held signals.
    pub pr_sighold: u64,
    /// Thread id.
    pub pr_pid: i32,
    /// Parent process id.
    pub pr_ppid: i32,
    /// Process group id.
    pub pr_pgrp: i32,
    /// Session id.
    pub pr_sid: i32,
    /// User time.
    pub pr_utime: timeval,
    /// System time.
    pub pr_stime: timeval,
    /// Cumulative user time of children.
    pub pr_cutime: timeval,
    /// Cumulative system time of children.
    pub pr_cstime: timeval,
}

/// Size of [`elf_prstatus_common`]; `pr_reg` starts here.
pub const PRSTATUS_COMMON_SIZE: usize = 112;

/// x86_64 `struct user_regs_struct` (27 × u64, 216 bytes), the
/// `pr_reg` of x86_64 cores and the `NT_PRSTATUS` regset of ptrace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pread, Pwrite, SizeWith)]
#[repr(C)]
#[allow(missing_docs)]
pub struct user_regs_struct {
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

/// Size of [`user_regs_struct`].
pub const X86_64_USER_REGS_SIZE: usize = 216;

/// aarch64 `struct user_pt_regs` (34 × u64, 272 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct user_pt_regs {
    /// x0 … x30 (x29 is the frame pointer, x30 the link register).
    pub regs: [u64; 31],
    /// Stack pointer.
    pub sp: u64,
    /// Program counter.
    pub pc: u64,
    /// Processor state.
    pub pstate: u64,
}

/// Size of [`user_pt_regs`].
pub const AARCH64_USER_REGS_SIZE: usize = 272;

/// x86_64 `struct elf_prstatus` (336 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct elf_prstatus_x86_64 {
    /// Fields common to all architectures.
    pub common: elf_prstatus_common,
    /// General registers.
    pub pr_reg: user_regs_struct,
    /// Whether FP registers are valid (an `NT_FPREGSET` follows).
    pub pr_fpvalid: i32,
    /// Padding to 8 bytes.
    pub pr_pad1: u32,
}

/// Size of [`elf_prstatus_x86_64`].
pub const PRSTATUS_X86_64_SIZE: usize = 336;

/// aarch64 `struct elf_prstatus` (392 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct elf_prstatus_aarch64 {
    /// Fields common to all architectures.
    pub common: elf_prstatus_common,
    /// General registers.
    pub pr_reg: user_pt_regs,
    /// Whether FP registers are valid.
    pub pr_fpvalid: i32,
    /// Padding to 8 bytes.
    pub pr_pad1: u32,
}

/// Size of [`elf_prstatus_aarch64`].
pub const PRSTATUS_AARCH64_SIZE: usize = 392;

/// Size of the x86_64 `NT_FPREGSET` descriptor (`user_fpregs_struct`).
pub const X86_64_FPREGSET_SIZE: usize = 512;
/// Size of the aarch64 `NT_FPREGSET` descriptor (`user_fpsimd_state`).
pub const AARCH64_FPSIMD_SIZE: usize = 528;

#[cfg(test)]
mod tests {
    use super::*;
    use scroll::ctx::SizeWith;

    #[test]
    fn sizes_match_spec() {
        assert_eq!(elf_siginfo::size_with(&scroll::LE), 12);
        assert_eq!(timeval::size_with(&scroll::LE), 16);
        assert_eq!(
            elf_prstatus_common::size_with(&scroll::LE),
            PRSTATUS_COMMON_SIZE
        );
        assert_eq!(
            user_regs_struct::size_with(&scroll::LE),
            X86_64_USER_REGS_SIZE
        );
        assert_eq!(user_pt_regs::size_with(&scroll::LE), AARCH64_USER_REGS_SIZE);
        assert_eq!(
            elf_prstatus_x86_64::size_with(&scroll::LE),
            PRSTATUS_X86_64_SIZE
        );
        assert_eq!(
            elf_prstatus_aarch64::size_with(&scroll::LE),
            PRSTATUS_AARCH64_SIZE
        );
    }

    #[test]
    fn rip_is_index_16_and_at_offset_240() {
        use scroll::Pwrite;
        let regs = user_regs_struct {
            rip: 0x1122_3344_5566_7788,
            ..Default::default()
        };
        let mut buf = [0u8; PRSTATUS_X86_64_SIZE];
        let st = elf_prstatus_x86_64 {
            pr_reg: regs,
            ..Default::default()
        };
        buf.pwrite_with(st, 0, scroll::LE).unwrap();
        assert_eq!(
            &buf[112 + 16 * 8..112 + 17 * 8],
            &0x1122_3344_5566_7788u64.to_le_bytes()
        );
    }
}
