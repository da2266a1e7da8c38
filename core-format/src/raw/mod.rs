//! On-disk structures and constants, named as in the ELF specification and
//! the Linux headers (`elf.h`, `linux/elfcore.h`, `asm/user.h`).
//!
//! Every structure derives [`scroll::Pread`], [`scroll::Pwrite`] and
//! [`scroll::SizeWith`]; read and write them with an explicit endian context
//! ([`scroll::LE`]: this crate handles little-endian ELF64 only).

pub mod auxv;
pub mod elf;
pub mod file;
pub mod note;
pub mod prpsinfo;
pub mod prstatus;
pub mod siginfo;

pub use auxv::*;
pub use elf::*;
pub use file::*;
pub use note::*;
pub use prpsinfo::*;
pub use prstatus::*;
pub use siginfo::*;
