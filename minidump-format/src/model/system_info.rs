//! The SystemInfo stream.

use crate::raw;

/// The SystemInfo stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemInfo {
    /// `PROCESSOR_ARCHITECTURE_*` (AMD64 = 9, ARM64 = 12).
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
    /// Platform id (Linux = 0x8201).
    pub platform_id: u32,
    /// CSD version string (on Linux the full `uname` line).
    pub csd_version: Option<String>,
    /// Suite mask.
    pub suite_mask: u16,
    /// `CPU_INFORMATION` (see [`SystemInfo::set_x86_cpu`]).
    pub cpu: [u8; 24],
}

impl SystemInfo {
    /// Linux on x86-64 with `cpus` processors and the OS string `csd`.
    ///
    /// ```
    /// use coroner_minidump_format::model::SystemInfo;
    /// let mut si = SystemInfo::linux_amd64(8, "Linux 6.1.0");
    /// si.set_x86_cpu(*b"GenuineIntel", 0x906ea, 0xbfebfbff, 0);
    /// assert_eq!(si.x86_vendor(), Some(*b"GenuineIntel"));
    /// ```
    pub fn linux_amd64(cpus: u8, csd: &str) -> SystemInfo {
        SystemInfo {
            processor_architecture: raw::PROCESSOR_ARCHITECTURE_AMD64,
            number_of_processors: cpus,
            platform_id: raw::PLATFORM_ID_LINUX,
            csd_version: Some(csd.to_owned()),
            ..SystemInfo::default()
        }
    }

    /// Linux on AArch64 with `cpus` processors and the OS string `csd`.
    pub fn linux_arm64(cpus: u8, csd: &str) -> SystemInfo {
        SystemInfo {
            processor_architecture: raw::PROCESSOR_ARCHITECTURE_ARM64,
            ..SystemInfo::linux_amd64(cpus, csd)
        }
    }

    /// Fill `cpu` as x86 `CPU_INFORMATION`: vendor id, CPUID version,
    /// feature and AMD extended feature words.
    pub fn set_x86_cpu(&mut self, vendor: [u8; 12], version: u32, features: u32, amd_ext: u32) {
        let mut cpu = [0u8; 24];
        let parts = [
            version.to_le_bytes(),
            features.to_le_bytes(),
            amd_ext.to_le_bytes(),
        ];
        let bytes = vendor.iter().chain(parts.iter().flatten());
        for (slot, b) in cpu.iter_mut().zip(bytes) {
            *slot = *b;
        }
        self.cpu = cpu;
    }

    /// The x86 vendor id ("GenuineIntel", "AuthenticAMD") when `cpu` holds one.
    pub fn x86_vendor(&self) -> Option<[u8; 12]> {
        let v: [u8; 12] = self.cpu.get(..12)?.try_into().ok()?;
        (v.iter().any(|b| *b != 0)).then_some(v)
    }
}
