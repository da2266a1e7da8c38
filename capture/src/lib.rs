//! Capture live Linux processes as ELF cores (and, later, minidumps).
//!
//! Layers, each usable alone:
//! - [`select`]: which memory of each mapping is dumped (the kernel's rules,
//!   `--filter`, `--all`, `--exclude`), pure functions.
//! - [`sink`]: where the bytes go (atomic, 0600, sparse file; or a stream).
#![deny(missing_docs)]

pub mod copy;
pub mod select;
pub mod sink;
