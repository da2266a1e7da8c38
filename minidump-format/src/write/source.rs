use std::io;

/// Where the writer pulls memory bytes from.
///
/// `read_at` fills `buf` with the bytes at `addr` and returns how many it
/// read. A short count `n` means the byte at `addr + n` is unreadable: the
/// writer writes zeros from there to the end of that 4 KiB page (never stale
/// buffer contents) and asks again from the next page, so a source may simply
/// stop at its first unreadable page. An `Err` aborts the write ([`ErrorKind::Interrupted`](io::ErrorKind::Interrupted)
/// is retried).
///
/// ```
/// use coroner_minidump_format::write::MemorySource;
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
    /// Read up to `buf.len()` bytes at `addr`; see the trait documentation.
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize>;
}

impl<S: MemorySource + ?Sized> MemorySource for &mut S {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(addr, buf)
    }
}

impl<S: MemorySource + ?Sized> MemorySource for Box<S> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(addr, buf)
    }
}

/// A source where nothing is readable: every range is written as zeros.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMemory;

impl MemorySource for NoMemory {
    fn read_at(&mut self, _addr: u64, _buf: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

/// Memory held in a byte slice that starts at address `base`.
///
/// ```
/// use coroner_minidump_format::write::{MemorySource, SliceSource};
/// let data = [1u8, 2, 3, 4];
/// let mut src = SliceSource::new(0x1000, &data);
/// let mut buf = [9u8; 8];
/// assert_eq!(src.read_at(0x1002, &mut buf).unwrap(), 2);
/// assert_eq!(&buf[..2], &[3, 4]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SliceSource<'a> {
    base: u64,
    data: &'a [u8],
}

impl<'a> SliceSource<'a> {
    /// `data` is the memory at `base..base + data.len()`.
    pub fn new(base: u64, data: &'a [u8]) -> Self {
        SliceSource { base, data }
    }
}

impl MemorySource for SliceSource<'_> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        let Some(from) = addr
            .checked_sub(self.base)
            .and_then(|o| usize::try_from(o).ok())
        else {
            return Ok(0);
        };
        let src = self.data.get(from..).unwrap_or_default();
        let n = src.len().min(buf.len());
        if let (Some(d), Some(s)) = (buf.get_mut(..n), src.get(..n)) {
            d.copy_from_slice(s);
        }
        Ok(n)
    }
}
