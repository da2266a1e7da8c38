use super::{bytes_at, read_at, DIRECTORY_SIZE};
use crate::error::ReadError;
use crate::raw::{MINIDUMP_DIRECTORY, MINIDUMP_HEADER, MINIDUMP_LOCATION_DESCRIPTOR};

/// One stream: its directory entry and its bytes (checked to lie in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream<'a> {
    /// The stream type.
    pub stream_type: u32,
    /// Where it is.
    pub location: MINIDUMP_LOCATION_DESCRIPTOR,
    /// Its bytes.
    pub data: &'a [u8],
}

impl Stream<'_> {
    /// File offset of the stream's first byte.
    pub fn offset(&self) -> u64 {
        self.location.rva.into()
    }

    /// File offset one past the stream's last byte.
    pub fn end(&self) -> u64 {
        u64::from(self.location.rva).saturating_add(self.location.data_size.into())
    }
}

/// Iterator over the stream directory; stops after the first error.
#[derive(Debug, Clone)]
pub struct Streams<'a> {
    data: &'a [u8],
    dir: u64,
    count: u32,
    next: u32,
    failed: bool,
}

impl<'a> Streams<'a> {
    pub(crate) fn new(data: &'a [u8], header: &MINIDUMP_HEADER) -> Self {
        Streams {
            data,
            dir: header.stream_directory_rva.into(),
            count: header.stream_count,
            next: 0,
            failed: false,
        }
    }

    /// The raw directory entry `index` (its location is not checked).
    fn entry(&self, index: u32) -> Result<MINIDUMP_DIRECTORY, ReadError> {
        let offset = u64::from(index)
            .saturating_mul(DIRECTORY_SIZE)
            .saturating_add(self.dir);
        read_at(self.data, "MINIDUMP_DIRECTORY", offset)
    }
}

fn resolve(data: &[u8], entry: MINIDUMP_DIRECTORY) -> Result<Stream<'_>, ReadError> {
    let bytes = bytes_at(
        data,
        "stream data",
        entry.location.rva.into(),
        entry.location.data_size.into(),
    )?;
    Ok(Stream {
        stream_type: entry.stream_type,
        location: entry.location,
        data: bytes,
    })
}

impl<'a> Iterator for Streams<'a> {
    type Item = Result<Stream<'a>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next >= self.count {
            return None;
        }
        let item = self.entry(self.next).and_then(|e| resolve(self.data, e));
        self.next = self.next.saturating_add(1);
        self.failed = item.is_err();
        Some(item)
    }
}

pub(crate) fn find<'a>(
    data: &'a [u8],
    header: &MINIDUMP_HEADER,
    stream_type: u32,
) -> Result<Option<Stream<'a>>, ReadError> {
    let streams = Streams::new(data, header);
    for index in 0..header.stream_count {
        let entry = streams.entry(index)?;
        if entry.stream_type == stream_type {
            return resolve(data, entry).map(Some);
        }
    }
    Ok(None)
}
