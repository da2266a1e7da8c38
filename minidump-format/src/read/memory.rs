use std::io;

use super::{bytes_at, read_at, Stream, Table, TableIter};
use crate::error::ReadError;
use crate::model::MemoryRange;
use crate::raw::{
    MINIDUMP_MEMORY64_LIST, MINIDUMP_MEMORY_DESCRIPTOR, MINIDUMP_MEMORY_DESCRIPTOR64,
};
use crate::write::MemorySource;

const DESCRIPTOR_SIZE: u64 = 16;

/// Dumped bytes of one range of the process's address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryRegion<'a> {
    /// Address of the first byte.
    pub start: u64,
    /// File offset of the first byte.
    pub offset: u64,
    /// The bytes.
    pub bytes: &'a [u8],
}

impl<'a> MemoryRegion<'a> {
    /// The address range.
    pub fn range(&self) -> MemoryRange {
        MemoryRange {
            start: self.start,
            size: super::len64(self.bytes),
        }
    }

    /// The `len` bytes at `addr` if this region holds them all.
    pub fn get(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        let from = usize::try_from(addr.checked_sub(self.start)?).ok()?;
        let to = from.checked_add(usize::try_from(len).ok()?)?;
        self.bytes.get(from..to)
    }

    fn contains(&self, addr: u64) -> bool {
        addr.checked_sub(self.start)
            .is_some_and(|d| d < super::len64(self.bytes))
    }
}

/// The MemoryList stream.
#[derive(Debug, Clone, Copy)]
pub struct MemoryList<'a> {
    data: &'a [u8],
    table: Table<'a, MINIDUMP_MEMORY_DESCRIPTOR>,
}

impl<'a> MemoryList<'a> {
    pub(crate) fn new(data: &'a [u8], stream: Stream<'a>) -> Result<Self, ReadError> {
        let table = Table::counted(
            data,
            stream,
            "MINIDUMP_MEMORY_LIST count",
            "MINIDUMP_MEMORY_DESCRIPTOR",
            DESCRIPTOR_SIZE,
        )?;
        Ok(MemoryList { data, table })
    }

    /// Number of ranges.
    pub fn len(&self) -> u64 {
        self.table.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The raw descriptors.
    pub fn descriptors(&self) -> TableIter<'a, MINIDUMP_MEMORY_DESCRIPTOR> {
        self.table.iter()
    }

    /// The ranges with their bytes, lazily; stops after the first error.
    pub fn iter(&self) -> MemoryIter<'a> {
        MemoryIter {
            data: self.data,
            inner: self.table.iter(),
            failed: false,
        }
    }
}

/// Iterator over a [`MemoryList`].
#[derive(Debug, Clone)]
pub struct MemoryIter<'a> {
    data: &'a [u8],
    inner: TableIter<'a, MINIDUMP_MEMORY_DESCRIPTOR>,
    failed: bool,
}

impl<'a> Iterator for MemoryIter<'a> {
    type Item = Result<MemoryRegion<'a>, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        let data = self.data;
        super::until_error(&mut self.failed, || {
            Some(self.inner.next()?.and_then(|d| {
                let offset = u64::from(d.memory.rva);
                let bytes = bytes_at(data, "MemoryList range", offset, d.memory.data_size.into())?;
                Ok(MemoryRegion {
                    start: d.start_of_memory_range,
                    offset,
                    bytes,
                })
            }))
        })
    }
}

/// The Memory64List stream: ranges whose bytes follow one another from `base_rva`.
///
/// ```
/// use coroner_minidump_format::{model::*, parse, write::SliceSource};
/// let memory = [1u8, 2, 3, 4, 5, 6];
/// let model = MinidumpModel {
///     memory64_list: vec![MemoryRange { start: 0x10, size: 2 }, MemoryRange { start: 0x14, size: 2 }],
///     ..MinidumpModel::default()
/// };
/// let mut file = Vec::new();
/// model.write(&mut SliceSource::new(0x10, &memory), &mut file).unwrap();
/// let dump = parse(&file).unwrap();
/// let list = dump.memory64_list().unwrap().unwrap();
/// let regions: Vec<_> = list.iter().map(|r| r.unwrap()).collect();
/// assert_eq!(regions[1].bytes, &[5, 6]);
/// assert_eq!(regions[1].offset, list.base_rva() + 2);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Memory64List<'a> {
    data: &'a [u8],
    base_rva: u64,
    table: Table<'a, MINIDUMP_MEMORY_DESCRIPTOR64>,
}

impl<'a> Memory64List<'a> {
    pub(crate) fn new(data: &'a [u8], stream: Stream<'a>) -> Result<Self, ReadError> {
        let head: MINIDUMP_MEMORY64_LIST = read_at(stream.data, "MINIDUMP_MEMORY64_LIST", 0)
            .map_err(|e| super::exception::rebase(e, stream.offset()))?;
        let table = Table::new(
            data,
            "MINIDUMP_MEMORY_DESCRIPTOR64",
            stream.offset().saturating_add(16),
            head.number_of_memory_ranges,
            DESCRIPTOR_SIZE,
            stream.end(),
        )?;
        Ok(Memory64List {
            data,
            base_rva: head.base_rva,
            table,
        })
    }

    /// Number of ranges.
    pub fn len(&self) -> u64 {
        self.table.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// File offset of the first range's bytes.
    pub fn base_rva(&self) -> u64 {
        self.base_rva
    }

    /// The raw descriptors.
    pub fn descriptors(&self) -> TableIter<'a, MINIDUMP_MEMORY_DESCRIPTOR64> {
        self.table.iter()
    }

    /// The ranges with their bytes, lazily; stops after the first error (for
    /// example the first range that runs past the end of a truncated file).
    pub fn iter(&self) -> Memory64Iter<'a> {
        Memory64Iter {
            data: self.data,
            inner: self.table.iter(),
            offset: self.base_rva,
            failed: false,
        }
    }
}

/// Iterator over a [`Memory64List`].
#[derive(Debug, Clone)]
pub struct Memory64Iter<'a> {
    data: &'a [u8],
    inner: TableIter<'a, MINIDUMP_MEMORY_DESCRIPTOR64>,
    offset: u64,
    failed: bool,
}

impl<'a> Iterator for Memory64Iter<'a> {
    type Item = Result<MemoryRegion<'a>, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        let data = self.data;
        super::until_error(&mut self.failed, || {
            Some(self.inner.next()?.and_then(|d| {
                let offset = self.offset;
                let bytes = bytes_at(data, "Memory64List range", offset, d.data_size)?;
                self.offset = offset.saturating_add(d.data_size);
                Ok(MemoryRegion {
                    start: d.start_of_memory_range,
                    offset,
                    bytes,
                })
            }))
        })
    }
}

/// Both memory lists, for lookups by address. The Memory64List is searched
/// first, as other readers do.
///
/// It is also a [`MemorySource`], so a dump's memory can be written into
/// another dump: addresses no range holds read short (written as zeros).
///
/// ```
/// use coroner_minidump_format::{model::*, parse, write::{MemorySource, SliceSource}};
/// let memory: Vec<u8> = (0..32).collect();
/// let model = MinidumpModel { memory_list: vec![MemoryRange { start: 0x100, size: 32 }], ..MinidumpModel::default() };
/// let mut file = Vec::new();
/// model.write(&mut SliceSource::new(0x100, &memory), &mut file).unwrap();
/// let dump = parse(&file).unwrap();
/// let mut mem = dump.memory().unwrap();
/// assert_eq!(mem.read(0x104, 2).unwrap(), Some(&[4u8, 5][..]));
/// let mut buf = [0u8; 8];
/// assert_eq!(mem.read_at(0x11c, &mut buf).unwrap(), 4); // only 4 bytes dumped there
/// // Copy it into a new dump, as a Memory64List this time.
/// let again = MinidumpModel { memory64_list: model.memory_list.clone(), ..MinidumpModel::default() };
/// let mut file2 = Vec::new();
/// again.write(&mut mem, &mut file2).unwrap();
/// assert_eq!(parse(&file2).unwrap().read_memory(0x100, 32).unwrap(), Some(&memory[..]));
/// ```
#[derive(Debug, Clone)]
pub struct MemoryMap<'a> {
    list64: Option<Memory64List<'a>>,
    list: Option<MemoryList<'a>>,
    cursor: Option<Memory64Iter<'a>>,
}

impl<'a> MemoryMap<'a> {
    pub(crate) fn new(list64: Option<Memory64List<'a>>, list: Option<MemoryList<'a>>) -> Self {
        MemoryMap {
            list64,
            list,
            cursor: None,
        }
    }

    /// Every region, Memory64List first.
    pub fn regions(&self) -> impl Iterator<Item = Result<MemoryRegion<'a>, ReadError>> + 'a {
        let (list64, list) = (self.list64, self.list);
        let a = list64.into_iter().flat_map(|l| l.iter());
        let b = list.into_iter().flat_map(|l| l.iter());
        a.chain(b)
    }

    /// The region holding `addr`, if any.
    pub fn region_at(&self, addr: u64) -> Result<Option<MemoryRegion<'a>>, ReadError> {
        for region in self.regions() {
            let region = region?;
            if region.contains(addr) {
                return Ok(Some(region));
            }
        }
        Ok(None)
    }

    /// `len` bytes at `addr` when a single region holds them all.
    pub fn read(&self, addr: u64, len: u64) -> Result<Option<&'a [u8]>, ReadError> {
        for region in self.regions() {
            if let Some(bytes) = region?.get(addr, len) {
                return Ok(Some(bytes));
            }
        }
        Ok(None)
    }

    /// Find the region holding `addr`, trying the ranges after the last hit
    /// first so sequential reads of a Memory64List are linear overall.
    fn find(&mut self, addr: u64) -> Result<Option<MemoryRegion<'a>>, ReadError> {
        if let Some(cursor) = &self.cursor {
            // An error after the cursor is reported by the full scan below.
            if let Ok(Some((r, here))) = seek(cursor.clone(), addr) {
                self.cursor = Some(here);
                return Ok(Some(r));
            }
        }
        if let Some(list64) = &self.list64 {
            if let Some((r, here)) = seek(list64.iter(), addr)? {
                self.cursor = Some(here);
                return Ok(Some(r));
            }
        }
        if let Some(list) = &self.list {
            for region in list.iter() {
                let region = region?;
                if region.contains(addr) {
                    return Ok(Some(region));
                }
            }
        }
        Ok(None)
    }
}

/// Advance `it` to the region holding `addr`: that region, with an iterator
/// that yields it next.
fn seek<'a>(
    mut it: Memory64Iter<'a>,
    addr: u64,
) -> Result<Option<(MemoryRegion<'a>, Memory64Iter<'a>)>, ReadError> {
    loop {
        let here = it.clone();
        match it.next() {
            Some(Ok(r)) if r.contains(addr) => return Ok(Some((r, here))),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e),
            None => return Ok(None),
        }
    }
}

impl MemorySource for MemoryMap<'_> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0usize;
        while let Some(rest) = buf.get_mut(done..) {
            if rest.is_empty() {
                break;
            }
            let Some(at) = u64::try_from(done).ok().and_then(|d| addr.checked_add(d)) else {
                break;
            };
            let region = self
                .find(at)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let Some(region) = region else { break };
            let from = at.saturating_sub(region.start);
            let Some(src) = usize::try_from(from)
                .ok()
                .and_then(|f| region.bytes.get(f..))
            else {
                break;
            };
            let n = src.len().min(rest.len());
            if let (Some(dst), Some(src)) = (rest.get_mut(..n), src.get(..n)) {
                dst.copy_from_slice(src);
            }
            done = done.saturating_add(n);
        }
        Ok(done)
    }
}
