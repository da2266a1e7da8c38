//! Small ELF facts a minidump needs from the dumped process: build-ids (from
//! memory, or from the file on disk) and the dynamic linker's `r_debug`
//! link map (the DsoDebug stream). Everything is read through a closure, so
//! the same code serves a live process and an ELF core being converted.

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

use std::path::Path;

use coroner_core_format::raw;
use coroner_core_format::read::elf_object;
use coroner_minidump_format::model::{DsoDebug, LinkMap};

use crate::inspect::build_id_in_header_page;
use crate::os::FileExt;

/// Read exactly `buf.len()` bytes at an address; `false` if any is unreadable.
pub type ReadMem<'a> = dyn FnMut(u64, &mut [u8]) -> bool + 'a;

/// The GNU build-id of an ELF object mapped at `base` (its first mapping,
/// file offset 0), read from the process memory: the header page first,
/// which is where linkers put `.note.gnu.build-id`.
pub fn build_id_in_memory(read: &mut ReadMem<'_>, base: u64, len: u64) -> Option<Vec<u8>> {
    let n = usize::try_from(len.min(4096)).ok()?;
    let mut page = vec![0u8; n];
    if !read(base, &mut page) {
        return None;
    }
    build_id_in_header_page(&page).map(<[u8]>::to_vec)
}

/// The GNU build-id of the ELF file at `path`, from its `PT_NOTE` segments;
/// `None` unless `path` is a regular file (opened without blocking, so a
/// FIFO or a device is never waited on).
pub fn build_id_in_file(path: &Path) -> Option<Vec<u8>> {
    let file = super::host_file::open_regular(path)?;
    elf_object::gnu_build_id_in_file(&mut |at, buf| file.read_exact_at(buf, at).is_ok())
}

fn read_c_string(read: &mut ReadMem<'_>, addr: u64) -> String {
    let mut out = Vec::new();
    let mut chunk = [0u8; 64];
    // Read in small pieces: a name may end just before an unreadable page.
    'outer: for i in 0..16u64 {
        let at = addr.saturating_add(i.saturating_mul(64));
        if !read(at, &mut chunk) {
            for j in 0..64u64 {
                let mut b = [0u8; 1];
                if !read(at.saturating_add(j), &mut b) || b == [0] {
                    break 'outer;
                }
                out.extend_from_slice(&b);
            }
            break;
        }
        match chunk.split(|b| *b == 0).next() {
            Some(text) if text.len() < chunk.len() => {
                out.extend_from_slice(text);
                break;
            }
            _ => out.extend_from_slice(&chunk),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The DsoDebug stream: the executable's `_DYNAMIC`, found through the
/// auxiliary vector (`AT_PHDR`, `AT_PHNUM`), its `DT_DEBUG` entry pointing at
/// the dynamic linker's `r_debug`, and the `link_map` list behind it
/// (x86_64/aarch64 LP64 layouts). `None` for a static executable or when the
/// memory is not readable.
pub fn dso_debug(read: &mut ReadMem<'_>, auxv: &[(u64, u64)]) -> Option<DsoDebug> {
    let at = |k: u64| auxv.iter().find(|e| e.0 == k).map(|e| e.1);
    let phdr = at(raw::AT_PHDR)?;
    let phnum = at(raw::AT_PHNUM)?.min(256);
    let table_len = phnum.checked_mul(raw::PHDR_SIZE as u64)?;
    let mut table = vec![0u8; usize::try_from(table_len).ok()?];
    if !read(phdr, &mut table) {
        return None;
    }
    let mut bias = None;
    let mut dynamic = None;
    for ph in elf_object::program_header_table(&table) {
        match ph.p_type {
            elf_object::PT_PHDR => bias = phdr.checked_sub(ph.p_vaddr),
            elf_object::PT_DYNAMIC => dynamic = Some((ph.p_vaddr, ph.p_memsz)),
            _ => {}
        }
    }
    let (dyn_vaddr, dyn_size) = dynamic?;
    let dyn_addr = bias.unwrap_or(0).wrapping_add(dyn_vaddr);
    let entry_size = elf_object::DYN_SIZE as u64;
    let mut r_debug = 0u64;
    for i in 0..dyn_size.checked_div(entry_size)?.min(4096) {
        let mut entry = [0u8; elf_object::DYN_SIZE];
        if !read(
            dyn_addr.checked_add(i.checked_mul(entry_size)?)?,
            &mut entry,
        ) {
            return None;
        }
        match elf_object::dynamic_entry(&entry)? {
            (elf_object::DT_NULL, _) => break,
            (elf_object::DT_DEBUG, value) => {
                r_debug = value;
                break;
            }
            _ => {}
        }
    }
    if r_debug == 0 {
        return None;
    }
    let mut head = [0u8; elf_object::R_DEBUG_SIZE];
    if !read(r_debug, &mut head) {
        return None;
    }
    let head = elf_object::RDebug::from_bytes(&head)?;
    let mut map = head.map;
    let mut link_maps = Vec::new();
    while map != 0 && link_maps.len() < 4096 {
        let mut lm = [0u8; elf_object::LINK_MAP_SIZE];
        if !read(map, &mut lm) {
            break;
        }
        let entry = elf_object::LinkMapEntry::from_bytes(&lm)?;
        link_maps.push(LinkMap {
            addr: entry.addr,
            name: if entry.name == 0 {
                String::new()
            } else {
                read_c_string(read, entry.name)
            },
            ld: entry.ld,
        });
        map = entry.next;
    }
    Some(DsoDebug {
        version: head.version,
        brk: head.brk,
        ldbase: head.ldbase,
        dynamic: dyn_addr,
        link_maps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_without_a_build_id_have_none() {
        // A file that has one: tests/build_ids.rs (the C test target, from
        // the unpublished coroner-test-support).
        assert_eq!(build_id_in_file(Path::new("/nonexistent")), None);
        assert_eq!(build_id_in_file(Path::new("/proc/self/status")), None);
    }
}
