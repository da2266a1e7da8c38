use super::{bytes_at, read_at};
use crate::error::ReadError;

/// Read the `MINIDUMP_STRING` at file offset `rva`: a u32 byte length, then
/// that many bytes of UTF-16LE (the NUL terminator that follows is not
/// required). Fails on an odd length, bytes outside the file, or invalid UTF-16.
///
/// ```
/// use coroner_minidump_format::read::read_string;
/// let mut bytes = 4u32.to_le_bytes().to_vec();
/// bytes.extend_from_slice(&[b'h', 0, b'i', 0, 0, 0]);
/// assert_eq!(read_string(&bytes, 0).unwrap(), "hi");
/// ```
pub fn read_string(data: &[u8], rva: u64) -> Result<String, ReadError> {
    let len: u32 = read_at(data, "MINIDUMP_STRING length", rva)?;
    if len % 2 != 0 {
        return Err(ReadError::BadValue {
            what: "MINIDUMP_STRING length",
            offset: rva,
            value: len.into(),
        });
    }
    let bytes = bytes_at(data, "MINIDUMP_STRING", rva.saturating_add(4), len.into())?;
    let units = bytes.chunks_exact(2).map(|c| {
        u16::from_le_bytes([
            c.first().copied().unwrap_or(0),
            c.last().copied().unwrap_or(0),
        ])
    });
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| ReadError::BadUtf16 { offset: rva })
}
