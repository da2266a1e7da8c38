//! The streaming writer.
//!
//! 1. Describe the core with a [`CoreModel`].
//! 2. [`Layout::plan`] computes every offset (optional: the writer plans by
//!    itself; call it yourself to learn the file size first).
//! 3. [`CoreModel::write`] (default options) or
//!    [`CoreWriter::write`] (your [`WriteOptions`]) streams the file once, in
//!    order, over a [`Sink`]:
//!    headers, notes, then each segment's memory pulled from a
//!    [`MemorySource`] through one fixed buffer. Absent, unreadable and
//!    all-zero pages become holes: [`SeekSink`] skips them (a sparse file),
//!    [`StreamSink`] writes zeros (a pipe).
//!
//! The memory source, the sink, the options and the statistics are
//! coroner-dump-source's, shared with the minidump crate's writer, which
//! decides holes the same way (its `Output`).
//!
//! # Example: a sparse core file with custom options
//!
//! ```
//! use coroner_core_format::write::{BytesAt, CoreWriter, Layout, SeekSink, WriteOptions};
//! use coroner_core_format::{raw, CoreModel, Machine, Note, SegmentModel};
//!
//! let mut model = CoreModel::new(Machine::X86_64);
//! model.notes.push(Note::new("coroner", 1, b"captured by a test".to_vec()));
//! // 1 MiB mapping, only the first 64 KiB dumped; the memory is all zero.
//! model.segments.push(SegmentModel { vaddr: 0x7000_0000, memsz: 1 << 20, filesz: 64 << 10, flags: raw::PF_R });
//!
//! let layout = Layout::plan(&model)?; // the size is known before writing
//! let dir = std::env::temp_dir().join(format!("coroner-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("core");
//! let mut sink = SeekSink::new(std::fs::File::create(&path).unwrap());
//! let writer = CoreWriter::new(WriteOptions::default().with_buffer_size(1 << 20));
//! let mut memory = BytesAt { base: 0x7000_0000, bytes: vec![0u8; 1 << 20] };
//! let stats = writer.write(&model, &mut memory, &mut sink)?;
//! assert_eq!(stats.file_size, layout.file_size());
//! assert_eq!(stats.zero_page_bytes, 64 << 10); // all holes: the file is sparse
//! assert_eq!(std::fs::metadata(&path).unwrap().len(), layout.file_size());
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), coroner_core_format::WriteError>(())
//! ```

mod layout;
mod notes;
mod sink;
mod source;
mod writer;

/// Re-exported from coroner-dump-source: the same options and statistics
/// as the minidump crate's writer.
pub use coroner_dump_source::{WriteOptions, WriteStats};
pub use layout::{Layout, PAGE_SIZE};
pub use notes::{encode_notes, note_size};
pub use sink::{Lent, SeekSink, Sink, StreamSink};
pub use source::{BytesAt, MemorySource, NoMemory, SliceSource};
pub use writer::CoreWriter;

use crate::{CoreModel, WriteError};

impl CoreModel {
    /// Plan the layout and stream the core to `sink` with default
    /// [`WriteOptions`], pulling each segment's memory from `memory`
    /// (the same as [`CoreWriter::write`] with `WriteOptions::default()`).
    ///
    /// ```
    /// use coroner_core_format::write::{NoMemory, StreamSink};
    /// use coroner_core_format::{CoreModel, Machine};
    /// let mut sink = StreamSink::new(Vec::new());
    /// let stats = CoreModel::new(Machine::X86_64).write(&mut NoMemory, &mut sink).unwrap();
    /// let out = sink.into_inner();
    /// assert_eq!(stats.file_size, out.len() as u64);
    /// assert_eq!(&out[..4], b"\x7fELF");
    /// ```
    pub fn write<M, S>(&self, memory: &mut M, sink: &mut S) -> Result<WriteStats, WriteError>
    where
        M: MemorySource + ?Sized,
        S: Sink + ?Sized,
    {
        CoreWriter::new(WriteOptions::default()).write(self, memory, sink)
    }
}
