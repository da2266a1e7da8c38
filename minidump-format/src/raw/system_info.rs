use scroll::{Pread, Pwrite, SizeWith};

/// `PROCESSOR_ARCHITECTURE_AMD64`.
pub const PROCESSOR_ARCHITECTURE_AMD64: u16 = 9;
/// `PROCESSOR_ARCHITECTURE_ARM64`.
pub const PROCESSOR_ARCHITECTURE_ARM64: u16 = 12;
/// Breakpad's `MD_OS_LINUX` platform id.
pub const PLATFORM_ID_LINUX: u32 = 0x8201;

/// `MINIDUMP_SYSTEM_INFO` (56 bytes).
///
/// `cpu` is `CPU_INFORMATION`: on x86 the 12-byte vendor id ("GenuineIntel"),
/// then `version_information`, `feature_information` and
/// `amd_extended_cpu_features` (u32 each); elsewhere two u64 feature words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_SYSTEM_INFO {
    /// `PROCESSOR_ARCHITECTURE_*`.
    pub processor_architecture: u16,
    /// CPU family.
    pub processor_level: u16,
    /// CPU model and stepping.
    pub processor_revision: u16,
    /// Number of CPUs.
    pub number_of_processors: u8,
    /// Product type.
    pub product_type: u8,
    /// OS major version.
    pub major_version: u32,
    /// OS minor version.
    pub minor_version: u32,
    /// OS build number.
    pub build_number: u32,
    /// Platform ([`PLATFORM_ID_LINUX`] …).
    pub platform_id: u32,
    /// File offset of the CSD version (a `MINIDUMP_STRING`; on Linux the
    /// kernel's `uname` string), 0 when absent.
    pub csd_version_rva: super::RVA,
    /// Suite mask.
    pub suite_mask: u16,
    /// Reserved.
    pub reserved2: u16,
    /// `CPU_INFORMATION` (24 bytes).
    pub cpu: [u8; 24],
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        crate::raw::assert_size::<super::MINIDUMP_SYSTEM_INFO>(56);
    }
}
