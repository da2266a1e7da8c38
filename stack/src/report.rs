//! What `stacks_of_*` return: threads with their frames, and what became of
//! each module the frames needed.

use std::path::PathBuf;
use std::time::Duration;

use crate::Arch;

/// Every thread's backtrace, and the modules used for it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Stacks {
    /// The process id, when the input records one.
    pub pid: Option<u32>,
    /// The architecture.
    pub arch: Arch,
    /// The threads, the crashing (or current) thread first.
    pub threads: Vec<ThreadStack>,
    /// The modules the frames fell into, each with what was found for it.
    pub modules: Vec<ModuleReport>,
    /// For a live process: how long it was stopped.
    pub frozen_for: Option<Duration>,
}

/// One thread's backtrace.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ThreadStack {
    /// Thread id.
    pub tid: u32,
    /// Thread name, when the input records one.
    pub name: Option<String>,
    /// Whether this thread received the signal (or exception) that caused
    /// the dump.
    pub crashed: bool,
    /// The signal number, for the crashing thread.
    pub signal: Option<i32>,
    /// Frames, innermost first; an inlined function is a frame of its own
    /// with the same `pc` as the function it was inlined into, and a
    /// function that tail-called the frame before it is one too
    /// ([`FrameSource::TailCall`]).
    pub frames: Vec<Frame>,
    /// Why the walk stopped early, when it did not reach the stack's end.
    pub truncated: Option<String>,
}

/// How a frame's registers were recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameSource {
    /// The thread's own registers (frame 0).
    Context,
    /// The DWARF call frame information of the callee.
    Cfi,
    /// The callee's frame pointer chain.
    FramePointer,
    /// A word on the stack that looks like a return address: a guess.
    Scan,
    /// An inlined function; same registers as the frame after it.
    Inlined,
    /// A function that ended by jumping to the frame before it (a tail
    /// call), so it left no frame on the stack: put back from the DWARF
    /// call-site records, as gdb does, when they say unambiguously which
    /// functions the caller's call went through. Its `pc` is the address
    /// right after that jump; its `sp` is the caller's.
    TailCall,
}

impl FrameSource {
    /// Short name used in reports (`context`, `cfi`, `frame-pointer`,
    /// `scan`, `inlined`, `tail-call`).
    pub fn name(self) -> &'static str {
        match self {
            FrameSource::Context => "context",
            FrameSource::Cfi => "cfi",
            FrameSource::FramePointer => "frame-pointer",
            FrameSource::Scan => "scan",
            FrameSource::Inlined => "inlined",
            FrameSource::TailCall => "tail-call",
        }
    }
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Frame {
    /// The instruction address: the pc of frame 0, a return address above.
    pub pc: u64,
    /// The stack pointer of the frame.
    pub sp: u64,
    /// How it was found.
    pub source: FrameSource,
    /// The module's file name (`libc.so.6`), when the pc lies in one.
    pub module: Option<String>,
    /// `pc` relative to the module's load address.
    pub module_offset: Option<u64>,
    /// The function, demangled.
    pub function: Option<String>,
    /// `pc` relative to the function's first instruction (symbol tables
    /// only; not for inlined frames).
    pub function_offset: Option<u64>,
    /// Source file.
    pub file: Option<String>,
    /// Source line.
    pub line: Option<u32>,
}

/// What became of a module the frames needed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModuleReport {
    /// The path the dump records.
    pub path: String,
    /// Load address.
    pub base: u64,
    /// The build-id the dump records (hex), if any.
    pub build_id: Option<String>,
    /// The file used, when one was.
    pub file: Option<PathBuf>,
    /// The separate debug file used, when one was.
    pub debug_file: Option<PathBuf>,
    /// What went wrong, if anything.
    pub problem: Option<ModuleProblem>,
}

/// Why a module's file was not used (or was used without debug info).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModuleProblem {
    /// No file at the recorded path (under the sysroot).
    NotFound {
        /// Where it was looked for.
        looked_at: PathBuf,
    },
    /// The file on disk is another build than the one the process ran: its
    /// unwind info and symbols would give wrong names, so it is not used.
    BuildIdMismatch {
        /// The build-id in the dump (hex).
        dump: String,
        /// The file's build-id (hex), or `none`.
        file: String,
    },
    /// The file could not be read or parsed.
    Unreadable {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for ModuleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModuleProblem::NotFound { looked_at } => {
                write!(f, "not found at {} (see --sysroot)", looked_at.display())
            }
            ModuleProblem::BuildIdMismatch { dump, file } => write!(
                f,
                "build-id mismatch: the dump has {dump}, the file {file}; not used"
            ),
            ModuleProblem::Unreadable { reason } => write!(f, "unreadable: {reason}"),
        }
    }
}
