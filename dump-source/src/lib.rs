//! The two contracts coroner's format crates read through, defined once so
//! that a source written for one format serves the other unchanged:
//!
//! - [`ReadAt`]: random access to a dump file, for the readers;
//! - [`MemorySource`]: the memory a writer pulls, with one short-read rule
//!   and a hint of which pages hold data.
//!
//! Why a crate of its own: the format crates must not depend on each other
//! (a tool that parses minidumps pulls in nothing of ELF), yet a converter
//! reads one format's file as the other's memory source, and a live capture
//! feeds both writers from one process. With one trait in each crate, every
//! such source needed a bridge per format; here it needs none.
//!
//! ```
//! use coroner_dump_source::{BytesAt, MemorySource, ReadAt};
//! let file: &[u8] = b"coroner";
//! let mut buf = [0u8; 4];
//! assert_eq!(file.read_at(3, &mut buf).unwrap(), 4);
//! let mut memory = BytesAt::new(0x1000, vec![7u8; 16]);
//! let mut out = Vec::new();
//! memory.present_ranges(0, 0x2000, &mut out).unwrap();
//! assert_eq!(out, [0x1000..0x1010]);
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

mod memory;
mod read_at;

pub use memory::{BytesAt, MemorySource, NoMemory, SliceSource, PAGE};
pub use read_at::{read_up_to, ReadAt};

/// The README's example, compiled and run as a doc test so it stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
