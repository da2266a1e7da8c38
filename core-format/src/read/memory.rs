use std::io;
use std::ops::Range;

use super::{Core, Segment};
use crate::write::MemorySource;
use crate::ReadError;

/// What a core holds at an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memory<'data> {
    /// The bytes from the address to the end of its segment's file data.
    Present(&'data [u8]),
    /// Mapped, but not written to the file (beyond `p_filesz`, or the file
    /// is truncated).
    NotInFile,
    /// No segment maps the address.
    NotMapped,
}

/// The segments sorted by address, for `O(log n)` lookups. Also a
/// [`MemorySource`] (present bytes readable, the rest holes), which is how a
/// parsed core is written back.
#[derive(Debug, Clone)]
pub struct MemoryMap<'data> {
    segments: Vec<Segment<'data>>,
}

impl<'data> MemoryMap<'data> {
    pub(crate) fn new(core: &Core<'data>) -> Result<MemoryMap<'data>, ReadError> {
        // phnum was checked against the file size by parse.
        let mut segments: Vec<Segment<'data>> = core.segments().filter(|s| s.memsz() > 0).collect();
        segments.sort_by_key(|s| s.vaddr());
        Ok(MemoryMap { segments })
    }

    /// The segments in address order.
    pub fn segments(&self) -> &[Segment<'data>] {
        &self.segments
    }

    /// The segment that maps `vaddr`.
    pub fn segment_at(&self, vaddr: u64) -> Option<&Segment<'data>> {
        let idx = self.segments.partition_point(|s| s.vaddr() <= vaddr);
        let seg = self.segments.get(idx.checked_sub(1)?)?;
        seg.contains(vaddr).then_some(seg)
    }

    /// What the core holds at `vaddr`.
    pub fn memory_at(&self, vaddr: u64) -> Memory<'data> {
        match self.segment_at(vaddr) {
            Some(seg) => seg.memory_at(vaddr),
            None => Memory::NotMapped,
        }
    }

    /// Copy as many bytes at `vaddr` as are present contiguously (across
    /// adjacent segments); returns the count.
    pub fn read_present(&self, vaddr: u64, buf: &mut [u8]) -> usize {
        let mut done = 0usize;
        while done < buf.len() {
            let Some(addr) = vaddr.checked_add(done as u64) else {
                break;
            };
            let Memory::Present(bytes) = self.memory_at(addr) else {
                break;
            };
            let dst = buf.get_mut(done..).unwrap_or(&mut []);
            let n = dst.len().min(bytes.len());
            if let (Some(d), Some(s)) = (dst.get_mut(..n), bytes.get(..n)) {
                d.copy_from_slice(s);
            }
            if n == 0 {
                break;
            }
            done = done.saturating_add(n);
        }
        done
    }
}

impl MemorySource for MemoryMap<'_> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.read_present(addr, buf))
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        let first = self.segments.partition_point(|s| s.end() <= start);
        for seg in self.segments.get(first..).unwrap_or(&[]) {
            if seg.vaddr() >= end {
                break;
            }
            let data_end = seg.vaddr().saturating_add(seg.data().len() as u64);
            let s = seg.vaddr().max(start);
            let e = data_end.min(end);
            if s < e {
                out.push(s..e);
            }
        }
        Ok(())
    }
}
