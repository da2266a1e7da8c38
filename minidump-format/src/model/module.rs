//! The ModuleList stream's entries and their CodeView records.

use crate::raw::VS_FIXEDFILEINFO;

/// One module of the ModuleList stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    /// Load address.
    pub base: u64,
    /// Size of the mapped image.
    pub size: u32,
    /// Checksum.
    pub checksum: u32,
    /// Timestamp.
    pub time_date_stamp: u32,
    /// Path of the file.
    pub name: String,
    /// Windows version resource (zero on Linux).
    pub version_info: VS_FIXEDFILEINFO,
    /// The CodeView record: ELF build id or PDB reference.
    pub code_view: Option<CodeView>,
    /// The misc record, raw.
    pub misc_record: Option<Vec<u8>>,
}

/// A module's CodeView record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeView {
    /// Breakpad's "BpEL" record: the ELF build id (`NT_GNU_BUILD_ID`).
    Elf {
        /// The build id bytes.
        build_id: Vec<u8>,
    },
    /// A PDB 7.0 "RSDS" record.
    Pdb70 {
        /// The PDB GUID, as stored.
        guid: [u8; 16],
        /// The PDB age.
        age: u32,
        /// The PDB path, without its terminating NUL.
        file_name: Vec<u8>,
    },
    /// Any other record, raw (signature included).
    Other(Vec<u8>),
}

impl CodeView {
    /// The code id as tools show it: the ELF build id in lower-case hex.
    ///
    /// ```
    /// use coroner_minidump_format::model::CodeView;
    /// let cv = CodeView::Elf { build_id: vec![0xde, 0xad, 0xbe, 0xef] };
    /// assert_eq!(cv.code_id().as_deref(), Some("deadbeef"));
    /// ```
    pub fn code_id(&self) -> Option<String> {
        match self {
            CodeView::Elf { build_id } => Some(crate::read::hex(build_id)),
            _ => None,
        }
    }

    /// The debug id as Breakpad tools show it: for ELF the first 16 bytes of
    /// the build id (zero-padded) read as a GUID, then age 0; for PDB 7.0 the
    /// GUID and age. `None` for an all-zero build id or a nil GUID, as
    /// rust-minidump does.
    ///
    /// ```
    /// use coroner_minidump_format::model::CodeView;
    /// let cv = CodeView::Elf { build_id: (1u8..=20).collect() };
    /// assert_eq!(cv.debug_id().as_deref(), Some("0403020106050807090A0B0C0D0E0F100"));
    /// ```
    pub fn debug_id(&self) -> Option<String> {
        let (guid, age) = match self {
            CodeView::Elf { build_id } if build_id.iter().all(|b| *b == 0) => return None,
            CodeView::Pdb70 { guid, .. } if guid.iter().all(|b| *b == 0) => return None,
            CodeView::Elf { build_id } => {
                let mut g = [0u8; 16];
                for (d, s) in g.iter_mut().zip(build_id.iter()) {
                    *d = *s;
                }
                (g, 0)
            }
            CodeView::Pdb70 { guid, age, .. } => (*guid, *age),
            CodeView::Other(_) => return None,
        };
        Some(crate::read::debug_id(&guid, age))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_and_debug_ids() {
        let cv = CodeView::Elf {
            build_id: vec![0; 20],
        };
        assert_eq!(
            cv.code_id().as_deref(),
            Some("0000000000000000000000000000000000000000")
        );
        assert_eq!(cv.debug_id(), None);
        let short = CodeView::Elf {
            build_id: vec![0x11, 0x22],
        };
        assert_eq!(
            short.debug_id().as_deref(),
            Some("000022110000000000000000000000000")
        );
        assert_eq!(CodeView::Other(vec![1]).code_id(), None);
    }
}
