//! Auxiliary vector entries (`NT_AUXV`).
#![allow(non_camel_case_types)]

use scroll::{Pread, Pwrite, SizeWith};

/// One auxiliary vector entry (16 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct Elf64_auxv_t {
    /// Entry type (`AT_*`).
    pub a_type: u64,
    /// Entry value.
    pub a_val: u64,
}

/// Size of [`Elf64_auxv_t`].
pub const AUXV_ENTRY_SIZE: usize = 16;

/// End of vector.
pub const AT_NULL: u64 = 0;
/// Program headers of the executable.
pub const AT_PHDR: u64 = 3;
/// Size of one program header.
pub const AT_PHENT: u64 = 4;
/// Number of program headers.
pub const AT_PHNUM: u64 = 5;
/// System page size.
pub const AT_PAGESZ: u64 = 6;
/// Interpreter base address.
pub const AT_BASE: u64 = 7;
/// Entry point of the executable.
pub const AT_ENTRY: u64 = 9;
/// Real uid.
pub const AT_UID: u64 = 11;
/// Hardware capabilities.
pub const AT_HWCAP: u64 = 16;
/// Clock ticks per second.
pub const AT_CLKTCK: u64 = 17;
/// Address of 16 random bytes.
pub const AT_RANDOM: u64 = 25;
/// File name of the executable.
pub const AT_EXECFN: u64 = 31;
/// vDSO base address.
pub const AT_SYSINFO_EHDR: u64 = 33;

#[cfg(test)]
mod tests {
    use super::*;
    use scroll::ctx::SizeWith;

    #[test]
    fn auxv_entry_size_matches_spec() {
        assert_eq!(Elf64_auxv_t::size_with(&scroll::LE), AUXV_ENTRY_SIZE);
    }
}
