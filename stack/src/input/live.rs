//! Backtraces of a live process: its mappings are read first, then every
//! thread is frozen (ptrace, no SIGSTOP), its registers and the used part of
//! its stack copied, and the process thawed at once; unwinding and
//! symbolization run afterwards on the copies. Only stack memory is read.

use std::path::PathBuf;

use coroner_core_format::{read::elf_object, Machine, Registers};
use coroner_proc_reader::{FreezeOptions, Mapping, MemoryReader, Process};

use super::{arch_of, assemble, select_threads, walk_threads, InputThread};
use crate::memory::{CachedMemory, ReadMemory};
use crate::modules::{modules_from_mappings, FileMapping, Modules};
use crate::report::Stacks;
use crate::{Options, StackError};

/// At most this much of one thread's stack is copied (from its sp up): a
/// deeper stack is unwound as far as the copy goes.
const MAX_STACK_COPY: u64 = 1 << 20;
/// Bytes below sp copied too (the x86_64 red zone, which leaf functions use).
const RED_ZONE: u64 = 128;

#[cfg(target_arch = "aarch64")]
const MACHINE: Machine = Machine::Aarch64;
#[cfg(not(target_arch = "aarch64"))]
const MACHINE: Machine = Machine::X86_64;

/// The copied stacks of the frozen threads.
struct StackCopies(Vec<(u64, Vec<u8>)>);

impl ReadMemory for StackCopies {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        for (base, bytes) in &self.0 {
            let Some(start) = addr
                .checked_sub(*base)
                .and_then(|o| usize::try_from(o).ok())
            else {
                continue;
            };
            let Some(avail) = bytes.get(start..) else {
                continue;
            };
            let n = avail.len().min(buf.len());
            if let (Some(dst), Some(src)) = (buf.get_mut(..n), avail.get(..n)) {
                dst.copy_from_slice(src);
                return n;
            }
        }
        0
    }
}

/// The backtraces of every thread of the live process `pid`. The process
/// is stopped only while registers and stacks are copied;
/// [`Stacks::frozen_for`] says how long.
pub fn stacks_of_process(pid: u32, options: &Options) -> Result<Stacks, StackError> {
    let err = |source| StackError::Process { pid, source };
    let process = Process::open(pid).map_err(err)?;
    let maps = process.maps().map_err(err)?;
    let specs = module_specs(&process, &maps, options);

    let mut freeze = FreezeOptions::default();
    // stat/status of every thread are not needed here: keep the pause short.
    freeze.thread_files = false;
    let reader = MemoryReader::new(&process).map_err(err)?;
    let frozen = process.freeze_with(freeze).map_err(err)?;
    let mut threads = Vec::new();
    let mut stacks = Vec::new();
    let mut maps = maps;
    let mut reread = false;
    for thread in frozen.threads() {
        let Some(registers) = Registers::from_words(MACHINE, &thread.regs.gp) else {
            continue;
        };
        let sp = registers.sp();
        let mut end = stack_end(&maps, sp);
        if end.is_none() && !reread {
            // A thread started after the mappings were read: its stack is new.
            if let Ok(fresh) = process.maps() {
                maps = fresh;
            }
            reread = true;
            end = stack_end(&maps, sp);
        }
        if let Some(end) = end {
            let start = sp.saturating_sub(RED_ZONE);
            let len = end.saturating_sub(start).min(MAX_STACK_COPY);
            let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(0)];
            let got = reader.read_at(start, &mut bytes).unwrap_or(0);
            bytes.truncate(got);
            stacks.push((start, bytes));
        }
        threads.push(InputThread {
            tid: thread.tid,
            name: Some(String::from_utf8_lossy(&thread.name).trim_end().to_owned()),
            registers,
            crashed: false,
            signal: None,
        });
    }
    let thawed = frozen.thaw().map_err(err)?;

    // The main thread first, as a debugger lists it.
    threads.sort_by_key(|t| t.tid != pid);
    let Some(arch) = threads.first().map(|t| arch_of(&t.registers)) else {
        return Err(StackError::Malformed {
            path: PathBuf::from(format!("/proc/{pid}/task")),
            what: "threads",
            reason: "no thread could be stopped (the process exited?)".into(),
        });
    };
    let threads = select_threads(threads, options)?;
    let mut modules = Modules::new(specs, options);
    let mut memory = CachedMemory::new(StackCopies(stacks));
    let walks = walk_threads(&threads, &mut modules, &mut memory);
    let mut out = assemble(Some(pid), arch, threads, walks, &mut modules);
    out.frozen_for = Some(thawed.frozen_for);
    Ok(out)
}

/// The end of the mapping holding `sp`.
fn stack_end(maps: &[Mapping], sp: u64) -> Option<u64> {
    maps.iter()
        .find(|m| m.start <= sp && sp < m.end)
        .map(|m| m.end)
}

/// The process's modules. Without a sysroot each is read through
/// `/proc/PID/map_files`, which is the mapped file itself even if the path
/// was replaced or deleted since; with one, the file under the sysroot is
/// checked against the mapped file's build-id.
fn module_specs(
    process: &Process,
    maps: &[Mapping],
    options: &Options,
) -> Vec<crate::modules::ModuleSpec> {
    let mappings = maps
        .iter()
        .filter(|m| m.path.first() == Some(&b'/'))
        .map(|m| FileMapping {
            start: m.start,
            end: m.end,
            file_offset: m.offset,
            path: String::from_utf8_lossy(&m.path)
                .trim_end_matches(" (deleted)")
                .to_owned(),
            executable: Some(m.perms.exec),
        })
        .collect();
    let mut specs = modules_from_mappings(mappings);
    let dir = process.map_files_dir();
    for spec in &mut specs {
        let Some(first) = maps.iter().find(|m| m.start == spec.range.start) else {
            continue;
        };
        let mapped: PathBuf = dir.join(format!("{:x}-{:x}", first.start, first.end));
        if options.sysroot.is_some() {
            spec.build_id = build_id_of(&mapped);
        } else if std::fs::metadata(&mapped).is_ok() {
            spec.file_override = Some(mapped);
        }
    }
    specs
}

/// The build-id of an ELF file, from its notes.
fn build_id_of(path: &std::path::Path) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(path).ok()?;
    elf_object::gnu_build_id_in_file(&mut |offset, buf| file.read_exact_at(buf, offset).is_ok())
}
