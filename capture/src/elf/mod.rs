//! ELF cores: a [`Snapshot`](crate::snapshot::Snapshot) as core-format's
//! model ([`core_model`]), and live capture of a process ([`capture_elf`],
//! Linux only).

#[cfg(target_os = "linux")]
mod capture;
mod model;

#[cfg(target_os = "linux")]
pub use capture::capture_elf;
pub use model::core_model;
