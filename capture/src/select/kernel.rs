//! The kernel's rules: which bytes of a mapping `vma_dump_size()`
//! (`fs/coredump.c`) dumps under a `coredump_filter` mask.

use coroner_proc_reader::CoredumpFilter;

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
pub fn kernel_dump_size(m: &MappingDesc<'_>, filter: CoredumpFilter) -> KernelDump {
    if m.is_always_dumped() {
        return KernelDump::Whole;
    }
    if m.dontdump {
        return KernelDump::Nothing;
    }
    if m.hugetlb {
        let bit = if m.shared {
            CoredumpFilter::HUGETLB_SHARED
        } else {
            CoredumpFilter::HUGETLB_PRIVATE
        };
        return if filter.contains(bit) {
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
            CoredumpFilter::ANON_SHARED
        } else {
            CoredumpFilter::FILE_SHARED
        };
        return if filter.contains(bit) {
            KernelDump::Whole
        } else {
            KernelDump::Nothing
        };
    }
    if m.has_anon_pages && filter.contains(CoredumpFilter::ANON_PRIVATE) {
        return KernelDump::Whole;
    }
    if !m.is_file() {
        return KernelDump::Nothing;
    }
    if filter.contains(CoredumpFilter::FILE_PRIVATE) {
        return KernelDump::Whole;
    }
    if filter.contains(CoredumpFilter::ELF_HEADERS) && m.offset == 0 && m.read {
        return KernelDump::ElfHeaderIfMagic;
    }
    KernelDump::Nothing
}
