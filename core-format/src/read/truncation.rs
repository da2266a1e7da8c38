use std::ops::Range;

use crate::raw;

/// A core file shorter than its headers say: copied or written
/// incompletely (`head -c`, a full disk, a killed writer).
///
/// ```
/// # use coroner_core_format::write::{BytesAt, StreamSink};
/// # use coroner_core_format::*;
/// # let mut model = CoreModel::new(Machine::X86_64);
/// # model.threads.push(ThreadModel::new(PrStatus::new(Registers::zeroed(Machine::X86_64))));
/// # model.segments.push(SegmentModel::dumped(0x400000, 0x2000, raw::PF_R));
/// # let mut sink = StreamSink::new(Vec::new());
/// # model.write(&mut BytesAt { base: 0x400000, bytes: vec![1; 0x2000] }, &mut sink).unwrap();
/// # let bytes = sink.into_inner();
/// assert_eq!(parse(&bytes)?.truncation(), None);
/// let cut = &bytes[..bytes.len() - 0x1800];
/// let t = parse(cut)?.truncation().unwrap();
/// assert_eq!(t.missing_bytes(), 0x1800);
/// assert_eq!(t.segments[0].missing(), 0x400800..0x402000);
/// assert!(t.is_missing(0x401000) && !t.is_missing(0x400000));
/// # Ok::<(), ReadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Truncation {
    /// Bytes in the file.
    pub file_len: u64,
    /// Bytes the headers describe: where the furthest segment, table or
    /// section header ends.
    pub expected_len: u64,
    /// The `PT_LOAD` segments whose data runs past the end of the file, in
    /// file order.
    pub segments: Vec<TruncatedSegment>,
}

/// A `PT_LOAD` segment that lost bytes to a truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TruncatedSegment {
    /// Start address (`p_vaddr`).
    pub vaddr: u64,
    /// Size in memory (`p_memsz`).
    pub memsz: u64,
    /// Bytes the header says are in the file (`p_filesz`).
    pub filesz: u64,
    /// Bytes of those the file holds.
    pub present: u64,
}

impl TruncatedSegment {
    /// The addresses whose bytes should be in the file but are not.
    pub fn missing(&self) -> Range<u64> {
        let end = self.filesz.min(self.memsz);
        let start = self.present.min(end);
        self.vaddr.saturating_add(start)..self.vaddr.saturating_add(end)
    }
}

impl Truncation {
    /// Compare what the `header` and its program headers `phdrs` describe
    /// with `file_len`, the real size of the file; `None` when the file
    /// holds everything. Works from headers alone, so a reader that loaded
    /// only a prefix of the file can ask with the file's real size.
    pub fn of(
        header: &raw::Elf64_Ehdr,
        phdrs: impl IntoIterator<Item = raw::Elf64_Phdr>,
        file_len: u64,
    ) -> Option<Truncation> {
        let mut expected = raw::EHDR_SIZE as u64;
        if header.e_phnum == raw::PN_XNUM && header.e_shoff != 0 {
            expected = expected.max(header.e_shoff.saturating_add(raw::SHDR_SIZE as u64));
        }
        let mut segments = Vec::new();
        let mut phnum = 0u64;
        for ph in phdrs {
            phnum = phnum.saturating_add(1);
            let end = ph.p_offset.saturating_add(ph.p_filesz);
            expected = expected.max(end);
            if ph.p_type == raw::PT_LOAD && end > file_len && ph.p_filesz > 0 {
                segments.push(TruncatedSegment {
                    vaddr: ph.p_vaddr,
                    memsz: ph.p_memsz,
                    filesz: ph.p_filesz,
                    present: file_len.saturating_sub(ph.p_offset).min(ph.p_filesz),
                });
            }
        }
        let table = header
            .e_phoff
            .saturating_add(phnum.saturating_mul(raw::PHDR_SIZE as u64));
        expected = expected.max(table);
        (expected > file_len).then_some(Truncation {
            file_len,
            expected_len: expected,
            segments,
        })
    }

    /// How many bytes the file lacks.
    pub fn missing_bytes(&self) -> u64 {
        self.expected_len.saturating_sub(self.file_len)
    }

    /// How many bytes of process memory the segments lack.
    pub fn missing_memory(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| {
                let r = s.missing();
                r.end.saturating_sub(r.start)
            })
            .sum()
    }

    /// Whether the memory at `addr` should be in the file but is not.
    pub fn is_missing(&self, addr: u64) -> bool {
        self.segments.iter().any(|s| s.missing().contains(&addr))
    }
}
