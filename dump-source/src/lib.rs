//! The contracts a dump writer pulls from and pushes to, and the file a
//! reader reads through, defined once so that one implementation serves
//! both of coroner's format crates unchanged:
//!
//! - [`ReadAt`]: random access to a dump file, for the readers;
//! - [`MemorySource`]: the memory a writer pulls, with one short-read rule
//!   and a hint of which pages hold data;
//! - [`Sink`]: where a writer pushes the file, told which bytes are holes
//!   ([`SeekSink`] keeps a file sparse, [`StreamSink`] writes zeros to a
//!   pipe);
//! - [`Output`]: the one implementation of how both writers push memory
//!   (buffering, the short-read rule, which bytes become holes), tuned by
//!   [`WriteOptions`] and counted in [`WriteStats`], so an ELF core and a
//!   minidump of the same memory have the same holes.
//!
//! Why a crate of its own: the format crates must not depend on each other
//! (a tool that parses minidumps pulls in nothing of ELF), yet a converter
//! reads one format's file as the other's memory source, and a live capture
//! feeds both writers from one process and one file output. With one
//! trait in each crate, every such source and sink needed a bridge per
//! format; here they need none.
//!
//! ```
//! use coroner_dump_source::{BytesAt, MemorySource, ReadAt, SeekSink, Sink};
//! let file: &[u8] = b"coroner";
//! let mut buf = [0u8; 4];
//! assert_eq!(file.read_at(3, &mut buf).unwrap(), 4);
//! let mut memory = BytesAt::new(0x1000, vec![7u8; 16]);
//! let mut out = Vec::new();
//! memory.present_ranges(0, 0x2000, &mut out).unwrap();
//! assert_eq!(out, [0x1000..0x1010]);
//! let mut sink = SeekSink::new(std::io::Cursor::new(Vec::new()));
//! sink.write_all(b"MDMP").unwrap();
//! sink.write_hole(4).unwrap(); // a seek: the file stays sparse
//! sink.finish().unwrap();
//! assert_eq!(sink.into_inner().into_inner(), b"MDMP\0\0\0\0");
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
mod options;
mod output;
mod read_at;
mod sink;
mod stats;

pub use memory::{BytesAt, MemorySource, NoMemory, SliceSource, PAGE};
pub use options::WriteOptions;
pub use output::{is_zero, Output, OutputError};
pub use read_at::{read_up_to, ReadAt};
pub use sink::{Lent, SeekSink, Sink, StreamSink};
pub use stats::WriteStats;

/// The README's example, compiled and run as a doc test so it stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
