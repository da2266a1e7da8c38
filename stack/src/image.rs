//! A module's ELF file (and its separate debug file) read for unwinding and
//! symbolization: CFI sections, code bytes, symbol tables, DWARF.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, SymbolKind};

use crate::call_sites::UnitCallSites;

/// The reader addr2line works on: reference-counted section bytes, so the
/// context owns its data.
pub(crate) type DwarfReader = gimli::EndianRcSlice<gimli::RunTimeEndian>;

/// A section's bytes and its address in the file's own address space.
#[derive(Debug)]
pub(crate) struct Section {
    pub(crate) addr: u64,
    pub(crate) data: Vec<u8>,
}

/// A `PT_LOAD` segment's file bytes.
#[derive(Debug)]
struct Segment {
    vaddr: u64,
    data: Vec<u8>,
    executable: bool,
}

/// A symbol-table function.
#[derive(Debug, Clone)]
pub(crate) struct Symbol {
    pub(crate) addr: u64,
    pub(crate) size: u64,
    pub(crate) name: String,
    /// Global beats weak beats local when several share an address.
    rank: u8,
}

/// A parsed module: everything unwinding and symbolization need, owned.
pub(crate) struct Image {
    /// The file used.
    pub(crate) path: PathBuf,
    /// The separate debug file used, if any.
    pub(crate) debug_path: Option<PathBuf>,
    /// The file's own address of the byte at file offset 0 (`p_vaddr -
    /// p_offset` of its first `PT_LOAD`): load address minus this is the bias.
    pub(crate) offset_zero_vaddr: u64,
    pub(crate) eh_frame: Option<Section>,
    pub(crate) eh_frame_hdr: Option<Section>,
    pub(crate) debug_frame: Option<Section>,
    segments: Vec<Segment>,
    /// By address; several names at one address (aliases) are all kept,
    /// the preferred one first.
    symbols: Vec<Symbol>,
    pub(crate) dwarf: Option<addr2line::Context<DwarfReader>>,
    /// The call sites of each compilation unit read so far, by the unit's
    /// offset in `.debug_info`.
    call_sites: RefCell<HashMap<usize, Rc<UnitCallSites>>>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("path", &self.path)
            .field("debug_path", &self.debug_path)
            .field("symbols", &self.symbols.len())
            .field("dwarf", &self.dwarf.is_some())
            .finish_non_exhaustive()
    }
}

/// A section's uncompressed bytes, if it has any in the file (not NOBITS).
fn section_bytes(file: &object::File<'_>, name: &str) -> Option<Section> {
    let section = file.section_by_name(name)?;
    if section.kind() == object::SectionKind::UninitializedData {
        return None;
    }
    let data = section.uncompressed_data().ok()?;
    if data.is_empty() {
        return None;
    }
    Some(Section {
        addr: section.address(),
        data: data.into_owned(),
    })
}

/// The symbol-table functions of `file`.
fn function_symbols(file: &object::File<'_>, out: &mut Vec<Symbol>) {
    for symbol in file.symbols().chain(file.dynamic_symbols()) {
        if symbol.kind() != SymbolKind::Text || !symbol.is_definition() {
            continue;
        }
        let Ok(name) = symbol.name() else { continue };
        if name.is_empty() {
            continue;
        }
        let rank = if symbol.is_global() && !symbol.is_weak() {
            0
        } else if symbol.is_weak() {
            1
        } else {
            2
        };
        out.push(Symbol {
            addr: symbol.address(),
            size: symbol.size(),
            name: name.to_owned(),
            rank,
        });
    }
}

/// DWARF of `file` for addr2line, if it has a `.debug_info`.
fn dwarf_context(file: &object::File<'_>) -> Option<addr2line::Context<DwarfReader>> {
    let info = file.section_by_name(".debug_info")?;
    if info.kind() == object::SectionKind::UninitializedData || info.size() == 0 {
        return None;
    }
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let load = |id: gimli::SectionId| -> Result<DwarfReader, gimli::Error> {
        // Variable locations, macros and name indexes are not needed for
        // function names and lines; their sections are among the largest
        // and would be decompressed for nothing.
        let unused = matches!(
            id,
            gimli::SectionId::DebugLoc
                | gimli::SectionId::DebugLocLists
                | gimli::SectionId::DebugMacinfo
                | gimli::SectionId::DebugMacro
                | gimli::SectionId::DebugPubNames
                | gimli::SectionId::DebugPubTypes
        );
        let data = file
            .section_by_name(id.name())
            .filter(|_| !unused)
            .filter(|s| s.kind() != object::SectionKind::UninitializedData)
            .and_then(|s| s.uncompressed_data().ok())
            .unwrap_or(Cow::Borrowed(&[]));
        Ok(DwarfReader::new(Rc::from(&*data), endian))
    };
    let dwarf = gimli::Dwarf::load(load).ok()?;
    addr2line::Context::from_dwarf(dwarf).ok()
}

impl Image {
    /// Read `binary` (the module as mapped) and, when given, `debug` (its
    /// separate debug info).
    pub(crate) fn new(
        path: PathBuf,
        binary: &object::File<'_>,
        debug: Option<(PathBuf, &object::File<'_>)>,
    ) -> Image {
        let mut segments = Vec::new();
        let mut offset_zero_vaddr = None;
        for segment in binary.segments() {
            let (offset, _) = segment.file_range();
            if offset_zero_vaddr.is_none() {
                offset_zero_vaddr = segment.address().checked_sub(offset);
            }
            let executable = matches!(
                segment.flags(),
                object::SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_X != 0
            );
            if executable {
                if let Ok(data) = segment.data() {
                    segments.push(Segment {
                        vaddr: segment.address(),
                        data: data.to_vec(),
                        executable,
                    });
                }
            }
        }
        let mut symbols = Vec::new();
        function_symbols(binary, &mut symbols);
        let mut debug_frame = section_bytes(binary, ".debug_frame");
        let mut dwarf = None;
        let mut debug_path = None;
        if let Some((dpath, dfile)) = debug {
            function_symbols(dfile, &mut symbols);
            if debug_frame.is_none() {
                debug_frame = section_bytes(dfile, ".debug_frame");
            }
            dwarf = dwarf_context(dfile);
            debug_path = Some(dpath);
        }
        if dwarf.is_none() {
            dwarf = dwarf_context(binary);
        }
        // By address, and at one address the preferred name first.
        symbols.sort_by(|a, b| {
            (a.addr, a.rank, std::cmp::Reverse(a.size), &a.name).cmp(&(
                b.addr,
                b.rank,
                std::cmp::Reverse(b.size),
                &b.name,
            ))
        });
        // The same symbol from .symtab and .dynsym (or the debug file).
        symbols.dedup_by(|a, b| a.addr == b.addr && a.name == b.name);
        Image {
            path,
            debug_path,
            offset_zero_vaddr: offset_zero_vaddr.unwrap_or(0),
            eh_frame: section_bytes(binary, ".eh_frame"),
            eh_frame_hdr: section_bytes(binary, ".eh_frame_hdr"),
            debug_frame,
            segments,
            symbols,
            dwarf,
            call_sites: RefCell::default(),
        }
    }

    /// The symbol-table function containing `svma`, and the offset into it.
    pub(crate) fn symbol(&self, svma: u64) -> Option<(&Symbol, u64)> {
        let index = self.symbols.partition_point(|s| s.addr <= svma);
        let last = self.symbols.get(index.checked_sub(1)?)?;
        // The preferred name at that address comes first.
        let first = self.symbols.partition_point(|s| s.addr < last.addr);
        let symbol = self.symbols.get(first)?;
        let offset = svma.checked_sub(symbol.addr)?;
        // A sized symbol must contain the address; an unsized one (assembly)
        // is taken as reaching the next symbol.
        (symbol.size == 0 || offset < symbol.size).then_some((symbol, offset))
    }

    /// The address of the function symbol `name` and whether it is visible
    /// outside its file (global or weak) rather than local: how a call to a
    /// function declared in one place finds its definition.
    pub(crate) fn function_named(&self, name: &str) -> Option<(u64, bool)> {
        let mut local = None;
        for symbol in self.symbols.iter().filter(|s| s.name == name) {
            if symbol.rank <= 1 {
                return Some((symbol.addr, true));
            }
            local = local.or(Some((symbol.addr, false)));
        }
        local
    }

    /// The call sites and functions of the compilation unit whose code
    /// holds `svma`, read the first time they are asked for.
    pub(crate) fn call_sites(&self, svma: u64) -> Option<Rc<UnitCallSites>> {
        let dwarf = self.dwarf.as_ref()?;
        let unit = dwarf.find_dwarf_and_unit(svma).skip_all_loads()?;
        let key = match unit.header.offset() {
            gimli::UnitSectionOffset::DebugInfoOffset(offset) => offset.0,
            gimli::UnitSectionOffset::DebugTypesOffset(_) => return None,
        };
        if let Some(found) = self.call_sites.borrow().get(&key) {
            return Some(Rc::clone(found));
        }
        let read = Rc::new(UnitCallSites::read(unit));
        self.call_sites.borrow_mut().insert(key, Rc::clone(&read));
        Some(read)
    }

    /// `len` code bytes at `svma` from the file, if it has them.
    pub(crate) fn code_bytes(&self, svma: u64, len: usize) -> Option<&[u8]> {
        self.segments.iter().filter(|s| s.executable).find_map(|s| {
            let start = usize::try_from(svma.checked_sub(s.vaddr)?).ok()?;
            s.data.get(start..start.checked_add(len)?)
        })
    }

    /// Whether the instruction ending right before `svma` (a return address)
    /// is a call: how a stack scan tells return addresses from other
    /// pointers into code.
    pub(crate) fn follows_call(&self, svma: u64) -> bool {
        // x86_64 encodings: call rel32 (e8 + 4), call *r/m (ff /2) of 2 to 7
        // bytes (with optional REX prefix). aarch64: bl / blr.
        let before = |n: u64| {
            svma.checked_sub(n)
                .and_then(|at| self.code_bytes(at, usize::try_from(n).ok()?))
        };
        if let Some(b) = before(5) {
            if b.first() == Some(&0xe8) {
                return true;
            }
        }
        for n in 2..=7u64 {
            if let Some(b) = before(n) {
                let (op, modrm) = match (b.first(), b.get(1), b.get(2)) {
                    (Some(0x41..=0x4f), Some(0xff), Some(m)) => (0xff, *m),
                    (Some(0xff), Some(m), _) => (0xff, *m),
                    _ => continue,
                };
                if op == 0xff && (modrm >> 3) & 7 == 2 {
                    return true;
                }
            }
        }
        if let Some(b) = before(4) {
            let mut word = [0u8; 4];
            word.copy_from_slice(b);
            let insn = u32::from_le_bytes(word);
            // bl imm26, blr xN (aarch64).
            if insn & 0xfc00_0000 == 0x9400_0000 || insn & 0xffff_fc1f == 0xd63f_0000 {
                return true;
            }
        }
        false
    }
}
