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

use coroner_minidump_format::model::{DsoDebug, LinkMap};

use crate::inspect::build_id_in_header_page;
use crate::os::FileExt;

/// Read exactly `buf.len()` bytes at an address; `false` if any is unreadable.
pub type ReadMem<'a> = dyn FnMut(u64, &mut [u8]) -> bool + 'a;

const PT_DYNAMIC: u32 = 2;
const PT_NOTE: u32 = 4;
const PT_PHDR: u32 = 6;
const NT_GNU_BUILD_ID: u32 = 3;
const DT_NULL: u64 = 0;
const DT_DEBUG: u64 = 21;
const AT_PHDR: u64 = 3;
const AT_PHNUM: u64 = 5;

fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(o..o.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(o..o.checked_add(8)?)?.try_into().ok()?,
    ))
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(o..o.checked_add(2)?)?.try_into().ok()?,
    ))
}

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
/// `None` unless `path` is a regular file ([`super::host_file::open_regular`]).
pub fn build_id_in_file(path: &Path) -> Option<Vec<u8>> {
    let file = super::host_file::open_regular(path)?;
    let mut eh = [0u8; 64];
    file.read_exact_at(&mut eh, 0).ok()?;
    if eh.get(..4)? != b"\x7fELF" || eh.get(4) != Some(&2) || eh.get(5) != Some(&1) {
        return None;
    }
    let phoff = u64_at(&eh, 0x20)?;
    let phentsize = usize::from(u16_at(&eh, 0x36)?);
    let phnum = usize::from(u16_at(&eh, 0x38)?);
    if phentsize < 56 || phnum == 0 {
        return None;
    }
    let mut table = vec![0u8; phentsize.checked_mul(phnum)?];
    file.read_exact_at(&mut table, phoff).ok()?;
    for ph in table.chunks_exact(phentsize) {
        if u32_at(ph, 0)? != PT_NOTE {
            continue;
        }
        let off = u64_at(ph, 8)?;
        let size = usize::try_from(u64_at(ph, 32)?.min(64 << 10)).ok()?;
        let mut notes = vec![0u8; size];
        if file.read_exact_at(&mut notes, off).is_err() {
            continue;
        }
        if let Some(id) = gnu_build_id_note(&notes) {
            return Some(id.to_vec());
        }
    }
    None
}

/// The descriptor of the first `NT_GNU_BUILD_ID` note named "GNU" in `notes`.
pub fn gnu_build_id_note(notes: &[u8]) -> Option<&[u8]> {
    let mut o = 0usize;
    let pad4 = |v: usize| v.checked_next_multiple_of(4);
    while o.checked_add(12)? <= notes.len() {
        let namesz = usize::try_from(u32_at(notes, o)?).ok()?;
        let descsz = usize::try_from(u32_at(notes, o.checked_add(4)?)?).ok()?;
        let ty = u32_at(notes, o.checked_add(8)?)?;
        let name_at = o.checked_add(12)?;
        let desc_at = name_at.checked_add(pad4(namesz)?)?;
        let next = desc_at.checked_add(pad4(descsz)?)?;
        if ty == NT_GNU_BUILD_ID && notes.get(name_at..name_at.checked_add(namesz)?)? == b"GNU\0" {
            return notes.get(desc_at..desc_at.checked_add(descsz)?);
        }
        o = next;
    }
    None
}

fn read_u64(read: &mut ReadMem<'_>, addr: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    read(addr, &mut b).then(|| u64::from_le_bytes(b))
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
    let phdr = at(AT_PHDR)?;
    let phnum = at(AT_PHNUM)?.min(256);
    let mut table = vec![0u8; usize::try_from(phnum.checked_mul(56)?).ok()?];
    if !read(phdr, &mut table) {
        return None;
    }
    let mut bias = None;
    let mut dynamic = None;
    for ph in table.chunks_exact(56) {
        match u32_at(ph, 0)? {
            PT_PHDR => bias = phdr.checked_sub(u64_at(ph, 16)?),
            PT_DYNAMIC => dynamic = Some((u64_at(ph, 16)?, u64_at(ph, 40)?)),
            _ => {}
        }
    }
    let (dyn_vaddr, dyn_size) = dynamic?;
    let dyn_addr = bias.unwrap_or(0).wrapping_add(dyn_vaddr);
    let mut r_debug = 0u64;
    for i in 0..(dyn_size / 16).min(4096) {
        let e = dyn_addr.checked_add(i.checked_mul(16)?)?;
        let tag = read_u64(read, e)?;
        if tag == DT_NULL {
            break;
        }
        if tag == DT_DEBUG {
            r_debug = read_u64(read, e.checked_add(8)?)?;
            break;
        }
    }
    if r_debug == 0 {
        return None;
    }
    let mut head = [0u8; 40];
    if !read(r_debug, &mut head) {
        return None;
    }
    let version = u32_at(&head, 0)?;
    let mut map = u64_at(&head, 8)?;
    let brk = u64_at(&head, 16)?;
    let ldbase = u64_at(&head, 32)?;
    let mut link_maps = Vec::new();
    while map != 0 && link_maps.len() < 4096 {
        let mut lm = [0u8; 40];
        if !read(map, &mut lm) {
            break;
        }
        let name_ptr = u64_at(&lm, 8)?;
        link_maps.push(LinkMap {
            addr: u64_at(&lm, 0)?,
            name: if name_ptr == 0 {
                String::new()
            } else {
                read_c_string(read, name_ptr)
            },
            ld: u64_at(&lm, 16)?,
        });
        map = u64_at(&lm, 24)?;
    }
    Some(DsoDebug {
        version,
        brk,
        ldbase,
        dynamic: dyn_addr,
        link_maps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_build_id_note_after_other_notes() {
        let mut notes = Vec::new();
        // An ABI tag note first (name "GNU", type 1, 16-byte desc).
        notes.extend_from_slice(&4u32.to_le_bytes());
        notes.extend_from_slice(&16u32.to_le_bytes());
        notes.extend_from_slice(&1u32.to_le_bytes());
        notes.extend_from_slice(b"GNU\0");
        notes.extend_from_slice(&[0u8; 16]);
        notes.extend_from_slice(&4u32.to_le_bytes());
        notes.extend_from_slice(&20u32.to_le_bytes());
        notes.extend_from_slice(&3u32.to_le_bytes());
        notes.extend_from_slice(b"GNU\0");
        notes.extend((1u8..=20).collect::<Vec<_>>());
        assert_eq!(
            gnu_build_id_note(&notes),
            Some(&(1u8..=20).collect::<Vec<_>>()[..])
        );
        assert_eq!(gnu_build_id_note(&notes[..40]), None);
    }

    #[test]
    fn the_test_target_has_a_20_byte_build_id_on_disk() {
        // target.c is linked with -Wl,--build-id (SHA-1: 20 bytes).
        let id = build_id_in_file(coroner_test_support::target_path()).expect("build-id");
        assert_eq!(id.len(), 20);
        assert_eq!(build_id_in_file(Path::new("/nonexistent")), None);
        assert_eq!(build_id_in_file(Path::new("/proc/self/status")), None);
    }
}
