//! The memory the writer pulls: the contract shared with the ELF core
//! crate (one trait, one short-read rule), defined in coroner-dump-source.

pub use coroner_dump_source::{BytesAt, MemorySource, NoMemory};

/// Memory held in a byte slice that starts at address `base`: a
/// [`BytesAt`] over a borrowed slice.
///
/// ```
/// use coroner_minidump_format::write::{MemorySource, SliceSource};
/// let data = [1u8, 2, 3, 4];
/// let mut src = SliceSource::new(0x1000, &data[..]);
/// let mut buf = [9u8; 8];
/// assert_eq!(src.read_at(0x1002, &mut buf).unwrap(), 2);
/// assert_eq!(&buf[..2], &[3, 4]);
/// ```
pub type SliceSource<'a> = BytesAt<&'a [u8]>;
