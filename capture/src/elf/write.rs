//! A [`Snapshot`] written as an ELF core: the one path from a snapshot to
//! core-format's writer. A live capture (frozen, or from a copy-on-write
//! copy) and minidump → ELF conversion all write their core here, so the
//! two only differ in where the snapshot and its memory come from.

use coroner_core_format::write::{CoreWriter, MemorySource, Sink, WriteOptions, WriteStats};

use super::core_model;
use crate::snapshot::Snapshot;
use crate::CaptureError;

/// Bytes of memory the core of `snap` holds: the sum of its `PT_LOAD`s'
/// `p_filesz` (what a progress report counts towards).
#[cfg(target_os = "linux")]
pub(crate) fn dumped_bytes(snap: &Snapshot) -> u64 {
    snap.mappings
        .iter()
        .map(|s| s.dump_len.min(s.mapping.len()))
        .fold(0u64, u64::saturating_add)
}

/// Write the core of `snap` ([`core_model`]) into `sink`, pulling the
/// selected memory from `memory`.
pub(crate) fn write_core<M, S>(
    snap: &Snapshot,
    memory: &mut M,
    sink: &mut S,
    options: WriteOptions,
) -> Result<WriteStats, CaptureError>
where
    M: MemorySource + ?Sized,
    S: Sink + ?Sized,
{
    let model = core_model(snap)?;
    Ok(CoreWriter::new(options).write(&model, memory, sink)?)
}
