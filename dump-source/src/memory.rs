//! The memory a dump writer pulls: a live process, another dump, a buffer.

use std::io;
use std::ops::Range;

/// The granularity of [`MemorySource::read_at`]'s short-read rule: after a
/// short read, the writer skips to the next multiple of this.
pub const PAGE: u64 = 4096;

/// Where a writer pulls memory from: a live process, another dump, a buffer.
///
/// For each range it copies, a writer first asks which parts hold data
/// ([`present_ranges`](Self::present_ranges)), then reads those parts in
/// requests of at most its buffer's size ([`read_at`](Self::read_at)).
///
/// **The short-read rule**, the same for every writer: `read_at` returns how
/// many bytes from the start of `buf` it read. A short count `n` means the
/// byte at `addr + n` is unreadable: the writer leaves a hole (zeros) from
/// there to the end of that [`PAGE`] and asks again from the next page. So a
/// source may simply stop at its first unreadable page, and one that skips
/// unreadable pages itself (filling them with zeros) returns the whole
/// length. A count above `buf.len()` is a bug in the source. `Err` aborts
/// the write; [`io::ErrorKind::Interrupted`] is retried.
///
/// ```
/// use coroner_dump_source::MemorySource;
/// struct Pattern;
/// impl MemorySource for Pattern {
///     fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> std::io::Result<usize> {
///         for (i, b) in buf.iter_mut().enumerate() {
///             *b = (addr as usize + i) as u8;
///         }
///         Ok(buf.len())
///     }
/// }
/// let mut buf = [0u8; 4];
/// assert_eq!(Pattern.read_at(0x10, &mut buf).unwrap(), 4);
/// assert_eq!(buf, [0x10, 0x11, 0x12, 0x13]);
/// ```
pub trait MemorySource {
    /// Read up to `buf.len()` bytes at virtual address `addr`; see the
    /// trait documentation for what a short count means.
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// Push onto `out` the ranges within `[start, end)` that hold data, in
    /// ascending order; everything else in `[start, end)` becomes a hole
    /// without being read (for example pages `/proc/pid/pagemap` reports
    /// neither present nor swapped, or memory a dump does not hold).
    ///
    /// The default reports the whole range. Ranges are clipped to
    /// `[start, end)`; overlapping or unsorted ranges are tolerated. An
    /// error makes a writer read the whole range.
    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        out.push(start..end);
        Ok(())
    }
}

impl<T: MemorySource + ?Sized> MemorySource for &mut T {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(addr, buf)
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        (**self).present_ranges(start, end, out)
    }
}

impl<T: MemorySource + ?Sized> MemorySource for Box<T> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(addr, buf)
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        (**self).present_ranges(start, end, out)
    }
}

/// A [`MemorySource`] over one buffer mapped at `base`: addresses outside
/// `[base, base + len)` are unreadable (short reads, so holes).
///
/// ```
/// use coroner_dump_source::{BytesAt, MemorySource};
/// let mut mem = BytesAt { base: 0x1000, bytes: vec![7u8; 16] };
/// let mut buf = [0u8; 32];
/// assert_eq!(mem.read_at(0x1008, &mut buf).unwrap(), 8); // the rest is a hole
/// assert_eq!(mem.read_at(0x2000, &mut buf).unwrap(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct BytesAt<T> {
    /// Address of `bytes[0]`.
    pub base: u64,
    /// The memory.
    pub bytes: T,
}

/// Memory held in a borrowed byte slice that starts at address `base`: a
/// [`BytesAt`] over `&[u8]`.
///
/// ```
/// use coroner_dump_source::{MemorySource, SliceSource};
/// let data = [1u8, 2, 3, 4];
/// let mut src = SliceSource::new(0x1000, &data[..]);
/// let mut buf = [9u8; 8];
/// assert_eq!(src.read_at(0x1002, &mut buf).unwrap(), 2);
/// assert_eq!(&buf[..2], &[3, 4]);
/// ```
pub type SliceSource<'a> = BytesAt<&'a [u8]>;

impl<T> BytesAt<T> {
    /// `bytes` is the memory at `base..base + bytes.len()`.
    pub fn new(base: u64, bytes: T) -> BytesAt<T> {
        BytesAt { base, bytes }
    }
}

impl<T: AsRef<[u8]>> MemorySource for BytesAt<T> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        let bytes = self.bytes.as_ref();
        let Some(start) = addr
            .checked_sub(self.base)
            .and_then(|o| usize::try_from(o).ok())
        else {
            return Ok(0);
        };
        let Some(avail) = bytes.get(start..) else {
            return Ok(0);
        };
        let n = avail.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), avail.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(n)
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        let len = u64::try_from(self.bytes.as_ref().len()).unwrap_or(u64::MAX);
        let s = start.max(self.base);
        let e = end.min(self.base.saturating_add(len));
        if s < e {
            out.push(s..e);
        }
        Ok(())
    }
}

/// A [`MemorySource`] with no readable memory: everything becomes a hole.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMemory;

impl MemorySource for NoMemory {
    fn read_at(&mut self, _addr: u64, _buf: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }

    fn present_ranges(
        &mut self,
        _start: u64,
        _end: u64,
        _out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        Ok(())
    }
}
