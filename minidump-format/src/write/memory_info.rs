//! The MemoryInfoList stream: a `MINIDUMP_MEMORY_INFO_LIST` header and the
//! `MINIDUMP_MEMORY_INFO` entries.

use super::encode::size_of;
use super::layout::{location, table_len, Planner};
use crate::error::WriteError;
use crate::raw::{MINIDUMP_MEMORY_INFO, MINIDUMP_MEMORY_INFO_LIST, MINIDUMP_STREAM_TYPE as ST};

impl Planner {
    /// Header and entries, the sizes in the header taken from the structs.
    pub(super) fn plan_memory_info_list(
        &mut self,
        infos: &[MINIDUMP_MEMORY_INFO],
    ) -> Result<(), WriteError> {
        let m = &mut self.meta;
        m.align(8);
        let header_size = size_of::<MINIDUMP_MEMORY_INFO_LIST>();
        let entry = size_of::<MINIDUMP_MEMORY_INFO>();
        let head = MINIDUMP_MEMORY_INFO_LIST {
            size_of_header: u32::try_from(header_size).unwrap_or(u32::MAX),
            size_of_entry: u32::try_from(entry).unwrap_or(u32::MAX),
            number_of_entries: u64::try_from(infos.len()).unwrap_or(u64::MAX),
        };
        let off = m.put("MINIDUMP_MEMORY_INFO_LIST", head)?;
        for info in infos {
            m.put("MINIDUMP_MEMORY_INFO", *info)?;
        }
        let size = table_len(infos.len(), entry).saturating_add(header_size);
        self.add_stream(ST::MEMORY_INFO_LIST, location("MemoryInfoList", off, size)?);
        Ok(())
    }
}
