//! The inputs: an ELF core, a minidump, a live process. Each yields the
//! threads' registers, the modules and a way to read memory; the walk and
//! the symbolization are the same for all.

mod elf_core;
#[cfg(target_os = "linux")]
pub(crate) mod live;
mod minidump;

use std::io::Read;
use std::path::Path;

use coroner_core_format::Registers;

pub use elf_core::stacks_of_core;
pub use minidump::stacks_of_minidump;

use crate::arch::RegisterFile;
use crate::memory::{CachedMemory, ReadMemory};
use crate::modules::Modules;
use crate::report::FrameSource;
use crate::report::{Frame, Stacks, ThreadStack};
use crate::symbolize::symbolize;
use crate::tailcall::TailCalls;
use crate::unwind::{walk, RawFrame, Walk};
use crate::{Arch, Options, StackError};

/// A thread as an input describes it.
#[derive(Debug, Clone)]
pub(crate) struct InputThread {
    pub(crate) tid: u32,
    pub(crate) name: Option<String>,
    pub(crate) registers: Registers,
    pub(crate) crashed: bool,
    pub(crate) signal: Option<i32>,
}

/// The backtraces of an ELF core or a minidump, recognised by its first
/// bytes.
pub fn stacks_of_file(path: &Path, options: &Options) -> Result<Stacks, StackError> {
    let mut magic = [0u8; 4];
    let io = |source| StackError::Io {
        path: path.to_owned(),
        source,
    };
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(io)?;
    match &magic {
        b"\x7fELF" => stacks_of_core(path, options),
        b"MDMP" => stacks_of_minidump(path, options),
        _ => Err(StackError::UnknownFormat {
            path: path.to_owned(),
        }),
    }
}

/// Keep only the thread `options.thread` asks for (an error if absent).
pub(crate) fn select_threads(
    threads: Vec<InputThread>,
    options: &Options,
) -> Result<Vec<InputThread>, StackError> {
    let Some(tid) = options.thread else {
        return Ok(threads);
    };
    if threads.iter().any(|t| t.tid == tid) {
        return Ok(threads.into_iter().filter(|t| t.tid == tid).collect());
    }
    Err(StackError::NoSuchThread {
        tid,
        available: threads
            .iter()
            .map(|t| t.tid.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The architecture of a thread's registers.
pub(crate) fn arch_of(registers: &Registers) -> Arch {
    match registers.machine() {
        coroner_core_format::Machine::Aarch64 => Arch::Aarch64,
        _ => Arch::X86_64,
    }
}

/// Unwind every thread (crashing thread first).
pub(crate) fn walk_threads<M: ReadMemory>(
    threads: &[InputThread],
    modules: &mut Modules,
    memory: &mut CachedMemory<M>,
) -> Vec<Walk> {
    threads
        .iter()
        .map(|t| match RegisterFile::from_registers(&t.registers) {
            Some(regs) => walk(regs, modules, memory),
            None => Walk {
                frames: Vec::new(),
                truncated: Some("registers of an unsupported architecture".into()),
            },
        })
        .collect()
}

/// Name the frames of every walk, with the tail-call frames between them.
pub(crate) fn assemble(
    pid: Option<u32>,
    arch: Arch,
    threads: Vec<InputThread>,
    walks: Vec<Walk>,
    modules: &mut Modules,
) -> Stacks {
    let mut tail_calls = TailCalls::default();
    let mut stacks: Vec<ThreadStack> = threads
        .into_iter()
        .zip(walks)
        .map(|(t, w)| ThreadStack {
            tid: t.tid,
            name: t.name,
            crashed: t.crashed,
            signal: t.signal,
            frames: named_frames(&w.frames, modules, &mut tail_calls),
            truncated: w.truncated,
        })
        .collect();
    // The crashing thread first, the others in the input's order.
    stacks.sort_by_key(|t| !t.crashed);
    Stacks {
        pid,
        arch,
        threads: stacks,
        modules: modules.report(),
        frozen_for: None,
    }
}

/// The frames of one walk, named, with the tail-call frames put back
/// between each frame and its caller.
fn named_frames(raw: &[RawFrame], modules: &mut Modules, tail_calls: &mut TailCalls) -> Vec<Frame> {
    let mut out = Vec::new();
    for (i, frame) in raw.iter().enumerate() {
        out.extend(symbolize(frame, modules));
        let Some(caller) = raw.get(i.saturating_add(1)) else {
            continue;
        };
        for pc in tail_calls.between(frame, caller, modules) {
            let tail = RawFrame {
                pc,
                sp: caller.sp,
                source: FrameSource::TailCall,
                exact: false,
            };
            out.extend(symbolize(&tail, modules));
        }
    }
    out
}
