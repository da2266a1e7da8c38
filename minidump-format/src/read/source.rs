//! Random access to a dump file without loading it: the contract shared
//! with the ELF core crate, defined in coroner-dump-source.

pub use coroner_dump_source::{read_up_to, ReadAt};
