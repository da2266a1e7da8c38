//! `/proc/<pid>/coredump_filter`: which kinds of mapping a core includes.

use super::{parse_u64, trim, ParseError};

/// The coredump_filter bit set (see core(5); the kernel's `MMF_DUMP_*`
/// bits): which kinds of mapping the kernel writes into a core. It holds
/// the raw mask, unknown bits kept, with the shape of a `bitflags` type
/// (named constants, `bits`, `from_bits`, `from_bits_retain`, `contains`,
/// `|`, `&`), written by hand like the minidump crate's flag types so the
/// crate keeps its two dependencies.
///
/// ```
/// use coroner_proc_reader::CoredumpFilter;
/// let f = CoredumpFilter::ANON_PRIVATE | CoredumpFilter::ANON_SHARED | CoredumpFilter::ELF_HEADERS;
/// assert_eq!(f.bits(), 0x13);
/// assert!(CoredumpFilter::DEFAULT.contains(f));
/// assert_eq!(format!("{f:?}"), "CoredumpFilter(ANON_PRIVATE | ANON_SHARED | ELF_HEADERS)");
/// assert_eq!(CoredumpFilter::from_bits(0x233), None); // bit 9 is not the kernel's
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoredumpFilter(u32);

impl CoredumpFilter {
    /// Bit 0: anonymous private memory.
    pub const ANON_PRIVATE: CoredumpFilter = CoredumpFilter(1 << 0);
    /// Bit 1: anonymous shared memory.
    pub const ANON_SHARED: CoredumpFilter = CoredumpFilter(1 << 1);
    /// Bit 2: file-backed private memory (`MMF_DUMP_MAPPED_PRIVATE`).
    pub const FILE_PRIVATE: CoredumpFilter = CoredumpFilter(1 << 2);
    /// Bit 3: file-backed shared memory (`MMF_DUMP_MAPPED_SHARED`).
    pub const FILE_SHARED: CoredumpFilter = CoredumpFilter(1 << 3);
    /// Bit 4: ELF headers (first page of private file mappings of ELF files).
    pub const ELF_HEADERS: CoredumpFilter = CoredumpFilter(1 << 4);
    /// Bit 5: private huge pages.
    pub const HUGETLB_PRIVATE: CoredumpFilter = CoredumpFilter(1 << 5);
    /// Bit 6: shared huge pages.
    pub const HUGETLB_SHARED: CoredumpFilter = CoredumpFilter(1 << 6);
    /// Bit 7: private DAX pages (user space cannot tell DAX mappings apart).
    pub const DAX_PRIVATE: CoredumpFilter = CoredumpFilter(1 << 7);
    /// Bit 8: shared DAX pages (user space cannot tell DAX mappings apart).
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

    /// No bit set: nothing but the mappings the kernel always dumps.
    pub const fn empty() -> CoredumpFilter {
        CoredumpFilter(0)
    }

    /// The filter of a raw mask, unknown bits kept (what the kernel shows
    /// in `/proc/<pid>/coredump_filter` is kept as it is).
    pub const fn from_bits_retain(bits: u32) -> CoredumpFilter {
        CoredumpFilter(bits)
    }

    /// The filter of a mask made only of the kernel's bits ([`ALL`](Self::ALL)),
    /// or `None` if it sets another one (for a mask a user typed).
    pub const fn from_bits(bits: u32) -> Option<CoredumpFilter> {
        if bits & !CoredumpFilter::ALL.0 == 0 {
            Some(CoredumpFilter(bits))
        } else {
            None
        }
    }

    /// The raw mask, as `/proc/<pid>/coredump_filter` holds it.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: CoredumpFilter) -> bool {
        self.0 & other.0 == other.0
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

/// Parse a `coredump_filter` file (hexadecimal, e.g. `00000033\n`), or a
/// mask written the same way by hand (`0x33`, `0X1ff`).
///
/// ```
/// use coroner_proc_reader::parse::coredump_filter::{parse_coredump_filter, CoredumpFilter};
/// let f = parse_coredump_filter(b"00000033\n").unwrap();
/// assert_eq!(f, CoredumpFilter::DEFAULT);
/// assert!(f.contains(CoredumpFilter::ANON_PRIVATE | CoredumpFilter::ELF_HEADERS));
/// assert_eq!(parse_coredump_filter(b"0x1ff"), Ok(CoredumpFilter::ALL));
/// ```
pub fn parse_coredump_filter(data: &[u8]) -> Result<CoredumpFilter, ParseError> {
    let text = trim(data);
    let text = text
        .strip_prefix(b"0x")
        .or_else(|| text.strip_prefix(b"0X"))
        .unwrap_or(text);
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
        assert_eq!(
            parse_coredump_filter(b" 0X10 ").unwrap(),
            CoredumpFilter::ELF_HEADERS
        );
        assert!(parse_coredump_filter(b"+33").is_err());
        assert!(parse_coredump_filter(b"0x").is_err());
        assert!(parse_coredump_filter(b"1ffffffff").is_err());
        assert!(!CoredumpFilter::DEFAULT.contains(CoredumpFilter::FILE_PRIVATE));
        assert_eq!((CoredumpFilter::ALL & CoredumpFilter::DEFAULT).bits(), 0x33);
    }

    #[test]
    fn from_bits_refuses_bits_the_kernel_does_not_define() {
        assert_eq!(CoredumpFilter::from_bits(0x1ff), Some(CoredumpFilter::ALL));
        assert_eq!(CoredumpFilter::from_bits(0), Some(CoredumpFilter(0)));
        assert_eq!(CoredumpFilter::from_bits(0x200), None);
        assert_eq!(CoredumpFilter::from_bits(1 << 31), None);
        assert_eq!(CoredumpFilter::from_bits_retain(0x233).bits(), 0x233);
    }
}
