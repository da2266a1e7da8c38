use super::exception::rebase;
use super::{read_at, read_string, Stream};
use crate::error::ReadError;
use crate::model;
use crate::raw::MINIDUMP_SYSTEM_INFO;

/// The SystemInfo stream.
///
/// ```
/// use coroner_minidump_format::{model::*, parse, write::NoMemory};
/// let mut si = SystemInfo::linux_amd64(4, "Linux 6.1.0 #1 SMP x86_64");
/// si.set_x86_cpu(*b"AuthenticAMD", 0xa20f12, 0x178bfbff, 0);
/// let model = MinidumpModel { system_info: Some(si), ..MinidumpModel::default() };
/// let mut file = Vec::new();
/// model.write(&mut NoMemory, &mut file).unwrap();
/// let dump = parse(&file).unwrap();
/// let read = dump.system_info().unwrap().unwrap();
/// assert_eq!(read.csd_version().unwrap().as_deref(), Some("Linux 6.1.0 #1 SMP x86_64"));
/// assert_eq!(read.to_model().unwrap().x86_vendor(), Some(*b"AuthenticAMD"));
/// ```
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
