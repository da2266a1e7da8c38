//! Minidump files: typed model, zero-copy reader, streaming writer.
//!
//! - [`raw`]: on-disk structures and constants named as in the specification.
//! - [`model`]: the owned description of a dump ([`MinidumpModel`] and the
//!   typed values in it), which the reader rebuilds and the writer streams.
//! - [`mod@read`]: a lazy, zero-copy, bounds-checked reader ([`parse`] a
//!   [`Minidump`]).
//! - [`mod@write`]: a writer that plans the layout, then streams once
//!   ([`MinidumpModel::write`], [`write::Layout`]), pulling memory through
//!   [`write::MemorySource`].
//!
//! ```
//! use coroner_minidump_format::{model::*, read, write::SliceSource};
//! let memory: Vec<u8> = (0..=255).collect();
//! let mut model = MinidumpModel::default();
//! model.system_info = Some(SystemInfo::linux_amd64(1, "Linux 6.1"));
//! model.modules.push(Module {
//!     base: 0x400000,
//!     size: 0x1000,
//!     name: "/bin/true".into(),
//!     code_view: Some(CodeView::Elf { build_id: vec![0xab; 20] }),
//!     ..Module::default()
//! });
//! model.memory64_list.push(MemoryRange { start: 0x400000, size: 256 });
//! let mut file = Vec::new();
//! model.write(&mut SliceSource::new(0x400000, &memory), &mut file).unwrap();
//!
//! let dump = read::parse(&file).unwrap();
//! assert_eq!(dump.to_model().unwrap(), model);
//! assert_eq!(dump.read_memory(0x400010, 2).unwrap(), Some(&[16u8, 17][..]));
//! let module = dump.modules().unwrap().unwrap().iter().next().unwrap().unwrap();
//! assert_eq!(module.code_id().unwrap().unwrap(), "ab".repeat(20));
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
pub use model::MinidumpModel;
pub use read::{parse, Minidump};

/// The README's examples, compiled and run as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
