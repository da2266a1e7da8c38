//! Streaming minidump writer.
//!
//! [`Layout::plan`] computes the whole file first: every stream, string and
//! CodeView record gets its offset, every 32-bit RVA is checked to lie below
//! 4 GiB (an impossible layout is a [`WriteError`], never a wrapped offset),
//! and memory goes last — MemoryList bytes, then the Memory64List bytes, which
//! may run far past 4 GiB because that list uses a 64-bit base. Then
//! [`Layout::write`] streams the file once to a [`Sink`], pulling
//! memory through a [`MemorySource`] into one fixed buffer; nothing ever
//! holds a memory range whole. Absent, unreadable and all-zero pages become
//! holes: [`SeekSink`] skips them (a sparse file), [`StreamSink`] writes
//! zeros (a pipe).
//!
//! The memory source, the sink, the options and the statistics are
//! coroner-dump-source's, shared with the ELF core crate's writer, which
//! decides holes the same way (its `Output`).
//!
//! ```
//! use coroner_minidump_format::model::{MinidumpModel, MemoryRange, Exception, SystemInfo};
//! use coroner_minidump_format::write::{Layout, SliceSource, StreamSink};
//! let memory = vec![0xaau8; 8192];
//! let mut model = MinidumpModel::default();
//! model.system_info = Some(SystemInfo::linux_amd64(2, "Linux"));
//! model.exception = Some(Exception::dump_requested(1));
//! model.memory64_list.push(MemoryRange { start: 0x10000, size: 8192 });
//! let layout = Layout::plan(&model).unwrap();
//! let mut sink = StreamSink::new(std::io::sink());
//! let stats = layout.write(&mut SliceSource::new(0x10000, &memory), &mut sink).unwrap();
//! assert_eq!(stats.file_size, layout.file_size());
//! ```

mod encode;
mod exception;
mod layout;
mod linux;
mod memory;
mod memory_info;
mod misc_info;
mod module;
mod output;
mod sink;
mod source;
mod system_info;
mod thread;
mod thread_names;

/// Re-exported from coroner-dump-source: the same options and statistics
/// as the ELF core crate's writer.
pub use coroner_dump_source::{WriteOptions, WriteStats};
pub use layout::Layout;
pub use sink::{Lent, SeekSink, Sink, StreamSink};
pub use source::{BytesAt, MemorySource, NoMemory, SliceSource};

use crate::error::WriteError;
use crate::model::MinidumpModel;

impl MinidumpModel {
    /// Plan the layout and stream the dump to `sink` with default
    /// [`WriteOptions`], pulling memory from `memory` (the same as
    /// [`Layout::plan`] then [`Layout::write`]).
    ///
    /// ```
    /// use coroner_minidump_format::{model::MinidumpModel, write::{NoMemory, StreamSink}};
    /// let mut sink = StreamSink::new(Vec::new());
    /// let stats = MinidumpModel::default().write(&mut NoMemory, &mut sink).unwrap();
    /// let out = sink.into_inner();
    /// assert_eq!(stats.file_size, out.len() as u64);
    /// assert_eq!(&out[..4], b"MDMP");
    /// ```
    pub fn write<M, S>(&self, memory: &mut M, sink: &mut S) -> Result<WriteStats, WriteError>
    where
        M: MemorySource + ?Sized,
        S: Sink + ?Sized,
    {
        Layout::plan(self)?.write(memory, sink)
    }
}
