//! `/proc/<pid>/coredump_filter`: which kinds of mapping a core includes.

use super::{parse_u64, trim, ParseError};

/// The coredump_filter bit set (see core(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoredumpFilter(pub u32);

impl CoredumpFilter {
    /// Bit 0: anonymous private memory.
    pub const ANON_PRIVATE: u32 = 1 << 0;
    /// Bit 1: anonymous shared memory.
    pub const ANON_SHARED: u32 = 1 << 1;
    /// Bit 2: file-backed private memory.
    pub const FILE_PRIVATE: u32 = 1 << 2;
    /// Bit 3: file-backed shared memory.
    pub const FILE_SHARED: u32 = 1 << 3;
    /// Bit 4: ELF headers (first page of private file mappings of ELF files).
    pub const ELF_HEADERS: u32 = 1 << 4;
    /// Bit 5: private huge pages.
    pub const HUGETLB_PRIVATE: u32 = 1 << 5;
    /// Bit 6: shared huge pages.
    pub const HUGETLB_SHARED: u32 = 1 << 6;
    /// Bit 7: private DAX pages.
    pub const DAX_PRIVATE: u32 = 1 << 7;
    /// Bit 8: shared DAX pages.
    pub const DAX_SHARED: u32 = 1 << 8;
    /// The kernel's default, 0x33.
    pub const DEFAULT: CoredumpFilter = CoredumpFilter(0x33);

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u32) -> bool {
        self.0 & mask == mask
    }
}

impl Default for CoredumpFilter {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Parse a `coredump_filter` file (hexadecimal, e.g. `00000033\n`).
///
/// ```
/// use coroner_proc_reader::parse::coredump_filter::{parse_coredump_filter, CoredumpFilter};
/// let f = parse_coredump_filter(b"00000033\n").unwrap();
/// assert_eq!(f, CoredumpFilter::DEFAULT);
/// assert!(f.has(CoredumpFilter::ANON_PRIVATE | CoredumpFilter::ELF_HEADERS));
/// ```
pub fn parse_coredump_filter(data: &[u8]) -> Result<CoredumpFilter, ParseError> {
    let text = trim(data);
    let text = text.strip_prefix(b"0x").unwrap_or(text);
    parse_u64(text, 16)
        .and_then(|v| u32::try_from(v).ok())
        .map(CoredumpFilter)
        .ok_or_else(|| ParseError::bad_number(1, "coredump_filter", text))
}
