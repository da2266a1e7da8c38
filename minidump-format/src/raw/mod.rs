//! On-disk minidump structures and constants, named as in the Microsoft and
//! Breakpad specifications (`MINIDUMP_HEADER`, `CONTEXT_AMD64` …).
//!
//! Every structure is little-endian and packed (no padding) and derives
//! scroll's `Pread`, `Pwrite` and `SizeWith`; always pass
//! [`scroll::LE`] as the context. Each has a test that its size equals the
//! size the specification gives.
#![allow(non_camel_case_types)]

#[macro_use]
mod flags;

mod context;
mod exception;
mod header;
mod linux;
mod memory;
mod memory_info;
mod misc_info;
mod module;
mod stream_type;
mod system_info;
mod thread;
mod thread_name;

pub use context::*;
pub use exception::*;
pub use header::*;
pub use linux::*;
pub use memory::*;
pub use memory_info::*;
pub use misc_info::*;
pub use module::*;
pub use stream_type::*;
pub use system_info::*;
pub use thread::*;
pub use thread_name::*;

/// A 32-bit file offset ("relative virtual address") as used by most streams.
pub type RVA = u32;
/// A 64-bit file offset, used by Memory64List and ThreadNames.
pub type RVA64 = u64;

#[cfg(test)]
pub(crate) fn assert_size<T: scroll::ctx::SizeWith<scroll::Endian>>(expected: usize) {
    assert_eq!(
        T::size_with(&scroll::LE),
        expected,
        "{}",
        std::any::type_name::<T>()
    );
}
