//! `/proc/<pid>/coredump_filter`: which kinds of mapping a core includes.

use super::{parse_u64, trim, ParseError};

/// The coredump_filter bit set (see core(5)): which kinds of mapping the
/// kernel writes into a core. The field is the raw mask, unknown bits kept.
///
/// ```
/// use coroner_proc_reader::parse::coredump_filter::CoredumpFilter;
/// let f = CoredumpFilter::ANON_PRIVATE | CoredumpFilter::ANON_SHARED | CoredumpFilter::ELF_HEADERS;
/// assert_eq!(f.bits(), 0x13);
/// assert!(CoredumpFilter::DEFAULT.contains(f));
/// assert_eq!(format!("{f:?}"), "CoredumpFilter(ANON_PRIVATE | ANON_SHARED | ELF_HEADERS)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoredumpFilter(pub u32);

impl CoredumpFilter {
    /// Bit 0: anonymous private memory.
    pub const ANON_PRIVATE: CoredumpFilter = CoredumpFilter(1 << 0);
    /// Bit 1: anonymous shared memory.
    pub const ANON_SHARED: CoredumpFilter = CoredumpFilter(1 << 1);
    /// Bit 2: file-backed private memory.
    pub const FILE_PRIVATE: CoredumpFilter = CoredumpFilter(1 << 2);
    /// Bit 3: file-backed shared memory.
    pub const FILE_SHARED: CoredumpFilter = CoredumpFilter(1 << 3);
    /// Bit 4: ELF headers (first page of private file mappings of ELF files).
    pub const ELF_HEADERS: CoredumpFilter = CoredumpFilter(1 << 4);
    /// Bit 5: private huge pages.
    pub const HUGETLB_PRIVATE: CoredumpFilter = CoredumpFilter(1 << 5);
    /// Bit 6: shared huge pages.
    pub const HUGETLB_SHARED: CoredumpFilter = CoredumpFilter(1 << 6);
    /// Bit 7: private DAX pages.
    pub const DAX_PRIVATE: CoredumpFilter = CoredumpFilter(1 << 7);
    /// Bit 8: shared DAX pages.
    pub const DAX_SHARED: CoredumpFilter = CoredumpFilter(1 << 8);
    /// The kernel's default, 0x33: anonymous memory, ELF headers and
    /// private huge pages.
    pub const DEFAULT: CoredumpFilter = CoredumpFilter(0x33);
    /// Every bit the kernel defines (0x1ff).
    pub const ALL: CoredumpFilter = CoredumpFilter(0x1ff);

    const NAMED: [(&'static str, CoredumpFilter); 9] = [
        ("ANON_PRIVATE", CoredumpFilter::ANON_PRIVATE),
        ("ANON_SHARED", CoredumpFilter::ANON_SHARED),
        ("FILE_PRIVATE", CoredumpFilter::FILE_PRIVATE),
        ("FILE_SHARED", CoredumpFilter::FILE_SHARED),
        ("ELF_HEADERS", CoredumpFilter::ELF_HEADERS),
        ("HUGETLB_PRIVATE", CoredumpFilter::HUGETLB_PRIVATE),
        ("HUGETLB_SHARED", CoredumpFilter::HUGETLB_SHARED),
        ("DAX_PRIVATE", CoredumpFilter::DAX_PRIVATE),
        ("DAX_SHARED", CoredumpFilter::DAX_SHARED),
    ];

    /// The filter of a raw mask, unknown bits kept.
    pub const fn from_bits_retain(bits: u32) -> CoredumpFilter {
        CoredumpFilter(bits)
    }

    /// The raw mask, as `/proc/<pid>/coredump_filter` holds it.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: CoredumpFilter) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether every bit of `mask` is set (the same as
    /// [`contains`](CoredumpFilter::contains)).
    pub const fn has(self, mask: CoredumpFilter) -> bool {
        self.contains(mask)
    }
}

impl Default for CoredumpFilter {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl std::ops::BitOr for CoredumpFilter {
    type Output = CoredumpFilter;
    fn bitor(self, other: CoredumpFilter) -> CoredumpFilter {
        CoredumpFilter(self.0 | other.0)
    }
}

impl std::ops::BitAnd for CoredumpFilter {
    type Output = CoredumpFilter;
    fn bitand(self, other: CoredumpFilter) -> CoredumpFilter {
        CoredumpFilter(self.0 & other.0)
    }
}

impl From<CoredumpFilter> for u32 {
    fn from(filter: CoredumpFilter) -> u32 {
        filter.0
    }
}

/// The set bits by name, unknown ones in hex: `CoredumpFilter(ANON_PRIVATE
/// | ELF_HEADERS | 0x200)`.
impl std::fmt::Debug for CoredumpFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CoredumpFilter(")?;
        let mut rest = self.0;
        let mut first = true;
        for (name, flag) in CoredumpFilter::NAMED {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                rest &= !flag.0;
                first = false;
            }
        }
        if rest != 0 || first {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#x}")?;
        }
        f.write_str(")")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_print_their_bits_by_name() {
        assert_eq!(
            format!("{:?}", CoredumpFilter::DEFAULT),
            "CoredumpFilter(ANON_PRIVATE | ANON_SHARED | ELF_HEADERS | HUGETLB_PRIVATE)"
        );
        assert_eq!(format!("{:?}", CoredumpFilter(0)), "CoredumpFilter(0x0)");
        assert_eq!(
            format!("{:?}", CoredumpFilter(0x201)),
            "CoredumpFilter(ANON_PRIVATE | 0x200)"
        );
    }

    #[test]
    fn the_named_bits_are_the_kernels() {
        let all = CoredumpFilter::NAMED
            .iter()
            .fold(CoredumpFilter(0), |acc, (_, f)| acc | *f);
        assert_eq!(all, CoredumpFilter::ALL);
        assert_eq!(
            parse_coredump_filter(b"1ff\n").unwrap(),
            CoredumpFilter::ALL
        );
        assert!(!CoredumpFilter::DEFAULT.contains(CoredumpFilter::FILE_PRIVATE));
        assert_eq!((CoredumpFilter::ALL & CoredumpFilter::DEFAULT).bits(), 0x33);
    }
}
