/// Stream type numbers (`MINIDUMP_STREAM_TYPE`), including Breakpad's Linux
/// extensions (`MD_LINUX_*`, 0x4767xxxx).
#[derive(Debug)]
#[non_exhaustive]
pub struct MINIDUMP_STREAM_TYPE;

impl MINIDUMP_STREAM_TYPE {
    /// `ThreadListStream`.
    pub const THREAD_LIST: u32 = 3;
    /// `ModuleListStream`.
    pub const MODULE_LIST: u32 = 4;
    /// `MemoryListStream`.
    pub const MEMORY_LIST: u32 = 5;
    /// `ExceptionStream`.
    pub const EXCEPTION: u32 = 6;
    /// `SystemInfoStream`.
    pub const SYSTEM_INFO: u32 = 7;
    /// `Memory64ListStream`.
    pub const MEMORY64_LIST: u32 = 9;
    /// `HandleDataStream`.
    pub const HANDLE_DATA: u32 = 12;
    /// `MiscInfoStream`.
    pub const MISC_INFO: u32 = 15;
    /// `MemoryInfoListStream`.
    pub const MEMORY_INFO_LIST: u32 = 16;
    /// `ThreadNamesStream`.
    pub const THREAD_NAMES: u32 = 24;
    /// `MD_LINUX_CPU_INFO`: the text of `/proc/cpuinfo`.
    pub const LINUX_CPU_INFO: u32 = 0x4767_0003;
    /// `MD_LINUX_PROC_STATUS`: the text of `/proc/<pid>/status`.
    pub const LINUX_PROC_STATUS: u32 = 0x4767_0004;
    /// `MD_LINUX_LSB_RELEASE`: the text of `/etc/lsb-release` (or os-release).
    pub const LINUX_LSB_RELEASE: u32 = 0x4767_0005;
    /// `MD_LINUX_CMD_LINE`: `/proc/<pid>/cmdline` (NUL-separated).
    pub const LINUX_CMD_LINE: u32 = 0x4767_0006;
    /// `MD_LINUX_ENVIRON`: `/proc/<pid>/environ` (NUL-separated).
    pub const LINUX_ENVIRON: u32 = 0x4767_0007;
    /// `MD_LINUX_AUXV`: `/proc/<pid>/auxv` (u64 pairs).
    pub const LINUX_AUXV: u32 = 0x4767_0008;
    /// `MD_LINUX_MAPS`: the text of `/proc/<pid>/maps`.
    pub const LINUX_MAPS: u32 = 0x4767_0009;
    /// `MD_LINUX_DSO_DEBUG`: [`DSO_DEBUG_64`](super::DSO_DEBUG_64) and link maps.
    pub const LINUX_DSO_DEBUG: u32 = 0x4767_000a;
}
