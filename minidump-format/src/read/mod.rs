//! Zero-copy, lazy minidump reader.
//!
//! [`Minidump::new`] checks the header and that the stream directory lies in
//! the file; everything else is read on demand. Every count and every RVA is
//! checked against the file's size before use, list iterators are lazy and
//! stop after their first error, and nothing is allocated beyond what the
//! input's size justifies.
//!
//! ```
//! use coroner_minidump_format::{model::{MinidumpModel, Thread, MemoryRange}, read, write::SliceSource};
//! let stack = vec![7u8; 64];
//! let mut model = MinidumpModel::default();
//! model.threads.push(Thread { thread_id: 5, stack: Some(MemoryRange { start: 0x1000, size: 64 }), ..Default::default() });
//! model.memory_list.push(MemoryRange { start: 0x1000, size: 64 });
//! let mut file = Vec::new();
//! model.write(&mut SliceSource::new(0x1000, &stack), &mut file).unwrap();
//!
//! let dump = read::parse(&file).unwrap();
//! let threads = dump.threads().unwrap().unwrap();
//! let thread = threads.iter().next().unwrap().unwrap();
//! assert_eq!(thread.thread_id(), 5);
//! assert_eq!(thread.stack_bytes().unwrap(), &stack[..]);
//! assert_eq!(dump.read_memory(0x1010, 4).unwrap(), Some(&[7u8; 4][..]));
//! assert_eq!(dump.to_model().unwrap(), model);
//! ```

mod context;
mod exception;
mod file;
mod linux;
mod memory;
mod memory_info;
mod misc_info;
mod model;
mod module;
mod source;
mod stream;
mod string;
mod system_info;
mod table;
mod thread;
mod thread_names;

use std::ops::Deref;

use scroll::ctx::{SizeWith, TryFromCtx};
use scroll::{Endian, Pread, LE};

use crate::error::ReadError;
use crate::raw::{self, MINIDUMP_HEADER, MINIDUMP_STREAM_TYPE as ST};

pub use context::read_context;
pub use exception::Exception;
pub use file::{
    FileError, FileMemory, MemoryLocation, MinidumpFile, TruncatedRange, Truncation, MAX_METADATA,
};
pub use linux::{Auxv, DsoDebug, LinkMaps};
pub use memory::{Memory64Iter, Memory64List, MemoryIter, MemoryList, MemoryMap, MemoryRegion};
pub use memory_info::{MemoryInfoIter, MemoryInfoList};
pub use misc_info::MiscInfo;
pub use module::{CodeView, Module, ModuleIter, ModuleList};
pub use source::ReadAt;
pub use stream::{Stream, Streams};
pub use string::read_string;
pub use system_info::SystemInfo;
pub use table::{Table, TableIter};
pub use thread::{Thread, ThreadIter, ThreadList};
pub use thread_names::{ThreadNameIter, ThreadNames};

/// One step of a lazy iterator that stops after its first error: once an
/// item was an error (`failed`), `next` is not called again.
fn until_error<T>(
    failed: &mut bool,
    next: impl FnOnce() -> Option<Result<T, ReadError>>,
) -> Option<Result<T, ReadError>> {
    if *failed {
        return None;
    }
    let item = next()?;
    *failed = item.is_err();
    Some(item)
}

/// Parse a minidump held in a byte slice. Same as [`Minidump::new`].
pub fn parse(data: &[u8]) -> Result<Minidump<&[u8]>, ReadError> {
    Minidump::new(data)
}

/// A parsed minidump over bytes it borrows or owns (`&[u8]`, `Vec<u8>`, an mmap …).
#[derive(Debug, Clone)]
pub struct Minidump<D> {
    data: D,
    header: MINIDUMP_HEADER,
}

impl<D: Deref<Target = [u8]>> Minidump<D> {
    /// Check the header and the stream directory's bounds.
    pub fn new(data: D) -> Result<Self, ReadError> {
        let bytes: &[u8] = &data;
        let signature: u32 = read_at(bytes, "minidump signature", 0)?;
        if signature != raw::MINIDUMP_SIGNATURE {
            return Err(ReadError::BadSignature { actual: signature });
        }
        let header: MINIDUMP_HEADER = read_at(bytes, "MINIDUMP_HEADER", 0)?;
        if header.version & 0xffff != raw::MINIDUMP_VERSION {
            return Err(ReadError::BadVersion {
                actual: header.version,
            });
        }
        let dir_len = u64::from(header.stream_count)
            .checked_mul(DIRECTORY_SIZE)
            .ok_or(ReadError::BadCount {
                what: "stream directory",
                count: header.stream_count.into(),
                offset: 8,
                available: len64(bytes),
            })?;
        bytes_at(
            bytes,
            "stream directory",
            header.stream_directory_rva.into(),
            dir_len,
        )?;
        Ok(Minidump { data, header })
    }

    /// The whole file.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The header.
    pub fn header(&self) -> &MINIDUMP_HEADER {
        &self.header
    }

    /// All directory entries in order, unknown types included.
    pub fn streams(&self) -> Streams<'_> {
        Streams::new(self.data(), &self.header)
    }

    /// The first stream of type `stream_type`. An entry of another type with
    /// a bad location does not make this fail.
    pub fn stream(&self, stream_type: u32) -> Result<Option<Stream<'_>>, ReadError> {
        stream::find(self.data(), &self.header, stream_type)
    }

    /// The ThreadList stream.
    pub fn threads(&self) -> Result<Option<ThreadList<'_>>, ReadError> {
        self.with_stream(ST::THREAD_LIST, ThreadList::new)
    }

    /// The ModuleList stream.
    pub fn modules(&self) -> Result<Option<ModuleList<'_>>, ReadError> {
        self.with_stream(ST::MODULE_LIST, ModuleList::new)
    }

    /// The MemoryList stream.
    pub fn memory_list(&self) -> Result<Option<MemoryList<'_>>, ReadError> {
        self.with_stream(ST::MEMORY_LIST, MemoryList::new)
    }

    /// The Memory64List stream.
    pub fn memory64_list(&self) -> Result<Option<Memory64List<'_>>, ReadError> {
        self.with_stream(ST::MEMORY64_LIST, Memory64List::new)
    }

    /// Both memory lists, to look memory up by address (Memory64List first).
    pub fn memory(&self) -> Result<MemoryMap<'_>, ReadError> {
        Ok(MemoryMap::new(self.memory64_list()?, self.memory_list()?))
    }

    /// `len` bytes at `addr` when one dumped range holds them all.
    pub fn read_memory(&self, addr: u64, len: u64) -> Result<Option<&[u8]>, ReadError> {
        self.memory()?.read(addr, len)
    }

    /// The Exception stream.
    pub fn exception(&self) -> Result<Option<Exception<'_>>, ReadError> {
        self.with_stream(ST::EXCEPTION, Exception::new)
    }

    /// The SystemInfo stream.
    pub fn system_info(&self) -> Result<Option<SystemInfo<'_>>, ReadError> {
        self.with_stream(ST::SYSTEM_INFO, SystemInfo::new)
    }

    /// The MiscInfo stream.
    pub fn misc_info(&self) -> Result<Option<MiscInfo<'_>>, ReadError> {
        self.with_stream(ST::MISC_INFO, MiscInfo::new)
    }

    /// The ThreadNames stream.
    pub fn thread_names(&self) -> Result<Option<ThreadNames<'_>>, ReadError> {
        self.with_stream(ST::THREAD_NAMES, ThreadNames::new)
    }

    /// The MemoryInfoList stream.
    pub fn memory_info(&self) -> Result<Option<MemoryInfoList<'_>>, ReadError> {
        self.with_stream(ST::MEMORY_INFO_LIST, MemoryInfoList::new)
    }

    /// The raw bytes of the first stream of type `stream_type` (for the Linux
    /// text streams and unknown types).
    pub fn stream_bytes(&self, stream_type: u32) -> Result<Option<&[u8]>, ReadError> {
        Ok(self.stream(stream_type)?.map(|s| s.data))
    }

    /// `MD_LINUX_CPU_INFO`: `/proc/cpuinfo`.
    pub fn linux_cpu_info(&self) -> Result<Option<&[u8]>, ReadError> {
        self.stream_bytes(ST::LINUX_CPU_INFO)
    }

    /// `MD_LINUX_PROC_STATUS`: `/proc/<pid>/status`.
    pub fn linux_proc_status(&self) -> Result<Option<&[u8]>, ReadError> {
        self.stream_bytes(ST::LINUX_PROC_STATUS)
    }

    /// `MD_LINUX_LSB_RELEASE`.
    pub fn linux_lsb_release(&self) -> Result<Option<&[u8]>, ReadError> {
        self.stream_bytes(ST::LINUX_LSB_RELEASE)
    }

    /// `MD_LINUX_CMD_LINE`: `/proc/<pid>/cmdline`.
    pub fn linux_cmd_line(&self) -> Result<Option<&[u8]>, ReadError> {
        self.stream_bytes(ST::LINUX_CMD_LINE)
    }

    /// `MD_LINUX_ENVIRON`: `/proc/<pid>/environ`.
    pub fn linux_environ(&self) -> Result<Option<&[u8]>, ReadError> {
        self.stream_bytes(ST::LINUX_ENVIRON)
    }

    /// `MD_LINUX_MAPS`: `/proc/<pid>/maps`.
    pub fn linux_maps(&self) -> Result<Option<&[u8]>, ReadError> {
        self.stream_bytes(ST::LINUX_MAPS)
    }

    /// `MD_LINUX_AUXV`, as (type, value) pairs.
    pub fn linux_auxv(&self) -> Result<Option<Auxv<'_>>, ReadError> {
        Ok(self.stream(ST::LINUX_AUXV)?.map(|s| Auxv::new(s.data)))
    }

    /// `MD_LINUX_DSO_DEBUG`.
    pub fn linux_dso_debug(&self) -> Result<Option<DsoDebug<'_>>, ReadError> {
        self.with_stream(ST::LINUX_DSO_DEBUG, DsoDebug::new)
    }

    /// Read everything but memory bytes into an owned [`MinidumpModel`](crate::model::MinidumpModel).
    pub fn to_model(&self) -> Result<crate::model::MinidumpModel, ReadError> {
        model::to_model(self)
    }

    fn with_stream<'a, T>(
        &'a self,
        ty: u32,
        make: impl FnOnce(&'a [u8], Stream<'a>) -> Result<T, ReadError>,
    ) -> Result<Option<T>, ReadError> {
        match self.stream(ty)? {
            Some(s) => make(self.data(), s).map(Some),
            None => Ok(None),
        }
    }
}

pub(crate) const DIRECTORY_SIZE: u64 = 12;

pub(crate) fn len64(data: &[u8]) -> u64 {
    u64::try_from(data.len()).unwrap_or(u64::MAX)
}

/// `len` bytes of `data` at `offset`, or [`ReadError::OutOfBounds`].
pub(crate) fn bytes_at<'a>(
    data: &'a [u8],
    what: &'static str,
    offset: u64,
    len: u64,
) -> Result<&'a [u8], ReadError> {
    let oob = || ReadError::OutOfBounds {
        what,
        offset,
        expected: len,
        actual: len64(data).saturating_sub(offset),
    };
    let start = usize::try_from(offset).map_err(|_| oob())?;
    let count = usize::try_from(len).map_err(|_| oob())?;
    let end = start.checked_add(count).ok_or_else(oob)?;
    data.get(start..end).ok_or_else(oob)
}

/// A fixed-size structure at `offset`.
pub(crate) fn read_at<'a, T>(
    data: &'a [u8],
    what: &'static str,
    offset: u64,
) -> Result<T, ReadError>
where
    T: TryFromCtx<'a, Endian, Error = scroll::Error> + SizeWith<Endian>,
{
    let size = u64::try_from(T::size_with(&LE)).unwrap_or(u64::MAX);
    let bytes = bytes_at(data, what, offset, size)?;
    bytes.pread_with(0, LE).map_err(|source| ReadError::Decode {
        what,
        offset,
        source,
    })
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Breakpad debug id as rust-minidump prints it: GUID fields in their native
/// byte order in upper-case hex, then the age in lower-case hex.
pub(crate) fn debug_id(guid: &[u8; 16], age: u32) -> String {
    let [a0, a1, a2, a3, b0, b1, c0, c1, d @ ..] = *guid;
    let data1 = u32::from_le_bytes([a0, a1, a2, a3]);
    let data2 = u16::from_le_bytes([b0, b1]);
    let data3 = u16::from_le_bytes([c0, c1]);
    format!(
        "{data1:08X}{data2:04X}{data3:04X}{}{age:x}",
        hex(&d).to_uppercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_at_checks_bounds_without_overflow() {
        let data = [0u8; 16];
        assert!(bytes_at(&data, "x", 8, 8).is_ok());
        assert!(matches!(
            bytes_at(&data, "x", 8, 9),
            Err(ReadError::OutOfBounds {
                offset: 8,
                expected: 9,
                actual: 8,
                ..
            })
        ));
        assert!(bytes_at(&data, "x", u64::MAX, 2).is_err());
        assert!(bytes_at(&data, "x", 1, u64::MAX).is_err());
    }

    #[test]
    fn strings_reject_odd_lengths_bad_utf16_and_overruns() {
        let mut odd = 3u32.to_le_bytes().to_vec();
        odd.extend_from_slice(&[b'a', 0, b'b', 0]);
        assert!(matches!(
            read_string(&odd, 0),
            Err(ReadError::BadValue { .. })
        ));
        let mut lone = 2u32.to_le_bytes().to_vec();
        lone.extend_from_slice(&0xd800u16.to_le_bytes());
        assert!(matches!(
            read_string(&lone, 0),
            Err(ReadError::BadUtf16 { offset: 0 })
        ));
        let long = 1000u32.to_le_bytes();
        assert!(matches!(
            read_string(&long, 0),
            Err(ReadError::OutOfBounds { .. })
        ));
    }

    #[test]
    fn debug_id_formats_like_rust_minidump() {
        let guid: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
        assert_eq!(debug_id(&guid, 0x2a), "0403020106050807090A0B0C0D0E0F102a");
        assert_eq!(hex(&[0, 0xab]), "00ab");
    }

    #[test]
    fn rejects_non_minidumps() {
        assert!(matches!(parse(b"MDM"), Err(ReadError::OutOfBounds { .. })));
        assert!(matches!(
            parse(b"ELF\x7f and more bytes here.............."),
            Err(ReadError::BadSignature { .. })
        ));
        let mut header = vec![0u8; 32];
        header[..4].copy_from_slice(b"MDMP");
        assert!(matches!(
            parse(&header),
            Err(ReadError::BadVersion { actual: 0 })
        ));
        header[4..8].copy_from_slice(&0x1234_a793u32.to_le_bytes());
        let dump = parse(&header).unwrap();
        assert_eq!(dump.streams().count(), 0);
        assert!(dump.threads().unwrap().is_none());
    }
}
