//! Facts about the ELF objects (executables, shared libraries) a process
//! had mapped, read from their first page as mapped in memory or in a
//! dump, or from the file on disk: program headers, the GNU build-id note,
//! and the dynamic linker's `r_debug` / `link_map` records.
//!
//! ```
//! use coroner_core_format::read::elf_object::gnu_build_id_in_notes;
//! let mut notes = Vec::new();
//! notes.extend_from_slice(&4u32.to_le_bytes()); // namesz
//! notes.extend_from_slice(&2u32.to_le_bytes()); // descsz
//! notes.extend_from_slice(&3u32.to_le_bytes()); // NT_GNU_BUILD_ID
//! notes.extend_from_slice(b"GNU\0\xab\xcd\0\0");
//! assert_eq!(gnu_build_id_in_notes(&notes), Some(&[0xab, 0xcd][..]));
//! ```

use scroll::Pread;

use crate::raw;

/// `NT_GNU_BUILD_ID`: the note holding the linker's build-id.
pub const NT_GNU_BUILD_ID: u32 = 3;
/// Owner name of GNU notes, with its NUL.
pub const NOTE_NAME_GNU: &[u8] = b"GNU\0";
/// `PT_DYNAMIC`: the segment holding the dynamic section.
pub const PT_DYNAMIC: u32 = 2;
/// `PT_PHDR`: the segment holding the program header table itself.
pub const PT_PHDR: u32 = 6;
/// `DT_NULL`: the end of the dynamic section.
pub const DT_NULL: u64 = 0;
/// `DT_DEBUG`: the dynamic entry the dynamic linker points at `r_debug`.
pub const DT_DEBUG: u64 = 21;
/// Size of an `Elf64_Dyn` entry (tag, value).
pub const DYN_SIZE: usize = 16;
/// Size of `struct r_debug` on LP64 (x86_64, aarch64).
pub const R_DEBUG_SIZE: usize = 40;
/// Size of the leading, ABI-stable part of `struct link_map` on LP64.
pub const LINK_MAP_SIZE: usize = 40;
/// The most bytes of `PT_NOTE` read from a file for its build-id.
const MAX_NOTES: u64 = 64 << 10;

fn is_elf64_le(image: &[u8]) -> bool {
    image.get(..4) == Some(&raw::ELFMAG[..])
        && image.get(raw::EI_CLASS) == Some(&raw::ELFCLASS64)
        && image.get(raw::EI_DATA) == Some(&raw::ELFDATA2LSB)
}

/// The program headers of the 64-bit little-endian ELF object whose first
/// bytes are `image`, as far as `image` holds them (none if it is not one,
/// or its program headers are not 56-byte ELF64 ones).
pub fn program_headers(image: &[u8]) -> impl Iterator<Item = raw::Elf64_Phdr> + '_ {
    let header: Option<raw::Elf64_Ehdr> = is_elf64_le(image)
        .then(|| image.pread_with(0, scroll::LE).ok())
        .flatten()
        .filter(|h: &raw::Elf64_Ehdr| usize::from(h.e_phentsize) == raw::PHDR_SIZE);
    let (phoff, phnum) = header.map_or((0, 0), |h| {
        (usize::try_from(h.e_phoff).unwrap_or(usize::MAX), h.e_phnum)
    });
    program_header_table(image.get(phoff..).unwrap_or_default()).take(usize::from(phnum))
}

/// The program headers in `table`, a program header table's bytes (as
/// `AT_PHDR` points at in a process), as many as it holds whole.
pub fn program_header_table(table: &[u8]) -> impl Iterator<Item = raw::Elf64_Phdr> + '_ {
    table
        .chunks_exact(raw::PHDR_SIZE)
        .map_while(|ph| ph.pread_with(0, scroll::LE).ok())
}

/// The descriptor of the first `NT_GNU_BUILD_ID` note owned by "GNU" in
/// `notes`, the bytes of a `PT_NOTE` segment.
pub fn gnu_build_id_in_notes(notes: &[u8]) -> Option<&[u8]> {
    let pad = |v: u32| {
        usize::try_from(v)
            .ok()?
            .checked_next_multiple_of(raw::NOTE_ALIGN)
    };
    let mut at = 0usize;
    loop {
        let nhdr: raw::Elf64_Nhdr = notes.pread_with(at, scroll::LE).ok()?;
        let name_at = at.checked_add(raw::NHDR_SIZE)?;
        let desc_at = name_at.checked_add(pad(nhdr.n_namesz)?)?;
        let next = desc_at.checked_add(pad(nhdr.n_descsz)?)?;
        let name =
            notes.get(name_at..name_at.checked_add(usize::try_from(nhdr.n_namesz).ok()?)?)?;
        if nhdr.n_type == NT_GNU_BUILD_ID && name == NOTE_NAME_GNU {
            let len = usize::try_from(nhdr.n_descsz).ok()?;
            return notes.get(desc_at..desc_at.checked_add(len)?);
        }
        at = next;
    }
}

/// The GNU build-id of the ELF object whose first bytes are `image` (its
/// header page as mapped from file offset 0: program headers and early
/// notes lie at their file offsets), from every `PT_NOTE` inside `image`.
pub fn gnu_build_id_in_image(image: &[u8]) -> Option<&[u8]> {
    program_headers(image)
        .filter(|ph| ph.p_type == raw::PT_NOTE)
        .find_map(|ph| {
            let start = usize::try_from(ph.p_offset).ok()?;
            let len = usize::try_from(ph.p_filesz).ok()?;
            gnu_build_id_in_notes(image.get(start..start.checked_add(len)?)?)
        })
}

/// The GNU build-id of an ELF file read through `read_at` (fill the buffer
/// from the offset, or `false`), from its `PT_NOTE` segments (at most 64 KiB
/// of each is read).
pub fn gnu_build_id_in_file(read_at: &mut dyn FnMut(u64, &mut [u8]) -> bool) -> Option<Vec<u8>> {
    let mut head = [0u8; raw::EHDR_SIZE];
    if !read_at(0, &mut head) || !is_elf64_le(&head) {
        return None;
    }
    let header: raw::Elf64_Ehdr = head.pread_with(0, scroll::LE).ok()?;
    if usize::from(header.e_phentsize) != raw::PHDR_SIZE || header.e_phnum == 0 {
        return None;
    }
    let mut table = vec![0u8; raw::PHDR_SIZE.checked_mul(usize::from(header.e_phnum))?];
    if !read_at(header.e_phoff, &mut table) {
        return None;
    }
    let notes: Vec<raw::Elf64_Phdr> = program_header_table(&table)
        .filter(|ph| ph.p_type == raw::PT_NOTE)
        .collect();
    notes.into_iter().find_map(|ph| {
        let mut notes = vec![0u8; usize::try_from(ph.p_filesz.min(MAX_NOTES)).ok()?];
        read_at(ph.p_offset, &mut notes)
            .then(|| gnu_build_id_in_notes(&notes).map(<[u8]>::to_vec))
            .flatten()
    })
}

/// The dynamic linker's `struct r_debug` (LP64), the head of its list of
/// loaded objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RDebug {
    /// `r_version`.
    pub version: u32,
    /// `r_map`: the first `link_map`.
    pub map: u64,
    /// `r_brk`: the address the debugger breaks at on changes.
    pub brk: u64,
    /// `r_ldbase`: where the dynamic linker is loaded.
    pub ldbase: u64,
}

impl RDebug {
    /// Decode the [`R_DEBUG_SIZE`] bytes of a `struct r_debug`.
    pub fn from_bytes(b: &[u8]) -> Option<RDebug> {
        Some(RDebug {
            version: b.pread_with(0, scroll::LE).ok()?,
            map: b.pread_with(8, scroll::LE).ok()?,
            brk: b.pread_with(16, scroll::LE).ok()?,
            ldbase: b.pread_with(32, scroll::LE).ok()?,
        })
    }
}

/// The leading, ABI-stable fields of a `struct link_map` (LP64).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkMapEntry {
    /// `l_addr`: the object's load bias.
    pub addr: u64,
    /// `l_name`: address of its NUL-terminated path.
    pub name: u64,
    /// `l_ld`: address of its dynamic section.
    pub ld: u64,
    /// `l_next`: the next entry (0 at the end).
    pub next: u64,
}

impl LinkMapEntry {
    /// Decode the [`LINK_MAP_SIZE`] leading bytes of a `struct link_map`.
    pub fn from_bytes(b: &[u8]) -> Option<LinkMapEntry> {
        Some(LinkMapEntry {
            addr: b.pread_with(0, scroll::LE).ok()?,
            name: b.pread_with(8, scroll::LE).ok()?,
            ld: b.pread_with(16, scroll::LE).ok()?,
            next: b.pread_with(24, scroll::LE).ok()?,
        })
    }
}

/// Decode an `Elf64_Dyn` entry's (tag, value) from its [`DYN_SIZE`] bytes.
pub fn dynamic_entry(b: &[u8]) -> Option<(u64, u64)> {
    Some((
        b.pread_with(0, scroll::LE).ok()?,
        b.pread_with(8, scroll::LE).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_build_id_note_after_other_notes_and_not_in_cut_notes() {
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
        notes.extend(1u8..=20);
        assert_eq!(
            gnu_build_id_in_notes(&notes),
            Some(&(1u8..=20).collect::<Vec<_>>()[..])
        );
        assert_eq!(gnu_build_id_in_notes(&notes[..40]), None);
        assert_eq!(gnu_build_id_in_notes(&[]), None);
    }

    #[test]
    fn garbage_has_no_build_id() {
        assert_eq!(gnu_build_id_in_image(b""), None);
        assert_eq!(gnu_build_id_in_image(b"\x7fELF\x02\x01"), None);
        let mut page = vec![0u8; 4096];
        page[..4].copy_from_slice(b"\x7fELF");
        page[4] = 2;
        page[5] = 1;
        page[0x20] = 0x40;
        page[0x36] = 56;
        page[0x38] = 0xff;
        page[0x39] = 0xff;
        assert_eq!(gnu_build_id_in_image(&page), None);
        let mut read = |at: u64, buf: &mut [u8]| {
            let at = at as usize;
            match page.get(at..at + buf.len()) {
                Some(b) => {
                    buf.copy_from_slice(b);
                    true
                }
                None => false,
            }
        };
        assert_eq!(gnu_build_id_in_file(&mut read), None);
    }

    #[test]
    fn the_build_id_of_an_elf_file_from_its_header_page_and_from_the_file() {
        // Whatever binary runs this test: Rust links with a build-id on
        // Linux; both ways must agree.
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let page = &exe[..4096.min(exe.len())];
        let mut read = |at: u64, buf: &mut [u8]| {
            let at = at as usize;
            match exe.get(at..at + buf.len()) {
                Some(b) => {
                    buf.copy_from_slice(b);
                    true
                }
                None => false,
            }
        };
        let from_file = gnu_build_id_in_file(&mut read);
        if let Some(id) = gnu_build_id_in_image(page) {
            assert_eq!(Some(id.to_vec()), from_file);
        }
        assert!(from_file.is_some_and(|id| id.len() >= 8));
    }
}
