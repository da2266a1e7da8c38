//! Thread contexts, and the Linux register sets they are built from.

use crate::raw::{self, CONTEXT_AMD64, CONTEXT_ARM64};

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

impl UserFpsimdArm64 {
    /// Size of the kernel's `struct user_fpsimd_state` (`NT_PRFPREG` on
    /// AArch64): 32 × 16 bytes, FPSR, FPCR and 8 bytes of padding.
    pub const SIZE: usize = 528;

    /// Decode the `NT_PRFPREG` bytes of an AArch64 thread (little-endian);
    /// `None` if fewer than the 520 bytes up to FPCR.
    ///
    /// ```
    /// use coroner_minidump_format::model::UserFpsimdArm64;
    /// let mut b = vec![0u8; UserFpsimdArm64::SIZE];
    /// b[0] = 1;
    /// b[512] = 2;
    /// let fp = UserFpsimdArm64::from_bytes(&b).unwrap();
    /// assert_eq!((fp.vregs[0], fp.fpsr, fp.fpcr), (1, 2, 0));
    /// assert!(UserFpsimdArm64::from_bytes(&b[..519]).is_none());
    /// ```
    pub fn from_bytes(b: &[u8]) -> Option<UserFpsimdArm64> {
        use scroll::Pread;
        let mut vregs = [0u128; 32];
        let mut at = 0usize;
        for v in &mut vregs {
            *v = b.gread_with(&mut at, scroll::LE).ok()?;
        }
        Some(UserFpsimdArm64 {
            vregs,
            fpsr: b.gread_with(&mut at, scroll::LE).ok()?,
            fpcr: b.gread_with(&mut at, scroll::LE).ok()?,
        })
    }
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
}
