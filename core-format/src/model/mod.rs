//! Typed, owned values shared by the reader and the writer: the reader
//! decodes notes into them, the writer encodes them.
//!
//! [`CoreModel`] describes a whole core file (everything but the memory
//! bytes, which the writer pulls from a [`MemorySource`](crate::write::MemorySource)).

mod auxv;
mod core;
mod file;
mod machine;
mod prpsinfo;
mod prstatus;
mod registers;
mod siginfo;

pub use self::auxv::AuxvEntry;
pub use self::core::{is_thread_note, CoreModel, Note, SegmentModel, ThreadModel};
pub use self::file::{FileMapping, FileNote};
pub use self::machine::Machine;
pub use self::prpsinfo::PrPsInfo;
pub use self::prstatus::{ElfSiginfo, PrStatus, Timeval};
pub use self::registers::{Aarch64Regs, Registers, X86_64Regs};
pub use self::siginfo::SigInfo;

use scroll::Pread;

use crate::ReadError;

/// Decode the fixed-size structure at the start of a note descriptor of
/// type `n_type`; a descriptor too short for it is
/// [`ReadError::BadDescSize`] (`expected` bytes).
fn read_desc<'a, T>(
    desc: &'a [u8],
    n_type: u32,
    note_offset: u64,
    expected: usize,
) -> Result<T, ReadError>
where
    T: scroll::ctx::TryFromCtx<'a, scroll::Endian, Error = scroll::Error>,
{
    desc.pread_with(0, scroll::LE)
        .map_err(|_| ReadError::BadDescSize {
            n_type,
            offset: note_offset,
            expected: expected as u64,
            actual: desc.len() as u64,
        })
}
