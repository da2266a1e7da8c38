use coroner_dump_source::Output;
use scroll::Pwrite;

use super::{encode_notes, Layout, MemorySource, Sink, WriteOptions, WriteStats, PAGE_SIZE};
use crate::{raw, CoreModel, WriteError};

/// The streaming core writer. See the [module docs](crate::write).
#[derive(Debug, Clone, Default)]
pub struct CoreWriter {
    options: WriteOptions,
}

impl CoreWriter {
    /// A writer with `options`.
    pub fn new(options: WriteOptions) -> CoreWriter {
        CoreWriter { options }
    }

    /// The options.
    pub fn options(&self) -> &WriteOptions {
        &self.options
    }

    /// Plan the layout of `model` and stream the file to `sink` in one pass,
    /// pulling each segment's first `filesz` bytes from `memory`.
    ///
    /// Memory goes through a single buffer of
    /// [`buffer_size`](WriteOptions::buffer_size) bytes whatever the core's
    /// size. Ranges `memory` reports absent, bytes it cannot read (short
    /// reads) and all-zero pages are passed to the sink as holes.
    pub fn write<M, S>(
        &self,
        model: &CoreModel,
        memory: &mut M,
        sink: &mut S,
    ) -> Result<WriteStats, WriteError>
    where
        M: MemorySource + ?Sized,
        S: Sink + ?Sized,
    {
        let mut notes = Vec::new();
        encode_notes(model, &mut notes)?;
        let layout = Layout::plan_with_notes_size(model, notes.len() as u64)?;
        let largest = model.segments.iter().map(|s| s.filesz).max().unwrap_or(0);
        let mut out = Output::new(sink, &self.options, largest);

        write_headers(model, &layout, &mut out)?;
        out.pad_to(layout.notes_offset())?;
        out.write(&notes)?;
        drop(notes);

        for (seg, &offset) in model.segments.iter().zip(layout.segment_offsets()) {
            if seg.filesz == 0 {
                continue;
            }
            if seg.vaddr.checked_add(seg.filesz).is_none() {
                return Err(WriteError::Overflow {
                    what: "segment end",
                });
            }
            out.pad_to(offset)?;
            out.memory(memory, seg.vaddr, seg.filesz)?;
        }
        out.pad_to(layout.file_size())?;
        Ok(out.finish()?)
    }
}

fn write_headers<S: Sink + ?Sized>(
    model: &CoreModel,
    layout: &Layout,
    out: &mut Output<'_, S>,
) -> Result<(), WriteError> {
    const HDR: WriteError = WriteError::Overflow {
        what: "header encoding",
    };
    let [m0, m1, m2, m3] = raw::ELFMAG;
    let e_ident = [
        m0,
        m1,
        m2,
        m3,
        raw::ELFCLASS64,
        raw::ELFDATA2LSB,
        raw::EV_CURRENT,
        raw::ELFOSABI_NONE,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ];
    let phnum = layout.phnum();
    let ehdr = raw::Elf64_Ehdr {
        e_ident,
        e_type: raw::ET_CORE,
        e_machine: model.machine.e_machine(),
        e_version: u32::from(raw::EV_CURRENT),
        e_entry: 0,
        e_phoff: raw::EHDR_SIZE as u64,
        e_shoff: layout.shdr_offset(),
        e_flags: 0,
        e_ehsize: u16::try_from(raw::EHDR_SIZE).map_err(|_| HDR)?,
        e_phentsize: u16::try_from(raw::PHDR_SIZE).map_err(|_| HDR)?,
        e_phnum: if layout.extended_numbering() {
            raw::PN_XNUM
        } else {
            u16::try_from(phnum).map_err(|_| HDR)?
        },
        e_shentsize: if layout.extended_numbering() {
            u16::try_from(raw::SHDR_SIZE).map_err(|_| HDR)?
        } else {
            0
        },
        e_shnum: u16::from(layout.extended_numbering()),
        e_shstrndx: raw::SHN_UNDEF,
    };
    let mut chunk = Vec::with_capacity(64 * 1024);
    chunk.resize(raw::EHDR_SIZE, 0);
    chunk.pwrite_with(ehdr, 0, scroll::LE).map_err(|_| HDR)?;

    let put_phdr = |out: &mut Output<'_, S>,
                    chunk: &mut Vec<u8>,
                    ph: raw::Elf64_Phdr|
     -> Result<(), WriteError> {
        let at = chunk.len();
        chunk.resize(at.saturating_add(raw::PHDR_SIZE), 0);
        chunk.pwrite_with(ph, at, scroll::LE).map_err(|_| HDR)?;
        if chunk.len() >= 60 * 1024 {
            out.write(chunk)?;
            chunk.clear();
        }
        Ok(())
    };
    let note = raw::Elf64_Phdr {
        p_type: raw::PT_NOTE,
        p_flags: 0,
        p_offset: layout.notes_offset(),
        p_vaddr: 0,
        p_paddr: 0,
        p_filesz: layout.notes_size(),
        p_memsz: 0,
        p_align: 4,
    };
    put_phdr(out, &mut chunk, note)?;
    for (seg, &offset) in model.segments.iter().zip(layout.segment_offsets()) {
        let ph = raw::Elf64_Phdr {
            p_type: raw::PT_LOAD,
            p_flags: seg.flags,
            p_offset: offset,
            p_vaddr: seg.vaddr,
            p_paddr: 0,
            p_filesz: seg.filesz,
            p_memsz: seg.memsz,
            p_align: PAGE_SIZE,
        };
        put_phdr(out, &mut chunk, ph)?;
    }
    if layout.extended_numbering() {
        let sh = raw::Elf64_Shdr {
            sh_info: u32::try_from(phnum).map_err(|_| HDR)?,
            ..Default::default()
        };
        let at = chunk.len();
        chunk.resize(at.saturating_add(raw::SHDR_SIZE), 0);
        chunk.pwrite_with(sh, at, scroll::LE).map_err(|_| HDR)?;
    }
    Ok(out.write(&chunk)?)
}
