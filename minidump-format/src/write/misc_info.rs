//! The MiscInfo stream (`MINIDUMP_MISC_INFO`, plus the raw bytes of later
//! versions).

use super::encode::{size32, size_of};
use super::layout::{location, Planner};
use crate::error::WriteError;
use crate::model::MiscInfo;
use crate::raw::{MINIDUMP_MISC_INFO, MINIDUMP_STREAM_TYPE as ST};

impl Planner {
    /// The version 1 structure followed by the later versions' bytes; its
    /// `size_of_info` counts both.
    pub(super) fn plan_misc_info(&mut self, mi: &MiscInfo) -> Result<(), WriteError> {
        let m = &mut self.meta;
        m.align(8);
        let extra = u64::try_from(mi.extra.len()).unwrap_or(u64::MAX);
        let size = size_of::<MINIDUMP_MISC_INFO>().saturating_add(extra);
        let raw = MINIDUMP_MISC_INFO {
            size_of_info: size32("MiscInfo", usize::try_from(size).unwrap_or(usize::MAX))?,
            flags1: mi.flags1,
            process_id: mi.process_id,
            process_create_time: mi.process_create_time,
            process_user_time: mi.process_user_time,
            process_kernel_time: mi.process_kernel_time,
        };
        let off = m.put("MINIDUMP_MISC_INFO", raw)?;
        m.bytes("MiscInfo extra", &mi.extra)?;
        self.add_stream(ST::MISC_INFO, location("MiscInfo", off, size)?);
        Ok(())
    }
}
