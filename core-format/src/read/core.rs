use scroll::Pread;

use super::{
    process_notes, AuxvIter, FileNoteView, MemoryAt, MemoryMap, NoteIter, SegmentIter, ThreadIter,
    Truncation,
};
use crate::{raw, Machine, PrPsInfo, ReadError, SigInfo};

/// A parsed core file borrowing its bytes. Cheap to copy.
#[derive(Debug, Clone, Copy)]
pub struct Core<'data> {
    data: &'data [u8],
    header: raw::Elf64_Ehdr,
    phoff: usize,
    phnum: usize,
}

fn truncated(what: &'static str, offset: u64, needed: u64, data: &[u8]) -> ReadError {
    ReadError::Truncated {
        what,
        offset,
        needed,
        available: (data.len() as u64).saturating_sub(offset),
    }
}

/// Parse the ELF header and locate the program headers of a core file.
///
/// Accepts ELF64 little-endian `ET_CORE` files of any machine (registers
/// are decoded for x86_64 and aarch64 only), including `PN_XNUM` files.
///
/// ```
/// assert!(coroner_core_format::parse(b"not an elf").is_err());
/// ```
pub fn parse(data: &[u8]) -> Result<Core<'_>, ReadError> {
    let header: raw::Elf64_Ehdr = data
        .pread_with(0, scroll::LE)
        .map_err(|_| truncated("ELF header", 0, raw::EHDR_SIZE as u64, data))?;
    check_header(&header)?;
    let mut phnum = u64::from(header.e_phnum);
    if header.e_phnum == raw::PN_XNUM {
        let off = usize::try_from(header.e_shoff).unwrap_or(usize::MAX);
        let sh: raw::Elf64_Shdr = data.pread_with(off, scroll::LE).map_err(|_| {
            truncated(
                "section header 0 (PN_XNUM)",
                header.e_shoff,
                raw::SHDR_SIZE as u64,
                data,
            )
        })?;
        phnum = u64::from(sh.sh_info);
    }
    check_phentsize(&header, phnum)?;
    let table = phnum.saturating_mul(raw::PHDR_SIZE as u64);
    let fits = header
        .e_phoff
        .checked_add(table)
        .is_some_and(|end| end <= data.len() as u64);
    if !fits {
        return Err(truncated(
            "program header table",
            header.e_phoff,
            table,
            data,
        ));
    }
    Ok(Core {
        data,
        header,
        phoff: usize::try_from(header.e_phoff).unwrap_or(usize::MAX),
        phnum: usize::try_from(phnum).unwrap_or(0),
    })
}

/// Check what the ELF header alone decides: magic, class, byte order,
/// `ET_CORE`, and under `PN_XNUM` the section header entry size.
pub(crate) fn check_header(header: &raw::Elf64_Ehdr) -> Result<(), ReadError> {
    if header.e_ident.get(..4) != Some(&raw::ELFMAG[..]) {
        return Err(ReadError::BadMagic);
    }
    let class = header.e_ident.get(raw::EI_CLASS).copied().unwrap_or(0);
    let encoding = header.e_ident.get(raw::EI_DATA).copied().unwrap_or(0);
    if class != raw::ELFCLASS64 || encoding != raw::ELFDATA2LSB {
        return Err(ReadError::UnsupportedFormat {
            class,
            data: encoding,
        });
    }
    if header.e_type != raw::ET_CORE {
        return Err(ReadError::NotCore {
            e_type: header.e_type,
        });
    }
    if header.e_phnum == raw::PN_XNUM && header.e_shentsize as usize != raw::SHDR_SIZE {
        return Err(ReadError::BadEntrySize {
            what: "section header",
            expected: raw::SHDR_SIZE as u64,
            actual: u64::from(header.e_shentsize),
        });
    }
    Ok(())
}

/// Check the program header entry size once the count is known.
pub(crate) fn check_phentsize(header: &raw::Elf64_Ehdr, phnum: u64) -> Result<(), ReadError> {
    if phnum > 0 && header.e_phentsize as usize != raw::PHDR_SIZE {
        return Err(ReadError::BadEntrySize {
            what: "program header",
            expected: raw::PHDR_SIZE as u64,
            actual: u64::from(header.e_phentsize),
        });
    }
    Ok(())
}

impl<'data> Core<'data> {
    pub(crate) fn from_parts(
        data: &'data [u8],
        header: raw::Elf64_Ehdr,
        phoff: usize,
        phnum: usize,
    ) -> Core<'data> {
        Core {
            data,
            header,
            phoff,
            phnum,
        }
    }

    pub(crate) fn parts(&self) -> (raw::Elf64_Ehdr, usize, usize) {
        (self.header, self.phoff, self.phnum)
    }

    /// The whole file.
    pub fn data(&self) -> &'data [u8] {
        self.data
    }

    /// The ELF header.
    pub fn header(&self) -> &raw::Elf64_Ehdr {
        &self.header
    }

    /// `e_machine`.
    pub fn e_machine(&self) -> u16 {
        self.header.e_machine
    }

    /// The machine, if its registers are supported.
    pub fn machine(&self) -> Option<Machine> {
        Machine::from_e_machine(self.header.e_machine)
    }

    pub(crate) fn machine_or_err(&self) -> Result<Machine, ReadError> {
        self.machine().ok_or(ReadError::UnsupportedMachine {
            e_machine: self.header.e_machine,
        })
    }

    /// Number of program headers (from section header 0 under `PN_XNUM`).
    pub fn phnum(&self) -> usize {
        self.phnum
    }

    /// Whether the file uses extended numbering (`e_phnum == PN_XNUM`).
    pub fn extended_numbering(&self) -> bool {
        self.header.e_phnum == raw::PN_XNUM
    }

    /// All program headers.
    pub fn program_headers(&self) -> ProgramHeaderIter<'data> {
        ProgramHeaderIter {
            data: self.data,
            offset: self.phoff,
            remaining: self.phnum,
        }
    }

    /// The `PT_LOAD` segments, in file order.
    pub fn segments(&self) -> SegmentIter<'data> {
        SegmentIter::new(self.data, self.program_headers())
    }

    /// Every note of every `PT_NOTE` segment, in file order.
    pub fn notes(&self) -> NoteIter<'data> {
        NoteIter::new(self.data, self.program_headers())
    }

    /// The threads: each `NT_PRSTATUS` with the register notes that follow it.
    pub fn threads(&self) -> ThreadIter<'data> {
        ThreadIter::new(self.machine(), self.e_machine(), self.notes())
    }

    /// The first `CORE` note of type `n_type`, if any.
    pub fn find_note(&self, n_type: u32) -> Result<Option<super::Note<'data>>, ReadError> {
        process_notes::find_note(self.notes(), n_type)
    }

    /// `NT_PRPSINFO`.
    pub fn prpsinfo(&self) -> Result<Option<PrPsInfo>, ReadError> {
        process_notes::prpsinfo(self.notes())
    }

    /// `NT_SIGINFO` (the first one: the kernel writes one, gdb one per thread).
    pub fn siginfo(&self) -> Result<Option<SigInfo>, ReadError> {
        process_notes::siginfo(self.notes())
    }

    /// `NT_AUXV` entries up to `AT_NULL`.
    pub fn auxv(&self) -> Result<Option<AuxvIter<'data>>, ReadError> {
        process_notes::auxv(self.notes())
    }

    /// `NT_FILE`, in either convention.
    pub fn file_note(&self) -> Result<Option<FileNoteView<'data>>, ReadError> {
        process_notes::file_note(self.notes())
    }

    /// Whether the file is shorter than its program headers say, and
    /// which segments lose bytes to that (see [`Truncation`]).
    pub fn truncation(&self) -> Option<Truncation> {
        Truncation::of(&self.header, self.program_headers(), self.data.len() as u64)
    }

    /// What the core holds at `vaddr`: the bytes of the first segment (in
    /// file order) whose file data covers it, else whether any segment maps
    /// it. Linear search: build a [`MemoryMap`] for many lookups.
    pub fn memory_at(&self, vaddr: u64) -> MemoryAt<'data> {
        let mut mapped = false;
        for seg in self.segments() {
            match seg.memory_at(vaddr) {
                m @ MemoryAt::Present(_) => return m,
                MemoryAt::NotInFile => mapped = true,
                MemoryAt::NotMapped => {}
            }
        }
        if mapped {
            MemoryAt::NotInFile
        } else {
            MemoryAt::NotMapped
        }
    }

    /// Copy `buf.len()` bytes at `vaddr`, across adjacent segments.
    /// Fails with [`ReadError::NotMapped`] or [`ReadError::NotInFile`] at the
    /// first address that is not present.
    pub fn read_memory(&self, vaddr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let mut done = 0usize;
        while done < buf.len() {
            let addr = vaddr
                .checked_add(done as u64)
                .ok_or(ReadError::NotMapped { addr: u64::MAX })?;
            let bytes = match self.memory_at(addr) {
                MemoryAt::Present(b) => b,
                MemoryAt::NotInFile => return Err(ReadError::NotInFile { addr }),
                MemoryAt::NotMapped => return Err(ReadError::NotMapped { addr }),
            };
            let dst = buf.get_mut(done..).unwrap_or(&mut []);
            let n = dst.len().min(bytes.len());
            if let (Some(d), Some(s)) = (dst.get_mut(..n), bytes.get(..n)) {
                d.copy_from_slice(s);
            }
            done = done.saturating_add(n);
            if n == 0 {
                return Err(ReadError::NotInFile { addr });
            }
        }
        Ok(())
    }

    /// An index of the segments sorted by address, for fast lookups and as
    /// a [`MemorySource`](crate::write::MemorySource) to rewrite the core.
    pub fn memory_map(&self) -> Result<MemoryMap<'data>, ReadError> {
        MemoryMap::new(self)
    }
}

/// Iterator over the program headers (bounds were checked by [`parse`]).
#[derive(Debug, Clone)]
pub struct ProgramHeaderIter<'data> {
    data: &'data [u8],
    offset: usize,
    remaining: usize,
}

impl Iterator for ProgramHeaderIter<'_> {
    type Item = raw::Elf64_Phdr;

    fn next(&mut self) -> Option<raw::Elf64_Phdr> {
        if self.remaining == 0 {
            return None;
        }
        let ph = self.data.pread_with(self.offset, scroll::LE).ok();
        if ph.is_none() {
            self.remaining = 0;
            return None;
        }
        self.remaining = self.remaining.saturating_sub(1);
        self.offset = self.offset.saturating_add(raw::PHDR_SIZE);
        ph
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}
