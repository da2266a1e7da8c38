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
    /// Protection when the allocation was made ([`MemoryProtection`]).
    pub allocation_protection: u32,
    /// Padding.
    pub __alignment1: u32,
    /// Size of the region.
    pub region_size: u64,
    /// Committed, reserved or free ([`MemoryState`]).
    pub state: u32,
    /// Current protection ([`MemoryProtection`]).
    pub protection: u32,
    /// Private, mapped or image ([`MemoryType`]).
    pub _type: u32,
    /// Padding.
    pub __alignment2: u32,
}

impl MINIDUMP_MEMORY_INFO {
    /// `protection` as flags.
    pub fn protection_flags(&self) -> MemoryProtection {
        MemoryProtection::from_bits_retain(self.protection)
    }

    /// `allocation_protection` as flags.
    pub fn allocation_protection_flags(&self) -> MemoryProtection {
        MemoryProtection::from_bits_retain(self.allocation_protection)
    }

    /// `state` as flags.
    pub fn state_flags(&self) -> MemoryState {
        MemoryState::from_bits_retain(self.state)
    }

    /// `_type` as flags.
    pub fn type_flags(&self) -> MemoryType {
        MemoryType::from_bits_retain(self._type)
    }
}

flag_type! {
    /// A region's protection (`MINIDUMP_MEMORY_INFO::protection` and
    /// `allocation_protection`): one `PAGE_*` access value in the low byte,
    /// possibly with the modifiers above it.
    ///
    /// ```
    /// use coroner_minidump_format::raw::MemoryProtection;
    /// let p = MemoryProtection::from_rwx(true, false, true);
    /// assert_eq!(p, MemoryProtection::PAGE_EXECUTE_READ);
    /// assert!(p.is_readable() && p.is_executable() && !p.is_writable());
    /// let guarded = MemoryProtection::PAGE_READWRITE | MemoryProtection::PAGE_GUARD;
    /// assert_eq!(guarded.access(), MemoryProtection::PAGE_READWRITE);
    /// assert_eq!(format!("{guarded:?}"), "PAGE_READWRITE | PAGE_GUARD");
    /// ```
    pub struct MemoryProtection {
        /// No access.
        const PAGE_NOACCESS = 0x01;
        /// Read only.
        const PAGE_READONLY = 0x02;
        /// Read and write.
        const PAGE_READWRITE = 0x04;
        /// Read and copy on write.
        const PAGE_WRITECOPY = 0x08;
        /// Execute only.
        const PAGE_EXECUTE = 0x10;
        /// Execute and read.
        const PAGE_EXECUTE_READ = 0x20;
        /// Execute, read and write.
        const PAGE_EXECUTE_READWRITE = 0x40;
        /// Execute, read and copy on write.
        const PAGE_EXECUTE_WRITECOPY = 0x80;
        /// Modifier: a guard page.
        const PAGE_GUARD = 0x100;
        /// Modifier: not cached.
        const PAGE_NOCACHE = 0x200;
        /// Modifier: write-combined.
        const PAGE_WRITECOMBINE = 0x400;
        /// Modifier: not a valid target of indirect calls (CFG).
        const PAGE_TARGETS_INVALID = 0x4000_0000;
    }
}

impl MemoryProtection {
    /// The bits that hold the access value (`PAGE_NOACCESS` …
    /// `PAGE_EXECUTE_WRITECOPY`); the modifiers lie above.
    pub const ACCESS_MASK: MemoryProtection = MemoryProtection(0xff);

    /// The protection of a Linux mapping with these permissions, as
    /// Breakpad writes it: execute implies read (`PAGE_EXECUTE_READ` for
    /// `--x`), and write without read is read-write.
    pub const fn from_rwx(read: bool, write: bool, execute: bool) -> MemoryProtection {
        match (read, write, execute) {
            (_, true, true) => MemoryProtection::PAGE_EXECUTE_READWRITE,
            (_, false, true) => MemoryProtection::PAGE_EXECUTE_READ,
            (_, true, false) => MemoryProtection::PAGE_READWRITE,
            (true, false, false) => MemoryProtection::PAGE_READONLY,
            (false, false, false) => MemoryProtection::PAGE_NOACCESS,
        }
    }

    /// The access value alone, without modifiers.
    pub const fn access(self) -> MemoryProtection {
        MemoryProtection(self.0 & MemoryProtection::ACCESS_MASK.0)
    }

    /// Whether the access value allows reading (an unknown or combined
    /// access value allows nothing).
    pub const fn is_readable(self) -> bool {
        matches!(self.access().0, 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80)
    }

    /// Whether the access value allows writing (copy on write included).
    pub const fn is_writable(self) -> bool {
        matches!(self.access().0, 0x04 | 0x08 | 0x40 | 0x80)
    }

    /// Whether the access value allows executing.
    pub const fn is_executable(self) -> bool {
        matches!(self.access().0, 0x10 | 0x20 | 0x40 | 0x80)
    }
}

flag_type! {
    /// A region's state (`MINIDUMP_MEMORY_INFO::state`).
    ///
    /// ```
    /// use coroner_minidump_format::raw::{MemoryState, MINIDUMP_MEMORY_INFO};
    /// let info = MINIDUMP_MEMORY_INFO { state: MemoryState::MEM_COMMIT.bits(), ..Default::default() };
    /// assert_eq!(info.state_flags(), MemoryState::MEM_COMMIT);
    /// ```
    pub struct MemoryState {
        /// Backed by memory or the page file (what Linux mappings are).
        const MEM_COMMIT = 0x1000;
        /// Address space reserved, nothing behind it.
        const MEM_RESERVE = 0x2000;
        /// Free address space.
        const MEM_FREE = 0x1_0000;
    }
}

flag_type! {
    /// What backs a region (`MINIDUMP_MEMORY_INFO::_type`).
    ///
    /// ```
    /// use coroner_minidump_format::raw::MemoryType;
    /// assert_eq!(format!("{:?}", MemoryType::MEM_MAPPED), "MEM_MAPPED");
    /// assert_eq!(format!("{:?}", MemoryType::from_bits_retain(0x3)), "0x3");
    /// ```
    pub struct MemoryType {
        /// Private memory (Linux: anonymous mappings).
        const MEM_PRIVATE = 0x2_0000;
        /// A mapped view of a file (Linux: file-backed mappings).
        const MEM_MAPPED = 0x4_0000;
        /// A mapped executable image.
        const MEM_IMAGE = 0x100_0000;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sizes() {
        crate::raw::assert_size::<MINIDUMP_MEMORY_INFO_LIST>(16);
        crate::raw::assert_size::<MINIDUMP_MEMORY_INFO>(48);
    }

    #[test]
    fn protection_flags_name_access_and_modifiers() {
        let p = MemoryProtection::from_bits_retain(0x104);
        assert_eq!(p.access(), MemoryProtection::PAGE_READWRITE);
        assert!(p.contains(MemoryProtection::PAGE_GUARD));
        assert_eq!(format!("{p:?}"), "PAGE_READWRITE | PAGE_GUARD");
        assert_eq!(
            format!("{:?}", MemoryProtection::from_bits_retain(0x1000_0020)),
            "PAGE_EXECUTE_READ | 0x10000000"
        );
        assert_eq!(format!("{:?}", MemoryProtection::default()), "0x0");
        let rwx = [
            ((false, false, false), 0x01),
            ((true, false, false), 0x02),
            ((true, true, false), 0x04),
            ((false, true, false), 0x04),
            ((true, false, true), 0x20),
            ((false, false, true), 0x20),
            ((true, true, true), 0x40),
        ];
        for ((r, w, x), bits) in rwx {
            assert_eq!(
                MemoryProtection::from_rwx(r, w, x).bits(),
                bits,
                "{r} {w} {x}"
            );
        }
        // Only one known access value reads as readable, writable or executable.
        let odd = MemoryProtection::from_bits_retain(0x06);
        assert!(!odd.is_readable() && !odd.is_writable() && !odd.is_executable());
    }

    #[test]
    fn accessors_read_the_raw_fields() {
        let info = MINIDUMP_MEMORY_INFO {
            allocation_protection: 0x40,
            state: 0x1000,
            protection: 0x02,
            _type: 0x4_0000,
            ..MINIDUMP_MEMORY_INFO::default()
        };
        assert_eq!(info.state_flags(), MemoryState::MEM_COMMIT);
        assert_eq!(info.type_flags(), MemoryType::MEM_MAPPED);
        assert_eq!(info.protection_flags(), MemoryProtection::PAGE_READONLY);
        assert_eq!(
            info.allocation_protection_flags(),
            MemoryProtection::PAGE_EXECUTE_READWRITE
        );
    }
}
