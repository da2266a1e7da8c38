use scroll::Pread;

use super::ProgramHeaderIter;
use crate::{raw, ReadError, SigInfo};

/// A note, borrowed from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Note<'data> {
    /// Owner name without trailing NULs (`CORE`, `LINUX`, `GNU` …).
    pub name: &'data [u8],
    /// Note type.
    pub n_type: u32,
    /// Descriptor.
    pub desc: &'data [u8],
    /// File offset of the note header.
    pub offset: u64,
}

impl Note<'_> {
    /// An owned copy.
    pub fn to_owned_note(&self) -> crate::Note {
        crate::Note {
            name: self.name.to_vec(),
            n_type: self.n_type,
            desc: self.desc.to_vec(),
        }
    }

    /// Decode as `NT_SIGINFO` (128 bytes).
    pub fn siginfo(&self) -> Result<SigInfo, ReadError> {
        SigInfo::from_bytes(self.desc).ok_or(ReadError::BadDescSize {
            n_type: self.n_type,
            offset: self.offset,
            expected: raw::SIGINFO_SIZE as u64,
            actual: self.desc.len() as u64,
        })
    }
}

/// The bytes of one `PT_NOTE` segment read from a file by
/// [`CoreFile`](super::CoreFile): what the file held of it (fewer bytes
/// than `declared` when the file is cut short).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoteSegment {
    /// File offset of the segment (`p_offset`).
    pub(crate) offset: u64,
    /// `p_filesz`.
    pub(crate) declared: u64,
    /// The bytes present in the file.
    pub(crate) bytes: Vec<u8>,
    /// Whether `offset` lies past the end of the file (an error even for
    /// an empty segment, as for a core in memory).
    pub(crate) past_end: bool,
}

/// Where a [`NoteIter`] finds its `PT_NOTE` segments: inside the whole file,
/// or already read out of it one by one.
#[derive(Debug, Clone)]
enum NoteSegments<'data> {
    InFile {
        data: &'data [u8],
        phdrs: ProgramHeaderIter<'data>,
    },
    Loaded(std::slice::Iter<'data, NoteSegment>),
}

/// Iterator over the notes of all `PT_NOTE` segments. Stops after the first
/// error.
#[derive(Debug, Clone)]
pub struct NoteIter<'data> {
    segments: NoteSegments<'data>,
    segment: &'data [u8],
    segment_offset: u64,
    pos: usize,
    done: bool,
}

fn align4(v: usize) -> Option<usize> {
    v.checked_add(3).map(|x| x & !3)
}

impl<'data> NoteIter<'data> {
    pub(crate) fn new(data: &'data [u8], phdrs: ProgramHeaderIter<'data>) -> NoteIter<'data> {
        NoteIter {
            segments: NoteSegments::InFile { data, phdrs },
            segment: &[],
            segment_offset: 0,
            pos: 0,
            done: false,
        }
    }

    /// The notes of segments read out of the file beforehand.
    pub(crate) fn loaded(segments: &'data [NoteSegment]) -> NoteIter<'data> {
        NoteIter {
            segments: NoteSegments::Loaded(segments.iter()),
            segment: &[],
            segment_offset: 0,
            pos: 0,
            done: false,
        }
    }

    fn fail(&mut self, e: ReadError) -> Option<Result<Note<'data>, ReadError>> {
        self.done = true;
        Some(Err(e))
    }

    fn next_segment(&mut self) -> Option<Result<(), ReadError>> {
        let (data, phdrs) = match &mut self.segments {
            NoteSegments::InFile { data, phdrs } => (*data, phdrs),
            NoteSegments::Loaded(segments) => {
                let seg = segments.next()?;
                if (seg.bytes.len() as u64) < seg.declared || seg.past_end {
                    return Some(Err(ReadError::Truncated {
                        what: "PT_NOTE segment",
                        offset: seg.offset,
                        needed: seg.declared,
                        available: seg.bytes.len() as u64,
                    }));
                }
                self.segment = &seg.bytes;
                self.segment_offset = seg.offset;
                self.pos = 0;
                return Some(Ok(()));
            }
        };
        for ph in phdrs.by_ref() {
            if ph.p_type != raw::PT_NOTE {
                continue;
            }
            let range = usize::try_from(ph.p_offset)
                .ok()
                .zip(usize::try_from(ph.p_filesz).ok())
                .and_then(|(o, n)| Some(o..o.checked_add(n)?));
            let Some(seg) = range.and_then(|r| data.get(r)) else {
                return Some(Err(ReadError::Truncated {
                    what: "PT_NOTE segment",
                    offset: ph.p_offset,
                    needed: ph.p_filesz,
                    available: (data.len() as u64).saturating_sub(ph.p_offset),
                }));
            };
            self.segment = seg;
            self.segment_offset = ph.p_offset;
            self.pos = 0;
            return Some(Ok(()));
        }
        None
    }
}

impl<'data> Iterator for NoteIter<'data> {
    type Item = Result<Note<'data>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            if self.pos >= self.segment.len() {
                match self.next_segment() {
                    Some(Ok(())) => continue,
                    Some(Err(e)) => return self.fail(e),
                    None => {
                        self.done = true;
                        return None;
                    }
                }
            }
            let offset = self.segment_offset.saturating_add(self.pos as u64);
            let seg = self.segment;
            let left = seg.len().saturating_sub(self.pos);
            let trunc = |needed: u64| ReadError::Truncated {
                what: "note",
                offset,
                needed,
                available: left as u64,
            };
            let Ok(hdr) = seg.pread_with::<raw::Elf64_Nhdr>(self.pos, scroll::LE) else {
                return self.fail(trunc(raw::NHDR_SIZE as u64));
            };
            let name_start = self.pos.saturating_add(raw::NHDR_SIZE);
            let layout = (|| {
                let name_end = name_start.checked_add(usize::try_from(hdr.n_namesz).ok()?)?;
                let desc_start = align4(name_end)?;
                let desc_end = desc_start.checked_add(usize::try_from(hdr.n_descsz).ok()?)?;
                Some((name_end, desc_start, desc_end))
            })();
            let parts = layout.and_then(|(name_end, desc_start, desc_end)| {
                Some((
                    seg.get(name_start..name_end)?,
                    seg.get(desc_start..desc_end)?,
                    desc_end,
                ))
            });
            let Some((name, desc, desc_end)) = parts else {
                let needed = 12u64
                    .saturating_add(u64::from(hdr.n_namesz))
                    .saturating_add(u64::from(hdr.n_descsz));
                return self.fail(trunc(needed));
            };
            // The last note's padding may be cut off by p_filesz: tolerate that.
            self.pos = align4(desc_end).unwrap_or(usize::MAX).min(seg.len());
            let mut name = name;
            while let Some(stripped) = name.strip_suffix(b"\0") {
                name = stripped;
            }
            return Some(Ok(Note {
                name,
                n_type: hdr.n_type,
                desc,
                offset,
            }));
        }
    }
}
