use std::marker::PhantomData;

use scroll::ctx::{SizeWith, TryFromCtx};
use scroll::{Endian, LE};

use super::{len64, read_at, Stream};
use crate::error::ReadError;

/// A checked array of fixed-size records in the file: `count` entries of
/// `stride` bytes from `offset`. The whole array was checked to lie inside
/// its stream when the table was made.
#[derive(Debug)]
pub struct Table<'a, T> {
    data: &'a [u8],
    what: &'static str,
    offset: u64,
    count: u64,
    stride: u64,
    _entry: PhantomData<fn() -> T>,
}

impl<T> Clone for Table<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Table<'_, T> {}

impl<'a, T> Table<'a, T>
where
    T: TryFromCtx<'a, Endian, Error = scroll::Error> + SizeWith<Endian>,
{
    /// Check that `count` entries of `stride` bytes (at least the entry's
    /// size) fit between `offset` and `end` (and inside `data`).
    pub(crate) fn new(
        data: &'a [u8],
        what: &'static str,
        offset: u64,
        count: u64,
        stride: u64,
        end: u64,
    ) -> Result<Self, ReadError> {
        let size = u64::try_from(T::size_with(&LE)).unwrap_or(u64::MAX);
        if stride < size {
            return Err(ReadError::BadValue {
                what,
                offset,
                value: stride,
            });
        }
        let available = end.min(len64(data)).saturating_sub(offset);
        let needed = count.checked_mul(stride);
        if needed.map_or(true, |n| n > available) {
            return Err(ReadError::BadCount {
                what,
                count,
                offset,
                available,
            });
        }
        Ok(Table {
            data,
            what,
            offset,
            count,
            stride,
            _entry: PhantomData,
        })
    }

    /// The table of a list stream that starts with a `u32` entry count
    /// (`count_what`) followed by the entries (`what`, `stride` bytes each).
    pub(crate) fn counted(
        data: &'a [u8],
        stream: Stream<'a>,
        count_what: &'static str,
        what: &'static str,
        stride: u64,
    ) -> Result<Self, ReadError> {
        let count: u32 = read_at(stream.data, count_what, 0)
            .map_err(|e| super::exception::rebase(e, stream.offset()))?;
        Table::new(
            data,
            what,
            stream.offset().saturating_add(4),
            count.into(),
            stride,
            stream.end(),
        )
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Entry `index`, or `None` past the end.
    pub fn get(&self, index: u64) -> Option<Result<T, ReadError>> {
        if index >= self.count {
            return None;
        }
        let offset = index
            .checked_mul(self.stride)
            .and_then(|o| o.checked_add(self.offset));
        Some(match offset {
            Some(offset) => read_at(self.data, self.what, offset),
            None => Err(ReadError::BadCount {
                what: self.what,
                count: self.count,
                offset: self.offset,
                available: 0,
            }),
        })
    }

    /// A lazy iterator over the entries; it stops after the first error.
    pub fn iter(&self) -> TableIter<'a, T> {
        TableIter {
            table: *self,
            next: 0,
            failed: false,
        }
    }
}

/// Iterator over a [`Table`].
#[derive(Debug, Clone)]
pub struct TableIter<'a, T> {
    table: Table<'a, T>,
    next: u64,
    failed: bool,
}

impl<'a, T> Iterator for TableIter<'a, T>
where
    T: TryFromCtx<'a, Endian, Error = scroll::Error> + SizeWith<Endian>,
{
    type Item = Result<T, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        super::until_error(&mut self.failed, || {
            let item = self.table.get(self.next)?;
            self.next = self.next.saturating_add(1);
            Some(item)
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left =
            usize::try_from(self.table.count.saturating_sub(self.next)).unwrap_or(usize::MAX);
        (0, Some(left))
    }
}
