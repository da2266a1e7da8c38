use super::{read_at, Stream, Table, TableIter};
use crate::error::ReadError;
use crate::raw::{MINIDUMP_MEMORY_INFO, MINIDUMP_MEMORY_INFO_LIST};

/// The MemoryInfoList stream.
#[derive(Debug, Clone, Copy)]
pub struct MemoryInfoList<'a> {
    /// The raw header.
    pub header: MINIDUMP_MEMORY_INFO_LIST,
    table: Table<'a, MINIDUMP_MEMORY_INFO>,
}

impl<'a> MemoryInfoList<'a> {
    pub(crate) fn new(data: &'a [u8], stream: Stream<'a>) -> Result<Self, ReadError> {
        let header: MINIDUMP_MEMORY_INFO_LIST =
            read_at(stream.data, "MINIDUMP_MEMORY_INFO_LIST", 0)
                .map_err(|e| super::exception::rebase(e, stream.offset()))?;
        if header.size_of_header < 16 {
            return Err(ReadError::BadValue {
                what: "MINIDUMP_MEMORY_INFO_LIST size_of_header",
                offset: stream.offset(),
                value: header.size_of_header.into(),
            });
        }
        let table = Table::new(
            data,
            "MINIDUMP_MEMORY_INFO",
            stream.offset().saturating_add(header.size_of_header.into()),
            header.number_of_entries,
            header.size_of_entry.into(),
            stream.end(),
        )?;
        Ok(MemoryInfoList { header, table })
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.table.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The entries, lazily; stops after the first error.
    pub fn iter(&self) -> MemoryInfoIter<'a> {
        self.table.iter()
    }
}

/// Iterator over a [`MemoryInfoList`].
pub type MemoryInfoIter<'a> = TableIter<'a, MINIDUMP_MEMORY_INFO>;
