//! Read a live Linux process: everything a memory dump needs, and nothing
//! about file formats.
//!
//! - [`Process`]: opened through a `/proc/<pid>` directory descriptor, so a
//!   recycled pid cannot redirect reads; getters for status, stat, cmdline,
//!   environ, auxv, exe, cwd, limits, cgroup, coredump_filter, NSpid and the
//!   mapping list joined with smaps VmFlags and page counts.
//! - [`parse`]: the pure `/proc` parsers behind those getters (fuzzed).
//! - [`Frozen`]: every thread stopped with `PTRACE_SEIZE` + `PTRACE_INTERRUPT`
//!   (never SIGSTOP), with registers, FP state, XSTATE and pending siginfo;
//!   thawed on [`Frozen::thaw`], on drop and on panic.
//! - [`MemoryReader`]: `process_vm_readv` in large batches with
//!   `/proc/<pid>/mem` as fallback, exact short reads and holes, and a
//!   pagemap scan that finds present pages without touching them.
//!
//! ```
//! use coroner_proc_reader::Process;
//! let me = Process::open(std::process::id())?;
//! let status = me.status()?;
//! assert_eq!(status.tgid, std::process::id());
//! let memory = me.memory()?;
//! let word = 0x1234_5678_u64;
//! let mut back = [0u8; 8];
//! let addr = &word as *const u64 as u64;
//! memory.read_exact_at(addr, &mut back)?;
//! assert_eq!(u64::from_ne_bytes(back), word);
//! # Ok::<(), coroner_proc_reader::Error>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

mod error;
mod file_data;
mod freeze;
mod memory;
pub mod parse;
mod process;
pub mod regs;
mod sys;

pub use error::{Error, PermissionReason, Result};
pub use freeze::{FreezeOptions, Frozen, StopKind, Thawed, Thread};
pub use memory::{MemoryReader, ReadMethod, ReadRequest};
pub use parse::maps::{Mapping, Perms, VmFlags};
pub use parse::pagemap::PagemapEntry;
pub use process::Process;
pub use regs::Registers;
pub use sys::SIGINFO_SIZE;

/// Clock ticks per second, the unit of `stat`'s utime, stime and start time.
pub fn clock_ticks_per_second() -> u64 {
    sys::clock_ticks()
}

/// The system page size in bytes.
pub fn page_size() -> u64 {
    sys::page_size()
}
