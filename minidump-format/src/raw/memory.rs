use scroll::{Pread, Pwrite, SizeWith};

use super::MINIDUMP_LOCATION_DESCRIPTOR;

/// `MINIDUMP_MEMORY_DESCRIPTOR` (16 bytes): a MemoryList entry or a thread stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_MEMORY_DESCRIPTOR {
    /// Address of the first byte in the dumped process.
    pub start_of_memory_range: u64,
    /// Where the bytes are in the file (their count is `data_size`).
    pub memory: MINIDUMP_LOCATION_DESCRIPTOR,
}

/// `MINIDUMP_MEMORY_DESCRIPTOR64` (16 bytes): a Memory64List entry. Its bytes
/// follow those of the previous entry, starting at the list's `base_rva`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_MEMORY_DESCRIPTOR64 {
    /// Address of the first byte in the dumped process.
    pub start_of_memory_range: u64,
    /// Number of bytes.
    pub data_size: u64,
}

/// `MINIDUMP_MEMORY64_LIST` header (16 bytes), followed by `number_of_memory_ranges`
/// [`MINIDUMP_MEMORY_DESCRIPTOR64`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_MEMORY64_LIST {
    /// Number of descriptors.
    pub number_of_memory_ranges: u64,
    /// File offset of the first range's bytes; the rest follow contiguously.
    pub base_rva: super::RVA64,
}

/// Size of the `MINIDUMP_MEMORY_LIST` header (a u32 count).
pub const MINIDUMP_MEMORY_LIST_HEADER_SIZE: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sizes() {
        crate::raw::assert_size::<MINIDUMP_MEMORY_DESCRIPTOR>(16);
        crate::raw::assert_size::<MINIDUMP_MEMORY_DESCRIPTOR64>(16);
        crate::raw::assert_size::<MINIDUMP_MEMORY64_LIST>(16);
    }
}
