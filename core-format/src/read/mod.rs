//! The lazy, zero-copy reader.
//!
//! [`parse`] checks the file header and the program header table and
//! returns a [`Core`] that borrows the bytes. Everything else is decoded on
//! demand by iterators that bounds-check every access, yield at most one
//! error and then stop. Unknown notes are kept raw.

mod auxv;
mod core;
mod file;
mod memory;
mod model;
mod note;
mod owned;
mod segment;
mod thread;

pub use self::auxv::AuxvIter;
pub use self::core::{parse, Core, ProgramHeaderIter};
pub use self::file::{FileEntry, FileEntryIter, FileNoteView};
pub use self::memory::{Memory, MemoryMap};
pub use self::note::{Note, NoteIter};
pub use self::owned::OwnedCore;
pub use self::segment::{Segment, SegmentIter};
pub use self::thread::{Thread, ThreadIter, ThreadNoteIter};
