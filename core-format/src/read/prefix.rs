//! Parsing a core from the first bytes of its file: the ELF header, the
//! program header table and the notes are all a summary needs, and every
//! core writer puts them first. Section header 0, which holds the real
//! program header count of a core with 65,535 or more segments
//! (`PN_XNUM`), is the exception: the kernel writes it at the very end, so
//! it is read on its own and handed to [`parse_with_phnum`].
//!
//! ```
//! # use coroner_core_format::write::{BytesAt, StreamSink};
//! # use coroner_core_format::*;
//! # let mut model = CoreModel::new(Machine::X86_64);
//! # model.threads.push(ThreadModel::new(PrStatus::new(Registers::zeroed(Machine::X86_64))));
//! # model.segments.push(SegmentModel::dumped(0x400000, 0x1000, raw::PF_R));
//! # let mut sink = StreamSink::new(Vec::new());
//! # model.write(&mut BytesAt { base: 0x400000, bytes: vec![1; 0x1000] }, &mut sink).unwrap();
//! # let file = sink.into_inner();
//! use coroner_core_format::read::{metadata_end, parse_with_phnum, program_header_count, read_header, section_header_0_offset};
//!
//! let header = read_header(&file[..64])?;
//! // Under PN_XNUM, read 64 bytes at this offset of the file.
//! let sh0 = section_header_0_offset(&header).map(|at| &file[at as usize..at as usize + 64]);
//! let phnum = program_header_count(&header, sh0)?;
//! // Read the file up to the end of the program header table, then up to
//! // the end of the notes, and parse that prefix alone.
//! let core = parse_with_phnum(&file, phnum)?;
//! let prefix = &file[..metadata_end(&core) as usize];
//! let core = parse_with_phnum(prefix, phnum)?;
//! assert_eq!(core.threads().count(), 1);
//! # Ok::<(), ReadError>(())
//! ```

use scroll::Pread;

use super::core::{check_header, check_phentsize};
use super::Core;
use crate::{raw, ReadError};

fn truncated(what: &'static str, offset: u64, needed: u64, available: usize) -> ReadError {
    ReadError::Truncated {
        what,
        offset,
        needed,
        available: (available as u64).saturating_sub(offset),
    }
}

/// The ELF header at the start of `prefix`, checked as [`super::parse`]
/// checks it (the same check: ELF magic, 64-bit little-endian, `ET_CORE`,
/// section header size under `PN_XNUM`).
pub fn read_header(prefix: &[u8]) -> Result<raw::Elf64_Ehdr, ReadError> {
    let header: raw::Elf64_Ehdr = prefix
        .pread_with(0, scroll::LE)
        .map_err(|_| truncated("ELF header", 0, raw::EHDR_SIZE as u64, prefix.len()))?;
    check_header(&header)?;
    Ok(header)
}

/// Where section header 0 lies in the file when it holds the program
/// header count (`e_phnum == PN_XNUM`); `None` otherwise.
pub fn section_header_0_offset(header: &raw::Elf64_Ehdr) -> Option<u64> {
    (header.e_phnum == raw::PN_XNUM).then_some(header.e_shoff)
}

/// The number of program headers: `e_phnum`, or under `PN_XNUM` the
/// `sh_info` of section header 0, whose [`raw::SHDR_SIZE`] bytes (read at
/// [`section_header_0_offset`]) are `section_header_0`.
pub fn program_header_count(
    header: &raw::Elf64_Ehdr,
    section_header_0: Option<&[u8]>,
) -> Result<u64, ReadError> {
    if header.e_phnum != raw::PN_XNUM {
        return Ok(u64::from(header.e_phnum));
    }
    if usize::from(header.e_shentsize) != raw::SHDR_SIZE {
        return Err(ReadError::BadEntrySize {
            what: "section header",
            expected: raw::SHDR_SIZE as u64,
            actual: u64::from(header.e_shentsize),
        });
    }
    let bytes = section_header_0.unwrap_or_default();
    let sh: raw::Elf64_Shdr =
        bytes
            .pread_with(0, scroll::LE)
            .map_err(|_| ReadError::Truncated {
                what: "section header 0 (PN_XNUM)",
                offset: header.e_shoff,
                needed: raw::SHDR_SIZE as u64,
                available: bytes.len() as u64,
            })?;
    Ok(u64::from(sh.sh_info))
}

/// Parse `data`, a prefix of a core file holding at least its ELF header and
/// program header table, with `phnum` program headers (from
/// [`program_header_count`]). Notes and memory beyond `data` read as cut
/// short.
pub fn parse_with_phnum(data: &[u8], phnum: u64) -> Result<Core<'_>, ReadError> {
    let header = read_header(data)?;
    check_phentsize(&header, phnum)?;
    let table = phnum.saturating_mul(raw::PHDR_SIZE as u64);
    let fits = header
        .e_phoff
        .checked_add(table)
        .is_some_and(|end| end <= data.len() as u64);
    let (Ok(phoff), Ok(phnum), true) = (
        usize::try_from(header.e_phoff),
        usize::try_from(phnum),
        fits,
    ) else {
        return Err(truncated(
            "program header table",
            header.e_phoff,
            table,
            data.len(),
        ));
    };
    Ok(Core::from_parts(data, header, phoff, phnum))
}

/// Where the program header table ends in the file, for a core whose
/// header is `header` with `phnum` program headers; `None` if past 2^64.
pub fn program_header_table_end(header: &raw::Elf64_Ehdr, phnum: u64) -> Option<u64> {
    header
        .e_phoff
        .checked_add(phnum.checked_mul(raw::PHDR_SIZE as u64)?)
}

/// How many bytes from the start of the file hold the ELF header, the
/// program header table and every `PT_NOTE` segment of `core`: the prefix
/// [`parse_with_phnum`] needs to read every note (saturating at
/// `u64::MAX`).
pub fn metadata_end(core: &Core<'_>) -> u64 {
    let (header, _, phnum) = core.parts();
    let table_end = program_header_table_end(&header, phnum as u64).unwrap_or(u64::MAX);
    core.program_headers()
        .filter(|ph| ph.p_type == raw::PT_NOTE)
        .map(|ph| ph.p_offset.saturating_add(ph.p_filesz))
        .fold(table_end.max(raw::EHDR_SIZE as u64), u64::max)
}
