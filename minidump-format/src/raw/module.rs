use scroll::{Pread, Pwrite, SizeWith};

use super::MINIDUMP_LOCATION_DESCRIPTOR;

/// CodeView signature of a Breakpad ELF record: "BpEL", then the build id.
pub const CV_SIGNATURE_ELF: u32 = 0x4270_454c;
/// CodeView signature of a PDB 7.0 record: "RSDS", GUID, age, file name.
pub const CV_SIGNATURE_PDB70: u32 = 0x5344_5352;

/// `VS_FIXEDFILEINFO` (52 bytes): Windows version resource, zero on Linux.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pread, Pwrite, SizeWith)]
pub struct VS_FIXEDFILEINFO {
    /// 0xfeef04bd when present.
    pub signature: u32,
    /// Structure version.
    pub struct_version: u32,
    /// File version, high part.
    pub file_version_hi: u32,
    /// File version, low part.
    pub file_version_lo: u32,
    /// Product version, high part.
    pub product_version_hi: u32,
    /// Product version, low part.
    pub product_version_lo: u32,
    /// Valid bits of `file_flags`.
    pub file_flags_mask: u32,
    /// File flags.
    pub file_flags: u32,
    /// Operating system.
    pub file_os: u32,
    /// File type.
    pub file_type: u32,
    /// File subtype.
    pub file_subtype: u32,
    /// Date, high part.
    pub file_date_hi: u32,
    /// Date, low part.
    pub file_date_lo: u32,
}

/// `MINIDUMP_MODULE` (108 bytes), one entry of the ModuleList stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_MODULE {
    /// Load address.
    pub base_of_image: u64,
    /// Size of the mapped image.
    pub size_of_image: u32,
    /// Checksum.
    pub checksum: u32,
    /// Timestamp.
    pub time_date_stamp: u32,
    /// File offset of the name (a `MINIDUMP_STRING`).
    pub module_name_rva: super::RVA,
    /// Version resource.
    pub version_info: VS_FIXEDFILEINFO,
    /// The CodeView record (build id / PDB reference).
    pub cv_record: MINIDUMP_LOCATION_DESCRIPTOR,
    /// The misc (`IMAGE_DEBUG_MISC`) record.
    pub misc_record: MINIDUMP_LOCATION_DESCRIPTOR,
    /// Reserved.
    pub reserved0: u64,
    /// Reserved.
    pub reserved1: u64,
}

/// Size of the `MINIDUMP_MODULE_LIST` header (a u32 count).
pub const MINIDUMP_MODULE_LIST_HEADER_SIZE: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sizes() {
        crate::raw::assert_size::<VS_FIXEDFILEINFO>(52);
        crate::raw::assert_size::<MINIDUMP_MODULE>(108);
    }
}
