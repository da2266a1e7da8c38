//! A minidump thread context from the Linux register sets a snapshot
//! holds.

use coroner_minidump_format::model::{Context, UserFpsimdArm64, UserPtRegsArm64, UserRegsX86_64};

use crate::snapshot::Arch;

/// A minidump context from Linux register sets: `gp` in the kernel's
/// `NT_PRSTATUS` order, `fp` the `NT_PRFPREG` bytes if known.
pub fn context_from_linux(arch: Arch, gp: &[u64], fp: Option<&[u8]>) -> Option<Context> {
    match arch {
        Arch::X86_64 => {
            let words: &[u64; 27] = gp.get(..27)?.try_into().ok()?;
            let mut fx = [0u8; 512];
            if let Some(fp) = fp.and_then(|f| f.get(..512)) {
                fx.copy_from_slice(fp);
            }
            Some(Context::from_linux_x86_64(
                &UserRegsX86_64::from_words(words),
                &fx,
            ))
        }
        Arch::Aarch64 => {
            let regs = UserPtRegsArm64 {
                regs: gp.get(..31)?.try_into().ok()?,
                sp: *gp.get(31)?,
                pc: *gp.get(32)?,
                pstate: *gp.get(33)?,
            };
            let simd = fp.and_then(UserFpsimdArm64::from_bytes);
            Some(Context::from_linux_arm64(&regs, simd.as_ref()))
        }
    }
}
