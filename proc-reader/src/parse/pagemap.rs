//! `/proc/<pid>/pagemap` entries: one native-endian `u64` per virtual page.

use super::ParseError;

/// One pagemap entry (see the kernel's `admin-guide/mm/pagemap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PagemapEntry(pub u64);

impl PagemapEntry {
    /// Bit 63: the page is present in RAM.
    pub fn present(self) -> bool {
        self.0 & (1 << 63) != 0
    }
    /// Bit 62: the page is swapped out.
    pub fn swapped(self) -> bool {
        self.0 & (1 << 62) != 0
    }
    /// Present or swapped: the page holds data of the process.
    pub fn has_data(self) -> bool {
        self.present() || self.swapped()
    }
    /// Bit 61: file page or shared anonymous page.
    pub fn file_or_shared(self) -> bool {
        self.0 & (1 << 61) != 0
    }
    /// Bit 57: write-protected through userfaultfd.
    pub fn uffd_wp(self) -> bool {
        self.0 & (1 << 57) != 0
    }
    /// Bit 56: the page is mapped exclusively.
    pub fn exclusive(self) -> bool {
        self.0 & (1 << 56) != 0
    }
    /// Bit 55: the PTE is soft-dirty.
    pub fn soft_dirty(self) -> bool {
        self.0 & (1 << 55) != 0
    }
    /// Bits 0–54: the page frame number when present (zero without
    /// CAP_SYS_ADMIN).
    pub fn pfn(self) -> Option<u64> {
        self.present().then_some(self.0 & ((1 << 55) - 1))
    }
}

/// Size of one entry in bytes.
pub const ENTRY_SIZE: usize = 8;

/// Decode a run of raw pagemap bytes.
///
/// ```
/// use coroner_proc_reader::parse::pagemap::parse_pagemap;
/// let raw = [(1u64 << 63 | 5).to_ne_bytes(), 0u64.to_ne_bytes()].concat();
/// let e = parse_pagemap(&raw).unwrap();
/// assert!(e[0].present() && !e[1].has_data());
/// assert_eq!(e[0].pfn(), Some(5));
/// ```
pub fn parse_pagemap(data: &[u8]) -> Result<Vec<PagemapEntry>, ParseError> {
    let chunks = data.chunks_exact(ENTRY_SIZE);
    if !chunks.remainder().is_empty() {
        return Err(ParseError::BadLength {
            len: data.len(),
            unit: ENTRY_SIZE,
        });
    }
    Ok(chunks
        .map(|c| {
            let mut raw = [0u8; ENTRY_SIZE];
            raw.copy_from_slice(c);
            PagemapEntry(u64::from_ne_bytes(raw))
        })
        .collect())
}
