use crate::{raw, CoreModel, WriteError};

/// Page size used for segment alignment (`p_align`) and hole detection.
pub const PAGE_SIZE: u64 = 4096;

/// Every offset of a core file, computed before anything is written.
///
/// ```
/// use coroner_core_format::{CoreModel, Machine, SegmentModel};
/// use coroner_core_format::write::Layout;
/// let mut model = CoreModel::new(Machine::X86_64);
/// model.segments.push(SegmentModel::dumped(0x10000, 0x2000, 4));
/// let layout = Layout::plan(&model).unwrap();
/// assert_eq!(layout.data_offset() % 4096, 0);
/// assert_eq!(layout.file_size(), layout.segment_offsets()[0] + 0x2000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    phnum: u64,
    extended_numbering: bool,
    shdr_offset: u64,
    notes_offset: u64,
    notes_size: u64,
    data_offset: u64,
    segment_offsets: Vec<u64>,
    file_size: u64,
}

fn align_up(v: u64, align: u64) -> Option<u64> {
    let mask = align.checked_sub(1)?;
    v.checked_add(mask).map(|x| x & !mask)
}

const OVERFLOW: WriteError = WriteError::Overflow {
    what: "file layout",
};

impl Layout {
    /// Plan `model`: headers, notes, then page-aligned segment data.
    ///
    /// Fails if a segment has `filesz > memsz` or wraps the address space,
    /// or a note cannot be encoded.
    pub fn plan(model: &CoreModel) -> Result<Layout, WriteError> {
        let mut notes = Vec::new();
        super::encode_notes(model, &mut notes)?;
        Layout::plan_with_notes_size(model, u64::try_from(notes.len()).map_err(|_| OVERFLOW)?)
    }

    pub(crate) fn plan_with_notes_size(
        model: &CoreModel,
        notes_size: u64,
    ) -> Result<Layout, WriteError> {
        let nseg = u64::try_from(model.segments.len()).map_err(|_| OVERFLOW)?;
        let phnum = nseg.checked_add(1).ok_or(OVERFLOW)?;
        if phnum > u64::from(u32::MAX) {
            return Err(WriteError::Overflow {
                what: "more than 2^32 - 1 program headers",
            });
        }
        let extended_numbering = phnum >= u64::from(raw::PN_XNUM);
        let ph_end = phnum
            .checked_mul(raw::PHDR_SIZE as u64)
            .and_then(|n| n.checked_add(raw::EHDR_SIZE as u64));
        let ph_end = ph_end.ok_or(OVERFLOW)?;
        let (shdr_offset, notes_offset) = if extended_numbering {
            (
                ph_end,
                ph_end.checked_add(raw::SHDR_SIZE as u64).ok_or(OVERFLOW)?,
            )
        } else {
            (0, ph_end)
        };
        let notes_end = notes_offset.checked_add(notes_size).ok_or(OVERFLOW)?;
        let data_offset = align_up(notes_end, PAGE_SIZE).ok_or(OVERFLOW)?;
        let mut cur = data_offset;
        let mut segment_offsets = Vec::with_capacity(model.segments.len());
        let mut any_data = false;
        for (i, s) in model.segments.iter().enumerate() {
            if s.filesz > s.memsz {
                return Err(WriteError::InvalidModel {
                    what: format!("segment {i}"),
                    reason: "filesz > memsz",
                });
            }
            if s.vaddr.checked_add(s.memsz).is_none() {
                return Err(WriteError::InvalidModel {
                    what: format!("segment {i}"),
                    reason: "vaddr + memsz overflows",
                });
            }
            if s.filesz == 0 {
                segment_offsets.push(cur);
                continue;
            }
            // Page-aligned, keeping offset ≡ vaddr (mod page) as p_align requires.
            let base = align_up(cur, PAGE_SIZE).ok_or(OVERFLOW)?;
            let off = base.checked_add(s.vaddr % PAGE_SIZE).ok_or(OVERFLOW)?;
            segment_offsets.push(off);
            cur = off.checked_add(s.filesz).ok_or(OVERFLOW)?;
            any_data = true;
        }
        let file_size = if any_data { cur } else { notes_end };
        Ok(Layout {
            phnum,
            extended_numbering,
            shdr_offset,
            notes_offset,
            notes_size,
            data_offset,
            segment_offsets,
            file_size,
        })
    }

    /// Number of program headers (the `PT_NOTE` plus one per segment).
    pub fn phnum(&self) -> u64 {
        self.phnum
    }

    /// Whether `e_phnum` is `PN_XNUM` and section header 0 holds the count.
    pub fn extended_numbering(&self) -> bool {
        self.extended_numbering
    }

    /// Offset of section header 0 (0 without extended numbering).
    pub fn shdr_offset(&self) -> u64 {
        self.shdr_offset
    }

    /// Offset of the `PT_NOTE` contents.
    pub fn notes_offset(&self) -> u64 {
        self.notes_offset
    }

    /// Size of the `PT_NOTE` contents.
    pub fn notes_size(&self) -> u64 {
        self.notes_size
    }

    /// Page-aligned offset where segment data starts.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// `p_offset` of each segment, in model order.
    pub fn segment_offsets(&self) -> &[u64] {
        &self.segment_offsets
    }

    /// Total file size.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }
}
