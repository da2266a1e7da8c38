use std::io;
use std::ops::Range;

use scroll::Pwrite;

use super::{encode_notes, Layout, MemorySource, Sink, PAGE_SIZE};
use crate::{raw, CoreModel, WriteError};

/// Tuning of [`CoreWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Size of the one buffer memory is streamed through (and the largest
    /// `read_at` request). Default 4 MiB; at least one page is used.
    pub buffer_size: usize,
    /// Leave all-zero pages as holes (default `true`).
    pub zero_pages_as_holes: bool,
    /// Shortest run of zero bytes between data, within one buffer, that is
    /// left as a hole (default one page: every zero page is a hole). Shorter
    /// runs are written as zeros together with the data around them, which
    /// saves a seek and a write per run when zero and nonzero pages
    /// alternate. Runs at the start or end of a buffer are always holes.
    pub min_hole: u64,
    /// Largest range passed to [`MemorySource::present_ranges`] at once
    /// (default 256 MiB), which bounds the ranges held in memory.
    pub hint_window: u64,
}

impl Default for WriteOptions {
    fn default() -> WriteOptions {
        WriteOptions {
            buffer_size: 4 << 20,
            zero_pages_as_holes: true,
            min_hole: PAGE_SIZE,
            hint_window: 256 << 20,
        }
    }
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WriteStats {
    /// Size of the file produced.
    pub file_size: u64,
    /// Bytes passed to [`Sink::write_all`] (headers, notes, memory).
    pub bytes_written: u64,
    /// Bytes passed to [`Sink::write_hole`] (padding and all memory holes).
    pub hole_bytes: u64,
    /// Memory bytes left as holes because the source reported them absent.
    pub absent_bytes: u64,
    /// Memory bytes left as holes because a read came back short.
    pub unreadable_bytes: u64,
    /// Memory bytes left as holes because their pages were all zero.
    pub zero_page_bytes: u64,
    /// Memory bytes read from the source.
    pub memory_read_bytes: u64,
}

/// The streaming core writer. See the [module docs](crate::write).
#[derive(Debug, Clone, Default)]
pub struct CoreWriter {
    options: WriteOptions,
}

struct Out<'a, S: ?Sized> {
    sink: &'a mut S,
    pos: u64,
    stats: WriteStats,
}

impl<S: Sink + ?Sized> Out<'_, S> {
    fn io(&self, source: io::Error) -> WriteError {
        WriteError::Io {
            offset: self.pos,
            source,
        }
    }

    fn write(&mut self, buf: &[u8]) -> Result<(), WriteError> {
        if buf.is_empty() {
            return Ok(());
        }
        self.sink.write_all(buf).map_err(|e| self.io(e))?;
        let n = buf.len() as u64;
        self.pos = self.pos.saturating_add(n);
        self.stats.bytes_written = self.stats.bytes_written.saturating_add(n);
        Ok(())
    }

    fn hole(&mut self, len: u64) -> Result<(), WriteError> {
        if len == 0 {
            return Ok(());
        }
        self.sink.write_hole(len).map_err(|e| self.io(e))?;
        self.pos = self.pos.saturating_add(len);
        self.stats.hole_bytes = self.stats.hole_bytes.saturating_add(len);
        Ok(())
    }

    fn pad_to(&mut self, offset: u64) -> Result<(), WriteError> {
        match offset.checked_sub(self.pos) {
            Some(n) => self.hole(n),
            None => Err(WriteError::Overflow {
                what: "layout went backwards (internal error)",
            }),
        }
    }
}

/// Whether every byte is zero; compares 64-byte blocks (vectorised) and
/// stops at the first nonzero block.
fn is_zero(bytes: &[u8]) -> bool {
    let mut blocks = bytes.chunks_exact(64);
    let blocks_zero = blocks
        .by_ref()
        .all(|b| b.iter().fold(0u8, |acc, &x| acc | x) == 0);
    blocks_zero && blocks.remainder().iter().all(|&x| x == 0)
}

/// The start of the [`PAGE`](coroner_dump_source::PAGE) after the one
/// holding `addr` (the unit of the short-read rule).
fn next_page(addr: u64) -> u64 {
    use coroner_dump_source::PAGE;
    (addr | (PAGE - 1)).saturating_add(1)
}

impl CoreWriter {
    /// A writer with `options`.
    pub fn new(options: WriteOptions) -> CoreWriter {
        CoreWriter { options }
    }

    /// The options.
    pub fn options(&self) -> &WriteOptions {
        &self.options
    }

    /// Plan the layout of `model` and stream the file to `sink` in one pass,
    /// pulling each segment's first `filesz` bytes from `memory`.
    ///
    /// Memory goes through a single buffer of
    /// [`buffer_size`](WriteOptions::buffer_size) bytes whatever the core's
    /// size. Ranges `memory` reports absent, bytes it cannot read (short
    /// reads) and all-zero pages are passed to the sink as holes.
    pub fn write<M, S>(
        &self,
        model: &CoreModel,
        memory: &mut M,
        sink: &mut S,
    ) -> Result<WriteStats, WriteError>
    where
        M: MemorySource + ?Sized,
        S: Sink + ?Sized,
    {
        let mut notes = Vec::new();
        encode_notes(model, &mut notes)?;
        let layout = Layout::plan_with_notes_size(model, notes.len() as u64)?;
        let mut out = Out {
            sink,
            pos: 0,
            stats: WriteStats::default(),
        };

        write_headers(model, &layout, &mut out)?;
        out.pad_to(layout.notes_offset())?;
        out.write(&notes)?;
        drop(notes);

        let buffer_size = self.options.buffer_size.max(4096);
        let mut buf = vec![0u8; buffer_size];
        let mut ranges: Vec<Range<u64>> = Vec::new();
        for (seg, &offset) in model.segments.iter().zip(layout.segment_offsets()) {
            if seg.filesz == 0 {
                continue;
            }
            out.pad_to(offset)?;
            let mut stream = Stream {
                options: &self.options,
                memory: &mut *memory,
                out: &mut out,
                buf: &mut buf,
            };
            stream.segment(seg.vaddr, seg.filesz, &mut ranges)?;
        }
        out.pad_to(layout.file_size())?;
        out.sink.finish().map_err(|e| out.io(e))?;
        out.stats.file_size = out.pos;
        Ok(out.stats)
    }
}

fn write_headers<S: Sink + ?Sized>(
    model: &CoreModel,
    layout: &Layout,
    out: &mut Out<'_, S>,
) -> Result<(), WriteError> {
    const HDR: WriteError = WriteError::Overflow {
        what: "header encoding",
    };
    let [m0, m1, m2, m3] = raw::ELFMAG;
    let e_ident = [
        m0,
        m1,
        m2,
        m3,
        raw::ELFCLASS64,
        raw::ELFDATA2LSB,
        raw::EV_CURRENT,
        raw::ELFOSABI_NONE,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ];
    let phnum = layout.phnum();
    let ehdr = raw::Elf64_Ehdr {
        e_ident,
        e_type: raw::ET_CORE,
        e_machine: model.machine.e_machine(),
        e_version: u32::from(raw::EV_CURRENT),
        e_entry: 0,
        e_phoff: raw::EHDR_SIZE as u64,
        e_shoff: layout.shdr_offset(),
        e_flags: 0,
        e_ehsize: u16::try_from(raw::EHDR_SIZE).map_err(|_| HDR)?,
        e_phentsize: u16::try_from(raw::PHDR_SIZE).map_err(|_| HDR)?,
        e_phnum: if layout.extended_numbering() {
            raw::PN_XNUM
        } else {
            u16::try_from(phnum).map_err(|_| HDR)?
        },
        e_shentsize: if layout.extended_numbering() {
            u16::try_from(raw::SHDR_SIZE).map_err(|_| HDR)?
        } else {
            0
        },
        e_shnum: u16::from(layout.extended_numbering()),
        e_shstrndx: raw::SHN_UNDEF,
    };
    let mut chunk = Vec::with_capacity(64 * 1024);
    chunk.resize(raw::EHDR_SIZE, 0);
    chunk.pwrite_with(ehdr, 0, scroll::LE).map_err(|_| HDR)?;

    let put_phdr = |out: &mut Out<'_, S>,
                    chunk: &mut Vec<u8>,
                    ph: raw::Elf64_Phdr|
     -> Result<(), WriteError> {
        let at = chunk.len();
        chunk.resize(at.saturating_add(raw::PHDR_SIZE), 0);
        chunk.pwrite_with(ph, at, scroll::LE).map_err(|_| HDR)?;
        if chunk.len() >= 60 * 1024 {
            out.write(chunk)?;
            chunk.clear();
        }
        Ok(())
    };
    let note = raw::Elf64_Phdr {
        p_type: raw::PT_NOTE,
        p_flags: 0,
        p_offset: layout.notes_offset(),
        p_vaddr: 0,
        p_paddr: 0,
        p_filesz: layout.notes_size(),
        p_memsz: 0,
        p_align: 4,
    };
    put_phdr(out, &mut chunk, note)?;
    for (seg, &offset) in model.segments.iter().zip(layout.segment_offsets()) {
        let ph = raw::Elf64_Phdr {
            p_type: raw::PT_LOAD,
            p_flags: seg.flags,
            p_offset: offset,
            p_vaddr: seg.vaddr,
            p_paddr: 0,
            p_filesz: seg.filesz,
            p_memsz: seg.memsz,
            p_align: PAGE_SIZE,
        };
        put_phdr(out, &mut chunk, ph)?;
    }
    if layout.extended_numbering() {
        let sh = raw::Elf64_Shdr {
            sh_info: u32::try_from(phnum).map_err(|_| HDR)?,
            ..Default::default()
        };
        let at = chunk.len();
        chunk.resize(at.saturating_add(raw::SHDR_SIZE), 0);
        chunk.pwrite_with(sh, at, scroll::LE).map_err(|_| HDR)?;
    }
    out.write(&chunk)
}

struct Stream<'a, 'o, M: ?Sized, S: ?Sized> {
    options: &'a WriteOptions,
    memory: &'a mut M,
    out: &'a mut Out<'o, S>,
    buf: &'a mut [u8],
}

impl<M: MemorySource + ?Sized, S: Sink + ?Sized> Stream<'_, '_, M, S> {
    fn segment(
        &mut self,
        vaddr: u64,
        filesz: u64,
        ranges: &mut Vec<Range<u64>>,
    ) -> Result<(), WriteError> {
        let end = vaddr.checked_add(filesz).ok_or(WriteError::Overflow {
            what: "segment end",
        })?;
        let window = self.options.hint_window.max(PAGE_SIZE);
        let mut win_start = vaddr;
        while win_start < end {
            let win_end = end.min(win_start.saturating_add(window));
            ranges.clear();
            if self
                .memory
                .present_ranges(win_start, win_end, ranges)
                .is_err()
            {
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
                self.absent(s.saturating_sub(cur))?;
                self.copy(s, e)?;
                cur = e;
            }
            self.absent(win_end.saturating_sub(cur))?;
            win_start = win_end;
        }
        Ok(())
    }

    fn absent(&mut self, len: u64) -> Result<(), WriteError> {
        self.out.stats.absent_bytes = self.out.stats.absent_bytes.saturating_add(len);
        self.out.hole(len)
    }

    /// Read `[start, end)` through the buffer, request by request.
    fn copy(&mut self, start: u64, end: u64) -> Result<(), WriteError> {
        let cap = self.buf.len() as u64;
        let mut addr = start;
        while addr < end {
            let mut n = cap.min(end.saturating_sub(addr));
            // End requests on a page boundary when possible, so zero pages line up.
            let stop = addr.saturating_add(n);
            let over = stop % PAGE_SIZE;
            if over != 0 && n > over {
                n = n.saturating_sub(over);
            }
            let len = usize::try_from(n)
                .unwrap_or(self.buf.len())
                .min(self.buf.len());
            let got = self.read(addr, len)?;
            self.out.stats.memory_read_bytes =
                self.out.stats.memory_read_bytes.saturating_add(got as u64);
            self.emit(addr, got)?;
            let request_end = addr.saturating_add(len as u64);
            if got < len {
                // The short-read rule (coroner_dump_source::MemorySource):
                // the byte at `addr + got` is unreadable; a hole to the end
                // of its page, then ask again from the next page.
                let bad = addr.saturating_add(got as u64);
                let hole_end = next_page(bad).min(request_end).max(bad.saturating_add(1));
                let missing = hole_end.saturating_sub(bad);
                self.out.stats.unreadable_bytes =
                    self.out.stats.unreadable_bytes.saturating_add(missing);
                self.out.hole(missing)?;
                addr = hole_end;
            } else {
                addr = request_end;
            }
        }
        Ok(())
    }

    fn read(&mut self, addr: u64, len: usize) -> Result<usize, WriteError> {
        let Some(dst) = self.buf.get_mut(..len) else {
            return Ok(0);
        };
        loop {
            match self.memory.read_at(addr, dst) {
                Ok(got) => return Ok(got.min(len)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(WriteError::Memory {
                        addr,
                        len: len as u64,
                        source,
                    })
                }
            }
        }
    }

    /// Write `buf[..len]` (memory at `addr`), turning all-zero pages into holes.
    fn emit(&mut self, addr: u64, len: usize) -> Result<(), WriteError> {
        let data = self.buf.get(..len).unwrap_or(&[]);
        emit(self.out, self.options, addr, data)
    }
}

fn emit<S: Sink + ?Sized>(
    out: &mut Out<'_, S>,
    options: &WriteOptions,
    addr: u64,
    data: &[u8],
) -> Result<(), WriteError> {
    if !options.zero_pages_as_holes {
        return out.write(data);
    }
    let len = data.len();
    // `data_start..` is pending data (it may contain short zero runs);
    // `zero_start..` the current run of zero pages.
    let mut data_start: Option<usize> = None;
    let mut zero_start: Option<usize> = None;
    let mut at = 0usize;
    while at < len {
        let page_addr = addr.saturating_add(at as u64);
        let step = usize::try_from(next_page(page_addr).saturating_sub(page_addr)).unwrap_or(len);
        let next = at.saturating_add(step).min(len);
        if is_zero(data.get(at..next).unwrap_or(&[])) {
            zero_start.get_or_insert(at);
        } else {
            if let Some(z) = zero_start.take() {
                let interior_and_short =
                    data_start.is_some() && ((at.saturating_sub(z)) as u64) < options.min_hole;
                if !interior_and_short {
                    if let Some(d) = data_start.take() {
                        out.write(data.get(d..z).unwrap_or(&[]))?;
                    }
                    zero_hole(out, at.saturating_sub(z))?;
                }
            }
            data_start.get_or_insert(at);
        }
        at = next;
    }
    let data_end = zero_start.unwrap_or(len);
    if let Some(d) = data_start {
        out.write(data.get(d..data_end).unwrap_or(&[]))?;
    }
    zero_hole(out, len.saturating_sub(data_end))
}

fn zero_hole<S: Sink + ?Sized>(out: &mut Out<'_, S>, len: usize) -> Result<(), WriteError> {
    let n = len as u64;
    out.stats.zero_page_bytes = out.stats.zero_page_bytes.saturating_add(n);
    out.hole(n)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
