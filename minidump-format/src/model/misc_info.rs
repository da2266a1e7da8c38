//! The MiscInfo stream.

use crate::raw;

/// The MiscInfo stream (`MINIDUMP_MISC_INFO`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MiscInfo {
    /// `MINIDUMP_MISC1_*` flags saying which fields are valid.
    pub flags1: u32,
    /// Process id.
    pub process_id: u32,
    /// Process start, seconds since the epoch.
    pub process_create_time: u32,
    /// User CPU seconds.
    pub process_user_time: u32,
    /// Kernel CPU seconds.
    pub process_kernel_time: u32,
    /// Bytes of later `MINIDUMP_MISC_INFO_N` versions, kept raw.
    pub extra: Vec<u8>,
}

impl MiscInfo {
    /// Process id and times, with the matching flags set.
    ///
    /// ```
    /// use coroner_minidump_format::model::MiscInfo;
    /// let mi = MiscInfo::process(1234, 1_700_000_000, 3, 1);
    /// assert_eq!(mi.process_id, 1234);
    /// ```
    pub fn process(pid: u32, create_time: u32, user_time: u32, kernel_time: u32) -> MiscInfo {
        MiscInfo {
            flags1: raw::MINIDUMP_MISC1_PROCESS_ID | raw::MINIDUMP_MISC1_PROCESS_TIMES,
            process_id: pid,
            process_create_time: create_time,
            process_user_time: user_time,
            process_kernel_time: kernel_time,
            extra: Vec::new(),
        }
    }
}
