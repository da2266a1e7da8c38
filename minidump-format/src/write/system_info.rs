//! The SystemInfo stream (`MINIDUMP_SYSTEM_INFO` and its CSD version string).

use super::encode::{rva, size_of};
use super::layout::{location, Planner};
use crate::error::WriteError;
use crate::model::SystemInfo;
use crate::raw::{MINIDUMP_STREAM_TYPE as ST, MINIDUMP_SYSTEM_INFO};

impl Planner {
    /// The structure, then the CSD version string it points at.
    pub(super) fn plan_system_info(&mut self, si: &SystemInfo) -> Result<(), WriteError> {
        let m = &mut self.meta;
        m.align(8);
        let off = m.put("MINIDUMP_SYSTEM_INFO", MINIDUMP_SYSTEM_INFO::default())?;
        let csd = match &si.csd_version {
            Some(s) => rva("CSD version", m.string("CSD version", s)?)?,
            None => 0,
        };
        let raw = MINIDUMP_SYSTEM_INFO {
            processor_architecture: si.processor_architecture,
            processor_level: si.processor_level,
            processor_revision: si.processor_revision,
            number_of_processors: si.number_of_processors,
            product_type: si.product_type,
            major_version: si.major_version,
            minor_version: si.minor_version,
            build_number: si.build_number,
            platform_id: si.platform_id,
            csd_version_rva: csd,
            suite_mask: si.suite_mask,
            reserved2: 0,
            cpu: si.cpu,
        };
        m.put_at("MINIDUMP_SYSTEM_INFO", off, raw)?;
        let size = size_of::<MINIDUMP_SYSTEM_INFO>();
        self.add_stream(ST::SYSTEM_INFO, location("SystemInfo", off, size)?);
        Ok(())
    }
}
