use scroll::Pwrite;

use crate::{raw, CoreModel, Note, WriteError};

fn pad4(n: u64) -> Option<u64> {
    n.checked_add(3).map(|v| v & !3)
}

/// Bytes one note takes in the file: header, name with its NUL and the
/// descriptor, each padded to 4 bytes.
pub fn note_size(name_len: usize, desc_len: usize) -> Option<u64> {
    let name = pad4(u64::try_from(name_len).ok()?.checked_add(1)?)?;
    let desc = pad4(u64::try_from(desc_len).ok()?)?;
    (raw::NHDR_SIZE as u64).checked_add(name)?.checked_add(desc)
}

fn push_note(out: &mut Vec<u8>, name: &[u8], n_type: u32, desc: &[u8]) -> Result<(), WriteError> {
    let bad = |reason| WriteError::InvalidModel {
        what: format!("note type {n_type:#x}"),
        reason,
    };
    let namesz = name
        .len()
        .checked_add(1)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(bad("name too long"))?;
    let descsz = u32::try_from(desc.len()).map_err(|_| bad("descriptor larger than 4 GiB"))?;
    let hdr = raw::Elf64_Nhdr {
        n_namesz: namesz,
        n_descsz: descsz,
        n_type,
    };
    let mut h = [0u8; raw::NHDR_SIZE];
    h.pwrite_with(hdr, 0, scroll::LE)
        .map_err(|_| WriteError::Overflow {
            what: "note header",
        })?;
    out.extend_from_slice(&h);
    out.extend_from_slice(name);
    out.push(0);
    while out.len() % raw::NOTE_ALIGN != 0 {
        out.push(0);
    }
    out.extend_from_slice(desc);
    while out.len() % raw::NOTE_ALIGN != 0 {
        out.push(0);
    }
    Ok(())
}

fn push(out: &mut Vec<u8>, note: &Note) -> Result<(), WriteError> {
    push_note(out, &note.name, note.n_type, &note.desc)
}

fn auxv_bytes(auxv: &[crate::AuxvEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        auxv.len()
            .saturating_add(1)
            .saturating_mul(raw::AUXV_ENTRY_SIZE),
    );
    for e in auxv.iter().chain(std::iter::once(&crate::AuxvEntry {
        key: raw::AT_NULL,
        value: 0,
    })) {
        out.extend_from_slice(&e.key.to_le_bytes());
        out.extend_from_slice(&e.value.to_le_bytes());
    }
    out
}

fn file_bytes(files: &crate::FileNote) -> Result<Vec<u8>, WriteError> {
    let page = files.page_size;
    if page == 0 {
        return Err(WriteError::InvalidModel {
            what: "NT_FILE".into(),
            reason: "page_size is 0",
        });
    }
    let count = u64::try_from(files.entries.len()).map_err(|_| WriteError::Overflow {
        what: "NT_FILE count",
    })?;
    let mut out = Vec::new();
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&page.to_le_bytes());
    for (i, e) in files.entries.iter().enumerate() {
        if e.file_offset.checked_rem(page) != Some(0) {
            return Err(WriteError::InvalidModel {
                what: format!("NT_FILE entry {i}"),
                reason: "file offset is not a multiple of the note's page_size",
            });
        }
        out.extend_from_slice(&e.start.to_le_bytes());
        out.extend_from_slice(&e.end.to_le_bytes());
        out.extend_from_slice(&e.file_offset.checked_div(page).unwrap_or(0).to_le_bytes());
    }
    for (i, e) in files.entries.iter().enumerate() {
        if e.path.contains(&0) {
            return Err(WriteError::InvalidModel {
                what: format!("NT_FILE entry {i}"),
                reason: "path contains a NUL",
            });
        }
        out.extend_from_slice(&e.path);
        out.push(0);
    }
    Ok(out)
}

/// Encode the contents of the `PT_NOTE` segment of `model`, in the kernel's
/// order (see [`CoreModel`]), appending to `out`.
pub fn encode_notes(model: &CoreModel, out: &mut Vec<u8>) -> Result<(), WriteError> {
    let process = |out: &mut Vec<u8>| -> Result<(), WriteError> {
        if let Some(p) = &model.prpsinfo {
            push_note(out, raw::NOTE_NAME_CORE, raw::NT_PRPSINFO, &p.to_bytes())?;
        }
        if let Some(s) = &model.siginfo {
            push_note(out, raw::NOTE_NAME_CORE, raw::NT_SIGINFO, &s.bytes)?;
        }
        if let Some(a) = &model.auxv {
            push_note(out, raw::NOTE_NAME_CORE, raw::NT_AUXV, &auxv_bytes(a))?;
        }
        if let Some(f) = &model.files {
            push_note(out, raw::NOTE_NAME_CORE, raw::NT_FILE, &file_bytes(f)?)?;
        }
        Ok(())
    };
    if model.threads.is_empty() {
        process(out)?;
    }
    for (i, t) in model.threads.iter().enumerate() {
        if t.prstatus.regs.machine() != model.machine {
            return Err(WriteError::InvalidModel {
                what: format!("thread {i} (tid {})", t.tid()),
                reason: "registers are not of the model's machine",
            });
        }
        push_note(
            out,
            raw::NOTE_NAME_CORE,
            raw::NT_PRSTATUS,
            &t.prstatus.to_bytes(),
        )?;
        if i == 0 {
            process(out)?;
        }
        for n in &t.notes {
            push(out, n)?;
        }
    }
    for n in &model.notes {
        push(out, n)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_sizes_pad_name_and_desc_to_4() {
        assert_eq!(note_size(4, 336), Some(12 + 8 + 336)); // "CORE\0" -> 8
        assert_eq!(note_size(5, 832), Some(12 + 8 + 832)); // "LINUX\0" -> 8
        assert_eq!(note_size(0, 1), Some(12 + 4 + 4));
        let mut out = Vec::new();
        push_note(&mut out, b"CORE", 1, &[1, 2, 3]).unwrap();
        assert_eq!(
            out,
            [5, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, b'C', b'O', b'R', b'E', 0, 0, 0, 0, 1, 2, 3, 0]
        );
    }
}
