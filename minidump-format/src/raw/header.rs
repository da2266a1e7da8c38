use scroll::{Pread, Pwrite, SizeWith};

/// `MINIDUMP_SIGNATURE`: "MDMP" read as a little-endian u32.
pub const MINIDUMP_SIGNATURE: u32 = 0x504d_444d;
/// `MINIDUMP_VERSION`: the low 16 bits of [`MINIDUMP_HEADER::version`]; the high
/// bits are implementation specific.
pub const MINIDUMP_VERSION: u32 = 0xa793;

/// `MINIDUMP_HEADER` (32 bytes), at offset 0 of every minidump.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_HEADER {
    /// [`MINIDUMP_SIGNATURE`].
    pub signature: u32,
    /// [`MINIDUMP_VERSION`] in the low 16 bits.
    pub version: u32,
    /// Number of entries in the stream directory.
    pub stream_count: u32,
    /// File offset of the stream directory.
    pub stream_directory_rva: super::RVA,
    /// Checksum (usually 0).
    pub checksum: u32,
    /// Seconds since the Unix epoch when the dump was written.
    pub time_date_stamp: u32,
    /// `MINIDUMP_TYPE` flags.
    pub flags: u64,
}

/// `MINIDUMP_LOCATION_DESCRIPTOR` (8 bytes): where a piece of data lies in the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_LOCATION_DESCRIPTOR {
    /// Size of the data in bytes.
    pub data_size: u32,
    /// File offset of the data.
    pub rva: super::RVA,
}

/// `MINIDUMP_DIRECTORY` (12 bytes): one entry of the stream directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_DIRECTORY {
    /// The stream type (see [`MINIDUMP_STREAM_TYPE`](super::MINIDUMP_STREAM_TYPE)).
    pub stream_type: u32,
    /// Where the stream's data is.
    pub location: MINIDUMP_LOCATION_DESCRIPTOR,
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sizes() {
        crate::raw::assert_size::<MINIDUMP_HEADER>(32);
        crate::raw::assert_size::<MINIDUMP_LOCATION_DESCRIPTOR>(8);
        crate::raw::assert_size::<MINIDUMP_DIRECTORY>(12);
    }
}
