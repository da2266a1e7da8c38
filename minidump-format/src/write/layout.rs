//! The first phase of writing: planning the whole file.
//!
//! [`Layout::plan`] lays the file out part by part, in file order: the
//! header (filled in last), one `plan_*` step per stream (each in the file
//! named after the stream, mirroring `read/`), the stream directory, then
//! the memory. Each step encodes its stream into the metadata buffer and
//! adds its directory entry; memory ranges are only placed, their bytes are
//! pulled later by [`Layout::write`](super::Layout::write) (see `output.rs`).

use super::encode::{count32, rva, Meta, RVA_LIMIT};
use crate::error::WriteError;
use crate::model::{MemoryRange, MinidumpModel};
use crate::raw::{self, MINIDUMP_DIRECTORY, MINIDUMP_HEADER, MINIDUMP_LOCATION_DESCRIPTOR};

/// A planned minidump: all metadata encoded, every offset fixed, memory
/// still to be pulled from a [`MemorySource`](super::MemorySource) by
/// [`Layout::write`].
#[derive(Debug, Clone)]
pub struct Layout {
    /// Header, streams, directory and padding: everything before memory.
    pub(super) meta: Vec<u8>,
    /// MemoryList ranges (then stacks listed nowhere else), in file order.
    pub(super) blocks: Vec<MemoryRange>,
    /// Memory64List ranges, in file order after the blocks.
    pub(super) memory64: Vec<MemoryRange>,
    pub(super) memory_offset: u64,
    pub(super) memory64_offset: u64,
    pub(super) total: u64,
}

/// The state of a plan in progress, shared by the per-stream steps.
#[derive(Debug, Default)]
pub(super) struct Planner {
    /// The metadata written so far, and the RVAs still to point at memory.
    pub(super) meta: Meta,
    /// The stream directory's entries, in the order they are added.
    pub(super) directory: Vec<MINIDUMP_DIRECTORY>,
    /// Memory with 32-bit RVAs: the MemoryList's ranges, then thread stacks
    /// that are not among them.
    pub(super) blocks: Vec<MemoryRange>,
    /// Where the Memory64List's `base_rva` field is, once planned.
    pub(super) memory64_base_at: Option<u64>,
}

/// A location descriptor for `size` bytes at `offset`, both checked to fit
/// their 32-bit fields.
pub(super) fn location(
    what: &'static str,
    offset: u64,
    size: u64,
) -> Result<MINIDUMP_LOCATION_DESCRIPTOR, WriteError> {
    let data_size = u32::try_from(size).map_err(|_| WriteError::TooLarge {
        what,
        value: size,
        limit: u32::MAX.into(),
    })?;
    Ok(MINIDUMP_LOCATION_DESCRIPTOR {
        data_size,
        rva: rva(what, offset)?,
    })
}

/// Bytes of `count` entries of `entry` bytes each (saturating: a size that
/// large fails the RVA checks anyway).
pub(super) fn table_len(count: usize, entry: u64) -> u64 {
    u64::try_from(count)
        .unwrap_or(u64::MAX)
        .saturating_mul(entry)
}

/// A metadata offset as an index into the buffer.
pub(super) fn offset_usize(what: &'static str, offset: u64) -> Result<usize, WriteError> {
    usize::try_from(offset).map_err(|_| WriteError::RvaOverflow { what, end: offset })
}

impl Planner {
    /// A plan that starts with room for the header.
    fn new(model: &MinidumpModel) -> Result<Planner, WriteError> {
        let mut planner = Planner {
            blocks: model.memory_list.clone(),
            ..Planner::default()
        };
        planner
            .meta
            .put("MINIDUMP_HEADER", MINIDUMP_HEADER::default())?;
        Ok(planner)
    }

    /// Add a stream to the directory.
    pub(super) fn add_stream(&mut self, stream_type: u32, location: MINIDUMP_LOCATION_DESCRIPTOR) {
        self.directory.push(MINIDUMP_DIRECTORY {
            stream_type,
            location,
        });
    }

    /// Streams of types this crate does not model (and later duplicates of
    /// known ones) come last in the directory, so a reader that takes the
    /// first stream of a type sees the typed ones.
    fn plan_raw_streams(&mut self, model: &MinidumpModel) -> Result<(), WriteError> {
        for s in &model.other_streams {
            let at = self.meta.location("raw stream", &s.data)?;
            self.add_stream(s.stream_type, at);
        }
        Ok(())
    }

    /// The stream directory, after the streams; returns its offset.
    fn plan_directory(&mut self) -> Result<u64, WriteError> {
        self.meta.align(8);
        let offset = self.meta.here();
        for entry in &self.directory {
            self.meta.put("MINIDUMP_DIRECTORY", *entry)?;
        }
        Ok(offset)
    }

    /// Place memory after the metadata (16-aligned): the blocks, which
    /// must end by 4 GiB as their RVAs are 32-bit, then the Memory64List's
    /// ranges, contiguous from its `base_rva`. Points every RVA waiting for
    /// a block at it. Returns (memory offset, Memory64List offset, total
    /// file size).
    fn place_memory(&mut self, model: &MinidumpModel) -> Result<(u64, u64, u64), WriteError> {
        self.meta.align(16);
        let memory_offset = self.meta.here();
        let mut offsets = Vec::with_capacity(self.blocks.len());
        let mut pos = memory_offset;
        for b in &self.blocks {
            let end = pos.checked_add(b.size).filter(|e| *e <= RVA_LIMIT);
            let end = end.ok_or(WriteError::RvaOverflow {
                what: "MemoryList memory",
                end: pos.saturating_add(b.size),
            })?;
            offsets.push(pos);
            pos = end;
        }
        let memory64_offset = pos;
        let mut total = pos;
        for r in &model.memory64_list {
            total = total.checked_add(r.size).ok_or(WriteError::TooLarge {
                what: "Memory64List total size",
                value: u64::MAX,
                limit: u64::MAX,
            })?;
        }
        for p in std::mem::take(&mut self.meta.patches) {
            let target = offsets.get(p.block).copied().unwrap_or_default();
            self.meta
                .put_at("memory RVA", p.at as u64, rva("memory RVA", target)?)?;
        }
        if let Some(at) = self.memory64_base_at {
            self.meta
                .put_at("Memory64List base_rva", at, memory64_offset)?;
        }
        Ok((memory_offset, memory64_offset, total))
    }

    /// The header at offset 0, now that the directory's place is known.
    fn plan_header(
        &mut self,
        model: &MinidumpModel,
        directory_offset: u64,
    ) -> Result<(), WriteError> {
        let header = MINIDUMP_HEADER {
            signature: raw::MINIDUMP_SIGNATURE,
            version: raw::MINIDUMP_VERSION,
            stream_count: count32("stream count", self.directory.len())?,
            stream_directory_rva: rva("stream directory", directory_offset)?,
            checksum: 0,
            time_date_stamp: model.time_date_stamp,
            flags: model.flags,
        };
        self.meta.put_at("MINIDUMP_HEADER", 0, header)
    }
}

impl Layout {
    /// Encode the model's streams and place everything. Fails when a
    /// 32-bit RVA or size field cannot hold what it must (see [`WriteError`]).
    pub fn plan(model: &MinidumpModel) -> Result<Layout, WriteError> {
        let mut p = Planner::new(model)?;
        if let Some(si) = &model.system_info {
            p.plan_system_info(si)?;
        }
        if let Some(mi) = &model.misc_info {
            p.plan_misc_info(mi)?;
        }
        if !model.threads.is_empty() {
            p.plan_thread_list(&model.threads)?;
        }
        if !model.thread_names.is_empty() {
            p.plan_thread_names(&model.thread_names)?;
        }
        if !model.modules.is_empty() {
            p.plan_module_list(&model.modules)?;
        }
        if let Some(e) = &model.exception {
            p.plan_exception(e)?;
        }
        if !model.memory_info.is_empty() {
            p.plan_memory_info_list(&model.memory_info)?;
        }
        p.plan_linux_streams(&model.linux)?;
        if !model.memory_list.is_empty() {
            p.plan_memory_list(&model.memory_list)?;
        }
        if !model.memory64_list.is_empty() {
            p.plan_memory64_list(&model.memory64_list)?;
        }
        p.plan_raw_streams(model)?;
        let directory_offset = p.plan_directory()?;
        let (memory_offset, memory64_offset, total) = p.place_memory(model)?;
        p.plan_header(model, directory_offset)?;
        Ok(Layout {
            meta: p.meta.buf,
            blocks: p.blocks,
            memory64: model.memory64_list.clone(),
            memory_offset,
            memory64_offset,
            total,
        })
    }

    /// Total size of the file in bytes.
    pub fn file_size(&self) -> u64 {
        self.total
    }

    /// File offset where memory bytes begin (everything before is metadata).
    pub fn memory_offset(&self) -> u64 {
        self.memory_offset
    }

    /// File offset of the Memory64List's bytes (its `base_rva`).
    pub fn memory64_offset(&self) -> u64 {
        self.memory64_offset
    }
}
