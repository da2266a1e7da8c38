use scroll::{Pread, Pwrite, SizeWith};

/// `CONTEXT_AMD64` flag: the context is an x86-64 context.
pub const CONTEXT_AMD64: u32 = 0x0010_0000;
/// `CONTEXT_AMD64 | CONTEXT_CONTROL`: rip, rsp, rbp, eflags, cs, ss are valid.
pub const CONTEXT_AMD64_CONTROL: u32 = CONTEXT_AMD64 | 0x1;
/// `CONTEXT_AMD64 | CONTEXT_INTEGER`: the general registers are valid.
pub const CONTEXT_AMD64_INTEGER: u32 = CONTEXT_AMD64 | 0x2;
/// `CONTEXT_AMD64 | CONTEXT_SEGMENTS`: ds, es, fs, gs are valid.
pub const CONTEXT_AMD64_SEGMENTS: u32 = CONTEXT_AMD64 | 0x4;
/// `CONTEXT_AMD64 | CONTEXT_FLOATING_POINT`: the FXSAVE area is valid.
pub const CONTEXT_AMD64_FLOATING_POINT: u32 = CONTEXT_AMD64 | 0x8;
/// `CONTEXT_AMD64 | CONTEXT_DEBUG_REGISTERS`.
pub const CONTEXT_AMD64_DEBUG_REGISTERS: u32 = CONTEXT_AMD64 | 0x10;
/// `CONTEXT_AMD64_FULL`: control, integer and floating point.
pub const CONTEXT_AMD64_FULL: u32 =
    CONTEXT_AMD64_CONTROL | CONTEXT_AMD64_INTEGER | CONTEXT_AMD64_FLOATING_POINT;

/// `CONTEXT_ARM64` flag: the context is an AArch64 context.
pub const CONTEXT_ARM64: u32 = 0x0040_0000;
/// `CONTEXT_ARM64 | CONTEXT_CONTROL`: fp, lr, sp, pc, cpsr are valid.
pub const CONTEXT_ARM64_CONTROL: u32 = CONTEXT_ARM64 | 0x1;
/// `CONTEXT_ARM64 | CONTEXT_INTEGER`: x0–x28 are valid.
pub const CONTEXT_ARM64_INTEGER: u32 = CONTEXT_ARM64 | 0x2;
/// `CONTEXT_ARM64 | CONTEXT_FLOATING_POINT`: v0–v31, fpcr, fpsr are valid.
pub const CONTEXT_ARM64_FLOATING_POINT: u32 = CONTEXT_ARM64 | 0x4;
/// `CONTEXT_ARM64 | CONTEXT_DEBUG`.
pub const CONTEXT_ARM64_DEBUG: u32 = CONTEXT_ARM64 | 0x8;
/// `CONTEXT_ARM64_FULL`: control, integer and floating point.
pub const CONTEXT_ARM64_FULL: u32 =
    CONTEXT_ARM64_CONTROL | CONTEXT_ARM64_INTEGER | CONTEXT_ARM64_FLOATING_POINT;

/// `CONTEXT_AMD64` (1232 bytes): x86-64 registers as Windows lays them out.
///
/// `float_save` is the 512-byte `XMM_SAVE_AREA32`, byte for byte the FXSAVE
/// image Linux returns for `NT_PRFPREG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct CONTEXT_AMD64 {
    /// Register home area (unused on Linux).
    pub p1_home: u64,
    /// Register home area.
    pub p2_home: u64,
    /// Register home area.
    pub p3_home: u64,
    /// Register home area.
    pub p4_home: u64,
    /// Register home area.
    pub p5_home: u64,
    /// Register home area.
    pub p6_home: u64,
    /// [`const@CONTEXT_AMD64`] plus the `CONTEXT_AMD64_*` parts present.
    pub context_flags: u32,
    /// MXCSR.
    pub mx_csr: u32,
    /// CS.
    pub cs: u16,
    /// DS.
    pub ds: u16,
    /// ES.
    pub es: u16,
    /// FS.
    pub fs: u16,
    /// GS.
    pub gs: u16,
    /// SS.
    pub ss: u16,
    /// RFLAGS (low 32 bits).
    pub eflags: u32,
    /// DR0.
    pub dr0: u64,
    /// DR1.
    pub dr1: u64,
    /// DR2.
    pub dr2: u64,
    /// DR3.
    pub dr3: u64,
    /// DR6.
    pub dr6: u64,
    /// DR7.
    pub dr7: u64,
    /// RAX.
    pub rax: u64,
    /// RCX.
    pub rcx: u64,
    /// RDX.
    pub rdx: u64,
    /// RBX.
    pub rbx: u64,
    /// RSP.
    pub rsp: u64,
    /// RBP.
    pub rbp: u64,
    /// RSI.
    pub rsi: u64,
    /// RDI.
    pub rdi: u64,
    /// R8.
    pub r8: u64,
    /// R9.
    pub r9: u64,
    /// R10.
    pub r10: u64,
    /// R11.
    pub r11: u64,
    /// R12.
    pub r12: u64,
    /// R13.
    pub r13: u64,
    /// R14.
    pub r14: u64,
    /// R15.
    pub r15: u64,
    /// RIP.
    pub rip: u64,
    /// `XMM_SAVE_AREA32`: the 512-byte FXSAVE image.
    pub float_save: [u8; 512],
    /// Legacy vector registers (unused on Linux).
    pub vector_register: [u128; 26],
    /// Vector control.
    pub vector_control: u64,
    /// Debug control.
    pub debug_control: u64,
    /// Last branch to.
    pub last_branch_to_rip: u64,
    /// Last branch from.
    pub last_branch_from_rip: u64,
    /// Last exception to.
    pub last_exception_to_rip: u64,
    /// Last exception from.
    pub last_exception_from_rip: u64,
}

impl Default for CONTEXT_AMD64 {
    fn default() -> Self {
        CONTEXT_AMD64 {
            p1_home: 0,
            p2_home: 0,
            p3_home: 0,
            p4_home: 0,
            p5_home: 0,
            p6_home: 0,
            context_flags: CONTEXT_AMD64,
            mx_csr: 0,
            cs: 0,
            ds: 0,
            es: 0,
            fs: 0,
            gs: 0,
            ss: 0,
            eflags: 0,
            dr0: 0,
            dr1: 0,
            dr2: 0,
            dr3: 0,
            dr6: 0,
            dr7: 0,
            rax: 0,
            rcx: 0,
            rdx: 0,
            rbx: 0,
            rsp: 0,
            rbp: 0,
            rsi: 0,
            rdi: 0,
            r8: 0,
            r9: 0,
            r10: 0,
            r11: 0,
            r12: 0,
            r13: 0,
            r14: 0,
            r15: 0,
            rip: 0,
            float_save: [0; 512],
            vector_register: [0; 26],
            vector_control: 0,
            debug_control: 0,
            last_branch_to_rip: 0,
            last_branch_from_rip: 0,
            last_exception_to_rip: 0,
            last_exception_from_rip: 0,
        }
    }
}

/// `CONTEXT_ARM64` (912 bytes): AArch64 registers in the layout Windows,
/// Crashpad and rust-minidump use (`context_flags` has [`const@CONTEXT_ARM64`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct CONTEXT_ARM64 {
    /// [`const@CONTEXT_ARM64`] plus the `CONTEXT_ARM64_*` parts present.
    pub context_flags: u32,
    /// PSTATE.
    pub cpsr: u32,
    /// x0–x28, fp (x29), lr (x30).
    pub iregs: [u64; 31],
    /// SP.
    pub sp: u64,
    /// PC.
    pub pc: u64,
    /// v0–v31.
    pub float_regs: [u128; 32],
    /// FPCR.
    pub fpcr: u32,
    /// FPSR.
    pub fpsr: u32,
    /// Breakpoint control registers.
    pub bcr: [u32; 8],
    /// Breakpoint value registers.
    pub bvr: [u64; 8],
    /// Watchpoint control registers.
    pub wcr: [u32; 2],
    /// Watchpoint value registers.
    pub wvr: [u64; 2],
}

impl Default for CONTEXT_ARM64 {
    fn default() -> Self {
        CONTEXT_ARM64 {
            context_flags: CONTEXT_ARM64,
            cpsr: 0,
            iregs: [0; 31],
            sp: 0,
            pc: 0,
            float_regs: [0; 32],
            fpcr: 0,
            fpsr: 0,
            bcr: [0; 8],
            bvr: [0; 8],
            wcr: [0; 2],
            wvr: [0; 2],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sizes() {
        crate::raw::assert_size::<CONTEXT_AMD64>(1232);
        crate::raw::assert_size::<CONTEXT_ARM64>(912);
    }
}
