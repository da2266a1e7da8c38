//! The ELF objects a crashed process had mapped, with their GNU build-id
//! and their package note (`.note.package`, the FDO packaging metadata
//! systemd-coredump reports as COREDUMP_PACKAGE_*), read from the mapped
//! files themselves through `/proc/PID/map_files` (which reaches a file in
//! another mount namespace, or one deleted since it was mapped).

use std::os::unix::fs::FileExt;
use std::path::Path;

use coroner_core_format::raw;
use coroner_core_format::read::elf_object::{gnu_build_id_in_file, program_header_table};
use serde::{Deserialize, Serialize};

/// `NT_FDO_PACKAGING_METADATA`: a JSON description of the package.
pub const NT_FDO_PACKAGING_METADATA: u32 = 0xcafe_1a7e;
/// Owner name of the package note, with its NUL.
pub const NOTE_NAME_FDO: &[u8] = b"FDO\0";
/// Most modules listed (a hostile process can map many files).
const MAX_MODULES: usize = 1024;
/// Most bytes of notes read from one file.
const MAX_NOTES: usize = 64 << 10;

/// One mapped ELF object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Module {
    /// Path as `/proc/PID/maps` shows it (in the process's mount namespace).
    pub path: String,
    /// Where its first page is mapped.
    pub start: u64,
    /// GNU build-id, lower-case hex.
    pub build_id: Option<String>,
    /// The package note's JSON text (`{"type":"rpm","name":…}`), if any.
    pub package: Option<String>,
}

/// The ELF objects mapped from file offset 0 in `maps` (the text of
/// `/proc/PID/maps`), first mapping of each path, read through
/// `proc_pid/map_files`.
pub fn mapped_modules(maps: &[u8], proc_pid: &Path) -> Vec<Module> {
    let Ok(mappings) = coroner_proc_reader::parse::maps::parse_maps(maps) else {
        return Vec::new();
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for m in mappings {
        if out.len() >= MAX_MODULES {
            break;
        }
        if m.offset != 0
            || m.inode == 0
            || !m.path.starts_with(b"/")
            || !seen.insert(m.path.clone())
        {
            continue;
        }
        let file = proc_pid.join(format!("map_files/{:x}-{:x}", m.start, m.end));
        let Ok(file) = std::fs::File::open(file) else {
            continue;
        };
        let mut read_at = |offset: u64, buf: &mut [u8]| file.read_exact_at(buf, offset).is_ok();
        let mut magic = [0u8; 4];
        if !read_at(0, &mut magic) || magic != raw::ELFMAG {
            continue;
        }
        let build_id = gnu_build_id_in_file(&mut read_at).map(|id| hex(&id));
        let package = package_note(&mut read_at);
        out.push(Module {
            path: String::from_utf8_lossy(&m.path).into_owned(),
            start: m.start,
            build_id,
            package,
        });
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// The text of the first `FDO` packaging note in the `PT_NOTE` segments
/// of the ELF64 file read through `read_at`.
fn package_note(read_at: &mut dyn FnMut(u64, &mut [u8]) -> bool) -> Option<String> {
    let mut head = [0u8; raw::EHDR_SIZE];
    if !read_at(0, &mut head) {
        return None;
    }
    // e_phoff @32, e_phentsize @54, e_phnum @56 (ELF64).
    let phoff = u64_at(&head, 32)?;
    let phentsize = usize::from(u16::from_le_bytes(head.get(54..56)?.try_into().ok()?));
    let phnum = usize::from(u16::from_le_bytes(head.get(56..58)?.try_into().ok()?));
    if phentsize != raw::PHDR_SIZE || head.get(raw::EI_CLASS) != Some(&raw::ELFCLASS64) {
        return None;
    }
    let mut table = vec![0u8; phnum.checked_mul(raw::PHDR_SIZE)?];
    if !read_at(phoff, &mut table) {
        return None;
    }
    let segments: Vec<raw::Elf64_Phdr> = program_header_table(&table)
        .filter(|ph| ph.p_type == raw::PT_NOTE)
        .collect();
    segments.into_iter().find_map(|ph| {
        let len = usize::try_from(ph.p_filesz).ok()?.min(MAX_NOTES);
        let mut notes = vec![0u8; len];
        read_at(ph.p_offset, &mut notes).then_some(())?;
        fdo_note_in(&notes)
    })
}

/// The descriptor (NUL-trimmed text) of the first FDO packaging note in
/// the bytes of one `PT_NOTE` segment.
fn fdo_note_in(notes: &[u8]) -> Option<String> {
    let pad = |v: u32| {
        usize::try_from(v)
            .ok()?
            .checked_next_multiple_of(raw::NOTE_ALIGN)
    };
    let mut at = 0usize;
    loop {
        let namesz = u32_at(notes, at)?;
        let descsz = u32_at(notes, at.checked_add(4)?)?;
        let n_type = u32_at(notes, at.checked_add(8)?)?;
        let name_at = at.checked_add(raw::NHDR_SIZE)?;
        let desc_at = name_at.checked_add(pad(namesz)?)?;
        let name = notes.get(name_at..name_at.checked_add(usize::try_from(namesz).ok()?)?)?;
        if n_type == NT_FDO_PACKAGING_METADATA && name == NOTE_NAME_FDO {
            let desc = notes.get(desc_at..desc_at.checked_add(usize::try_from(descsz).ok()?)?)?;
            let text = desc.split(|&b| b == 0).next().unwrap_or_default();
            return Some(String::from_utf8_lossy(text).into_owned());
        }
        at = desc_at.checked_add(pad(descsz)?)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(name: &[u8], n_type: u32, desc: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&u32::try_from(name.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&u32::try_from(desc.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&n_type.to_le_bytes());
        out.extend_from_slice(name);
        out.resize(out.len().next_multiple_of(4), 0);
        out.extend_from_slice(desc);
        out.resize(out.len().next_multiple_of(4), 0);
        out
    }

    #[test]
    fn the_package_note_is_found_after_other_notes() {
        let json = br#"{"type":"deb","name":"x","version":"1"}"#;
        let mut notes = note(b"GNU\0", 3, &[1, 2, 3, 4]);
        let mut desc = json.to_vec();
        desc.push(0);
        notes.extend(note(NOTE_NAME_FDO, NT_FDO_PACKAGING_METADATA, &desc));
        assert_eq!(
            fdo_note_in(&notes).as_deref(),
            Some(std::str::from_utf8(json).unwrap())
        );
        assert_eq!(fdo_note_in(&notes[..20]), None);
        assert_eq!(fdo_note_in(&note(b"GNU\0", 3, &[1])), None);
    }
}
