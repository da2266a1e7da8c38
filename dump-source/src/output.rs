//! The one implementation of how a dump writer pushes a file to a [`Sink`]:
//! metadata as is, memory pulled from a [`MemorySource`] through one buffer,
//! and which bytes become holes. Both format crates' writers stream through
//! it, so an ELF core and a minidump of the same memory have the same holes.

use std::fmt;
use std::io;
use std::ops::Range;

use crate::sink::ZEROS;
use crate::{Lent, MemorySource, Sink, WriteOptions, WriteStats, PAGE};

/// Why [`Output`] stopped; each format crate turns it into its own
/// `WriteError`.
#[derive(Debug)]
#[non_exhaustive]
pub enum OutputError {
    /// The sink failed.
    Sink {
        /// File offset the writer had reached.
        offset: u64,
        /// The sink's error.
        source: io::Error,
    },
    /// The memory source failed (not a short read: those are holes).
    Memory {
        /// Address of the failed request.
        addr: u64,
        /// Length of the failed request.
        len: u64,
        /// The source's error.
        source: io::Error,
    },
    /// The memory source claimed to have read more bytes than asked for
    /// (a bug in the source).
    Overread {
        /// Address of the request.
        addr: u64,
        /// Bytes asked for.
        requested: usize,
        /// Bytes it claimed.
        returned: usize,
    },
    /// [`Output::pad_to`] was asked for an offset already passed (a bug in
    /// the writer's layout).
    Backwards {
        /// The offset asked for.
        offset: u64,
        /// Where the output already was.
        position: u64,
    },
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputError::Sink { offset, .. } => {
                write!(f, "writing the dump at file offset {offset:#x} failed")
            }
            OutputError::Memory { addr, len, .. } => {
                write!(f, "reading memory at {addr:#x} ({len} bytes) failed")
            }
            OutputError::Overread {
                addr,
                requested,
                returned,
            } => write!(
                f,
                "memory source returned {returned} bytes for a {requested}-byte read at {addr:#x}"
            ),
            OutputError::Backwards { offset, position } => write!(
                f,
                "layout went backwards: asked for file offset {offset:#x} at {position:#x} (internal error)"
            ),
        }
    }
}

impl std::error::Error for OutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OutputError::Sink { source, .. } | OutputError::Memory { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A file being pushed to a [`Sink`], front to back, with its position and
/// [`WriteStats`] kept; what both format crates' writers stream through.
///
/// A writer plans its layout, then calls [`write`](Self::write) for
/// metadata, [`pad_to`](Self::pad_to) for padding, [`memory`](Self::memory)
/// for each memory range, and [`finish`](Self::finish). The hole rules,
/// the same for every format:
///
/// - padding, memory the source reports absent
///   ([`MemorySource::present_ranges`]) and memory it cannot read (the
///   short-read rule of [`MemorySource`]) are holes;
/// - with [`WriteOptions::zero_pages_as_holes`], so is every all-zero page
///   of memory — pages of the file (aligned to file offsets, so that a
///   sparse file frees whole blocks), split at runs shorter than
///   [`WriteOptions::min_hole`];
/// - consecutive holes reach the sink as one
///   [`write_hole`](Sink::write_hole) (or, around memory the sink lends,
///   [`Lent::Hole`] parts: see below), and a file never ends with a hole:
///   the last page of a trailing hole is written as zeros, so the file has
///   its full length on every sink without a truncate.
///
/// Memory is read in requests of at most [`WriteOptions::buffer_size`],
/// each ending on a page of the file when it can: into memory the sink
/// lends ([`Sink::lend`]: no copy, the sink is told which parts were data
/// and which zero pages with [`Sink::commit_lent`]), else into the
/// writer's one buffer, from which data goes to
/// [`write_all`](Sink::write_all).
///
/// ```
/// use coroner_dump_source::{BytesAt, Output, WriteOptions};
/// let mut memory = BytesAt::new(0x1000, vec![0u8; 0x3000]);
/// let mut file = Vec::new();
/// let mut out = Output::new(&mut file, &WriteOptions::default(), 0x3000);
/// out.write(b"header")?;
/// out.pad_to(0x1000)?;
/// out.memory(&mut memory, 0x1000, 0x3000)?;
/// let stats = out.finish()?;
/// assert_eq!(stats.file_size, 0x4000);
/// assert_eq!(stats.zero_page_bytes, 0x3000);
/// assert_eq!(file.len(), 0x4000);
/// # Ok::<(), coroner_dump_source::OutputError>(())
/// ```
#[derive(Debug)]
pub struct Output<'a, S: ?Sized> {
    sink: &'a mut S,
    options: WriteOptions,
    /// Offset of the next byte of the file (holes not yet passed included).
    pos: u64,
    /// Hole bytes decided but not yet passed to the sink.
    pending_hole: u64,
    stats: WriteStats,
    /// The one memory buffer, allocated at the first memory range read
    /// through it (never when the sink lends its memory).
    buf: Vec<u8>,
    buf_len: usize,
    /// `present_ranges` answers, reused.
    ranges: Vec<Range<u64>>,
    /// What a read held, data and zero pages, reused.
    parts: Vec<Lent>,
    /// Whether the sink lends memory ([`Sink::lend`]), once it has been
    /// asked.
    sink_lends: Option<bool>,
}

/// The start of the [`PAGE`] after the one holding `at` (an address or a
/// file offset).
fn next_page(at: u64) -> u64 {
    (at | (PAGE - 1)).saturating_add(1)
}

/// Whether every byte is zero; compares 64-byte blocks (vectorised) and
/// stops at the first nonzero block. What the writer uses to find pages of
/// zeros, for callers that must agree with it.
///
/// ```
/// assert!(coroner_dump_source::is_zero(&[0u8; 4096]));
/// assert!(!coroner_dump_source::is_zero(&[0, 0, 1]));
/// ```
pub fn is_zero(bytes: &[u8]) -> bool {
    let mut blocks = bytes.chunks_exact(64);
    let blocks_zero = blocks
        .by_ref()
        .all(|b| b.iter().fold(0u8, |acc, &x| acc | x) == 0);
    blocks_zero && blocks.remainder().iter().all(|&x| x == 0)
}

impl<'a, S: Sink + ?Sized> Output<'a, S> {
    /// Start a file at offset 0 of `sink`. `largest_memory` is the longest
    /// range [`memory`](Self::memory) will be asked for: the buffer is no
    /// larger than it needs (a small dump does not fault in megabytes).
    pub fn new(sink: &'a mut S, options: &WriteOptions, largest_memory: u64) -> Output<'a, S> {
        let page = usize::try_from(PAGE).unwrap_or(4096);
        let needed = usize::try_from(next_page(largest_memory.saturating_sub(1)))
            .unwrap_or(usize::MAX)
            .max(page);
        Output {
            sink,
            options: *options,
            pos: 0,
            pending_hole: 0,
            stats: WriteStats::default(),
            buf: Vec::new(),
            buf_len: options.buffer_size.max(page).min(needed),
            ranges: Vec::new(),
            parts: Vec::new(),
            sink_lends: None,
        }
    }

    /// The offset the next byte goes to.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn sink_error(&self, source: io::Error) -> OutputError {
        OutputError::Sink {
            offset: self.pos,
            source,
        }
    }

    /// Pass the pending hole to the sink.
    fn release_hole(&mut self) -> Result<(), OutputError> {
        let hole = std::mem::take(&mut self.pending_hole);
        if hole > 0 {
            self.sink
                .write_hole(hole)
                .map_err(|source| OutputError::Sink {
                    offset: self.pos.saturating_sub(hole),
                    source,
                })?;
            self.stats.hole_bytes = self.stats.hole_bytes.saturating_add(hole);
        }
        Ok(())
    }

    /// Append `bytes` as they are (metadata: no hole detection).
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.release_hole()?;
        self.sink
            .write_all(bytes)
            .map_err(|source| self.sink_error(source))?;
        let n = bytes.len() as u64;
        self.pos = self.pos.saturating_add(n);
        self.stats.bytes_written = self.stats.bytes_written.saturating_add(n);
        Ok(())
    }

    /// Append `len` zero bytes as a hole.
    pub fn hole(&mut self, len: u64) {
        self.pending_hole = self.pending_hole.saturating_add(len);
        self.pos = self.pos.saturating_add(len);
    }

    /// A hole up to file offset `offset` (padding).
    pub fn pad_to(&mut self, offset: u64) -> Result<(), OutputError> {
        let len = offset.checked_sub(self.pos).ok_or(OutputError::Backwards {
            offset,
            position: self.pos,
        })?;
        self.hole(len);
        Ok(())
    }

    /// Append the `len` bytes of memory at `addr`, pulled from `memory`
    /// through the buffer, with the hole rules of the type docs. Bytes
    /// past the end of the address space are unreadable.
    pub fn memory<M: MemorySource + ?Sized>(
        &mut self,
        memory: &mut M,
        addr: u64,
        len: u64,
    ) -> Result<(), OutputError> {
        let readable = len.min(u64::MAX.saturating_sub(addr));
        let end = addr.saturating_add(readable);
        let mut ranges = std::mem::take(&mut self.ranges);
        let copied = self.windows(memory, addr, end, &mut ranges);
        self.ranges = ranges;
        copied?;
        self.unreadable(len.saturating_sub(readable));
        Ok(())
    }

    /// `[start, end)` window by window: ask which parts hold data, copy
    /// those, leave the rest as holes.
    fn windows<M: MemorySource + ?Sized>(
        &mut self,
        memory: &mut M,
        start: u64,
        end: u64,
        ranges: &mut Vec<Range<u64>>,
    ) -> Result<(), OutputError> {
        let window = self.options.hint_window.max(PAGE);
        let mut win_start = start;
        while win_start < end {
            let win_end = end.min(win_start.saturating_add(window));
            ranges.clear();
            if memory.present_ranges(win_start, win_end, ranges).is_err() {
                ranges.clear();
                ranges.push(win_start..win_end);
            }
            if ranges
                .windows(2)
                .any(|w| w.first().map(|r| r.start) > w.get(1).map(|r| r.start))
            {
                ranges.sort_unstable_by_key(|r| r.start);
            }
            let mut cur = win_start;
            for r in ranges.iter() {
                let s = r.start.max(cur);
                let e = r.end.min(win_end);
                if s >= e {
                    continue;
                }
                self.absent(s.saturating_sub(cur));
                self.copy(memory, s, e)?;
                cur = e;
            }
            self.absent(win_end.saturating_sub(cur));
            win_start = win_end;
        }
        Ok(())
    }

    fn absent(&mut self, len: u64) {
        self.stats.absent_bytes = self.stats.absent_bytes.saturating_add(len);
        self.hole(len);
    }

    fn unreadable(&mut self, len: u64) {
        self.stats.unreadable_bytes = self.stats.unreadable_bytes.saturating_add(len);
        self.hole(len);
    }

    /// Read `[start, end)` request by request: straight into memory the
    /// sink lends ([`Sink::lend`]) when it does, else through the buffer.
    fn copy<M: MemorySource + ?Sized>(
        &mut self,
        memory: &mut M,
        start: u64,
        end: u64,
    ) -> Result<(), OutputError> {
        let cap = self.buf_len as u64;
        let mut addr = start;
        while addr < end {
            let n = self.request_len(cap.min(end.saturating_sub(addr)));
            let (got, asked) = self.read_one(memory, addr, n)?;
            self.stats.memory_read_bytes = self.stats.memory_read_bytes.saturating_add(got as u64);
            let request_end = addr.saturating_add(asked as u64);
            if got < asked {
                // The short-read rule (MemorySource): the byte at
                // `addr + got` is unreadable; a hole to the end of its page,
                // then ask again from the next page.
                let bad = addr.saturating_add(got as u64);
                let hole_end = next_page(bad).min(request_end).max(bad.saturating_add(1));
                self.unreadable(hole_end.saturating_sub(bad));
                addr = hole_end;
            } else {
                addr = request_end;
            }
        }
        Ok(())
    }

    /// `n` bytes, less what passes the last page boundary of the file when
    /// that leaves some: requests end on a page of the file when they can,
    /// so zero pages line up with the file's blocks.
    fn request_len(&self, n: u64) -> u64 {
        to_file_page(self.pos, n)
    }

    /// One request of up to `n` bytes at `addr`, appended to the file with
    /// its zero pages as holes: (bytes read, bytes asked for).
    fn read_one<M: MemorySource + ?Sized>(
        &mut self,
        memory: &mut M,
        addr: u64,
        n: u64,
    ) -> Result<(usize, usize), OutputError> {
        let want = usize::try_from(n).unwrap_or(usize::MAX).max(1);
        // Whether to ask the sink for memory: not once it has said no, and
        // not before it has said yes while a hole is pending (the hole
        // would reach the sink apart from the holes after it).
        let ask = self.sink_lends.unwrap_or(self.pending_hole == 0);
        let lent = if ask {
            // The sink's position must be the file's for its memory to be.
            self.release_hole()?;
            match self.sink.lend(want) {
                Ok(lent) => {
                    self.sink_lends = Some(lent.is_some());
                    lent
                }
                Err(source) => {
                    return Err(OutputError::Sink {
                        offset: self.pos,
                        source,
                    })
                }
            }
        } else {
            None
        };
        let (pos, options) = (self.pos, self.options);
        if let Some(lent) = lent.filter(|l| !l.is_empty()) {
            // The sink's slice may be shorter than asked: end it on a page
            // of the file again.
            let len = usize::try_from(to_file_page(pos, lent.len() as u64))
                .unwrap_or(lent.len())
                .min(lent.len());
            let dst = lent.get_mut(..len).unwrap_or_default();
            let got = read(memory, addr, dst)?;
            self.parts.clear();
            split_zero_pages(
                &options,
                pos,
                dst.get(..got).unwrap_or(&[]),
                &mut self.parts,
            );
            // A trailing zero run stays pending, to join the holes after it.
            let trailing = match self.parts.last() {
                Some(&Lent::Hole(z)) => {
                    self.parts.pop();
                    z
                }
                _ => 0,
            };
            if !self.parts.is_empty() {
                self.sink
                    .commit_lent(&self.parts)
                    .map_err(|source| self.sink_error(source))?;
            }
            let parts = std::mem::take(&mut self.parts);
            for part in &parts {
                let n = part.len() as u64;
                self.pos = self.pos.saturating_add(n);
                match part {
                    Lent::Data(_) => {
                        self.stats.bytes_written = self.stats.bytes_written.saturating_add(n)
                    }
                    Lent::Hole(_) => {
                        self.stats.zero_page_bytes = self.stats.zero_page_bytes.saturating_add(n);
                        self.stats.hole_bytes = self.stats.hole_bytes.saturating_add(n);
                    }
                }
            }
            self.parts = parts;
            self.zero_pages(trailing);
            return Ok((got, len));
        }
        if self.buf.len() < self.buf_len {
            self.buf = vec![0u8; self.buf_len];
        }
        let mut buf = std::mem::take(&mut self.buf);
        let len = want.min(buf.len());
        let dst = buf.get_mut(..len).unwrap_or_default();
        let emitted = read(memory, addr, dst).and_then(|got| {
            self.emit(dst.get(..got).unwrap_or(&[]))?;
            Ok(got)
        });
        self.buf = buf;
        Ok((emitted?, len))
    }

    /// Append memory `data`, turning all-zero pages of the file into holes.
    fn emit(&mut self, data: &[u8]) -> Result<(), OutputError> {
        let mut parts = std::mem::take(&mut self.parts);
        parts.clear();
        split_zero_pages(&self.options, self.pos, data, &mut parts);
        let mut at = 0usize;
        let mut result = Ok(());
        for part in &parts {
            let next = at.saturating_add(part.len());
            match part {
                Lent::Data(_) => {
                    result = self.write(data.get(at..next).unwrap_or(&[]));
                    if result.is_err() {
                        break;
                    }
                }
                Lent::Hole(n) => self.zero_pages(*n),
            }
            at = next;
        }
        self.parts = parts;
        result
    }

    fn zero_pages(&mut self, len: usize) {
        let n = len as u64;
        self.stats.zero_page_bytes = self.stats.zero_page_bytes.saturating_add(n);
        self.hole(n);
    }

    /// End the file: a trailing hole's last page (from its file page
    /// boundary) is written as zeros, then the sink is finished.
    pub fn finish(mut self) -> Result<WriteStats, OutputError> {
        if self.pending_hole > 0 {
            let in_last_page = self.pos.saturating_sub(1) % PAGE;
            let tail = self.pending_hole.min(in_last_page.saturating_add(1));
            self.pending_hole = self.pending_hole.saturating_sub(tail);
            self.release_hole()?;
            let zeros = usize::try_from(tail)
                .ok()
                .and_then(|n| ZEROS.get(..n))
                .unwrap_or(&[]);
            self.sink
                .write_all(zeros)
                .map_err(|source| self.sink_error(source))?;
            self.stats.bytes_written = self.stats.bytes_written.saturating_add(tail);
        }
        self.sink
            .finish()
            .map_err(|source| self.sink_error(source))?;
        self.stats.file_size = self.pos;
        Ok(self.stats)
    }
}

/// `n` bytes from file offset `pos`, less what passes the last page
/// boundary of the file when that leaves some.
fn to_file_page(pos: u64, n: u64) -> u64 {
    let over = pos.saturating_add(n) % PAGE;
    if over != 0 && n > over {
        n.saturating_sub(over)
    } else {
        n
    }
}

/// `data`, the file's bytes from offset `start`, as data and runs of
/// all-zero pages of the file (holes), in order and covering it all:
/// with [`WriteOptions::zero_pages_as_holes`], every all-zero page is a
/// hole, except interior runs shorter than [`WriteOptions::min_hole`],
/// which stay in the data around them; without it, all data.
fn split_zero_pages(options: &WriteOptions, start: u64, data: &[u8], parts: &mut Vec<Lent>) {
    let len = data.len();
    if len == 0 {
        return;
    }
    if !options.zero_pages_as_holes {
        parts.push(Lent::Data(len));
        return;
    }
    // `data_start..` is pending data (it may contain short zero runs);
    // `zero_start..` the current run of zero pages.
    let mut data_start: Option<usize> = None;
    let mut zero_start: Option<usize> = None;
    let mut at = 0usize;
    while at < len {
        let page_pos = start.saturating_add(at as u64);
        let step = usize::try_from(next_page(page_pos).saturating_sub(page_pos)).unwrap_or(len);
        let next = at.saturating_add(step).min(len);
        if is_zero(data.get(at..next).unwrap_or(&[])) {
            zero_start.get_or_insert(at);
        } else {
            if let Some(z) = zero_start.take() {
                let interior_and_short =
                    data_start.is_some() && (at.saturating_sub(z) as u64) < options.min_hole;
                if !interior_and_short {
                    if let Some(d) = data_start.take() {
                        parts.push(Lent::Data(z.saturating_sub(d)));
                    }
                    parts.push(Lent::Hole(at.saturating_sub(z)));
                }
            }
            data_start.get_or_insert(at);
        }
        at = next;
    }
    let data_end = zero_start.unwrap_or(len);
    if let Some(d) = data_start {
        parts.push(Lent::Data(data_end.saturating_sub(d)));
    }
    if data_end < len {
        parts.push(Lent::Hole(len.saturating_sub(data_end)));
    }
}

/// One `read_at`, retried when interrupted; a count above `buf.len()` is an
/// error.
fn read<M: MemorySource + ?Sized>(
    memory: &mut M,
    addr: u64,
    buf: &mut [u8],
) -> Result<usize, OutputError> {
    loop {
        match memory.read_at(addr, buf) {
            Ok(got) if got > buf.len() => {
                return Err(OutputError::Overread {
                    addr,
                    requested: buf.len(),
                    returned: got,
                })
            }
            Ok(got) => return Ok(got),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(OutputError::Memory {
                    addr,
                    len: buf.len() as u64,
                    source,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BytesAt, NoMemory};

    #[test]
    fn zero_detection() {
        assert!(is_zero(&[0u8; 4096]));
        assert!(is_zero(&[]));
        for i in [0usize, 63, 64, 4000, 4095] {
            let mut page = [0u8; 4096];
            page[i] = 1;
            assert!(!is_zero(&page), "byte {i}");
        }
        let mut odd = [0u8; 100];
        odd[99] = 1;
        assert!(!is_zero(&odd));
    }

    /// Records what reaches the sink.
    #[derive(Default)]
    struct Calls(Vec<(bool, u64)>);

    impl Sink for Calls {
        fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
            self.0.push((false, buf.len() as u64));
            Ok(())
        }
        fn write_hole(&mut self, len: u64) -> io::Result<()> {
            self.0.push((true, len));
            Ok(())
        }
        fn finish(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn zero_pages_are_holes_aligned_to_the_file_not_the_address() {
        // Memory at an address 0x10 past a page, placed at file offset 16:
        // the file's pages, not memory's, decide the holes.
        let mut bytes = vec![0u8; 3 * 4096];
        bytes[0] = 1;
        let mut memory = BytesAt::new(0x1010, bytes);
        let mut calls = Calls::default();
        let mut out = Output::new(&mut calls, &WriteOptions::default(), 3 * 4096);
        out.write(&[9; 16]).unwrap();
        out.memory(&mut memory, 0x1010, 3 * 4096).unwrap();
        out.write(&[9; 16]).unwrap();
        let stats = out.finish().unwrap();
        // Data in the first page of the file; the rest of the memory (two
        // whole file pages, then 16 bytes) one hole.
        assert_eq!(
            calls.0,
            [(false, 16), (false, 4080), (true, 8208), (false, 16)]
        );
        assert_eq!(stats.zero_page_bytes, 8192 + 16);
        assert_eq!(stats.file_size, 16 + 3 * 4096 + 16);
    }

    /// Lends memory in odd sizes (never more than `size`, and what is left
    /// of a fixed arena), and keeps data and holes as a `Vec<u8>` does.
    struct Lender {
        file: Vec<u8>,
        arena: Vec<u8>,
        used: usize,
        size: usize,
        lends: usize,
    }

    impl Sink for Lender {
        fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
            self.file.extend_from_slice(buf);
            Ok(())
        }
        fn write_hole(&mut self, len: u64) -> io::Result<()> {
            self.file.resize(self.file.len() + len as usize, 0);
            Ok(())
        }
        fn finish(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn lend(&mut self, max: usize) -> io::Result<Option<&mut [u8]>> {
            self.lends += 1;
            if self.arena.len() - self.used < self.size {
                self.used = 0;
            }
            // Garbage where the writer will read, to catch bytes it did not.
            let n = max.min(self.size - self.lends % 3 * 1000);
            let lent = &mut self.arena[self.used..self.used + n];
            lent.fill(0xee);
            Ok(Some(lent))
        }
        fn commit_lent(&mut self, parts: &[Lent]) -> io::Result<()> {
            for part in parts {
                match *part {
                    Lent::Data(n) => self
                        .file
                        .extend_from_slice(&self.arena[self.used..self.used + n]),
                    Lent::Hole(n) => self.file.resize(self.file.len() + n, 0),
                }
                self.used += part.len();
            }
            Ok(())
        }
    }

    #[test]
    fn memory_read_into_lent_memory_is_the_same_file() {
        // Pages of data, zeros, and zeros but for a byte, unevenly.
        let mut bytes = vec![0u8; 200 * 4096 + 300];
        for (i, page) in bytes.chunks_mut(4096).enumerate() {
            match i * 7 % 11 {
                0..=4 => page.fill(i as u8 | 1),
                5 => page[i % page.len()] = 9,
                _ => {}
            }
        }
        let len = bytes.len() as u64;
        let mut memory = BytesAt::new(0x10_0000, bytes);
        for options in [
            WriteOptions::default().with_buffer_size(64 << 10),
            WriteOptions::default()
                .with_buffer_size(40 << 10)
                .with_min_hole(2 * 4096),
        ] {
            let write = |sink: &mut dyn Sink, memory: &mut BytesAt<Vec<u8>>| {
                let mut out = Output::new(sink, &options, len);
                out.write(&[1; 10]).unwrap();
                out.memory(memory, 0x10_0000, len).unwrap();
                out.memory(&mut NoMemory, 0, 5000).unwrap();
                out.memory(memory, 0x10_0000 + 4096 * 3, len).unwrap();
                out.finish().unwrap()
            };
            let mut plain = Vec::new();
            let want = write(&mut plain, &mut memory);
            for size in [4096 * 3 + 500, 20_000, 100 << 10] {
                let mut lender = Lender {
                    file: Vec::new(),
                    arena: vec![0; 1 << 20],
                    used: 0,
                    size,
                    lends: 0,
                };
                let got = write(&mut lender, &mut memory);
                assert!(lender.file == plain, "file, lending {size}");
                if options.min_hole == PAGE {
                    assert_eq!(got, want, "stats, lending {size}");
                } else {
                    // Interior zero runs shorter than `min_hole` are data
                    // within one read only: reads of other sizes keep
                    // others.
                    assert_eq!(got.file_size, want.file_size);
                }
                assert!(lender.lends > 10);
            }
        }
    }

    #[test]
    fn a_trailing_hole_ends_with_its_last_file_page_written() {
        let mut calls = Calls::default();
        let mut out = Output::new(&mut calls, &WriteOptions::default(), 0x10000);
        out.write(&[1; 100]).unwrap();
        out.memory(&mut NoMemory, 0x1000, 0x10000).unwrap();
        let stats = out.finish().unwrap();
        // 100 + 0x10000 = 0x10064: the last page of the file starts at 0x10000.
        assert_eq!(calls.0, [(false, 100), (true, 0x10000 - 100), (false, 100)]);
        assert_eq!(stats.file_size, 0x10064);
        assert_eq!(stats.bytes_written + stats.hole_bytes, stats.file_size);
        assert_eq!(stats.absent_bytes, 0x10000);
    }

    #[test]
    fn unreadable_memory_is_a_hole_to_the_end_of_its_page_and_overreads_fail() {
        struct Stops;
        impl MemorySource for Stops {
            fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
                // Readable below 0x1800 only.
                let n = usize::try_from(0x1800u64.saturating_sub(addr)).unwrap();
                let n = n.min(buf.len());
                buf[..n].fill(7);
                Ok(n)
            }
        }
        let mut file = Vec::new();
        let mut out = Output::new(&mut file, &WriteOptions::default(), 0x2000);
        out.memory(&mut Stops, 0x1000, 0x2000).unwrap();
        let stats = out.finish().unwrap();
        assert_eq!(stats.memory_read_bytes, 0x800);
        assert_eq!(stats.unreadable_bytes, 0x1800);
        assert_eq!(&file[..0x800], &[7; 0x800][..]);
        assert!(file[0x800..].iter().all(|&b| b == 0));

        struct Liar;
        impl MemorySource for Liar {
            fn read_at(&mut self, _: u64, buf: &mut [u8]) -> io::Result<usize> {
                Ok(buf.len() + 1)
            }
        }
        let mut file = Vec::new();
        let mut out = Output::new(&mut file, &WriteOptions::default(), 16);
        assert!(matches!(
            out.memory(&mut Liar, 0, 16),
            Err(OutputError::Overread {
                requested: 16,
                returned: 17,
                ..
            })
        ));
    }

    #[test]
    fn memory_past_the_end_of_the_address_space_is_unreadable() {
        let mut file = Vec::new();
        let mut out = Output::new(&mut file, &WriteOptions::default(), 0x2000);
        out.memory(
            &mut BytesAt::new(u64::MAX - 0xfff, vec![5u8; 0x1000]),
            u64::MAX - 0xfff,
            0x2000,
        )
        .unwrap();
        let stats = out.finish().unwrap();
        assert_eq!(stats.file_size, 0x2000);
        assert_eq!(file.len(), 0x2000);
        assert_eq!(stats.memory_read_bytes, 0xfff);
    }
}
