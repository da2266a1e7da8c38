//! The second phase of writing: streaming a planned [`Layout`] once, the
//! metadata bytes then every memory range pulled from a [`MemorySource`]
//! through one fixed buffer, over a plain writer or a seekable one that keeps
//! all-zero chunks as holes.

use std::io::{self, Seek, SeekFrom, Write};

use super::{Layout, MemorySource};
use crate::error::WriteError;
use crate::model::MemoryRange;

/// Size of the buffer memory is streamed through.
const BUFFER_SIZE: u64 = 1 << 20;

impl Layout {
    /// Stream the file to `out`, pulling memory from `source` through one
    /// fixed buffer. Returns the number of bytes written ([`Layout::file_size`]).
    pub fn write<S, W>(&self, source: &mut S, out: W) -> Result<u64, WriteError>
    where
        S: MemorySource + ?Sized,
        W: Write,
    {
        self.stream(source, Plain(out))
    }

    /// Like [`Layout::write`], but all-zero chunks of memory (including
    /// unreadable memory) are skipped with a seek instead of written, so a
    /// file sink stays sparse. The file must start empty at the current
    /// position. Returns the file's size.
    ///
    /// ```
    /// use coroner_minidump_format::{model::{MinidumpModel, MemoryRange}, write::{Layout, NoMemory}};
    /// let model = MinidumpModel { memory64_list: vec![MemoryRange { start: 0, size: 1 << 20 }], ..MinidumpModel::default() };
    /// let layout = Layout::plan(&model).unwrap();
    /// let mut file = std::io::Cursor::new(Vec::new());
    /// assert_eq!(layout.write_sparse(&mut NoMemory, &mut file).unwrap(), layout.file_size());
    /// assert_eq!(file.get_ref().len() as u64, layout.file_size());
    /// ```
    pub fn write_sparse<S, W>(&self, source: &mut S, out: W) -> Result<u64, WriteError>
    where
        S: MemorySource + ?Sized,
        W: Write + Seek,
    {
        self.stream(
            source,
            Sparse {
                out,
                pending: false,
            },
        )
    }

    fn stream<S, K>(&self, source: &mut S, sink: K) -> Result<u64, WriteError>
    where
        S: MemorySource + ?Sized,
        K: Sink,
    {
        let mut out = Counted { sink, pos: 0 };
        out.put(&self.meta)?;
        let largest = self
            .blocks
            .iter()
            .chain(&self.memory64)
            .map(|r| r.size)
            .max()
            .unwrap_or(0);
        let gap = self.memory_offset.saturating_sub(out.pos);
        let buf_len = usize::try_from(largest.max(gap).clamp(16, BUFFER_SIZE)).unwrap_or(1 << 20);
        let mut buf = vec![0u8; buf_len];
        buf.fill(0);
        if let Some(pad) = usize::try_from(gap).ok().and_then(|g| buf.get(..g)) {
            out.put(pad)?;
        }
        for r in self.blocks.iter().chain(&self.memory64) {
            copy_range(source, *r, &mut out, &mut buf)?;
        }
        let pos = out.pos;
        out.sink.finish().map_err(|source| WriteError::Io {
            offset: pos,
            source,
        })?;
        Ok(out.pos)
    }
}

/// Where the bytes go: a plain writer, or a seekable one that keeps holes.
trait Sink {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// `bytes` are all zero: write them, or seek over them.
    fn zeros(&mut self, bytes: &[u8]) -> io::Result<()>;
    fn sparse(&self) -> bool;
    fn finish(&mut self) -> io::Result<()>;
}

struct Plain<W>(W);

impl<W: Write> Sink for Plain<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }
    fn zeros(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }
    fn sparse(&self) -> bool {
        false
    }
    fn finish(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

struct Sparse<W> {
    out: W,
    /// The file ends in a hole not yet backed by a written byte.
    pending: bool,
}

impl<W: Write + Seek> Sink for Sparse<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.pending = self.pending && bytes.is_empty();
        Ok(())
    }
    fn zeros(&mut self, bytes: &[u8]) -> io::Result<()> {
        let n = i64::try_from(bytes.len()).map_err(io::Error::other)?;
        self.out.seek(SeekFrom::Current(n))?;
        self.pending = self.pending || n > 0;
        Ok(())
    }
    fn sparse(&self) -> bool {
        true
    }
    fn finish(&mut self) -> io::Result<()> {
        if self.pending {
            // Give the file its full length: rewrite its last (zero) byte.
            self.out.seek(SeekFrom::Current(-1))?;
            self.out.write_all(&[0])?;
            self.pending = false;
        }
        self.out.flush()
    }
}

struct Counted<K> {
    sink: K,
    pos: u64,
}

impl<K: Sink> Counted<K> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let zero = self.sink.sparse() && bytes.iter().all(|b| *b == 0);
        let done = if zero {
            self.sink.zeros(bytes)
        } else {
            self.sink.put(bytes)
        };
        done.map_err(|source| WriteError::Io {
            offset: self.pos,
            source,
        })?;
        self.pos = self
            .pos
            .saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        Ok(())
    }
}

fn copy_range<S, K>(
    source: &mut S,
    r: MemoryRange,
    out: &mut Counted<K>,
    buf: &mut [u8],
) -> Result<(), WriteError>
where
    S: MemorySource + ?Sized,
    K: Sink,
{
    let mut done = 0u64;
    while done < r.size {
        let chunk = usize::try_from(r.size.saturating_sub(done))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let Some(b) = buf.get_mut(..chunk) else { break };
        fill(source, r.start.checked_add(done), b)?;
        out.put(b)?;
        done = done.saturating_add(chunk as u64);
    }
    Ok(())
}

/// Fill `buf` with the memory at `addr`. After a short read the unreadable
/// byte's page is zero-filled up to the next page boundary and reading
/// resumes there, so one bad page costs only itself.
fn fill<S: MemorySource + ?Sized>(
    source: &mut S,
    addr: Option<u64>,
    buf: &mut [u8],
) -> Result<(), WriteError> {
    let Some(addr) = addr else {
        buf.fill(0);
        return Ok(());
    };
    let mut pos = 0usize;
    while let Some(rest) = buf.get_mut(pos..) {
        if rest.is_empty() {
            break;
        }
        let at = addr.saturating_add(pos as u64);
        let got = read_retrying(source, at, rest)?;
        pos = pos.saturating_add(got);
        if got < rest.len() {
            // Zero from the unreadable byte to the end of its page (at least
            // one byte, so this always advances; to the end of the buffer
            // when the page is the last one of the address space).
            let bad = addr.saturating_add(pos as u64);
            let skip = match (bad | (coroner_dump_source::PAGE - 1)).checked_add(1) {
                Some(page_end) => {
                    usize::try_from(page_end.saturating_sub(bad)).unwrap_or(usize::MAX)
                }
                None => usize::MAX,
            };
            let end = pos.saturating_add(skip.max(1)).min(buf.len());
            if let Some(hole) = buf.get_mut(pos..end) {
                hole.fill(0);
            }
            pos = end;
        }
    }
    Ok(())
}

fn read_retrying<S: MemorySource + ?Sized>(
    source: &mut S,
    addr: u64,
    buf: &mut [u8],
) -> Result<usize, WriteError> {
    loop {
        match source.read_at(addr, buf) {
            Ok(n) if n > buf.len() => {
                return Err(WriteError::SourceOverread {
                    addr,
                    requested: buf.len(),
                    returned: n,
                })
            }
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(WriteError::Source { addr, source }),
        }
    }
}
