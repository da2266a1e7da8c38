//! Backtraces from a minidump (coroner's, Breakpad's, minidump-writer's):
//! threads from the thread list (the crashing one's registers from the
//! exception stream), modules from the module list with their CodeView
//! build-ids, memory read from the file on demand.

use std::path::Path;

use coroner_core_format::{Registers, X86_64Regs};
use coroner_minidump_format::model::Context;
use coroner_minidump_format::read::{FileMemory, MinidumpFile, ReadAt};
use coroner_minidump_format::write::MemorySource;

use super::{arch_of, assemble, select_threads, walk_threads, InputThread};
use crate::memory::{CachedMemory, ReadMemory};
use crate::modules::{ModuleSpec, Modules};
use crate::report::Stacks;
use crate::{Options, StackError};

/// rust-minidump's exception code for a dump taken on request, not a crash.
const DUMP_REQUESTED: u32 = 0xffff_ffff;

/// A minidump's memory as the unwinder reads it.
struct DumpMemory<'a, R: ReadAt>(FileMemory<'a, R>);

impl<R: ReadAt> ReadMemory for DumpMemory<'_, R> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        self.0.read_at(addr, buf).unwrap_or(0)
    }
}

/// A minidump thread context as the general registers of an ELF core.
fn registers_of(context: &Context) -> Option<Registers> {
    match context {
        Context::Amd64(c) => Some(Registers::X86_64(X86_64Regs {
            r15: c.r15,
            r14: c.r14,
            r13: c.r13,
            r12: c.r12,
            rbp: c.rbp,
            rbx: c.rbx,
            r11: c.r11,
            r10: c.r10,
            r9: c.r9,
            r8: c.r8,
            rax: c.rax,
            rcx: c.rcx,
            rdx: c.rdx,
            rsi: c.rsi,
            rdi: c.rdi,
            rip: c.rip,
            rsp: c.rsp,
            eflags: u64::from(c.eflags),
            ..Default::default()
        })),
        Context::Arm64(c) => {
            let mut regs = coroner_core_format::Aarch64Regs {
                sp: c.sp,
                pc: c.pc,
                pstate: u64::from(c.cpsr),
                ..Default::default()
            };
            regs.regs = c.iregs;
            Some(Registers::Aarch64(regs))
        }
        _ => None,
    }
}

/// The backtraces of every thread of the minidump at `path`.
pub fn stacks_of_minidump(path: &Path, options: &Options) -> Result<Stacks, StackError> {
    let file = std::fs::File::open(path).map_err(|source| StackError::Io {
        path: path.to_owned(),
        source,
    })?;
    let dump = MinidumpFile::open(file).map_err(|source| StackError::Minidump {
        path: path.to_owned(),
        source,
    })?;
    let malformed = |what: &'static str, e: &dyn std::fmt::Display| StackError::Malformed {
        path: path.to_owned(),
        what,
        reason: e.to_string(),
    };
    let meta = dump.metadata();
    let exception = meta
        .exception()
        .map_err(|e| malformed("exception stream", &e))?;
    let (crash_tid, crash_code, crash_context) = match &exception {
        Some(ex) if ex.code() != DUMP_REQUESTED => (
            Some(ex.thread_id()),
            Some(ex.code()),
            ex.context().ok().flatten(),
        ),
        _ => (None, None, None),
    };
    let mut names = std::collections::HashMap::new();
    if let Some(list) = meta.thread_names().ok().flatten() {
        for (tid, name) in list.iter().flatten() {
            names.insert(tid, name);
        }
    }
    let list = meta
        .threads()
        .map_err(|e| malformed("thread list", &e))?
        .ok_or_else(|| malformed("thread list", &"the minidump has no thread list"))?;
    let mut threads = Vec::new();
    for thread in list.iter() {
        let thread = thread.map_err(|e| malformed("thread list", &e))?;
        let tid = thread.thread_id();
        let crashed = crash_tid == Some(tid);
        let context = match (&crash_context, crashed) {
            (Some(context), true) => Some(context.clone()),
            _ => thread
                .context()
                .map_err(|e| malformed("thread context", &e))?,
        };
        let Some(registers) = context.as_ref().and_then(registers_of) else {
            return Err(StackError::UnsupportedArch {
                what: format!("thread {tid}'s context"),
            });
        };
        threads.push(InputThread {
            tid,
            name: names.get(&tid).cloned(),
            registers,
            crashed,
            signal: crashed
                .then_some(crash_code)
                .flatten()
                .and_then(|c| i32::try_from(c).ok()),
        });
    }
    let Some(arch) = threads.first().map(|t| arch_of(&t.registers)) else {
        return Err(malformed("thread list", &"the minidump has no threads"));
    };
    let threads = select_threads(threads, options)?;
    let mut specs = Vec::new();
    if let Some(list) = meta.modules().map_err(|e| malformed("module list", &e))? {
        for module in list.iter() {
            let module = module.map_err(|e| malformed("module list", &e))?;
            let base = module.base();
            let end = base.saturating_add(u64::from(module.size()));
            let build_id = match module.code_view() {
                Ok(Some(coroner_minidump_format::read::CodeView::Elf { build_id })) => {
                    Some(build_id.to_vec())
                }
                _ => None,
            };
            specs.push(ModuleSpec {
                path: module.name().map_err(|e| malformed("module name", &e))?,
                base,
                range: base..end,
                // The module list does not say which parts are code.
                code: std::iter::once(base..end).collect(),
                build_id: build_id.filter(|id| !id.is_empty()),
                file_override: None,
            });
        }
    }
    let mut modules = Modules::new(specs, options);
    let mut memory = CachedMemory::new(DumpMemory(dump.memory()));
    let walks = walk_threads(&threads, &mut modules, &mut memory);
    // MiscInfo's process id, when the dump has one (0 means unset).
    let pid = meta
        .misc_info()
        .ok()
        .flatten()
        .map(|m| m.to_model().process_id)
        .filter(|pid| *pid != 0);
    Ok(assemble(pid, arch, threads, walks, &mut modules))
}
