use super::Core;
use crate::{
    is_thread_note, raw, CoreModel, PrPsInfo, PrStatus, ReadError, SegmentModel, ThreadModel,
};

impl Core<'_> {
    /// Decode the whole core into an owned [`CoreModel`] (memory bytes
    /// excepted): threads with their register notes, the first
    /// `NT_PRPSINFO` / `NT_SIGINFO` / `NT_AUXV` / `NT_FILE`, every other note
    /// as a custom note, and the `PT_LOAD` segments.
    ///
    /// `parse(write(model)).to_model() == model` for any model the writer
    /// accepts whose thread notes satisfy [`is_thread_note`].
    pub fn to_model(&self) -> Result<CoreModel, ReadError> {
        let machine = self.machine_or_err()?;
        let mut model = CoreModel::new(machine);
        for note in self.notes() {
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
                    let iter = super::AuxvIter::new(note.desc, note.offset);
                    model.auxv = Some(iter.collect::<Result<Vec<_>, _>>()?);
                    continue;
                }
                raw::NT_FILE if core && model.files.is_none() => {
                    model.files =
                        Some(super::FileNoteView::parse(note.desc, note.offset)?.to_model()?);
                    continue;
                }
                _ => {}
            }
            match model.threads.last_mut() {
                Some(t) if is_thread_note(note.name, note.n_type) => {
                    t.notes.push(note.to_owned_note())
                }
                _ => model.notes.push(note.to_owned_note()),
            }
        }
        model.segments = self
            .segments()
            .map(|s| SegmentModel {
                vaddr: s.vaddr(),
                memsz: s.memsz(),
                filesz: s.filesz(),
                flags: s.flags(),
            })
            .collect();
        Ok(model)
    }
}
