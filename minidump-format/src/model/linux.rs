//! Breakpad's Linux streams.

/// Breakpad's Linux streams: the raw bytes of the `/proc` files, plus DsoDebug.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinuxStreams {
    /// `/proc/cpuinfo`.
    pub cpu_info: Option<Vec<u8>>,
    /// `/proc/<pid>/status`.
    pub proc_status: Option<Vec<u8>>,
    /// `/etc/lsb-release` (or os-release).
    pub lsb_release: Option<Vec<u8>>,
    /// `/proc/<pid>/cmdline`.
    pub cmd_line: Option<Vec<u8>>,
    /// `/proc/<pid>/environ`.
    pub environ: Option<Vec<u8>>,
    /// `/proc/<pid>/auxv`.
    pub auxv: Option<Vec<u8>>,
    /// `/proc/<pid>/maps`.
    pub maps: Option<Vec<u8>>,
    /// The dynamic linker's `r_debug` and link map.
    pub dso_debug: Option<DsoDebug>,
}

/// The `MD_LINUX_DSO_DEBUG` stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DsoDebug {
    /// `r_version`.
    pub version: u32,
    /// `r_brk`.
    pub brk: u64,
    /// `r_ldbase`.
    pub ldbase: u64,
    /// `_DYNAMIC` of the executable.
    pub dynamic: u64,
    /// The link map.
    pub link_maps: Vec<LinkMap>,
}

/// One `link_map` entry of [`DsoDebug`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkMap {
    /// `l_addr`.
    pub addr: u64,
    /// `l_name`.
    pub name: String,
    /// `l_ld`.
    pub ld: u64,
}
