//! The process-wide notes, looked up the same way whether the notes come
//! from a core held in memory ([`Core`](super::Core)) or read out of a file
//! ([`CoreFile`](super::CoreFile)).

use super::{AuxvIter, FileNoteView, Note, NoteIter};
use crate::{
    is_thread_note, raw, CoreModel, Machine, PrPsInfo, PrStatus, ReadError, SegmentModel, SigInfo,
    ThreadModel,
};

/// The first `CORE` note of type `n_type`.
pub(crate) fn find_note<'data>(
    notes: NoteIter<'data>,
    n_type: u32,
) -> Result<Option<Note<'data>>, ReadError> {
    for note in notes {
        let note = note?;
        if note.n_type == n_type && note.name == raw::NOTE_NAME_CORE {
            return Ok(Some(note));
        }
    }
    Ok(None)
}

pub(crate) fn prpsinfo(notes: NoteIter<'_>) -> Result<Option<PrPsInfo>, ReadError> {
    match find_note(notes, raw::NT_PRPSINFO)? {
        Some(n) => PrPsInfo::parse(n.desc, n.offset).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn siginfo(notes: NoteIter<'_>) -> Result<Option<SigInfo>, ReadError> {
    match find_note(notes, raw::NT_SIGINFO)? {
        Some(n) => n.siginfo().map(Some),
        None => Ok(None),
    }
}

pub(crate) fn auxv(notes: NoteIter<'_>) -> Result<Option<AuxvIter<'_>>, ReadError> {
    Ok(find_note(notes, raw::NT_AUXV)?.map(|n| AuxvIter::new(n.desc, n.offset)))
}

pub(crate) fn file_note(notes: NoteIter<'_>) -> Result<Option<FileNoteView<'_>>, ReadError> {
    match find_note(notes, raw::NT_FILE)? {
        Some(n) => FileNoteView::parse(n.desc, n.offset).map(Some),
        None => Ok(None),
    }
}

/// An owned [`CoreModel`] from the notes and the `PT_LOAD` headers (see
/// [`Core::to_model`](super::Core::to_model)).
pub(crate) fn to_model(
    machine: Machine,
    notes: NoteIter<'_>,
    segments: impl Iterator<Item = SegmentModel>,
) -> Result<CoreModel, ReadError> {
    let mut model = CoreModel::new(machine);
    for note in notes {
        let note = note?;
        let core = note.name == raw::NOTE_NAME_CORE;
        match note.n_type {
            raw::NT_PRSTATUS if core => {
                let st = PrStatus::parse(machine, note.desc, note.offset)?;
                model.threads.push(ThreadModel::new(st));
                continue;
            }
            raw::NT_PRPSINFO if core && model.prpsinfo.is_none() => {
                model.prpsinfo = Some(PrPsInfo::parse(note.desc, note.offset)?);
                continue;
            }
            raw::NT_SIGINFO if core && model.siginfo.is_none() => {
                model.siginfo = Some(note.siginfo()?);
                continue;
            }
            raw::NT_AUXV if core && model.auxv.is_none() => {
                let iter = AuxvIter::new(note.desc, note.offset);
                model.auxv = Some(iter.collect::<Result<Vec<_>, _>>()?);
                continue;
            }
            raw::NT_FILE if core && model.files.is_none() => {
                model.files = Some(FileNoteView::parse(note.desc, note.offset)?.to_model()?);
                continue;
            }
            _ => {}
        }
        match model.threads.last_mut() {
            Some(t) if is_thread_note(note.name, note.n_type) => t.notes.push(note.to_owned_note()),
            _ => model.notes.push(note.to_owned_note()),
        }
    }
    model.segments = segments.collect();
    Ok(model)
}
