//! `struct elf_prpsinfo` (`NT_PRPSINFO`).
#![allow(non_camel_case_types)]

use scroll::{Pread, Pwrite, SizeWith};

/// Process information (136 bytes on x86_64 and aarch64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct elf_prpsinfo {
    /// Numeric process state.
    pub pr_state: u8,
    /// State as a letter (`R`, `S`, `D` …).
    pub pr_sname: u8,
    /// Zombie flag.
    pub pr_zomb: u8,
    /// Nice value.
    pub pr_nice: i8,
    /// Padding.
    pub pr_pad0: u32,
    /// Process flags.
    pub pr_flag: u64,
    /// User id.
    pub pr_uid: u32,
    /// Group id.
    pub pr_gid: u32,
    /// Process id.
    pub pr_pid: i32,
    /// Parent process id.
    pub pr_ppid: i32,
    /// Process group id.
    pub pr_pgrp: i32,
    /// Session id.
    pub pr_sid: i32,
    /// Command name (NUL-padded).
    pub pr_fname: [u8; 16],
    /// Initial part of the arguments (NULs replaced by spaces).
    pub pr_psargs: [u8; 80],
}

/// Size of [`elf_prpsinfo`].
pub const PRPSINFO_SIZE: usize = 136;

#[cfg(test)]
mod tests {
    use super::*;
    use scroll::ctx::SizeWith;

    #[test]
    fn size_matches_spec() {
        assert_eq!(elf_prpsinfo::size_with(&scroll::LE), PRPSINFO_SIZE);
    }
}
