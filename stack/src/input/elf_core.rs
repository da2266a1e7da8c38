//! Backtraces from an ELF core (coroner's, the kernel's, gdb's): threads
//! from `NT_PRSTATUS`, modules from `NT_FILE` with the build-ids in their
//! dumped first pages, memory read from the file on demand.

use std::path::Path;

use coroner_core_format::read::{CoreFile, FileMemory, ReadAt};
use coroner_core_format::write::MemorySource;
use coroner_core_format::{raw, read::elf_object};

use super::{arch_of, assemble, select_threads, walk_threads, InputThread};
use crate::memory::{CachedMemory, ReadMemory};
use crate::modules::{modules_from_mappings, FileMapping, Modules};
use crate::report::Stacks;
use crate::{Options, StackError};

/// A core's memory as the unwinder reads it.
struct CoreMemory<'a, R: ReadAt>(FileMemory<'a, R>);

impl<R: ReadAt> ReadMemory for CoreMemory<'_, R> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        self.0.read_at(addr, buf).unwrap_or(0)
    }
}

/// Whether `signal` is one whose default action dumps core (signal(7)):
/// only those make a thread "the crashing one". gdb's gcore records the
/// SIGSTOP it attached with, which is no crash.
fn dumps_core(signal: i32) -> bool {
    // SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGSEGV SIGXCPU SIGXFSZ SIGSYS
    matches!(signal, 3..=8 | 11 | 24 | 25 | 31)
}

/// The backtraces of every thread of the ELF core at `path`.
pub fn stacks_of_core(path: &Path, options: &Options) -> Result<Stacks, StackError> {
    let file = std::fs::File::open(path).map_err(|source| StackError::Io {
        path: path.to_owned(),
        source,
    })?;
    let core = CoreFile::open(file).map_err(|source| StackError::Core {
        path: path.to_owned(),
        source,
    })?;
    let malformed = |what: &'static str, e: &dyn std::fmt::Display| StackError::Malformed {
        path: path.to_owned(),
        what,
        reason: e.to_string(),
    };
    let signal = core
        .siginfo()
        .map_err(|e| malformed("NT_SIGINFO", &e))?
        .map(|s| s.signo())
        .filter(|s| dumps_core(*s));
    let mut threads = Vec::new();
    for (index, thread) in core.threads().enumerate() {
        let thread = thread.map_err(|e| malformed("NT_PRSTATUS", &e))?;
        let registers = thread
            .registers()
            .map_err(|e| malformed("thread registers", &e))?;
        // The first thread is the one that took the signal (or, in a
        // capture, the current one).
        let cursig = i32::from(thread.cursig());
        let thread_signal = (index == 0)
            .then_some(signal)
            .flatten()
            .or(dumps_core(cursig).then_some(cursig));
        threads.push(InputThread {
            tid: thread.tid(),
            name: None,
            registers,
            crashed: index == 0 && thread_signal.is_some(),
            signal: thread_signal,
        });
    }
    let Some(arch) = threads.first().map(|t| arch_of(&t.registers)) else {
        return Err(malformed("threads", &"the core has no NT_PRSTATUS note"));
    };
    let pid = core
        .prpsinfo()
        .ok()
        .flatten()
        .and_then(|p| u32::try_from(p.pid).ok())
        .or_else(|| threads.first().map(|t| t.tid));
    let threads = select_threads(threads, options)?;

    // Which mappings are executable comes from the PT_LOAD flags.
    let code: Vec<(u64, u64)> = core
        .load_segments()
        .filter(|ph| ph.p_flags & raw::PF_X != 0)
        .map(|ph| (ph.p_vaddr, ph.p_vaddr.saturating_add(ph.p_memsz)))
        .collect();
    let mut mappings = Vec::new();
    if let Some(files) = core.file_note().map_err(|e| malformed("NT_FILE", &e))? {
        for entry in files.entries() {
            let entry = entry.map_err(|e| malformed("NT_FILE", &e))?;
            mappings.push(FileMapping {
                start: entry.start,
                end: entry.end,
                file_offset: entry.file_offset().unwrap_or(0),
                path: String::from_utf8_lossy(entry.path).into_owned(),
                executable: Some(code.iter().any(|(s, e)| *s < entry.end && entry.start < *e)),
            });
        }
    }
    let mut specs = modules_from_mappings(mappings);
    let mut memory = core.memory();
    for spec in &mut specs {
        // The kernel dumps each ELF mapping's first page: its build-id
        // note is there.
        let base = spec.base;
        spec.build_id = elf_object::gnu_build_id_in_file(&mut |offset, buf| {
            base.checked_add(offset)
                .and_then(|addr| memory.read_at(addr, buf).ok())
                == Some(buf.len())
        });
    }
    let mut modules = Modules::new(specs, options);
    let mut memory = CachedMemory::new(CoreMemory(memory));
    let walks = walk_threads(&threads, &mut modules, &mut memory);
    Ok(assemble(pid, arch, threads, walks, &mut modules))
}
