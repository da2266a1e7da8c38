//! The streaming writer.
//!
//! 1. Describe the core with a [`CoreModel`](crate::CoreModel).
//! 2. [`Layout::plan`] computes every offset (optional: [`CoreWriter::write`]
//!    plans by itself; call it yourself to learn the file size first).
//! 3. [`CoreWriter::write`] streams the file once, in order, over a [`Sink`]:
//!    headers, notes, then each segment's memory pulled from a
//!    [`MemorySource`] through one fixed buffer. Absent, unreadable and
//!    all-zero pages become holes: [`SeekSink`] skips them (a sparse file),
//!    [`StreamSink`] writes zeros (a pipe).

mod layout;
mod notes;
mod sink;
mod source;
mod writer;

pub use layout::{Layout, PAGE_SIZE};
pub use notes::{encode_notes, note_size};
pub use sink::{SeekSink, Sink, StreamSink};
pub use source::{BytesAt, MemorySource, NoMemory};
pub use writer::{write_core, CoreWriter, WriteOptions, WriteStats};
