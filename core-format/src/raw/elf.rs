//! ELF64 file header, program header and section header.
#![allow(non_camel_case_types)]

use scroll::{Pread, Pwrite, SizeWith};

/// `\x7fELF`, the first four bytes of `e_ident`.
pub const ELFMAG: [u8; 4] = *b"\x7fELF";
/// Index of the class byte in `e_ident`.
pub const EI_CLASS: usize = 4;
/// Index of the data-encoding byte in `e_ident`.
pub const EI_DATA: usize = 5;
/// Index of the version byte in `e_ident`.
pub const EI_VERSION: usize = 6;
/// Index of the OS ABI byte in `e_ident`.
pub const EI_OSABI: usize = 7;
/// 64-bit objects.
pub const ELFCLASS64: u8 = 2;
/// Two's complement, little-endian.
pub const ELFDATA2LSB: u8 = 1;
/// Current ELF version.
pub const EV_CURRENT: u8 = 1;
/// System V / Linux OS ABI (what the kernel writes).
pub const ELFOSABI_NONE: u8 = 0;

/// Core file.
pub const ET_CORE: u16 = 4;
/// AMD x86-64.
pub const EM_X86_64: u16 = 62;
/// ARM 64-bit.
pub const EM_AARCH64: u16 = 183;

/// Unused program header.
pub const PT_NULL: u32 = 0;
/// Loadable segment (a memory mapping in a core).
pub const PT_LOAD: u32 = 1;
/// Notes segment.
pub const PT_NOTE: u32 = 4;

/// Segment is executable.
pub const PF_X: u32 = 1;
/// Segment is writable.
pub const PF_W: u32 = 2;
/// Segment is readable.
pub const PF_R: u32 = 4;

/// `e_phnum` value meaning "the real count is in section header 0's `sh_info`".
pub const PN_XNUM: u16 = 0xffff;
/// Undefined section index.
pub const SHN_UNDEF: u16 = 0;

/// ELF64 file header (64 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct Elf64_Ehdr {
    /// Magic, class, data encoding, version, OS ABI, padding.
    pub e_ident: [u8; 16],
    /// Object file type (`ET_CORE`).
    pub e_type: u16,
    /// Architecture (`EM_X86_64`, `EM_AARCH64` …).
    pub e_machine: u16,
    /// Object file version.
    pub e_version: u32,
    /// Entry point (0 in cores).
    pub e_entry: u64,
    /// Program header table offset.
    pub e_phoff: u64,
    /// Section header table offset (0 unless `PN_XNUM`).
    pub e_shoff: u64,
    /// Processor flags.
    pub e_flags: u32,
    /// Size of this header.
    pub e_ehsize: u16,
    /// Size of one program header.
    pub e_phentsize: u16,
    /// Number of program headers, or `PN_XNUM`.
    pub e_phnum: u16,
    /// Size of one section header.
    pub e_shentsize: u16,
    /// Number of section headers.
    pub e_shnum: u16,
    /// Section name string table index.
    pub e_shstrndx: u16,
}

/// ELF64 program header (56 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct Elf64_Phdr {
    /// Segment type (`PT_LOAD`, `PT_NOTE` …).
    pub p_type: u32,
    /// `PF_R | PF_W | PF_X`.
    pub p_flags: u32,
    /// File offset of the segment's bytes.
    pub p_offset: u64,
    /// Virtual address.
    pub p_vaddr: u64,
    /// Physical address (0 in cores).
    pub p_paddr: u64,
    /// Bytes in the file.
    pub p_filesz: u64,
    /// Bytes in memory.
    pub p_memsz: u64,
    /// Alignment.
    pub p_align: u64,
}

/// ELF64 section header (64 bytes); cores only use one, for `PN_XNUM`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
#[repr(C)]
pub struct Elf64_Shdr {
    /// Name (string table offset).
    pub sh_name: u32,
    /// Section type.
    pub sh_type: u32,
    /// Flags.
    pub sh_flags: u64,
    /// Address.
    pub sh_addr: u64,
    /// File offset.
    pub sh_offset: u64,
    /// Size (for section 0: the real `e_shnum` when it overflows).
    pub sh_size: u64,
    /// Link (for section 0: the real `e_shstrndx` when it overflows).
    pub sh_link: u32,
    /// Info (for section 0: the real program header count under `PN_XNUM`).
    pub sh_info: u32,
    /// Alignment.
    pub sh_addralign: u64,
    /// Entry size.
    pub sh_entsize: u64,
}

/// Size of [`Elf64_Ehdr`].
pub const EHDR_SIZE: usize = 64;
/// Size of [`Elf64_Phdr`].
pub const PHDR_SIZE: usize = 56;
/// Size of [`Elf64_Shdr`].
pub const SHDR_SIZE: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use scroll::ctx::SizeWith;

    #[test]
    fn sizes_match_spec() {
        assert_eq!(Elf64_Ehdr::size_with(&scroll::LE), EHDR_SIZE);
        assert_eq!(Elf64_Phdr::size_with(&scroll::LE), PHDR_SIZE);
        assert_eq!(Elf64_Shdr::size_with(&scroll::LE), SHDR_SIZE);
    }
}
