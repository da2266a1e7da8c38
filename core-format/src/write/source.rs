//! The memory the writer pulls: the contract shared with the minidump
//! crate (one trait, one short-read rule), defined in coroner-dump-source.

pub use coroner_dump_source::{BytesAt, MemorySource, NoMemory, SliceSource};
