//! The SystemInfo stream of a snapshot: architecture, CPU count, x86 vendor
//! and CPUID version from `cpuinfo`, OS version from the kernel release;
//! a generic Linux one when the machine is unknown (a converted core).

use coroner_minidump_format::model::SystemInfo;
use coroner_proc_reader::HostFacts;

use crate::snapshot::Arch;

/// SystemInfo for a process of `arch` on `host`.
pub(crate) fn system_info(arch: Arch, host: Option<&HostFacts>) -> SystemInfo {
    let Some(host) = host else {
        let mut si = match arch {
            Arch::X86_64 => SystemInfo::linux_amd64(1, "Linux"),
            Arch::Aarch64 => SystemInfo::linux_arm64(1, "Linux"),
        };
        si.csd_version = Some(format!(
            "Linux (converted from an ELF core) {}",
            arch.name()
        ));
        return si;
    };
    let cpu = &host.cpuinfo;
    let cpus = u8::try_from(cpu.processors.max(1)).unwrap_or(u8::MAX);
    let release = host.kernel_release.as_deref().unwrap_or_default();
    let version = host.kernel_version.as_deref().unwrap_or_default();
    let csd = format!("Linux {release} {version} {}", arch.name());
    let mut si = match arch {
        Arch::X86_64 => SystemInfo::linux_amd64(cpus, &csd),
        Arch::Aarch64 => SystemInfo::linux_arm64(cpus, &csd),
    };
    // The version numbers stay 0, as Breakpad and minidump-writer leave them
    // on Linux: readers take the kernel release from the CSD string.
    if arch == Arch::X86_64 {
        let (family, model, stepping) = (
            cpu.family.unwrap_or(0),
            cpu.model.unwrap_or(0),
            cpu.stepping.unwrap_or(0),
        );
        si.processor_level = u16::try_from(family).unwrap_or(0);
        si.processor_revision = u16::try_from((model << 8) | stepping).unwrap_or(0);
        let mut vendor = [0u8; 12];
        if let Some(v) = &cpu.vendor_id {
            for (d, s) in vendor.iter_mut().zip(v) {
                *d = *s;
            }
        }
        // CPUID leaf 1 EAX layout: stepping, model, family, ext model, ext family.
        let (base_family, ext_family) = if family > 0xf {
            (0xf, family - 0xf)
        } else {
            (family, 0)
        };
        let version = (stepping & 0xf)
            | ((model & 0xf) << 4)
            | ((base_family & 0xf) << 8)
            | (((model >> 4) & 0xf) << 16)
            | ((ext_family & 0xff) << 20);
        si.set_x86_cpu(vendor, version, 0, 0);
    }
    si
}
