//! ELF cores: a [`Snapshot`](crate::snapshot::Snapshot) as core-format's
//! model ([`core_model`]) written by the one ELF writer path that capture
//! and conversion share, and live capture of a process ([`capture_elf`],
//! Linux only).

#[cfg(target_os = "linux")]
mod capture;
mod model;
mod write;

#[cfg(target_os = "linux")]
pub use capture::capture_elf;
pub use model::core_model;
#[cfg(target_os = "linux")]
pub(crate) use write::dumped_bytes;
pub(crate) use write::write_core;
