use super::exception::rebase;
use super::{read_at, read_string, Stream};
use crate::error::ReadError;
use crate::model;
use crate::raw::MINIDUMP_SYSTEM_INFO;

/// The SystemInfo stream.
#[derive(Debug, Clone, Copy)]
pub struct SystemInfo<'a> {
    data: &'a [u8],
    /// The raw stream.
    pub raw: MINIDUMP_SYSTEM_INFO,
}

impl<'a> SystemInfo<'a> {
    pub(crate) fn new(data: &'a [u8], stream: Stream<'a>) -> Result<Self, ReadError> {
        let raw = read_at(stream.data, "MINIDUMP_SYSTEM_INFO", 0)
            .map_err(|e| rebase(e, stream.offset()))?;
        Ok(SystemInfo { data, raw })
    }

    /// The CSD version string (on Linux the kernel's `uname` line), if present.
    pub fn csd_version(&self) -> Result<Option<String>, ReadError> {
        match self.raw.csd_version_rva {
            0 => Ok(None),
            rva => read_string(self.data, rva.into()).map(Some),
        }
    }

    /// The owned model.
    pub fn to_model(&self) -> Result<model::SystemInfo, ReadError> {
        let r = &self.raw;
        Ok(model::SystemInfo {
            processor_architecture: r.processor_architecture,
            processor_level: r.processor_level,
            processor_revision: r.processor_revision,
            number_of_processors: r.number_of_processors,
            product_type: r.product_type,
            major_version: r.major_version,
            minor_version: r.minor_version,
            build_number: r.build_number,
            platform_id: r.platform_id,
            csd_version: self.csd_version()?,
            suite_mask: r.suite_mask,
            cpu: r.cpu,
        })
    }
}
