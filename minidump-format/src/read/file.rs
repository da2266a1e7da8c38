use std::io;
use std::ops::Range;

use scroll::Pread;

use super::source::{read_up_to, ReadAt};
use super::{Minidump, DIRECTORY_SIZE};
use crate::error::ReadError;
use crate::raw::{self, MINIDUMP_DIRECTORY, MINIDUMP_HEADER};

/// The most bytes of header, directory, streams and the records they point
/// at (everything but memory) [`MinidumpFile::open`] loads. Real minidumps
/// stay far below it; it bounds what a hostile file can make the reader
/// allocate.
pub const MAX_METADATA: u64 = 256 << 20;

const HEADER_SIZE: u64 = 32;

/// Why a minidump file could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Reading the file failed.
    #[error("reading the minidump at offset {offset:#x} failed")]
    Io {
        /// Where the read started.
        offset: u64,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The header, directory or a stream is malformed or cut short.
    #[error(transparent)]
    Format(#[from] ReadError),
    /// Everything but the memory is larger than [`MAX_METADATA`].
    #[error("the minidump's streams and records take {size} bytes besides its memory, more than the {limit} this reader loads: the file is corrupt")]
    TooLarge {
        /// Bytes they would take.
        size: u64,
        /// [`MAX_METADATA`].
        limit: u64,
    },
}

/// Where the bytes of one dumped memory range lie in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryLocation {
    /// Address of the first byte.
    pub start: u64,
    /// File offset of the first byte.
    pub offset: u64,
    /// Bytes the descriptor gives.
    pub size: u64,
}

impl MemoryLocation {
    /// The addresses.
    pub fn range(&self) -> Range<u64> {
        self.start..self.start.saturating_add(self.size)
    }

    /// The file offsets.
    pub fn file_range(&self) -> Range<u64> {
        self.offset..self.offset.saturating_add(self.size)
    }
}

/// A minidump file shorter than its memory descriptors say: memory ranges
/// run past its end. (Writers put memory last, so a cut file loses memory
/// first. A stream or a record a stream points at — a context, a name —
/// that runs past the end, with all memory present, is more likely a
/// corrupt size, and shows when it is read, as an out-of-bounds error.)
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Truncation {
    /// Bytes in the file.
    pub file_len: u64,
    /// Bytes the directory and the memory descriptors describe.
    pub expected_len: u64,
    /// Streams whose bytes run past the end of the file.
    pub streams: Vec<u32>,
    /// The memory ranges whose bytes run past the end of the file (each
    /// address range once, Memory64List first).
    pub ranges: Vec<TruncatedRange>,
}

/// A memory range that lost bytes to a truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TruncatedRange {
    /// The range as its descriptor gives it.
    pub location: MemoryLocation,
    /// Bytes of it the file holds.
    pub present: u64,
}

impl TruncatedRange {
    /// The addresses whose bytes should be in the file but are not.
    pub fn missing(&self) -> Range<u64> {
        let r = self.location.range();
        r.start.saturating_add(self.present.min(self.location.size))..r.end
    }
}

impl Truncation {
    /// How many bytes the file lacks.
    pub fn missing_bytes(&self) -> u64 {
        self.expected_len.saturating_sub(self.file_len)
    }

    /// How many bytes of process memory the ranges lack.
    pub fn missing_memory(&self) -> u64 {
        self.ranges
            .iter()
            .map(|r| {
                let m = r.missing();
                m.end.saturating_sub(m.start)
            })
            .sum()
    }

    /// Whether the memory at `addr` should be in the file but is not.
    pub fn is_missing(&self, addr: u64) -> bool {
        self.ranges.iter().any(|r| r.missing().contains(&addr))
    }
}

/// A minidump read from disk without loading its memory: [`open`](Self::open)
/// reads the header, the directory, the streams and the records they point
/// at (contexts, names, CodeView records), and leaves the dumped memory in
/// the file, to be read through [`memory`](Self::memory). The counterpart of
/// [`Minidump`] for files that may be larger than RAM.
///
/// ```
/// use coroner_minidump_format::{model::*, read::MinidumpFile, write::{MemorySource, SliceSource}};
/// let memory = vec![7u8; 64];
/// let mut model = MinidumpModel::default();
/// model.threads.push(Thread { thread_id: 5, ..Default::default() });
/// model.memory64_list.push(MemoryRange { start: 0x1000, size: 64 });
/// let mut file = Vec::new();
/// model.write(&mut SliceSource::new(0x1000, &memory), &mut file).unwrap();
///
/// let dump = MinidumpFile::open(file.as_slice())?; // or a std::fs::File
/// let thread = dump.metadata().threads()?.unwrap().iter().next().unwrap()?;
/// assert_eq!(thread.thread_id(), 5);
/// assert_eq!(dump.memory_locations()[0].range(), 0x1000..0x1040);
/// let mut buf = [0u8; 8];
/// assert_eq!(dump.memory().read_at(0x103c, &mut buf)?, 4); // the range ends there
/// assert_eq!(dump.truncation(), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct MinidumpFile<R> {
    source: R,
    file_len: u64,
    metadata: Minidump<Vec<u8>>,
    memory64: Vec<MemoryLocation>,
    memory32: Vec<MemoryLocation>,
    stacks: Vec<MemoryLocation>,
    truncated_streams: Vec<u32>,
    directory_end: u64,
    streams_end: u64,
}

/// Sorted, merged `ranges`.
fn merged(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_unstable_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// An image of the file as long as the furthest of `windows` (clipped to
/// `file_len`), holding the file's bytes there and zeros elsewhere. The
/// zeros are never written, so they cost address space, not memory.
fn load<R: ReadAt + ?Sized>(
    source: &R,
    file_len: u64,
    windows: impl IntoIterator<Item = Range<u64>>,
) -> Result<Vec<u8>, FileError> {
    let windows = merged(
        windows
            .into_iter()
            .map(|w| w.start.min(file_len)..w.end.min(file_len))
            .collect(),
    );
    let size: u64 = windows.iter().map(|w| w.end.saturating_sub(w.start)).sum();
    if size > MAX_METADATA {
        return Err(FileError::TooLarge {
            size,
            limit: MAX_METADATA,
        });
    }
    let len = windows.last().map_or(0, |w| w.end);
    let too_large = || FileError::TooLarge {
        size: len,
        limit: MAX_METADATA,
    };
    let mut image = vec![0u8; usize::try_from(len).map_err(|_| too_large())?];
    for w in windows {
        let range = usize::try_from(w.start)
            .ok()
            .zip(usize::try_from(w.end).ok());
        let Some(buf) = range.and_then(|(a, b)| image.get_mut(a..b)) else {
            continue;
        };
        read_up_to(source, w.start, buf).map_err(|source| FileError::Io {
            offset: w.start,
            source,
        })?;
    }
    Ok(image)
}

impl<R: ReadAt> MinidumpFile<R> {
    /// Read and check the header and directory, and load everything the
    /// streams hold or point at but memory.
    pub fn open(source: R) -> Result<MinidumpFile<R>, FileError> {
        let file_len = source
            .size()
            .map_err(|source| FileError::Io { offset: 0, source })?;
        let head = load(&source, file_len, std::iter::once(0..HEADER_SIZE))?;
        // Header problems are reported exactly as the in-memory reader does.
        let header: MINIDUMP_HEADER = match head.pread_with(0, scroll::LE) {
            Ok(h) => h,
            Err(_) => {
                return Err(Minidump::new(head).err().map_or(
                    FileError::Format(ReadError::OutOfBounds {
                        what: "MINIDUMP_HEADER",
                        offset: 0,
                        expected: HEADER_SIZE,
                        actual: file_len,
                    }),
                    FileError::Format,
                ))
            }
        };
        if header.signature != raw::MINIDUMP_SIGNATURE {
            return Err(ReadError::BadSignature {
                actual: header.signature,
            }
            .into());
        }
        if header.version & 0xffff != raw::MINIDUMP_VERSION {
            return Err(ReadError::BadVersion {
                actual: header.version,
            }
            .into());
        }
        let dir = u64::from(header.stream_directory_rva);
        let dir_len = u64::from(header.stream_count).saturating_mul(DIRECTORY_SIZE);
        let directory_end = dir.saturating_add(dir_len);
        if directory_end > file_len {
            return Err(ReadError::OutOfBounds {
                what: "stream directory",
                offset: dir,
                expected: dir_len,
                actual: file_len.saturating_sub(dir),
            }
            .into());
        }
        // The streams themselves.
        let dir_bytes = load(&source, file_len, std::iter::once(dir..directory_end))?;
        let mut windows = vec![0..HEADER_SIZE, dir..directory_end];
        let mut truncated_streams = Vec::new();
        let mut streams_end = directory_end;
        for i in 0..header.stream_count {
            let at = dir.saturating_add(u64::from(i).saturating_mul(DIRECTORY_SIZE));
            let entry: MINIDUMP_DIRECTORY = usize::try_from(at)
                .ok()
                .and_then(|at| dir_bytes.pread_with(at, scroll::LE).ok())
                .ok_or(ReadError::OutOfBounds {
                    what: "MINIDUMP_DIRECTORY",
                    offset: at,
                    expected: DIRECTORY_SIZE,
                    actual: file_len.saturating_sub(at),
                })?;
            let start = u64::from(entry.location.rva);
            let end = start.saturating_add(entry.location.data_size.into());
            streams_end = streams_end.max(end);
            if end > file_len {
                truncated_streams.push(entry.stream_type);
            }
            windows.push(start..end);
        }
        drop(dir_bytes);
        // Which file ranges are memory, from the streams alone.
        let (memory64, memory32, stacks) = {
            let streams = Minidump::new(load(&source, file_len, windows)?)?;
            memory_locations(&streams)?
        };
        // Everything else is metadata: load it.
        let memory = merged(
            memory64
                .iter()
                .chain(&memory32)
                .chain(&stacks)
                .map(MemoryLocation::file_range)
                .collect(),
        );
        let mut rest = Vec::with_capacity(memory.len().saturating_add(1));
        let mut at = 0u64;
        for m in &memory {
            if m.start > at {
                rest.push(at..m.start);
            }
            at = at.max(m.end);
        }
        rest.push(at..file_len);
        let metadata = Minidump::new(load(&source, file_len, rest)?)?;
        Ok(MinidumpFile {
            source,
            file_len,
            metadata,
            memory64,
            memory32,
            stacks,
            truncated_streams,
            directory_end,
            streams_end,
        })
    }

    /// The dumped memory, read from the file on demand: a
    /// [`MemorySource`](crate::write::MemorySource) (Memory64List first, as
    /// [`MemoryMap`](super::MemoryMap) searches); a truncated file's missing
    /// bytes read short.
    pub fn memory(&self) -> FileMemory<'_, R> {
        let sorted = |list: &[MemoryLocation]| {
            let mut v: Vec<MemoryLocation> = list.iter().copied().filter(|l| l.size > 0).collect();
            v.sort_unstable_by_key(|l| l.start);
            v
        };
        FileMemory {
            source: &self.source,
            file_len: self.file_len,
            lists: [sorted(&self.memory64), sorted(&self.memory32)],
        }
    }

    /// The reader back.
    pub fn into_inner(self) -> R {
        self.source
    }
}

type Locations = (
    Vec<MemoryLocation>,
    Vec<MemoryLocation>,
    Vec<MemoryLocation>,
);

/// The Memory64List's, the MemoryList's and the thread stacks' locations.
fn memory_locations(dump: &Minidump<Vec<u8>>) -> Result<Locations, ReadError> {
    let mut memory64 = Vec::new();
    if let Some(list) = dump.memory64_list()? {
        let mut offset = list.base_rva();
        for d in list.descriptors() {
            let d = d?;
            memory64.push(MemoryLocation {
                start: d.start_of_memory_range,
                offset,
                size: d.data_size,
            });
            offset = offset.saturating_add(d.data_size);
        }
    }
    let mut memory32 = Vec::new();
    if let Some(list) = dump.memory_list()? {
        for d in list.descriptors() {
            let d = d?;
            memory32.push(MemoryLocation {
                start: d.start_of_memory_range,
                offset: d.memory.rva.into(),
                size: d.memory.data_size.into(),
            });
        }
    }
    let mut stacks = Vec::new();
    if let Some(threads) = dump.threads()? {
        for t in threads.iter() {
            let d = t?.raw.stack;
            stacks.push(MemoryLocation {
                start: d.start_of_memory_range,
                offset: d.memory.rva.into(),
                size: d.memory.data_size.into(),
            });
        }
    }
    Ok((memory64, memory32, stacks))
}

impl<R> MinidumpFile<R> {
    /// The size of the file.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Everything but the memory, as a [`Minidump`] over an image of the
    /// file whose memory bytes were not loaded: streams, threads, contexts,
    /// modules and names read as from the whole file, but memory bytes
    /// read through it are zeros or out of bounds. Read memory through
    /// [`memory`](Self::memory) and [`memory_locations`](Self::memory_locations).
    pub fn metadata(&self) -> &Minidump<Vec<u8>> {
        &self.metadata
    }

    /// Every dumped range: the Memory64List's, then the MemoryList's.
    pub fn memory_locations(&self) -> Vec<MemoryLocation> {
        self.memory64
            .iter()
            .chain(&self.memory32)
            .copied()
            .collect()
    }

    /// Whether the file is shorter than its directory and descriptors say,
    /// and which streams and memory ranges lose bytes to that.
    pub fn truncation(&self) -> Option<Truncation> {
        let mut expected = self.directory_end.max(HEADER_SIZE);
        let mut ranges: Vec<TruncatedRange> = Vec::new();
        for l in self
            .memory64
            .iter()
            .chain(&self.memory32)
            .chain(&self.stacks)
        {
            let end = l.offset.saturating_add(l.size);
            expected = expected.max(end);
            if end > self.file_len && !ranges.iter().any(|r| r.location.range() == l.range()) {
                ranges.push(TruncatedRange {
                    location: *l,
                    present: self.file_len.saturating_sub(l.offset).min(l.size),
                });
            }
        }
        // Writers put memory last: a cut file loses memory first. A stream
        // alone running past the end is more likely a corrupt size, which
        // reading that stream reports.
        if ranges.is_empty() {
            return None;
        }
        Some(Truncation {
            file_len: self.file_len,
            expected_len: expected.max(self.streams_end),
            streams: self.truncated_streams.clone(),
            ranges,
        })
    }
}

/// The memory of a [`MinidumpFile`], read from the file on demand.
#[derive(Debug)]
pub struct FileMemory<'a, R> {
    source: &'a R,
    file_len: u64,
    /// Memory64List then MemoryList locations, each sorted by address.
    lists: [Vec<MemoryLocation>; 2],
}

impl<R> FileMemory<'_, R> {
    /// The location holding `addr` and the bytes of it the file holds from there.
    fn find(&self, addr: u64) -> Option<(MemoryLocation, u64)> {
        self.lists.iter().find_map(|list| {
            let idx = list.partition_point(|l| l.start <= addr);
            let l = *list.get(idx.checked_sub(1)?)?;
            let into = addr.checked_sub(l.start)?;
            let in_file = l.size.min(self.file_len.saturating_sub(l.offset));
            (into < in_file).then(|| (l, in_file.saturating_sub(into)))
        })
    }
}

impl<R: ReadAt> crate::write::MemorySource for FileMemory<'_, R> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0usize;
        while let Some(rest) = buf.get_mut(done..) {
            let Some(at) = addr.checked_add(done as u64) else {
                break;
            };
            let Some((loc, left)) = self.find(at) else {
                break;
            };
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
            let Some(dst) = rest.get_mut(..want) else {
                break;
            };
            if dst.is_empty() {
                break;
            }
            let offset = loc.offset.saturating_add(at.saturating_sub(loc.start));
            let got = read_up_to(self.source, offset, dst)?;
            done = done.saturating_add(got);
            if got < want {
                break; // the file shrank under us
            }
        }
        Ok(done)
    }
}
