//! What the unit tests that snapshot a live process share.

use coroner_proc_reader::{Frozen, Process};

use crate::live::{self, Facts, LiveMemory};
use crate::select::Selection;
use crate::snapshot::Snapshot;

/// Freeze `process` and take its snapshot as a plain capture does: its
/// memory opened first (so the freeze is not held for it), its mappings
/// read while frozen, what the default [`Selection`] dumps selected. The
/// process stays frozen until the returned guard is thawed or dropped, so
/// the memory reads back what the snapshot describes.
pub(crate) fn freeze_and_snapshot<'p>(
    process: &'p Process,
    facts: &Facts,
) -> (Frozen<'p>, Snapshot, LiveMemory) {
    let mut memory = LiveMemory::open(process).unwrap();
    let frozen = process.freeze().unwrap();
    let mappings = process.mappings().unwrap();
    memory.set_mappings(&mappings);
    let snap = live::snapshot(
        facts,
        &frozen,
        mappings,
        None,
        &mut memory,
        &Selection::default(),
    )
    .unwrap();
    (frozen, snap, memory)
}
