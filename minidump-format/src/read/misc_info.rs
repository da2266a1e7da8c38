use super::exception::rebase;
use super::{read_at, Stream};
use crate::error::ReadError;
use crate::model;
use crate::raw::MINIDUMP_MISC_INFO;

const V1_SIZE: usize = 24;

/// The MiscInfo stream (version 1 fields; later versions' bytes kept raw).
#[derive(Debug, Clone, Copy)]
pub struct MiscInfo<'a> {
    /// The version 1 fields.
    pub raw: MINIDUMP_MISC_INFO,
    /// Bytes after the version 1 fields, up to `size_of_info`.
    pub extra: &'a [u8],
}

impl<'a> MiscInfo<'a> {
    pub(crate) fn new(_data: &'a [u8], stream: Stream<'a>) -> Result<Self, ReadError> {
        let raw: MINIDUMP_MISC_INFO = read_at(stream.data, "MINIDUMP_MISC_INFO", 0)
            .map_err(|e| rebase(e, stream.offset()))?;
        let size = usize::try_from(raw.size_of_info).unwrap_or(usize::MAX);
        let extra = size
            .checked_sub(V1_SIZE)
            .and_then(|_| stream.data.get(V1_SIZE..size))
            .ok_or(ReadError::BadValue {
                what: "MINIDUMP_MISC_INFO size_of_info",
                offset: stream.offset(),
                value: raw.size_of_info.into(),
            })?;
        Ok(MiscInfo { raw, extra })
    }

    /// The owned model.
    pub fn to_model(&self) -> model::MiscInfo {
        model::MiscInfo {
            flags1: self.raw.flags1,
            process_id: self.raw.process_id,
            process_create_time: self.raw.process_create_time,
            process_user_time: self.raw.process_user_time,
            process_kernel_time: self.raw.process_kernel_time,
            extra: self.extra.to_vec(),
        }
    }
}
