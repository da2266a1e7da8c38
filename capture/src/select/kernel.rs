//! The kernel's rules: which bytes of a mapping `vma_dump_size()`
//! (`fs/coredump.c`) dumps under a `coredump_filter` mask.

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
