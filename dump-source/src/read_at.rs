//! Random access to a dump file without loading it.

use std::io;

/// Bytes of a file that can be read at any offset: a `std::fs::File`, a
/// byte slice, anything that can `pread`. A format crate's file reader
/// reads the headers and notes or streams of a dump through it once, and
/// the memory only when asked, so a dump larger than RAM is read in bounded
/// memory.
///
/// ```
/// use coroner_dump_source::ReadAt;
/// let bytes: &[u8] = b"coroner";
/// let mut buf = [0u8; 4];
/// assert_eq!(bytes.read_at(3, &mut buf).unwrap(), 4);
/// assert_eq!(&buf, b"oner");
/// assert_eq!(bytes.size().unwrap(), 7);
/// ```
pub trait ReadAt {
    /// The length of the file in bytes.
    fn size(&self) -> io::Result<u64>;

    /// Read up to `buf.len()` bytes at `offset`; fewer only at the end of
    /// the file (0 past it) or when interrupted.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn size(&self) -> io::Result<u64> {
        (**self).size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }
}

impl ReadAt for [u8] {
    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let src = usize::try_from(offset)
            .ok()
            .and_then(|o| self.get(o..))
            .unwrap_or(&[]);
        let n = src.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), src.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(n)
    }
}

impl ReadAt for Vec<u8> {
    fn size(&self) -> io::Result<u64> {
        self.as_slice().size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
}

#[cfg(any(unix, windows))]
impl ReadAt for std::fs::File {
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        return std::os::unix::fs::FileExt::read_at(self, buf, offset);
        // seek_read moves the cursor, which nothing here relies on.
        #[cfg(windows)]
        return std::os::windows::fs::FileExt::seek_read(self, buf, offset);
    }
}

/// Fill as much of `buf` as the file holds at `offset`; returns the count,
/// short only at the end of the file. Retries interrupted reads.
pub fn read_up_to<R: ReadAt + ?Sized>(
    source: &R,
    offset: u64,
    buf: &mut [u8],
) -> io::Result<usize> {
    let mut done = 0usize;
    while let Some(rest) = buf.get_mut(done..) {
        if rest.is_empty() {
            break;
        }
        let at = offset
            .checked_add(done as u64)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "file offset overflows"))?;
        match source.read_at(at, rest) {
            Ok(0) => break,
            Ok(n) => done = done.saturating_add(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
