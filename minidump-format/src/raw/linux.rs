use scroll::{Pread, Pwrite, SizeWith};

/// `MDRawDebug` for 64-bit processes (36 bytes packed, as rust-minidump reads
/// it): the head of the `MD_LINUX_DSO_DEBUG` stream, a copy of `r_debug`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct DSO_DEBUG_64 {
    /// `r_debug.r_version`.
    pub version: u32,
    /// File offset of `dso_count` [`LINK_MAP_64`] entries.
    pub map: super::RVA,
    /// Number of link map entries.
    pub dso_count: u32,
    /// `r_debug.r_brk`.
    pub brk: u64,
    /// `r_debug.r_ldbase`.
    pub ldbase: u64,
    /// Address of the executable's `_DYNAMIC`.
    pub dynamic: u64,
}

/// `MDRawLinkMap` for 64-bit processes (20 bytes packed): one `link_map` entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct LINK_MAP_64 {
    /// `l_addr`: load bias.
    pub addr: u64,
    /// File offset of the name (a `MINIDUMP_STRING`).
    pub name: super::RVA,
    /// `l_ld`: address of the object's dynamic section.
    pub ld: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sizes() {
        crate::raw::assert_size::<DSO_DEBUG_64>(36);
        crate::raw::assert_size::<LINK_MAP_64>(20);
    }
}
