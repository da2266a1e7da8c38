//! `NT_FILE`: the mapped files of the process.
#![allow(non_camel_case_types)]

use scroll::{Pread, Pwrite, SizeWith};

/// Header of the `NT_FILE` descriptor: `count` entries follow, then `count`
/// NUL-terminated path names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct nt_file_header {
    /// Number of entries.
    pub count: u64,
    /// Unit of `file_ofs`: 4096 (kernel, offsets in pages) or 1 (gdb, bytes).
    pub page_size: u64,
}

/// One `NT_FILE` entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct nt_file_entry {
    /// Start address of the mapping.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Offset in the file, in units of `page_size`.
    pub file_ofs: u64,
}

/// Size of [`nt_file_header`].
pub const NT_FILE_HEADER_SIZE: usize = 16;
/// Size of [`nt_file_entry`].
pub const NT_FILE_ENTRY_SIZE: usize = 24;
/// `page_size` the kernel writes (offsets in pages).
pub const NT_FILE_KERNEL_PAGE_SIZE: u64 = 4096;

#[cfg(test)]
mod tests {
    use super::*;
    use scroll::ctx::SizeWith;

    #[test]
    fn sizes_match_spec() {
        assert_eq!(nt_file_header::size_with(&scroll::LE), NT_FILE_HEADER_SIZE);
        assert_eq!(nt_file_entry::size_with(&scroll::LE), NT_FILE_ENTRY_SIZE);
    }
}
