//! The lazy, zero-copy reader.
//!
//! [`parse`] checks the file header and the program header table and
//! returns a [`Core`] that borrows the bytes. Everything else is decoded on
//! demand by iterators that bounds-check every access, yield at most one
//! error and then stop. Unknown notes are kept raw.
//!
//! # Example: walk a core
//!
//! ```
//! # use coroner_core_format::write::{BytesAt, StreamSink};
//! # use coroner_core_format::*;
//! # let mut model = CoreModel::new(Machine::X86_64);
//! # let mut st = PrStatus::new(Registers::zeroed(Machine::X86_64));
//! # st.pid = 7;
//! # model.threads.push(ThreadModel::new(st).with_note(Note::fpregset(vec![0; 512])));
//! # model.auxv = Some(vec![AuxvEntry { key: raw::AT_PAGESZ, value: 4096 }]);
//! # model.files = Some(FileNote { page_size: 4096, entries: vec![FileMapping {
//! #     start: 0x400000, end: 0x401000, file_offset: 0, path: b"/bin/true".to_vec() }] });
//! # model.segments.push(SegmentModel::dumped(0x400000, 0x1000, raw::PF_R | raw::PF_X));
//! # let mut sink = StreamSink::new(Vec::new());
//! # model.write(&mut BytesAt { base: 0x400000, bytes: vec![0x90; 0x1000] }, &mut sink).unwrap();
//! # let bytes = sink.into_inner();
//! use coroner_core_format::{parse, raw, MemoryAt, ReadError};
//!
//! let core = parse(&bytes)?; // `bytes` could be an mmap of a core file
//! for thread in core.threads() {
//!     let thread = thread?;
//!     let regs = thread.registers()?;
//!     println!("tid {} pc {:#x} sp {:#x}", thread.tid(), regs.pc(), regs.sp());
//!     for note in thread.notes() {
//!         let note = note?; // NT_FPREGSET, NT_X86_XSTATE …, raw bytes
//!         println!("  note {:#x}: {} bytes", note.n_type, note.desc.len());
//!     }
//! }
//! for seg in core.segments() {
//!     println!("{:#x}-{:#x} {} of {} bytes in the file", seg.vaddr(), seg.end(), seg.data().len(), seg.memsz());
//! }
//! if let Some(files) = core.file_note()? {
//!     for e in files.entries() {
//!         let e = e?; // offsets in bytes whatever the producer's convention
//!         println!("{:#x} {:?} @ {:?}", e.start, String::from_utf8_lossy(e.path), e.file_offset());
//!     }
//! }
//! let page_size = core.auxv()?.into_iter().flatten().flatten().find(|e| e.key == raw::AT_PAGESZ);
//! assert_eq!(page_size.map(|e| e.value), Some(4096));
//!
//! let map = core.memory_map()?; // sorted index for many lookups
//! assert!(matches!(map.memory_at(0x400010), MemoryAt::Present(b) if b[0] == 0x90));
//! assert_eq!(map.memory_at(0x500000), MemoryAt::NotMapped);
//! # Ok::<(), ReadError>(())
//! ```

mod auxv;
mod core;
mod core_file;
pub mod elf_object;
mod file;
mod memory;
mod model;
mod note;
mod owned;
mod prefix;
mod process_notes;
mod segment;
mod source;
mod thread;
mod truncation;

pub use self::auxv::AuxvIter;
pub use self::core::{parse, Core, ProgramHeaderIter};
pub use self::core_file::{CoreFile, FileError, FileMemory, MAX_METADATA};
pub use self::file::{FileEntry, FileEntryIter, FileNoteView};
pub use self::memory::{MemoryAt, MemoryMap};
pub use self::note::{Note, NoteIter};
pub use self::owned::OwnedCore;
pub use self::prefix::{
    metadata_end, parse_with_phnum, program_header_count, program_header_table_end, read_header,
    section_header_0_offset,
};
pub use self::segment::{Segment, SegmentIter};
pub use self::source::ReadAt;
pub use self::thread::{Thread, ThreadIter, ThreadNoteIter};
pub use self::truncation::{TruncatedSegment, Truncation};
