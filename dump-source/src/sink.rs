//! Where a dump writer pushes the file: bytes, and holes it need not store.

use std::io::{self, Seek, SeekFrom, Write};

/// Where a writer puts the file: an [`io::Write`] that is also told about
/// holes (runs of zero bytes that need not be stored). Both format crates'
/// writers push to it, so one implementation (a file that stays sparse, a
/// pipe, a buffer) serves both.
///
/// Which bytes become holes is decided by the writer, the same way for
/// both formats (see [`Output`](crate::Output)): memory the source reports
/// absent, memory it cannot read, all-zero pages, and padding. A sink only
/// chooses how to store them: [`SeekSink`] skips them with a seek (a sparse
/// file), [`StreamSink`] and `Vec<u8>` write zeros.
pub trait Sink {
    /// Append `buf`.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Append `len` zero bytes, by seeking past them if the sink can.
    fn write_hole(&mut self, len: u64) -> io::Result<()>;
    /// Called once at the end: flush, and give the file its full length if
    /// it ends in a hole. (coroner's writers never end with a hole: they
    /// write the last page of a trailing hole as zeros, so that no sink has
    /// to extend or truncate a file.)
    fn finish(&mut self) -> io::Result<()>;

    /// Memory of the sink's own that will hold the next bytes of the file,
    /// at most `max` of them (and at least one), for the writer to read
    /// memory straight into, which saves copying it from the writer's
    /// buffer; `None` (the default) when the sink lends none: the writer
    /// then reads into its own buffer and calls
    /// [`write_all`](Self::write_all).
    ///
    /// The slice's first byte is the file's byte at the sink's position
    /// (every byte and hole passed so far). After filling the start of it,
    /// the writer calls [`commit_lent`](Self::commit_lent) once, before any
    /// other call; bytes it does not account for there are not part of the
    /// file, and the sink may lend them again. A writer that gets `None`
    /// does not ask again for the same file.
    fn lend(&mut self, max: usize) -> io::Result<Option<&mut [u8]>> {
        let _ = max;
        Ok(None)
    }

    /// What the start of the slice the last [`lend`](Self::lend) gave
    /// turned out to hold, in order: [`Lent::Data`] bytes are the file's
    /// next bytes, [`Lent::Hole`] bytes are zeros the sink need not store
    /// (as [`write_hole`](Self::write_hole)). The sink keeps the data where
    /// it lies or moves it within its memory, as it likes. Sinks that lend
    /// nothing are never called (the default fails).
    fn commit_lent(&mut self, parts: &[Lent]) -> io::Result<()> {
        let _ = parts;
        Err(io::Error::other(
            "commit_lent called on a sink that lends no memory",
        ))
    }
}

/// One part of the memory a [`Sink`] lent ([`Sink::lend`]), as the writer
/// found it after reading into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lent {
    /// So many bytes of data, to keep.
    Data(usize),
    /// So many zero bytes: a hole.
    Hole(usize),
}

impl Lent {
    /// The part's length in bytes.
    pub fn len(self) -> usize {
        match self {
            Lent::Data(n) | Lent::Hole(n) => n,
        }
    }

    /// Whether the part is empty.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (**self).write_all(buf)
    }
    fn write_hole(&mut self, len: u64) -> io::Result<()> {
        (**self).write_hole(len)
    }
    fn finish(&mut self) -> io::Result<()> {
        (**self).finish()
    }
    fn lend(&mut self, max: usize) -> io::Result<Option<&mut [u8]>> {
        (**self).lend(max)
    }
    fn commit_lent(&mut self, parts: &[Lent]) -> io::Result<()> {
        (**self).commit_lent(parts)
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (**self).write_all(buf)
    }
    fn write_hole(&mut self, len: u64) -> io::Result<()> {
        (**self).write_hole(len)
    }
    fn finish(&mut self) -> io::Result<()> {
        (**self).finish()
    }
    fn lend(&mut self, max: usize) -> io::Result<Option<&mut [u8]>> {
        (**self).lend(max)
    }
    fn commit_lent(&mut self, parts: &[Lent]) -> io::Result<()> {
        (**self).commit_lent(parts)
    }
}

/// A file held in memory: holes are zeros.
///
/// ```
/// use coroner_dump_source::Sink;
/// let mut file = Vec::new();
/// file.write_all(b"ab").unwrap();
/// file.write_hole(2).unwrap();
/// assert_eq!(file, b"ab\0\0");
/// ```
impl Sink for Vec<u8> {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.extend_from_slice(buf);
        Ok(())
    }
    fn write_hole(&mut self, len: u64) -> io::Result<()> {
        let new_len = usize::try_from(len)
            .ok()
            .and_then(|n| self.len().checked_add(n))
            .ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, "hole larger than memory"))?;
        self.resize(new_len, 0);
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A [`Sink`] over a seekable writer (a file): holes are skipped with one
/// relative seek per run, which makes the file sparse. The writer starts
/// at the current position of `inner`.
///
/// ```
/// use coroner_dump_source::{SeekSink, Sink};
/// let mut sink = SeekSink::new(std::io::Cursor::new(Vec::new()));
/// sink.write_all(b"ab").unwrap();
/// sink.write_hole(3).unwrap();
/// sink.finish().unwrap();
/// assert_eq!(sink.into_inner().into_inner(), b"ab\0\0\0");
/// ```
#[derive(Debug)]
pub struct SeekSink<W> {
    inner: W,
    pending_hole: u64,
}

impl<W: Write + Seek> SeekSink<W> {
    /// Wrap a seekable writer.
    pub fn new(inner: W) -> SeekSink<W> {
        SeekSink {
            inner,
            pending_hole: 0,
        }
    }

    /// The writer back (call [`Sink::finish`] first).
    pub fn into_inner(self) -> W {
        self.inner
    }

    fn skip(&mut self, len: u64) -> io::Result<()> {
        if len > 0 {
            let delta =
                i64::try_from(len).map_err(|_| io::Error::other("hole larger than i64::MAX"))?;
            self.inner.seek(SeekFrom::Current(delta))?;
        }
        Ok(())
    }
}

impl<W: Write + Seek> Sink for SeekSink<W> {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let hole = std::mem::take(&mut self.pending_hole);
        self.skip(hole)?;
        self.inner.write_all(buf)
    }

    fn write_hole(&mut self, len: u64) -> io::Result<()> {
        self.pending_hole = self.pending_hole.saturating_add(len);
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        let hole = std::mem::take(&mut self.pending_hole);
        if let Some(before_last) = hole.checked_sub(1) {
            // A seek alone does not extend a file: write its last byte.
            self.skip(before_last)?;
            self.inner.write_all(&[0])?;
        }
        self.inner.flush()
    }
}

/// A [`Sink`] over any writer (a pipe, a compressor, `io::sink()`): holes
/// are written as zeros.
///
/// ```
/// use coroner_dump_source::{Sink, StreamSink};
/// let mut sink = StreamSink::new(Vec::new());
/// sink.write_all(b"ab").unwrap();
/// sink.write_hole(2).unwrap();
/// sink.finish().unwrap();
/// assert_eq!(sink.into_inner(), b"ab\0\0");
/// ```
#[derive(Debug)]
pub struct StreamSink<W> {
    inner: W,
}

/// Zeros written for holes into sinks that cannot seek.
pub(crate) static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

impl<W: Write> StreamSink<W> {
    /// Wrap a writer.
    pub fn new(inner: W) -> StreamSink<W> {
        StreamSink { inner }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Sink for StreamSink<W> {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)
    }

    fn write_hole(&mut self, mut len: u64) -> io::Result<()> {
        while len > 0 {
            let n = usize::try_from(len).unwrap_or(usize::MAX).min(ZEROS.len());
            self.inner.write_all(ZEROS.get(..n).unwrap_or(&[]))?;
            len = len.saturating_sub(n as u64);
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
