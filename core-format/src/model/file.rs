use crate::raw;

/// The `NT_FILE` note: the file-backed mappings of the process.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileNote {
    /// Unit of the offsets on disk: 4096 in the kernel's convention
    /// (offsets counted in pages), 1 in gdb's (byte offsets). The model's
    /// [`FileMapping::file_offset`] is always in bytes.
    pub page_size: u64,
    /// The mappings, in address order.
    pub entries: Vec<FileMapping>,
}

impl FileNote {
    /// An empty note in the kernel's convention (`page_size` 4096).
    pub fn kernel() -> FileNote {
        FileNote {
            page_size: raw::NT_FILE_KERNEL_PAGE_SIZE,
            entries: Vec::new(),
        }
    }
}

/// One mapped file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct FileMapping {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Offset in the file, in bytes (a multiple of the note's page size
    /// when written).
    pub file_offset: u64,
    /// Path as the kernel printed it (may end in ` (deleted)`), without NUL.
    pub path: Vec<u8>,
}
