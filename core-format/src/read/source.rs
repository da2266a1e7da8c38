//! Random access to a dump file without loading it: the contract shared
//! with the minidump crate, defined in coroner-dump-source.

pub use coroner_dump_source::{read_up_to, ReadAt};
