//! Where the writer pushes the file: the contract shared with the minidump
//! crate (one trait, the same hole rules), defined in coroner-dump-source.

pub use coroner_dump_source::{Lent, SeekSink, Sink, StreamSink};
