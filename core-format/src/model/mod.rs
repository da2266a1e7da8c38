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
