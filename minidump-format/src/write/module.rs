//! The ModuleList stream: a count, the `MINIDUMP_MODULE` table, and each
//! module's name, CodeView record and misc record.

use super::encode::{code_view_bytes, count32, rva, size_of};
use super::layout::{location, table_len, Planner};
use crate::error::WriteError;
use crate::model::Module;
use crate::raw::{MINIDUMP_LOCATION_DESCRIPTOR, MINIDUMP_MODULE, MINIDUMP_STREAM_TYPE as ST};

impl Planner {
    /// The table is reserved first; each module's name and records follow.
    pub(super) fn plan_module_list(&mut self, modules: &[Module]) -> Result<(), WriteError> {
        let m = &mut self.meta;
        m.align(8);
        let n = modules.len();
        let off = m.put("ModuleList count", count32("module count", n)?)?;
        let entry = size_of::<MINIDUMP_MODULE>();
        let len = table_len(n, entry);
        let table = m.reserve("ModuleList", len)?;
        for (i, md) in modules.iter().enumerate() {
            let name = rva("module name", m.string("module name", &md.name)?)?;
            let cv_record = match &md.code_view {
                Some(cv) => m.location("CodeView record", &code_view_bytes(cv))?,
                None => MINIDUMP_LOCATION_DESCRIPTOR::default(),
            };
            let misc_record = match &md.misc_record {
                Some(b) => m.location("misc record", b)?,
                None => MINIDUMP_LOCATION_DESCRIPTOR::default(),
            };
            let raw = MINIDUMP_MODULE {
                base_of_image: md.base,
                size_of_image: md.size,
                checksum: md.checksum,
                time_date_stamp: md.time_date_stamp,
                module_name_rva: name,
                version_info: md.version_info,
                cv_record,
                misc_record,
                reserved0: 0,
                reserved1: 0,
            };
            m.put_at(
                "MINIDUMP_MODULE",
                table.saturating_add(table_len(i, entry)),
                raw,
            )?;
        }
        let size = len.saturating_add(size_of::<u32>());
        self.add_stream(ST::MODULE_LIST, location("ModuleList", off, size)?);
        Ok(())
    }
}
