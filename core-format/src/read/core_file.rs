use std::io;
use std::ops::Range;

use scroll::Pread;

use super::core::{check_header, check_phentsize};
use super::memory::{find, pieces, present_within, Piece};
use super::note::NoteSegment;
use super::source::{read_up_to, ReadAt};
use super::{process_notes, AuxvIter, FileNoteView, Note, NoteIter, ThreadIter, Truncation};
use crate::write::MemorySource;
use crate::{raw, CoreModel, Machine, PrPsInfo, ReadError, SegmentModel, SigInfo};

/// The most bytes of headers and notes [`CoreFile::open`] loads. Real cores
/// stay far below it (2,000 threads with AVX-512 state and 70,000 file
/// mappings make about 15 MiB); it bounds what a hostile header can make
/// the reader allocate.
pub const MAX_METADATA: u64 = 256 << 20;

/// Why a core file could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Reading the file failed.
    #[error("reading the core file at offset {offset:#x} failed")]
    Io {
        /// Where the read started.
        offset: u64,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The headers or notes are malformed or cut short.
    #[error(transparent)]
    Format(#[from] ReadError),
    /// The headers and notes are larger than [`MAX_METADATA`].
    #[error("the core's program headers and notes take {size} bytes, more than the {limit} this reader loads: the file is corrupt")]
    TooLarge {
        /// Bytes they would take.
        size: u64,
        /// [`MAX_METADATA`].
        limit: u64,
    },
}

/// A core file read from disk without loading it: [`open`](Self::open)
/// reads the ELF header, the program headers and the notes (a few kilobytes
/// to a few megabytes); memory is read from the file only when asked, through
/// [`memory`](Self::memory). The counterpart of [`Core`](super::Core) for
/// files that may be larger than RAM.
///
/// ```
/// # use coroner_core_format::write::{BytesAt, StreamSink};
/// # use coroner_core_format::*;
/// # let mut model = CoreModel::new(Machine::X86_64);
/// # let mut st = PrStatus::new(Registers::zeroed(Machine::X86_64));
/// # st.pid = 7;
/// # model.threads.push(ThreadModel::new(st));
/// # model.segments.push(SegmentModel::dumped(0x400000, 0x1000, raw::PF_R));
/// # let mut sink = StreamSink::new(Vec::new());
/// # model.write(&mut BytesAt { base: 0x400000, bytes: vec![0x90; 0x1000] }, &mut sink).unwrap();
/// # let bytes = sink.into_inner();
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("core");
/// # std::fs::write(&path, &bytes).unwrap();
/// use coroner_core_format::read::CoreFile;
/// use coroner_core_format::write::MemorySource;
///
/// let core = CoreFile::open(std::fs::File::open(&path)?)?;
/// assert_eq!(core.threads().next().unwrap()?.tid(), 7);
/// assert_eq!(core.truncation(), None);
/// let mut memory = core.memory();
/// let mut buf = [0u8; 4];
/// assert_eq!(memory.read_at(0x400ffe, &mut buf)?, 2); // the segment ends there
/// assert_eq!(buf[..2], [0x90, 0x90]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct CoreFile<R> {
    source: R,
    file_len: u64,
    header: raw::Elf64_Ehdr,
    phdrs: Vec<raw::Elf64_Phdr>,
    notes: Vec<NoteSegment>,
}

fn read_exact<R: ReadAt + ?Sized>(
    source: &R,
    offset: u64,
    len: u64,
    file_len: u64,
    what: &'static str,
) -> Result<Vec<u8>, FileError> {
    let available = file_len.saturating_sub(offset);
    if len > available {
        return Err(ReadError::Truncated {
            what,
            offset,
            needed: len,
            available,
        }
        .into());
    }
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
    let got =
        read_up_to(source, offset, &mut buf).map_err(|source| FileError::Io { offset, source })?;
    if got < buf.len() {
        // The file shrank while we read it.
        return Err(ReadError::Truncated {
            what,
            offset,
            needed: len,
            available: got as u64,
        }
        .into());
    }
    Ok(buf)
}

impl<R: ReadAt> CoreFile<R> {
    /// Read and check the headers and the notes of the core in `source`.
    pub fn open(source: R) -> Result<CoreFile<R>, FileError> {
        let file_len = source
            .size()
            .map_err(|source| FileError::Io { offset: 0, source })?;
        let head = read_exact(&source, 0, raw::EHDR_SIZE as u64, file_len, "ELF header")?;
        let header: raw::Elf64_Ehdr =
            head.pread_with(0, scroll::LE)
                .map_err(|_| ReadError::Truncated {
                    what: "ELF header",
                    offset: 0,
                    needed: raw::EHDR_SIZE as u64,
                    available: file_len,
                })?;
        check_header(&header)?;
        let mut phnum = u64::from(header.e_phnum);
        if header.e_phnum == raw::PN_XNUM {
            let what = "section header 0 (PN_XNUM)";
            let bytes = read_exact(
                &source,
                header.e_shoff,
                raw::SHDR_SIZE as u64,
                file_len,
                what,
            )?;
            let sh: raw::Elf64_Shdr =
                bytes
                    .pread_with(0, scroll::LE)
                    .map_err(|_| ReadError::Truncated {
                        what,
                        offset: header.e_shoff,
                        needed: raw::SHDR_SIZE as u64,
                        available: 0,
                    })?;
            phnum = u64::from(sh.sh_info);
        }
        check_phentsize(&header, phnum)?;
        let table_len = phnum.saturating_mul(raw::PHDR_SIZE as u64);
        if table_len > MAX_METADATA {
            return Err(FileError::TooLarge {
                size: table_len,
                limit: MAX_METADATA,
            });
        }
        let table = read_exact(
            &source,
            header.e_phoff,
            table_len,
            file_len,
            "program header table",
        )?;
        let phdrs = table
            .chunks_exact(raw::PHDR_SIZE)
            .filter_map(|c| c.pread_with::<raw::Elf64_Phdr>(0, scroll::LE).ok())
            .collect::<Vec<_>>();
        let mut loaded = table_len;
        let mut notes = Vec::new();
        for ph in phdrs.iter().filter(|ph| ph.p_type == raw::PT_NOTE) {
            // What the file holds of the segment; a short one is reported
            // by the note iterator, as for a core in memory.
            let present = ph.p_filesz.min(file_len.saturating_sub(ph.p_offset));
            loaded = loaded.saturating_add(present);
            if loaded > MAX_METADATA {
                return Err(FileError::TooLarge {
                    size: loaded,
                    limit: MAX_METADATA,
                });
            }
            let bytes = read_exact(&source, ph.p_offset, present, file_len, "PT_NOTE segment")?;
            notes.push(NoteSegment {
                offset: ph.p_offset,
                declared: ph.p_filesz,
                bytes,
                past_end: ph.p_offset > file_len,
            });
        }
        Ok(CoreFile {
            source,
            file_len,
            header,
            phdrs,
            notes,
        })
    }

    /// The memory of the core, read from the file on demand: a
    /// [`MemorySource`] whose present ranges are the segments' file data
    /// that the file holds (a truncated file's missing tail reads short).
    pub fn memory(&self) -> FileMemory<'_, R> {
        let segments: Vec<raw::Elf64_Phdr> = self
            .load_segments()
            .filter(|ph| ph.p_memsz > 0)
            .copied()
            .collect();
        let present = pieces(segments.iter().enumerate().map(|(i, ph)| {
            let in_file = ph
                .p_filesz
                .min(ph.p_memsz)
                .min(self.file_len.saturating_sub(ph.p_offset));
            (ph.p_vaddr, ph.p_vaddr.saturating_add(in_file), i)
        }));
        FileMemory {
            source: &self.source,
            segments,
            present,
        }
    }

    /// The reader back.
    pub fn into_inner(self) -> R {
        self.source
    }
}

impl<R> CoreFile<R> {
    /// The size of the file.
    pub fn file_len(&self) -> u64 {
        self.file_len
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

    /// All program headers (the count from section header 0 under `PN_XNUM`).
    pub fn program_headers(&self) -> &[raw::Elf64_Phdr] {
        &self.phdrs
    }

    /// The `PT_LOAD` program headers, in file order.
    pub fn load_segments(&self) -> impl Iterator<Item = &raw::Elf64_Phdr> + '_ {
        self.phdrs.iter().filter(|ph| ph.p_type == raw::PT_LOAD)
    }

    /// Every note of every `PT_NOTE` segment, in file order.
    pub fn notes(&self) -> NoteIter<'_> {
        NoteIter::loaded(&self.notes)
    }

    /// The threads: each `NT_PRSTATUS` with the register notes that follow it.
    pub fn threads(&self) -> ThreadIter<'_> {
        ThreadIter::new(self.machine(), self.e_machine(), self.notes())
    }

    /// The first `CORE` note of type `n_type`, if any.
    pub fn find_note(&self, n_type: u32) -> Result<Option<Note<'_>>, ReadError> {
        process_notes::find_note(self.notes(), n_type)
    }

    /// `NT_PRPSINFO`.
    pub fn prpsinfo(&self) -> Result<Option<PrPsInfo>, ReadError> {
        process_notes::prpsinfo(self.notes())
    }

    /// `NT_SIGINFO` (the first one).
    pub fn siginfo(&self) -> Result<Option<SigInfo>, ReadError> {
        process_notes::siginfo(self.notes())
    }

    /// `NT_AUXV` entries up to `AT_NULL`.
    pub fn auxv(&self) -> Result<Option<AuxvIter<'_>>, ReadError> {
        process_notes::auxv(self.notes())
    }

    /// `NT_FILE`, in either convention.
    pub fn file_note(&self) -> Result<Option<FileNoteView<'_>>, ReadError> {
        process_notes::file_note(self.notes())
    }

    /// Everything but the memory bytes as an owned [`CoreModel`], as
    /// [`Core::to_model`](super::Core::to_model) gives it.
    pub fn to_model(&self) -> Result<CoreModel, ReadError> {
        let machine = self.machine().ok_or(ReadError::UnsupportedMachine {
            e_machine: self.header.e_machine,
        })?;
        let segments = self.load_segments().map(|ph| SegmentModel {
            vaddr: ph.p_vaddr,
            memsz: ph.p_memsz,
            filesz: ph.p_filesz,
            flags: ph.p_flags,
        });
        process_notes::to_model(machine, self.notes(), segments)
    }

    /// Whether the file is shorter than its headers say, and which
    /// segments lose bytes to that.
    pub fn truncation(&self) -> Option<Truncation> {
        Truncation::of(&self.header, self.phdrs.iter().copied(), self.file_len)
    }
}

/// The memory of a [`CoreFile`], read from the file on demand (see
/// [`CoreFile::memory`]). Where segments overlap, an address belongs to the
/// first segment in file order whose data covers it, as in
/// [`MemoryMap`](super::MemoryMap).
#[derive(Debug)]
pub struct FileMemory<'a, R> {
    source: &'a R,
    segments: Vec<raw::Elf64_Phdr>,
    present: Vec<Piece>,
}

impl<R: ReadAt> FileMemory<'_, R> {
    /// The ranges of addresses whose bytes are in the file, sorted and
    /// non-overlapping.
    pub fn present(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.present.iter().map(|p| p.start..p.end)
    }
}

impl<R: ReadAt> MemorySource for FileMemory<'_, R> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0usize;
        while let Some(rest) = buf.get_mut(done..) {
            let Some(at) = addr.checked_add(done as u64) else {
                break;
            };
            let Some(piece) = find(&self.present, at).copied() else {
                break;
            };
            let Some(seg) = self.segments.get(piece.seg) else {
                break;
            };
            let want = usize::try_from(piece.end.saturating_sub(at))
                .unwrap_or(usize::MAX)
                .min(rest.len());
            let Some(dst) = rest.get_mut(..want) else {
                break;
            };
            if dst.is_empty() {
                break;
            }
            let offset = seg.p_offset.saturating_add(at.saturating_sub(seg.p_vaddr));
            let got = read_up_to(self.source, offset, dst)?;
            done = done.saturating_add(got);
            if got < want {
                break; // the file shrank under us
            }
        }
        Ok(done)
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        present_within(&self.present, start, end, out);
        Ok(())
    }
}
