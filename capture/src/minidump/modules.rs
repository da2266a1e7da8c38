//! The ModuleList of a snapshot: every ELF object mapped from file offset
//! 0, with its build-id from memory or else from the file.

// Dump contents are untrusted: the same no-panic lint wall as the format crates.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

use coroner_minidump_format::model::{CodeView, Module};

use super::build::DumpMemory;
use super::{elf, host_file};
use crate::snapshot::SelectedMapping;

/// Every file mapped from offset 0 that is an ELF object (in memory, or
/// else in the file on disk), with its build-id.
pub(super) fn modules(maps: &[SelectedMapping], memory: &mut dyn DumpMemory) -> Vec<Module> {
    let mut modules: Vec<Module> = Vec::new();
    for (i, s) in maps.iter().enumerate() {
        let m = &s.mapping;
        if m.offset != 0 || !m.is_file_backed() || !m.perms.read || m.path.is_empty() {
            continue;
        }
        let mut magic = [0u8; 4];
        let in_memory =
            !s.excluded && memory.read_exact(m.start, &mut magic) && magic == *b"\x7fELF";
        let on_disk = || {
            s.file
                .as_deref()
                .and_then(host_file::open_regular)
                .and_then(|f| {
                    let mut b = [0u8; 4];
                    crate::os::FileExt::read_exact_at(&f, &mut b, 0).ok()?;
                    Some(b == *b"\x7fELF")
                })
                .unwrap_or(false)
        };
        if !in_memory && !on_disk() {
            continue;
        }
        // The object spans its later mappings of the same file, up to the
        // next mapping of that file from offset 0. A dump can list them in
        // any order: one that lies below the first does not shrink it.
        let mut end = m.end;
        for n in maps.get(i.saturating_add(1)..).unwrap_or_default() {
            let n = &n.mapping;
            if n.path == m.path && n.inode == m.inode {
                if n.offset == 0 {
                    break;
                }
                end = end.max(n.end);
            }
        }
        let mut build_id = None;
        if in_memory {
            let mut read = |a: u64, b: &mut [u8]| memory.read_exact(a, b);
            build_id = elf::build_id_in_memory(&mut read, m.start, m.len());
        }
        if build_id.is_none() {
            build_id = s.file.as_deref().and_then(elf::build_id_in_file);
        }
        modules.push(Module {
            base: m.start,
            size: u32::try_from(end.saturating_sub(m.start)).unwrap_or(u32::MAX),
            name: String::from_utf8_lossy(&m.path).into_owned(),
            code_view: build_id.map(|b| CodeView::Elf { build_id: b }),
            ..Module::default()
        });
    }
    modules
}
