use scroll::Pread;

use crate::{raw, FileMapping, FileNote, ReadError};

/// The `NT_FILE` note, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct FileNoteView<'data> {
    header: raw::nt_file_header,
    entries: &'data [u8],
    names: &'data [u8],
    offset: u64,
}

impl<'data> FileNoteView<'data> {
    /// Parse a `NT_FILE` descriptor (`note_offset` is used in errors). The
    /// entry count is checked against the descriptor size.
    pub fn parse(desc: &'data [u8], note_offset: u64) -> Result<FileNoteView<'data>, ReadError> {
        let bad = |reason| ReadError::BadNote {
            n_type: raw::NT_FILE,
            offset: note_offset,
            reason,
        };
        let header: raw::nt_file_header = desc
            .pread_with(0, scroll::LE)
            .map_err(|_| bad("shorter than its header"))?;
        let rest = desc.get(raw::NT_FILE_HEADER_SIZE..).unwrap_or(&[]);
        let table = usize::try_from(header.count)
            .ok()
            .and_then(|c| c.checked_mul(raw::NT_FILE_ENTRY_SIZE))
            .filter(|&t| t <= rest.len())
            .ok_or(bad("entry count larger than the note"))?;
        let (entries, names) = rest
            .split_at_checked(table)
            .ok_or(bad("entry count larger than the note"))?;
        Ok(FileNoteView {
            header,
            entries,
            names,
            offset: note_offset,
        })
    }

    /// Number of entries.
    pub fn count(&self) -> u64 {
        self.header.count
    }

    /// Unit of the raw offsets: 4096 (kernel) or 1 (gdb).
    pub fn page_size(&self) -> u64 {
        self.header.page_size
    }

    /// The entries with their paths.
    pub fn entries(&self) -> FileEntryIter<'data> {
        FileEntryIter {
            page_size: self.header.page_size,
            entries: self.entries,
            names: self.names,
            offset: self.offset,
            done: false,
        }
    }

    /// An owned copy (offsets converted to bytes).
    pub fn to_model(&self) -> Result<FileNote, ReadError> {
        let entries = self
            .entries()
            .map(|e| {
                let e = e?;
                let file_offset = e.file_offset().ok_or(ReadError::BadNote {
                    n_type: raw::NT_FILE,
                    offset: self.offset,
                    reason: "file offset × page_size overflows",
                })?;
                Ok(FileMapping {
                    start: e.start,
                    end: e.end,
                    file_offset,
                    path: e.path.to_vec(),
                })
            })
            .collect::<Result<Vec<_>, ReadError>>()?;
        Ok(FileNote {
            page_size: self.header.page_size,
            entries,
        })
    }
}

/// One `NT_FILE` entry, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileEntry<'data> {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Offset as stored, in units of `page_size`.
    pub raw_file_offset: u64,
    /// The note's `page_size`.
    pub page_size: u64,
    /// Path without its NUL.
    pub path: &'data [u8],
}

impl FileEntry<'_> {
    /// Offset in the file in bytes (`raw_file_offset × page_size`), `None` on overflow.
    pub fn file_offset(&self) -> Option<u64> {
        self.raw_file_offset.checked_mul(self.page_size)
    }
}

/// Iterator over `NT_FILE` entries; stops after the first error.
#[derive(Debug, Clone)]
pub struct FileEntryIter<'data> {
    page_size: u64,
    entries: &'data [u8],
    names: &'data [u8],
    offset: u64,
    done: bool,
}

impl<'data> Iterator for FileEntryIter<'data> {
    type Item = Result<FileEntry<'data>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.entries.is_empty() {
            return None;
        }
        let Ok(e) = self.entries.pread_with::<raw::nt_file_entry>(0, scroll::LE) else {
            self.done = true;
            return None;
        };
        self.entries = self.entries.get(raw::NT_FILE_ENTRY_SIZE..).unwrap_or(&[]);
        let Some(nul) = self.names.iter().position(|&b| b == 0) else {
            self.done = true;
            return Some(Err(ReadError::BadNote {
                n_type: raw::NT_FILE,
                offset: self.offset,
                reason: "fewer NUL-terminated paths than entries",
            }));
        };
        let path = self.names.get(..nul).unwrap_or(&[]);
        self.names = self.names.get(nul.saturating_add(1)..).unwrap_or(&[]);
        Some(Ok(FileEntry {
            start: e.start,
            end: e.end,
            raw_file_offset: e.file_ofs,
            page_size: self.page_size,
            path,
        }))
    }
}
