use std::io;
use std::ops::Range;

/// Where the writer pulls memory from: a live process, another dump, a buffer.
///
/// The writer asks for each segment's `[p_vaddr, p_vaddr + p_filesz)`, first
/// which ranges hold data ([`present_ranges`](Self::present_ranges), in
/// windows of at most [`WriteOptions::hint_window`](crate::write::WriteOptions)
/// bytes), then the bytes of those ranges in requests of at most the
/// writer's buffer size ([`read_at`](Self::read_at)).
pub trait MemorySource {
    /// Read up to `buf.len()` bytes at virtual address `addr`.
    ///
    /// Return how many bytes from the start of `buf` were read. A short count
    /// (including 0) means the rest of *this request* is unreadable: the
    /// writer leaves those bytes as a hole (zeros) and goes on with the next
    /// request. Return `Err` only to abort the whole write (for example: the
    /// process is gone); `ErrorKind::Interrupted` is retried.
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// Push onto `out` the ranges within `[start, end)` that hold data, in
    /// ascending order; everything else in `[start, end)` becomes a hole
    /// without being read (for example pages `/proc/pid/pagemap` reports
    /// neither present nor swapped). `out` arrives empty.
    ///
    /// The default reports the whole range. Ranges are clipped to
    /// `[start, end)`; overlapping or unsorted ranges are tolerated. An
    /// error makes the writer read the whole window.
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

/// A [`MemorySource`] over one buffer mapped at `base`: addresses outside
/// `[base, base + len)` are unreadable (short reads, so holes).
///
/// ```
/// use coroner_core_format::write::{BytesAt, MemorySource};
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

/// A [`MemorySource`] with no readable memory: every segment becomes a hole.
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
