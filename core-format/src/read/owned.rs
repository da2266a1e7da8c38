use std::ops::Deref;

use super::Core;
use crate::ReadError;

/// A core file that owns its bytes (a `Vec<u8>`, an mmap, `bytes::Bytes` …).
///
/// ```
/// # use coroner_core_format::read::OwnedCore;
/// assert!(OwnedCore::new(vec![0u8; 10]).is_err());
/// ```
#[derive(Debug)]
pub struct OwnedCore<T> {
    owner: T,
    header: crate::raw::Elf64_Ehdr,
    phoff: usize,
    phnum: usize,
}

impl<T: Deref<Target = [u8]>> OwnedCore<T> {
    /// Check the headers of `owner`'s bytes and keep it.
    pub fn new(owner: T) -> Result<OwnedCore<T>, ReadError> {
        let (header, phoff, phnum) = super::parse(&owner)?.parts();
        Ok(OwnedCore {
            owner,
            header,
            phoff,
            phnum,
        })
    }

    /// The parsed view.
    pub fn core(&self) -> Core<'_> {
        Core::from_parts(&self.owner, self.header, self.phoff, self.phnum)
    }

    /// The owner back.
    pub fn into_inner(self) -> T {
        self.owner
    }
}
