use crate::{raw, AuxvEntry, ReadError};

/// Iterator over `NT_AUXV` entries; stops at `AT_NULL`, at the end of the
/// descriptor, or after the first error.
#[derive(Debug, Clone)]
pub struct AuxvIter<'data> {
    desc: &'data [u8],
    offset: u64,
    done: bool,
}

impl<'data> AuxvIter<'data> {
    pub(crate) fn new(desc: &'data [u8], offset: u64) -> AuxvIter<'data> {
        AuxvIter {
            desc,
            offset,
            done: false,
        }
    }
}

fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    if let Some(src) = b.get(..8) {
        w.copy_from_slice(src);
    }
    u64::from_le_bytes(w)
}

impl Iterator for AuxvIter<'_> {
    type Item = Result<AuxvEntry, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.desc.is_empty() {
            return None;
        }
        let Some((entry, rest)) = self.desc.split_at_checked(raw::AUXV_ENTRY_SIZE) else {
            self.done = true;
            return Some(Err(ReadError::BadNote {
                n_type: raw::NT_AUXV,
                offset: self.offset,
                reason: "auxv size is not a multiple of 16",
            }));
        };
        self.desc = rest;
        let key = word(entry);
        if key == raw::AT_NULL {
            self.done = true;
            return None;
        }
        Some(Ok(AuxvEntry {
            key,
            value: word(entry.get(8..).unwrap_or(&[])),
        }))
    }
}
