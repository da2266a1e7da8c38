//! Which pages of a mapping hold data when pagemap says they are absent:
//! the rule the kernel's core dump follows (`get_dump_page`), from user
//! space.
//!
//! - Private anonymous memory (heap, stacks, `[anon:…]`): an absent page
//!   was never written (or is the shared zero page) and reads as zeros;
//!   the kernel leaves a hole, and so do we.
//! - Shared memory (any `s` mapping: shared anonymous, memfd, SysV/POSIX
//!   shm, shared files): a page another process wrote holds data although
//!   the target never touched it, and reading a page nobody wrote would
//!   make the kernel allocate it. The file behind the mapping tells which
//!   pages exist (`SEEK_DATA` through `/proc/<pid>/map_files`).
//! - Everything else (private file mappings, `[vdso]`, `[vsyscall]` …): an
//!   absent page still has contents (the file, the kernel's image) and is
//!   read, as the kernel does.
//! - hugetlb mappings: present pages only. Reading any other page would
//!   take a huge page from the pool (the kernel's dump also skips pages its
//!   hugetlbfs file does not hold; shared hugetlb pages only other processes
//!   mapped are the one case we miss, as hugetlbfs has no `SEEK_DATA`).

use std::ops::Range;

use coroner_proc_reader::{Mapping, Process};

/// How to find the pages of one mapping that hold data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Backing {
    /// Pages pagemap reports present or swapped.
    Anonymous,
    /// Those, and the pages the shared file holds (looked up when first
    /// needed).
    Shared {
        /// The mapping's offset in its file.
        file_offset: u64,
        /// What the file holds.
        file_data: FileData,
    },
    /// Every page: read it (what cannot be read becomes a hole).
    Everything,
}

/// The pages a shared mapping's file holds, as address ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileData {
    /// Not looked up yet.
    Unknown,
    /// Sorted, disjoint address ranges.
    Found(Vec<Range<u64>>),
    /// The lookup failed (no CAP_SYS_ADMIN / CAP_CHECKPOINT_RESTORE, or a
    /// file that cannot seek); only present pages are dumped.
    Unavailable,
}

/// One mapping's address range and its [`Backing`].
#[derive(Debug, Clone)]
pub(crate) struct MappingBacking {
    pub(crate) range: Range<u64>,
    pub(crate) backing: Backing,
}

/// Whether `path` (from /proc/<pid>/maps) names anonymous memory: none,
/// `[heap]`, `[stack]` (and old kernels' `[stack:TID]`), or a name given
/// with `PR_SET_VMA_ANON_NAME` (`[anon:…]`). Other bracketed names are
/// kernel mappings with contents of their own (`[vdso]`, `[vvar]` …).
fn is_anonymous_path(path: &[u8]) -> bool {
    path.is_empty()
        || path == b"[heap]"
        || path == b"[stack]"
        || path.starts_with(b"[stack:")
        || path.starts_with(b"[anon:")
}

/// The backing of each of `mappings` (in address order).
pub(crate) fn classify(mappings: &[Mapping]) -> Vec<MappingBacking> {
    mappings
        .iter()
        .map(|m| {
            // smaps' `ht`; from maps alone, anonymous hugetlb memory's name.
            let hugetlb = m.vm_flags.hugetlb() || m.path.starts_with(b"/anon_hugepage");
            let backing = if hugetlb {
                Backing::Anonymous
            } else if m.perms.shared {
                Backing::Shared {
                    file_offset: m.offset,
                    file_data: FileData::Unknown,
                }
            } else if m.inode == 0 && is_anonymous_path(&m.path) {
                Backing::Anonymous
            } else {
                Backing::Everything
            };
            MappingBacking {
                range: m.start..m.end,
                backing,
            }
        })
        .collect()
}

/// The data pages of the shared file behind `m`, looked up once.
pub(crate) fn shared_file_data<'a>(
    process: &Process,
    m: &'a mut MappingBacking,
    warnings: &mut Vec<String>,
) -> Option<&'a [Range<u64>]> {
    let Backing::Shared {
        file_offset,
        file_data,
    } = &mut m.backing
    else {
        return None;
    };
    if *file_data == FileData::Unknown {
        *file_data = match process.mapping_file_data(m.range.start, m.range.end, *file_offset) {
            Ok(ranges) => FileData::Found(ranges),
            Err(e) => {
                warnings.push(format!(
                    "shared mapping {:#x}-{:#x}: only the pages the process itself has mapped \
                     are dumped, pages only other processes touched read as zeros ({e})",
                    m.range.start, m.range.end
                ));
                FileData::Unavailable
            }
        };
    }
    match file_data {
        FileData::Found(ranges) => Some(ranges),
        FileData::Unknown | FileData::Unavailable => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_proc_reader::parse::maps::parse_maps;

    #[test]
    fn the_kernels_rule_for_absent_pages() {
        let maps = b"\
55d4c0a00000-55d4c0a02000 r--p 00000000 08:01 131 /usr/bin/cat
55d4c0a02000-55d4c0a03000 rw-p 00002000 08:01 131 /usr/bin/cat
55d4c1000000-55d4c1021000 rw-p 00000000 00:00 0 [heap]
7f0000000000-7f0000100000 rw-p 00000000 00:00 0
7f0000100000-7f0000200000 rw-p 00000000 00:00 0 [anon:arena]
7f0000200000-7f0000300000 rw-s 00000000 00:01 2052 /dev/zero (deleted)
7f0000300000-7f0000400000 rw-s 00001000 00:05 77 /memfd:buf (deleted)
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]
7ffc00100000-7ffc00102000 r-xp 00000000 00:00 0 [vdso]
7ffc00200000-7ffc00400000 rw-s 00000000 00:0f 4242 /anon_hugepage (deleted)
";
        let kinds: Vec<Backing> = classify(&parse_maps(maps).unwrap())
            .into_iter()
            .map(|m| m.backing)
            .collect();
        let shared = |file_offset| Backing::Shared {
            file_offset,
            file_data: FileData::Unknown,
        };
        assert_eq!(
            kinds,
            vec![
                Backing::Everything,
                Backing::Everything,
                Backing::Anonymous,
                Backing::Anonymous,
                Backing::Anonymous,
                shared(0),
                shared(0x1000),
                Backing::Anonymous,
                Backing::Everything,
                Backing::Anonymous,
            ]
        );
    }
}
