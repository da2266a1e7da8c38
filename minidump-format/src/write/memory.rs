//! The MemoryList and Memory64List streams: their descriptors. The bytes
//! they describe are placed after all metadata (`Planner::place_memory`)
//! and streamed by `output.rs`.

use super::encode::{count32, size_of, Patch};
use super::layout::{location, offset_usize, table_len, Planner};
use crate::error::WriteError;
use crate::model::MemoryRange;
use crate::raw::{
    MINIDUMP_LOCATION_DESCRIPTOR, MINIDUMP_MEMORY64_LIST, MINIDUMP_MEMORY_DESCRIPTOR,
    MINIDUMP_MEMORY_DESCRIPTOR64, MINIDUMP_STREAM_TYPE as ST,
};

/// Offset of `memory.rva` in `MINIDUMP_MEMORY_DESCRIPTOR`.
const DESCRIPTOR_RVA: u64 = 12;

impl Planner {
    /// A count and one `MINIDUMP_MEMORY_DESCRIPTOR` per range, each RVA
    /// left to point at its block once memory is placed. Each range must
    /// fit a 32-bit size (larger memory belongs in the Memory64List).
    pub(super) fn plan_memory_list(&mut self, ranges: &[MemoryRange]) -> Result<(), WriteError> {
        let m = &mut self.meta;
        m.align(8);
        let n = ranges.len();
        let off = m.put("MemoryList count", count32("memory range count", n)?)?;
        for (block, r) in ranges.iter().enumerate() {
            let data_size = u32::try_from(r.size).map_err(|_| WriteError::TooLarge {
                what: "MemoryList range size (use the Memory64List)",
                value: r.size,
                limit: u32::MAX.into(),
            })?;
            let d = MINIDUMP_MEMORY_DESCRIPTOR {
                start_of_memory_range: r.start,
                memory: MINIDUMP_LOCATION_DESCRIPTOR { data_size, rva: 0 },
            };
            let at = m.put("MINIDUMP_MEMORY_DESCRIPTOR", d)?;
            m.patches.push(Patch {
                at: offset_usize("MemoryList", at.saturating_add(DESCRIPTOR_RVA))?,
                block,
            });
        }
        let entry = size_of::<MINIDUMP_MEMORY_DESCRIPTOR>();
        let size = table_len(n, entry).saturating_add(size_of::<u32>());
        self.add_stream(ST::MEMORY_LIST, location("MemoryList", off, size)?);
        Ok(())
    }

    /// The `MINIDUMP_MEMORY64_LIST` header and one
    /// `MINIDUMP_MEMORY_DESCRIPTOR64` per range; `base_rva` is filled in
    /// once memory is placed.
    pub(super) fn plan_memory64_list(&mut self, ranges: &[MemoryRange]) -> Result<(), WriteError> {
        let m = &mut self.meta;
        m.align(8);
        let n = ranges.len();
        let head = MINIDUMP_MEMORY64_LIST {
            number_of_memory_ranges: u64::try_from(n).unwrap_or(u64::MAX),
            base_rva: 0,
        };
        let off = m.put("MINIDUMP_MEMORY64_LIST", head)?;
        // `base_rva` follows the u64 count.
        self.memory64_base_at = Some(off.saturating_add(size_of::<u64>()));
        for r in ranges {
            let d = MINIDUMP_MEMORY_DESCRIPTOR64 {
                start_of_memory_range: r.start,
                data_size: r.size,
            };
            m.put("MINIDUMP_MEMORY_DESCRIPTOR64", d)?;
        }
        let entry = size_of::<MINIDUMP_MEMORY_DESCRIPTOR64>();
        let size = table_len(n, entry).saturating_add(size_of::<MINIDUMP_MEMORY64_LIST>());
        self.add_stream(ST::MEMORY64_LIST, location("Memory64List", off, size)?);
        Ok(())
    }
}
