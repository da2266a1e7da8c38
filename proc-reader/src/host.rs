//! What a dump records about the machine the process runs on, read from the
//! host's own files (not the process's): CPUs, kernel release and version,
//! boot time and the distribution's release file. The facts build on any
//! OS (a snapshot read from a dump carries them); reading them is Linux's.

use crate::parse::cpuinfo::CpuInfo;
#[cfg(target_os = "linux")]
use crate::parse::{cpuinfo::parse_cpuinfo, kernel_stat::parse_boot_time};

/// The host's facts, each `None` when its file cannot be read (a container
/// without `/proc/sys`, a distribution without a release file): a dump
/// records what is there rather than failing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostFacts {
    /// `/proc/cpuinfo` as the kernel printed it (minidumps keep the text).
    pub cpuinfo_raw: Option<Vec<u8>>,
    /// `/proc/cpuinfo` parsed.
    pub cpuinfo: CpuInfo,
    /// The kernel release (`/proc/sys/kernel/osrelease`, e.g. `6.8.0-45-generic`).
    pub kernel_release: Option<String>,
    /// The kernel build version (`/proc/sys/kernel/version`, e.g. `#1 SMP …`).
    pub kernel_version: Option<String>,
    /// Boot time in seconds since the epoch (`btime` in `/proc/stat`).
    pub boot_time: Option<u64>,
    /// The distribution's release file (`/etc/lsb-release`, else
    /// `/etc/os-release`), raw.
    pub distribution_release: Option<Vec<u8>>,
}

#[cfg(target_os = "linux")]
fn one_line(path: &str) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).trim().to_owned())
}

#[cfg(target_os = "linux")]
impl HostFacts {
    /// Read every fact of this machine.
    ///
    /// ```
    /// let host = coroner_proc_reader::HostFacts::read();
    /// assert!(host.cpuinfo.processors >= 1);
    /// assert!(host.boot_time.is_some());
    /// ```
    pub fn read() -> HostFacts {
        let cpuinfo_raw = std::fs::read("/proc/cpuinfo").ok();
        let cpuinfo = parse_cpuinfo(cpuinfo_raw.as_deref().unwrap_or_default());
        HostFacts {
            cpuinfo_raw,
            cpuinfo,
            kernel_release: one_line("/proc/sys/kernel/osrelease"),
            kernel_version: one_line("/proc/sys/kernel/version"),
            boot_time: std::fs::read("/proc/stat")
                .ok()
                .and_then(|s| parse_boot_time(&s).ok()),
            distribution_release: std::fs::read("/etc/lsb-release")
                .or_else(|_| std::fs::read("/etc/os-release"))
                .ok(),
        }
    }
}
