//! ELF core files: a typed model, a lazy zero-copy reader and a streaming
//! writer. No process access: memory comes from a [`write::MemorySource`].
//!
//! - [`raw`]: on-disk structures and constants, named as in the spec.
//! - [`model`]: the owned description of a core ([`CoreModel`] and the
//!   typed values in it), which the reader rebuilds and the writer streams;
//!   re-exported at the crate root.
//! - [`read`](mod@read): [`parse`] a core from bytes (or an mmap via
//!   [`read::OwnedCore`]) and walk notes, threads, segments, `NT_FILE`,
//!   auxv, memory.
//! - [`write`](mod@write): plan the layout of a [`CoreModel`] and stream it once over
//!   a [`write::Sink`] ([`CoreModel::write`], [`write::Layout`]), pulling memory
//!   through a fixed buffer.
//!
//! Only ELF64 little-endian is handled; registers are decoded for x86_64
//! and aarch64.
//!
//! # Example: write a core, read it back
//!
//! ```
//! use std::io;
//! use coroner_core_format::write::{MemorySource, StreamSink};
//! use coroner_core_format::{
//!     parse, AuxvEntry, CoreModel, Machine, MemoryAt, Note, PrStatus, Registers, SegmentModel,
//!     ThreadModel, X86_64Regs,
//! };
//!
//! /// Memory of a pretend process: one Vec mapped at `base`.
//! struct VecMemory {
//!     base: u64,
//!     bytes: Vec<u8>,
//! }
//!
//! impl MemorySource for VecMemory {
//!     fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
//!         let start = (addr - self.base) as usize;
//!         let avail = self.bytes.get(start..).unwrap_or(&[]);
//!         let n = avail.len().min(buf.len());
//!         buf[..n].copy_from_slice(&avail[..n]);
//!         Ok(n) // short read: the rest becomes a hole
//!     }
//! }
//!
//! let mut memory = VecMemory { base: 0x10000, bytes: vec![0; 0x3000] };
//! memory.bytes[0x1000..0x1008].copy_from_slice(b"coroner!");
//!
//! let mut model = CoreModel::new(Machine::X86_64);
//! let regs = X86_64Regs { rip: 0x401000, rsp: 0x10ff0, ..Default::default() };
//! let mut status = PrStatus::new(Registers::X86_64(regs));
//! status.pid = 42;
//! model.threads.push(ThreadModel::new(status).with_note(Note::fpregset(vec![0; 512])));
//! model.auxv = Some(vec![AuxvEntry { key: 6, value: 4096 }]);
//! model.segments.push(SegmentModel::dumped(0x10000, 0x3000, 6));
//!
//! let mut sink = StreamSink::new(Vec::new());
//! let stats = model.write(&mut memory, &mut sink).unwrap();
//! assert_eq!(stats.zero_page_bytes, 0x2000); // two all-zero pages became holes
//! let file = sink.into_inner();
//!
//! let core = parse(&file).unwrap();
//! let thread = core.threads().next().unwrap().unwrap();
//! assert_eq!(thread.tid(), 42);
//! assert_eq!(thread.registers().unwrap().pc(), 0x401000);
//! match core.memory_at(0x11000) {
//!     MemoryAt::Present(bytes) => assert_eq!(&bytes[..8], b"coroner!"),
//!     other => panic!("{other:?}"),
//! }
//! assert_eq!(core.to_model().unwrap(), model);
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
pub mod model;
pub mod raw;
pub mod read;
pub mod write;

pub use error::{ReadError, WriteError};
pub use model::*;
pub use read::{parse, Core, MemoryAt};

/// The README's examples, compiled and run as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
