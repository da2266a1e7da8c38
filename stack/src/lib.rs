//! Every thread's symbolized backtrace, from an ELF core (coroner's, the
//! kernel's, gdb's), a minidump (coroner's, Breakpad's, minidump-writer's) or
//! a live Linux process — without a debugger.
//!
//! - Unwinding: DWARF CFI first (`.eh_frame` through its `.eh_frame_hdr`
//!   index, else `.debug_frame`), then frame pointers, then a scan of the
//!   stack for return addresses; every [`Frame`] says which one found it
//!   ([`FrameSource`]).
//! - Modules: the files the dump names, looked up under
//!   [`Options::sysroot`] and verified by build-id (a mismatch is reported
//!   as [`ModuleProblem::BuildIdMismatch`] and the file is not used);
//!   separate debug info from [`Options::debug_dirs`] (the
//!   `.build-id/xx/rest.debug` layout, and `.gnu_debuglink`).
//! - Tail calls: functions that jumped to the next one and so left no
//!   frame are put back from the DWARF call-site records, as gdb does
//!   ([`FrameSource::TailCall`]).
//! - Symbols: DWARF functions with their inlined frames and file:line,
//!   else the ELF symbol tables; Rust and C++ names demangled.
//! - A live process (Linux): frozen with ptrace, unwound reading only its
//!   threads' stack memory, thawed; [`Stacks::frozen_for`] says how long.
//!
//! ```no_run
//! use coroner_stack::{stacks_of_file, Options};
//! let stacks = stacks_of_file("core.1234".as_ref(), &Options::default())?;
//! for thread in &stacks.threads {
//!     println!("thread {}", thread.tid);
//!     for frame in &thread.frames {
//!         println!("  {:#x} {}", frame.pc, frame.function.as_deref().unwrap_or("??"));
//!     }
//! }
//! # Ok::<(), coroner_stack::StackError>(())
//! ```
#![deny(missing_docs)]
// Dumps and module files are untrusted input: the format crates' no-panic
// lint wall holds here too.
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

mod arch;
mod call_sites;
mod cfi;
mod demangle;
mod error;
mod image;
mod input;
mod locate;
mod memory;
mod modules;
mod report;
mod symbolize;
mod tailcall;
mod unwind;

pub use arch::Arch;
pub use demangle::demangle;
pub use error::StackError;
#[cfg(target_os = "linux")]
pub use input::live::stacks_of_process;
pub use input::{stacks_of_core, stacks_of_file, stacks_of_minidump};
pub use locate::Options;
pub use report::{Frame, FrameSource, ModuleProblem, ModuleReport, Stacks, ThreadStack};

/// The README's example, compiled as a doc test so it stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
