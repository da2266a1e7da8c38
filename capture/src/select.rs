//! Which memory of each mapping goes into a dump.
//!
//! [`kernel_dump_size`] mirrors the Linux kernel's `vma_dump_size()`
//! (`fs/coredump.c`) as a pure function over a [`MappingDesc`] and a
//! `coredump_filter` mask, so a live capture selects the same bytes the kernel
//! would have written had the process crashed. [`Selection`] adds what the
//! operator asked for on top: another mask (`--filter`), everything readable
//! (`--all`) and exclusions (`--exclude`).
//!
//! What user space cannot see exactly, and how it is approximated:
//!
//! - `vma->anon_vma` (the mapping has had private pages written, "ever
//!   COWed"): taken as `Anonymous + Swap > 0` in smaps. A mapping whose anonymous
//!   pages were all dropped again (`MADV_DONTNEED`) still has an `anon_vma` in
//!   the kernel; we then dump nothing where the kernel dumps holes, which
//!   holds the same bytes.
//! - `i_nlink == 0` of a shared mapping's file: the path ends in ` (deleted)`
//!   or names the shmem backing of anonymous shared memory (`/dev/zero`,
//!   `/SYSV…`, `/memfd:…`).
//! - DAX mappings are not visible in smaps; they are treated like ordinary
//!   file mappings.
//! - "Special" mappings the kernel always dumps (`[vdso]`, `[vvar]`,
//!   `[vvar_vclock]`, `[vsyscall]`, `[uprobes]`) are recognised by name.

use std::fmt;

/// `coredump_filter` bit: anonymous private memory.
pub const FILTER_ANON_PRIVATE: u32 = 1 << 0;
/// `coredump_filter` bit: anonymous shared memory.
pub const FILTER_ANON_SHARED: u32 = 1 << 1;
/// `coredump_filter` bit: file-backed private memory.
pub const FILTER_MAPPED_PRIVATE: u32 = 1 << 2;
/// `coredump_filter` bit: file-backed shared memory.
pub const FILTER_MAPPED_SHARED: u32 = 1 << 3;
/// `coredump_filter` bit: the first page of ELF files.
pub const FILTER_ELF_HEADERS: u32 = 1 << 4;
/// `coredump_filter` bit: hugetlb private memory.
pub const FILTER_HUGETLB_PRIVATE: u32 = 1 << 5;
/// `coredump_filter` bit: hugetlb shared memory.
pub const FILTER_HUGETLB_SHARED: u32 = 1 << 6;
/// `coredump_filter` bit: DAX private memory (not distinguishable from user space).
pub const FILTER_DAX_PRIVATE: u32 = 1 << 7;
/// `coredump_filter` bit: DAX shared memory (not distinguishable from user space).
pub const FILTER_DAX_SHARED: u32 = 1 << 8;
/// The kernel's default `coredump_filter`.
pub const DEFAULT_FILTER: u32 = 0x33;
/// Every defined `coredump_filter` bit.
pub const ALL_FILTER_BITS: u32 = 0x1ff;

/// What the selection needs to know about one mapping (one line of
/// `/proc/pid/maps` plus its smaps `VmFlags` and page counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingDesc<'a> {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// `r` in the permissions.
    pub read: bool,
    /// `s` in the permissions (VM_SHARED / VM_MAYSHARE).
    pub shared: bool,
    /// File offset in bytes.
    pub offset: u64,
    /// Inode number (0 for anonymous memory).
    pub inode: u64,
    /// The pathname column, if any (`/usr/lib/libc.so.6`, `[heap]`, `/memfd:x (deleted)`).
    pub path: Option<&'a str>,
    /// smaps `VmFlags` has `dd` (MADV_DONTDUMP).
    pub dontdump: bool,
    /// smaps `VmFlags` has `io` (VM_IO).
    pub io: bool,
    /// smaps `VmFlags` has `ht` (hugetlb).
    pub hugetlb: bool,
    /// The mapping has private anonymous pages (stands in for `anon_vma`).
    pub has_anon_pages: bool,
}

impl MappingDesc<'_> {
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the mapping is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the mapping is backed by a file (named by an absolute path).
    pub fn is_file(&self) -> bool {
        self.inode != 0 || self.path.is_some_and(|p| p.starts_with('/'))
    }

    /// A special mapping the kernel dumps whatever the filter says.
    pub fn is_always_dumped(&self) -> bool {
        matches!(
            self.path,
            Some("[vdso]" | "[vvar]" | "[vvar_vclock]" | "[vsyscall]" | "[uprobes]")
        )
    }

    /// A shared mapping whose file has no name left (the kernel's `i_nlink == 0`).
    fn shared_file_unlinked(&self) -> bool {
        match self.path {
            None => true,
            Some(p) => {
                p.ends_with(" (deleted)")
                    || p == "/dev/zero"
                    || p.starts_with("/SYSV")
                    || p.starts_with("/memfd:")
                    || p.starts_with("[anon_shmem:")
            }
        }
    }
}

/// How much of a mapping the kernel's rules dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelDump {
    /// Nothing (the mapping still gets a header entry with no file bytes).
    Nothing,
    /// The whole mapping.
    Whole,
    /// The first page, if the mapping starts with the ELF magic (the caller
    /// checks the bytes: the kernel does the same after taking its snapshot).
    ElfHeaderIfMagic,
}

/// The kernel's `vma_dump_size()` decision for `m` under `filter`
/// (`/proc/pid/coredump_filter` bits), in the kernel's order.
pub fn kernel_dump_size(m: &MappingDesc<'_>, filter: u32) -> KernelDump {
    let has = |bit: u32| filter & bit != 0;
    if m.is_always_dumped() {
        return KernelDump::Whole;
    }
    if m.dontdump {
        return KernelDump::Nothing;
    }
    if m.hugetlb {
        let bit = if m.shared {
            FILTER_HUGETLB_SHARED
        } else {
            FILTER_HUGETLB_PRIVATE
        };
        return if has(bit) {
            KernelDump::Whole
        } else {
            KernelDump::Nothing
        };
    }
    if m.io {
        return KernelDump::Nothing;
    }
    if m.shared {
        let bit = if m.shared_file_unlinked() {
            FILTER_ANON_SHARED
        } else {
            FILTER_MAPPED_SHARED
        };
        return if has(bit) {
            KernelDump::Whole
        } else {
            KernelDump::Nothing
        };
    }
    if m.has_anon_pages && has(FILTER_ANON_PRIVATE) {
        return KernelDump::Whole;
    }
    if !m.is_file() {
        return KernelDump::Nothing;
    }
    if has(FILTER_MAPPED_PRIVATE) {
        return KernelDump::Whole;
    }
    if has(FILTER_ELF_HEADERS) && m.offset == 0 && m.read {
        return KernelDump::ElfHeaderIfMagic;
    }
    KernelDump::Nothing
}

/// Why a mapping is (not) dumped, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The kernel's rules under the filter in use.
    Kernel,
    /// `--all` took every readable mapping.
    All,
    /// `--all`, but the mapping is not readable.
    Unreadable,
    /// An `--exclude` rule matched.
    Excluded,
}

/// The decision for one mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// What to dump.
    pub dump: KernelDump,
    /// Why.
    pub reason: Reason,
}

/// One `--exclude` rule.
#[derive(Debug, Clone)]
pub enum Exclude {
    /// Mappings overlapping `[start, end)` are not dumped.
    Range {
        /// First excluded address.
        start: u64,
        /// One past the last excluded address.
        end: u64,
    },
    /// Mappings whose path matches the glob are not dumped.
    Path(glob::Pattern),
}

/// An `--exclude` argument that is neither `START-END` nor a valid glob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad exclusion {arg:?}: {why}; give START-END in hex (0x7f00-0x7f80) or a path glob (*/libfoo*.so*)")]
pub struct ExcludeParseError {
    /// The argument.
    pub arg: String,
    /// What is wrong with it.
    pub why: String,
}

impl Exclude {
    /// Parse `START-END` (hex, `0x` optional, end exclusive) or a path glob.
    /// A path starts with `/` or `[` or contains a glob character; anything
    /// else that has a `-` is read as a range.
    pub fn parse(arg: &str) -> Result<Exclude, ExcludeParseError> {
        let bad = |why: String| ExcludeParseError {
            arg: arg.to_owned(),
            why,
        };
        if arg.trim().is_empty() {
            return Err(bad("it is empty".into()));
        }
        let looks_like_path = arg.starts_with('/')
            || arg.starts_with('[')
            || arg.contains(['*', '?'])
            || !arg.contains('-');
        if !looks_like_path {
            let (a, b) = arg.split_once('-').ok_or_else(|| bad("no '-'".into()))?;
            let num = |s: &str| {
                let s = s.trim();
                let s = s
                    .strip_prefix("0x")
                    .or_else(|| s.strip_prefix("0X"))
                    .unwrap_or(s);
                u64::from_str_radix(s, 16)
                    .map_err(|e| bad(format!("{s:?} is not a hex address: {e}")))
            };
            let (start, end) = (num(a)?, num(b)?);
            if end <= start {
                return Err(bad(format!("end {end:#x} is not above start {start:#x}")));
            }
            return Ok(Exclude::Range { start, end });
        }
        glob::Pattern::new(arg)
            .map(Exclude::Path)
            .map_err(|e| bad(e.to_string()))
    }

    /// Whether the rule excludes `m`.
    pub fn matches(&self, m: &MappingDesc<'_>) -> bool {
        match self {
            Exclude::Range { start, end } => m.start < *end && *start < m.end,
            Exclude::Path(p) => m.path.is_some_and(|path| p.matches(path)),
        }
    }
}

impl fmt::Display for Exclude {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exclude::Range { start, end } => write!(f, "{start:#x}-{end:#x}"),
            Exclude::Path(p) => f.write_str(p.as_str()),
        }
    }
}

/// What the operator asked to dump.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// A `coredump_filter` mask overriding the target's own; `None` uses the target's.
    pub filter: Option<u32>,
    /// Every readable mapping, MADV_DONTDUMP and filtered-out ones included.
    pub all: bool,
    /// Mappings never dumped, whatever else says.
    pub exclude: Vec<Exclude>,
}

impl Selection {
    /// The decision for `m`, given the target's own `coredump_filter`.
    pub fn decide(&self, m: &MappingDesc<'_>, target_filter: u32) -> Decision {
        if self.exclude.iter().any(|e| e.matches(m)) {
            return Decision {
                dump: KernelDump::Nothing,
                reason: Reason::Excluded,
            };
        }
        if self.all {
            let readable = m.read || m.is_always_dumped();
            return if readable {
                Decision {
                    dump: KernelDump::Whole,
                    reason: Reason::All,
                }
            } else {
                Decision {
                    dump: KernelDump::Nothing,
                    reason: Reason::Unreadable,
                }
            };
        }
        let filter = self.filter.unwrap_or(target_filter);
        Decision {
            dump: kernel_dump_size(m, filter),
            reason: Reason::Kernel,
        }
    }
}

/// Parse a `coredump_filter` value as `/proc/pid/coredump_filter` shows it
/// and `--filter` takes it: hex, `0x` optional.
pub fn parse_filter(s: &str) -> Option<u32> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u32::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(start: u64, len: u64) -> MappingDesc<'static> {
        MappingDesc {
            start,
            end: start + len,
            read: true,
            shared: false,
            offset: 0,
            inode: 0,
            path: None,
            dontdump: false,
            io: false,
            hugetlb: false,
            has_anon_pages: true,
        }
    }

    fn file(path: &'static str, offset: u64) -> MappingDesc<'static> {
        MappingDesc {
            inode: 42,
            path: Some(path),
            offset,
            has_anon_pages: false,
            ..anon(0x1000, 0x3000)
        }
    }

    #[test]
    fn default_filter_dumps_written_anonymous_memory() {
        assert_eq!(
            kernel_dump_size(&anon(0x1000, 0x1000), DEFAULT_FILTER),
            KernelDump::Whole
        );
        assert_eq!(
            kernel_dump_size(&anon(0x1000, 0x1000), 0),
            KernelDump::Nothing
        );
    }

    #[test]
    fn never_written_anonymous_memory_is_not_dumped() {
        let m = MappingDesc {
            has_anon_pages: false,
            ..anon(0x1000, 8 << 30)
        };
        assert_eq!(kernel_dump_size(&m, DEFAULT_FILTER), KernelDump::Nothing);
        assert_eq!(kernel_dump_size(&m, ALL_FILTER_BITS), KernelDump::Nothing);
    }

    #[test]
    fn dontdump_wins_over_every_bit_but_not_over_special_mappings() {
        let m = MappingDesc {
            dontdump: true,
            ..anon(0x1000, 0x1000)
        };
        assert_eq!(kernel_dump_size(&m, ALL_FILTER_BITS), KernelDump::Nothing);
        let vdso = MappingDesc {
            dontdump: true,
            path: Some("[vdso]"),
            ..anon(0x1000, 0x2000)
        };
        assert_eq!(kernel_dump_size(&vdso, 0), KernelDump::Whole);
        let vvar = MappingDesc {
            io: true,
            path: Some("[vvar]"),
            ..anon(0x1000, 0x2000)
        };
        assert_eq!(kernel_dump_size(&vvar, 0), KernelDump::Whole);
    }

    #[test]
    fn io_mappings_are_not_dumped() {
        let m = MappingDesc {
            io: true,
            ..anon(0x1000, 0x1000)
        };
        assert_eq!(kernel_dump_size(&m, ALL_FILTER_BITS), KernelDump::Nothing);
    }

    #[test]
    fn hugetlb_uses_bits_5_and_6() {
        let p = MappingDesc {
            hugetlb: true,
            ..anon(0, 2 << 20)
        };
        assert_eq!(kernel_dump_size(&p, DEFAULT_FILTER), KernelDump::Whole);
        assert_eq!(kernel_dump_size(&p, 0x13), KernelDump::Nothing);
        let s = MappingDesc { shared: true, ..p };
        assert_eq!(kernel_dump_size(&s, DEFAULT_FILTER), KernelDump::Nothing);
        assert_eq!(
            kernel_dump_size(&s, FILTER_HUGETLB_SHARED),
            KernelDump::Whole
        );
    }

    #[test]
    fn shared_memory_depends_on_whether_the_file_still_has_a_name() {
        let shm = MappingDesc {
            shared: true,
            path: Some("/dev/zero (deleted)"),
            inode: 7,
            ..anon(0, 0x1000)
        };
        assert_eq!(kernel_dump_size(&shm, DEFAULT_FILTER), KernelDump::Whole);
        assert_eq!(
            kernel_dump_size(&shm, FILTER_MAPPED_SHARED),
            KernelDump::Nothing
        );
        let memfd = MappingDesc {
            path: Some("/memfd:jit (deleted)"),
            ..shm.clone()
        };
        assert_eq!(
            kernel_dump_size(&memfd, FILTER_ANON_SHARED),
            KernelDump::Whole
        );
        let named = MappingDesc {
            path: Some("/var/db/cache"),
            ..shm
        };
        assert_eq!(
            kernel_dump_size(&named, DEFAULT_FILTER),
            KernelDump::Nothing
        );
        assert_eq!(
            kernel_dump_size(&named, FILTER_MAPPED_SHARED),
            KernelDump::Whole
        );
    }

    #[test]
    fn file_mappings_give_their_elf_header_page_or_the_whole_mapping() {
        let text = file("/usr/lib/libc.so.6", 0);
        assert_eq!(
            kernel_dump_size(&text, DEFAULT_FILTER),
            KernelDump::ElfHeaderIfMagic
        );
        assert_eq!(
            kernel_dump_size(&text, FILTER_MAPPED_PRIVATE),
            KernelDump::Whole
        );
        let later = file("/usr/lib/libc.so.6", 0x28000);
        assert_eq!(
            kernel_dump_size(&later, DEFAULT_FILTER),
            KernelDump::Nothing
        );
        let unreadable = MappingDesc {
            read: false,
            ..text.clone()
        };
        assert_eq!(
            kernel_dump_size(&unreadable, DEFAULT_FILTER),
            KernelDump::Nothing
        );
        // .data/.bss of a library after relocation: written, so whole.
        let data = MappingDesc {
            has_anon_pages: true,
            ..later
        };
        assert_eq!(kernel_dump_size(&data, DEFAULT_FILTER), KernelDump::Whole);
        assert_eq!(kernel_dump_size(&data, 0x10), KernelDump::Nothing);
    }

    #[test]
    fn exclude_parses_ranges_and_globs() {
        match Exclude::parse("0x1000-0x2000").unwrap() {
            Exclude::Range { start, end } => assert_eq!((start, end), (0x1000, 0x2000)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Exclude::parse("7f00-7f80").unwrap(),
            Exclude::Range { .. }
        ));
        assert!(matches!(
            Exclude::parse("*/libfoo-1.so").unwrap(),
            Exclude::Path(_)
        ));
        assert!(matches!(
            Exclude::parse("[heap]").unwrap(),
            Exclude::Path(_)
        ));
        assert!(Exclude::parse("0x2000-0x1000").is_err());
        assert!(Exclude::parse("zz-yy").is_err());
        assert!(
            Exclude::parse("").is_err(),
            "an empty rule would silently match nothing"
        );
        assert!(Exclude::parse("  ").is_err());
        let e = Exclude::parse("/a/[b").unwrap_err();
        assert!(e.to_string().contains("START-END"), "{e}");
    }

    #[test]
    fn exclude_matches_overlap_and_paths() {
        let m = anon(0x1000, 0x2000);
        assert!(Exclude::parse("0x0-0x1001").unwrap().matches(&m));
        assert!(Exclude::parse("0x2fff-0x5000").unwrap().matches(&m));
        assert!(!Exclude::parse("0x3000-0x5000").unwrap().matches(&m));
        assert!(!Exclude::parse("0x0-0x1000").unwrap().matches(&m));
        let lib = file("/usr/lib/x86_64-linux-gnu/libssl.so.3", 0);
        assert!(Exclude::parse("*/libssl*").unwrap().matches(&lib));
        assert!(!Exclude::parse("*/libcrypto*").unwrap().matches(&lib));
        assert!(!Exclude::parse("*/libssl*").unwrap().matches(&m));
    }

    #[test]
    fn selection_all_takes_readable_memory_and_exclude_wins() {
        let dd = MappingDesc {
            dontdump: true,
            ..anon(0x1000, 0x1000)
        };
        let all = Selection {
            all: true,
            ..Selection::default()
        };
        assert_eq!(all.decide(&dd, DEFAULT_FILTER).dump, KernelDump::Whole);
        let guard = MappingDesc {
            read: false,
            ..anon(0x5000, 0x1000)
        };
        assert_eq!(
            all.decide(&guard, DEFAULT_FILTER).reason,
            Reason::Unreadable
        );
        let excl = Selection {
            exclude: vec![Exclude::parse("0x1000-0x1001").unwrap()],
            ..all
        };
        assert_eq!(excl.decide(&dd, DEFAULT_FILTER).reason, Reason::Excluded);
        let filt = Selection {
            filter: Some(0),
            ..Selection::default()
        };
        assert_eq!(
            filt.decide(&anon(0, 0x1000), DEFAULT_FILTER).dump,
            KernelDump::Nothing
        );
        assert_eq!(
            Selection::default().decide(&anon(0, 0x1000), 0).dump,
            KernelDump::Nothing
        );
    }

    #[test]
    fn filter_values_parse_like_the_proc_file() {
        assert_eq!(parse_filter("00000033\n"), Some(0x33));
        assert_eq!(parse_filter("0x1ff"), Some(0x1ff));
        assert_eq!(parse_filter("xyz"), None);
    }
}
