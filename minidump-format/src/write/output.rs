//! The second phase of writing: streaming a planned [`Layout`] once
//! through coroner-dump-source's [`Output`] — the metadata bytes, then
//! every memory range pulled from a [`MemorySource`] through one fixed
//! buffer, with the same holes (absent, unreadable and all-zero pages) as
//! the ELF core writer.

use coroner_dump_source::Output;

use super::{Layout, MemorySource, Sink, WriteOptions, WriteStats};
use crate::error::WriteError;

impl Layout {
    /// Stream the file to `sink` with default [`WriteOptions`], pulling
    /// memory from `memory`. Holes go to the sink as holes: a
    /// [`SeekSink`](super::SeekSink) keeps the file sparse, a
    /// [`StreamSink`](super::StreamSink) writes zeros.
    ///
    /// ```
    /// use coroner_minidump_format::{model::{MinidumpModel, MemoryRange}, write::{Layout, NoMemory, SeekSink}};
    /// let model = MinidumpModel { memory64_list: vec![MemoryRange { start: 0, size: 1 << 20 }], ..MinidumpModel::default() };
    /// let layout = Layout::plan(&model).unwrap();
    /// let mut file = SeekSink::new(std::io::Cursor::new(Vec::new()));
    /// let stats = layout.write(&mut NoMemory, &mut file).unwrap();
    /// assert_eq!(stats.file_size, layout.file_size());
    /// assert_eq!(stats.absent_bytes, 1 << 20); // seeked over, not written
    /// assert_eq!(file.into_inner().into_inner().len() as u64, layout.file_size());
    /// ```
    pub fn write<M, S>(&self, memory: &mut M, sink: &mut S) -> Result<WriteStats, WriteError>
    where
        M: MemorySource + ?Sized,
        S: Sink + ?Sized,
    {
        self.write_with(&WriteOptions::default(), memory, sink)
    }

    /// [`Layout::write`] with your [`WriteOptions`] (buffer size, which
    /// zero runs become holes).
    pub fn write_with<M, S>(
        &self,
        options: &WriteOptions,
        memory: &mut M,
        sink: &mut S,
    ) -> Result<WriteStats, WriteError>
    where
        M: MemorySource + ?Sized,
        S: Sink + ?Sized,
    {
        let ranges = || self.blocks.iter().chain(&self.memory64);
        let largest = ranges().map(|r| r.size).max().unwrap_or(0);
        let mut out = Output::new(sink, options, largest);
        out.write(&self.meta)?;
        out.pad_to(self.memory_offset)?;
        for r in ranges() {
            out.memory(memory, r.start, r.size)?;
        }
        out.pad_to(self.total)?;
        Ok(out.finish()?)
    }
}
