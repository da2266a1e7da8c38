use super::{read_string, Stream, Table, TableIter};
use crate::error::ReadError;
use crate::raw::MINIDUMP_THREAD_NAME;

/// The ThreadNames stream.
#[derive(Debug, Clone, Copy)]
pub struct ThreadNames<'a> {
    data: &'a [u8],
    table: Table<'a, MINIDUMP_THREAD_NAME>,
}

impl<'a> ThreadNames<'a> {
    pub(crate) fn new(data: &'a [u8], stream: Stream<'a>) -> Result<Self, ReadError> {
        let table = Table::counted(
            data,
            stream,
            "MINIDUMP_THREAD_NAME_LIST count",
            "MINIDUMP_THREAD_NAME",
            12,
        )?;
        Ok(ThreadNames { data, table })
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.table.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// (thread id, name) pairs, lazily; stops after the first error.
    pub fn iter(&self) -> ThreadNameIter<'a> {
        ThreadNameIter {
            data: self.data,
            inner: self.table.iter(),
            failed: false,
        }
    }
}

/// Iterator over [`ThreadNames`].
#[derive(Debug, Clone)]
pub struct ThreadNameIter<'a> {
    data: &'a [u8],
    inner: TableIter<'a, MINIDUMP_THREAD_NAME>,
    failed: bool,
}

impl Iterator for ThreadNameIter<'_> {
    type Item = Result<(u32, String), ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        let data = self.data;
        super::until_error(&mut self.failed, || {
            Some(
                self.inner
                    .next()?
                    .and_then(|e| Ok((e.thread_id, read_string(data, e.rva_of_thread_name)?))),
            )
        })
    }
}
