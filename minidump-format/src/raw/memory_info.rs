use scroll::{Pread, Pwrite, SizeWith};

/// `MINIDUMP_MEMORY_INFO_LIST` header (16 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_MEMORY_INFO_LIST {
    /// Size of this header (16 or more).
    pub size_of_header: u32,
    /// Size of each entry (48 or more).
    pub size_of_entry: u32,
    /// Number of entries.
    pub number_of_entries: u64,
}

/// `MINIDUMP_MEMORY_INFO` (48 bytes): one region of the address space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_MEMORY_INFO {
    /// Base address of the region.
    pub base_address: u64,
    /// Base address of the allocation the region belongs to.
    pub allocation_base: u64,
    /// Protection when the allocation was made (`PAGE_*`).
    pub allocation_protection: u32,
    /// Padding.
    pub __alignment1: u32,
    /// Size of the region.
    pub region_size: u64,
    /// `MEM_COMMIT` 0x1000, `MEM_RESERVE` 0x2000, `MEM_FREE` 0x10000.
    pub state: u32,
    /// Current protection (`PAGE_*`).
    pub protection: u32,
    /// `MEM_PRIVATE` 0x20000, `MEM_MAPPED` 0x40000, `MEM_IMAGE` 0x1000000.
    pub _type: u32,
    /// Padding.
    pub __alignment2: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sizes() {
        crate::raw::assert_size::<MINIDUMP_MEMORY_INFO_LIST>(16);
        crate::raw::assert_size::<MINIDUMP_MEMORY_INFO>(48);
    }
}
