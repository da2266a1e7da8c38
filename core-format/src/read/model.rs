use super::Core;
use crate::{CoreModel, ReadError, SegmentModel};

impl Core<'_> {
    /// Decode the whole core into an owned [`CoreModel`] (memory bytes
    /// excepted): threads with their register notes, the first
    /// `NT_PRPSINFO` / `NT_SIGINFO` / `NT_AUXV` / `NT_FILE`, every other note
    /// as a custom note, and the `PT_LOAD` segments.
    ///
    /// `parse(write(model)).to_model() == model` for any model the writer
    /// accepts whose thread notes satisfy [`is_thread_note`](crate::is_thread_note).
    pub fn to_model(&self) -> Result<CoreModel, ReadError> {
        let segments = self.segments().map(|s| SegmentModel {
            vaddr: s.vaddr(),
            memsz: s.memsz(),
            filesz: s.filesz(),
            flags: s.flags(),
        });
        super::process_notes::to_model(self.machine_or_err()?, self.notes(), segments)
    }
}
