use super::{Note, NoteIter};
use crate::{is_thread_note, raw, Machine, PrStatus, ReadError, Registers, SigInfo};

/// Iterator over the threads: one per `NT_PRSTATUS`. Stops after the first error.
#[derive(Debug, Clone)]
pub struct ThreadIter<'data> {
    machine: Option<Machine>,
    e_machine: u16,
    notes: NoteIter<'data>,
    done: bool,
}

impl<'data> ThreadIter<'data> {
    pub(crate) fn new(
        machine: Option<Machine>,
        e_machine: u16,
        notes: NoteIter<'data>,
    ) -> ThreadIter<'data> {
        ThreadIter {
            machine,
            e_machine,
            notes,
            done: false,
        }
    }
}

fn is_prstatus(n: &Note<'_>) -> bool {
    n.n_type == raw::NT_PRSTATUS && n.name == raw::NOTE_NAME_CORE
}

impl<'data> Iterator for ThreadIter<'data> {
    type Item = Result<Thread<'data>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let note = match self.notes.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(n)) => n,
            };
            if !is_prstatus(&note) {
                continue;
            }
            return match PrStatus::parse_common(note.desc, note.offset) {
                Ok(common) => Some(Ok(Thread {
                    machine: self.machine,
                    e_machine: self.e_machine,
                    prstatus: note,
                    common,
                    rest: self.notes.clone(),
                })),
                Err(e) => {
                    self.done = true;
                    Some(Err(e))
                }
            };
        }
    }
}

/// A thread: its `NT_PRSTATUS` and the notes up to the next one.
#[derive(Debug, Clone)]
pub struct Thread<'data> {
    machine: Option<Machine>,
    e_machine: u16,
    prstatus: Note<'data>,
    common: raw::elf_prstatus_common,
    rest: NoteIter<'data>,
}

impl<'data> Thread<'data> {
    /// The thread id (`pr_pid`).
    pub fn tid(&self) -> u32 {
        u32::from_ne_bytes(self.common.pr_pid.to_ne_bytes())
    }

    /// The current signal (`pr_cursig`).
    pub fn cursig(&self) -> i16 {
        self.common.pr_cursig
    }

    /// The architecture-independent part of `NT_PRSTATUS` (any machine).
    pub fn prstatus_common(&self) -> &raw::elf_prstatus_common {
        &self.common
    }

    /// The raw `NT_PRSTATUS` note.
    pub fn prstatus_note(&self) -> Note<'data> {
        self.prstatus
    }

    /// The whole typed `NT_PRSTATUS` (x86_64 and aarch64).
    pub fn prstatus(&self) -> Result<PrStatus, ReadError> {
        let machine = self.machine.ok_or(ReadError::UnsupportedMachine {
            e_machine: self.e_machine,
        })?;
        PrStatus::parse(machine, self.prstatus.desc, self.prstatus.offset)
    }

    /// The general registers.
    pub fn registers(&self) -> Result<Registers, ReadError> {
        self.prstatus().map(|s| s.regs)
    }

    /// The register set notes that follow the `NT_PRSTATUS` (see
    /// [`is_thread_note`](crate::is_thread_note)).
    pub fn notes(&self) -> ThreadNoteIter<'data> {
        ThreadNoteIter {
            notes: self.rest.clone(),
            all: false,
            done: false,
        }
    }

    /// Every note up to the next `NT_PRSTATUS`, including process-wide ones
    /// the kernel writes after the first thread's status.
    pub fn all_following_notes(&self) -> ThreadNoteIter<'data> {
        ThreadNoteIter {
            notes: self.rest.clone(),
            all: true,
            done: false,
        }
    }

    /// The first register note of type `n_type`.
    pub fn note(&self, n_type: u32) -> Result<Option<Note<'data>>, ReadError> {
        for n in self.notes() {
            let n = n?;
            if n.n_type == n_type {
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    /// `NT_FPREGSET` (x86_64 FXSAVE area / aarch64 FPSIMD state).
    pub fn fpregset(&self) -> Result<Option<&'data [u8]>, ReadError> {
        Ok(self.note(raw::NT_FPREGSET)?.map(|n| n.desc))
    }

    /// `NT_X86_XSTATE`.
    pub fn xstate(&self) -> Result<Option<&'data [u8]>, ReadError> {
        Ok(self.note(raw::NT_X86_XSTATE)?.map(|n| n.desc))
    }

    /// An `NT_SIGINFO` among this thread's notes (the kernel writes it after
    /// the first thread's status, gdb after every thread's).
    pub fn siginfo(&self) -> Result<Option<SigInfo>, ReadError> {
        for n in self.all_following_notes() {
            let n = n?;
            if n.n_type == raw::NT_SIGINFO && n.name == raw::NOTE_NAME_CORE {
                return n.siginfo().map(Some);
            }
        }
        Ok(None)
    }
}

/// Iterator over a thread's notes. Stops at the next `NT_PRSTATUS` or after
/// the first error.
#[derive(Debug, Clone)]
pub struct ThreadNoteIter<'data> {
    notes: NoteIter<'data>,
    all: bool,
    done: bool,
}

impl<'data> Iterator for ThreadNoteIter<'data> {
    type Item = Result<Note<'data>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.notes.next() {
                None => self.done = true,
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(n)) if is_prstatus(&n) => self.done = true,
                Some(Ok(n)) if self.all || is_thread_note(n.name, n.n_type) => return Some(Ok(n)),
                Some(Ok(_)) => {}
            }
        }
        None
    }
}
