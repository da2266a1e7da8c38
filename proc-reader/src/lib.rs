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
//! - [`ForkCopy`]: a copy-on-write copy of a frozen process, made by one of
//!   its own threads running an injected raw `clone`, so its memory can be
//!   read while the process runs on; killed and reaped on drop.
//! - [`SignalTrap`]: a process kept traced so that chosen signals stop
//!   their thread before the handler runs; with [`with_held_threads`] a
//!   capture dumps it right then, and the signal is delivered afterwards.
//! - [`HostFacts`]: what a dump records about the machine (CPUs, kernel
//!   release and version, boot time, distribution).
//! - [`MemoryReader`]: `process_vm_readv` in large batches with
//!   `/proc/<pid>/mem` as fallback, exact short reads and holes, and a
//!   pagemap scan that finds present pages without touching them.
//!
//! Only Linux has the live half; on other systems the crate builds with
//! [`parse`], [`regs`]' layouts and [`Error`], so tools that analyse dumps
//! can use the parsers anywhere.
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

// The pure parts — /proc parsers, register layouts, the error type — build on
// any OS, so dumps can be analysed anywhere; everything that touches a live
// process (ptrace, process_vm_readv, /proc itself) is Linux-only.
mod copy_refusal;
mod error;
pub mod parse;
pub mod regs;

#[cfg(target_os = "linux")]
mod file_data;
#[cfg(target_os = "linux")]
mod fork_copy;
#[cfg(target_os = "linux")]
mod freeze;
#[cfg(target_os = "linux")]
mod held;
mod host;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod inject;
#[cfg(target_os = "linux")]
mod injectable;
#[cfg(target_os = "linux")]
mod memory;
#[cfg(target_os = "linux")]
mod memory_room;
#[cfg(target_os = "linux")]
mod process;
#[cfg(target_os = "linux")]
mod signal_trap;
#[cfg(target_os = "linux")]
mod sys;
#[cfg(target_os = "linux")]
mod write_tracking;

pub use copy_refusal::CopyRefusal;
pub use error::{Error, PermissionReason, Result};
#[cfg(target_os = "linux")]
pub use fork_copy::{reap_leftover_copies, CopyPlan, ForkCopy};
#[cfg(target_os = "linux")]
pub use freeze::{FreezeOptions, Frozen, StopKind, Thawed, Thread};
#[cfg(target_os = "linux")]
pub use held::with_held_threads;
pub use host::HostFacts;
#[cfg(target_os = "linux")]
pub use memory::{MemoryReader, ReadMethod, ReadRequest};
#[cfg(target_os = "linux")]
pub use memory_room::{tightest_cgroup_limit, CgroupRoom, MemoryRoom};
pub use parse::coredump_filter::CoredumpFilter;
pub use parse::maps::{Mapping, Perms, VmFlags};
pub use parse::pagemap::PagemapEntry;
pub use parse::siginfo::SIGINFO_SIZE;
#[cfg(target_os = "linux")]
pub use process::Process;
pub use regs::Registers;
#[cfg(target_os = "linux")]
pub use signal_trap::{Caught, SignalTrap};
#[cfg(target_os = "linux")]
pub use write_tracking::{TrackPlan, TrackRefusal, WriteTracker};

/// Clock ticks per second, the unit of `stat`'s utime, stime and start time.
#[cfg(target_os = "linux")]
pub fn clock_ticks_per_second() -> u64 {
    sys::clock_ticks()
}

/// The system page size in bytes.
#[cfg(target_os = "linux")]
pub fn page_size() -> u64 {
    sys::page_size()
}

/// The README's examples, compiled and run as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
