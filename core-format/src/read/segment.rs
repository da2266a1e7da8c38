use super::{MemoryAt, ProgramHeaderIter};
use crate::raw;

/// A `PT_LOAD` segment: a mapping of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'data> {
    /// The program header.
    pub phdr: raw::Elf64_Phdr,
    data: &'data [u8],
}

impl<'data> Segment<'data> {
    pub(crate) fn new(file: &'data [u8], phdr: raw::Elf64_Phdr) -> Segment<'data> {
        let start = usize::try_from(phdr.p_offset).unwrap_or(usize::MAX);
        let len = usize::try_from(phdr.p_filesz).unwrap_or(usize::MAX);
        let avail = file.get(start..).unwrap_or(&[]);
        let data = avail.get(..len).unwrap_or(avail);
        Segment { phdr, data }
    }

    /// Start address.
    pub fn vaddr(&self) -> u64 {
        self.phdr.p_vaddr
    }

    /// Size in memory.
    pub fn memsz(&self) -> u64 {
        self.phdr.p_memsz
    }

    /// Bytes the header says are in the file.
    pub fn filesz(&self) -> u64 {
        self.phdr.p_filesz
    }

    /// File offset of the data.
    pub fn offset(&self) -> u64 {
        self.phdr.p_offset
    }

    /// `PF_R | PF_W | PF_X`.
    pub fn flags(&self) -> u32 {
        self.phdr.p_flags
    }

    /// End address (exclusive), saturating.
    pub fn end(&self) -> u64 {
        self.phdr.p_vaddr.saturating_add(self.phdr.p_memsz)
    }

    /// The bytes present in the file: the first `filesz` bytes of the
    /// mapping, fewer if the file is truncated.
    pub fn data(&self) -> &'data [u8] {
        self.data
    }

    /// Whether the file is shorter than `p_offset + p_filesz`.
    pub fn is_truncated(&self) -> bool {
        (self.data.len() as u64) < self.phdr.p_filesz
    }

    /// Whether `vaddr` falls in this mapping.
    pub fn contains(&self, vaddr: u64) -> bool {
        vaddr >= self.vaddr() && vaddr < self.end()
    }

    /// What this segment holds at `vaddr`.
    pub fn memory_at(&self, vaddr: u64) -> MemoryAt<'data> {
        if !self.contains(vaddr) {
            return MemoryAt::NotMapped;
        }
        let off = usize::try_from(vaddr.saturating_sub(self.vaddr())).unwrap_or(usize::MAX);
        match self.data.get(off..) {
            Some(rest) if !rest.is_empty() => MemoryAt::Present(rest),
            _ => MemoryAt::NotInFile,
        }
    }
}

/// Iterator over the `PT_LOAD` segments.
#[derive(Debug, Clone)]
pub struct SegmentIter<'data> {
    data: &'data [u8],
    phdrs: ProgramHeaderIter<'data>,
}

impl<'data> SegmentIter<'data> {
    pub(crate) fn new(data: &'data [u8], phdrs: ProgramHeaderIter<'data>) -> SegmentIter<'data> {
        SegmentIter { data, phdrs }
    }
}

impl<'data> Iterator for SegmentIter<'data> {
    type Item = Segment<'data>;

    fn next(&mut self) -> Option<Segment<'data>> {
        let data = self.data;
        self.phdrs
            .by_ref()
            .find(|ph| ph.p_type == raw::PT_LOAD)
            .map(|ph| Segment::new(data, ph))
    }
}
