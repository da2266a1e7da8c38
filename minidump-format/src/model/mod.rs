//! The owned description of a minidump: what [`write`](crate::write) writes
//! and what [`Minidump::to_model`](crate::read::Minidump::to_model) returns.
//!
//! A [`MinidumpModel`] holds every stream except memory contents: memory ranges are
//! only addresses and sizes, and their bytes are pulled from a
//! [`MemorySource`](crate::write::MemorySource) while writing. For every model
//! `m`, `parse(write(m)).to_model() == m` (a property test checks it).
//!
//! Streams are written in a fixed order; an empty list or `None` means the
//! stream is left out.

mod context;
mod exception;
mod linux;
mod misc_info;
mod module;
mod system_info;
mod thread;

pub use context::{Context, UserFpsimdArm64, UserPtRegsArm64, UserRegsX86_64};
pub use exception::Exception;
pub use linux::{DsoDebug, LinkMap, LinuxStreams};
pub use misc_info::MiscInfo;
pub use module::{CodeView, Module};
pub use system_info::SystemInfo;
pub use thread::{Thread, ThreadName};

use crate::raw::MINIDUMP_MEMORY_INFO;

/// Everything in a minidump except the memory bytes.
///
/// ```
/// use coroner_minidump_format::model::{MinidumpModel, Thread, Context, MemoryRange, SystemInfo};
/// let mut model = MinidumpModel::default();
/// model.system_info = Some(SystemInfo::linux_amd64(4, "Linux 6.1.0 #1 SMP x86_64"));
/// model.threads.push(Thread {
///     thread_id: 42,
///     stack: Some(MemoryRange { start: 0x7ffd_0000_0000, size: 0x1000 }),
///     context: Some(Context::Amd64(Box::default())),
///     ..Thread::default()
/// });
/// // Stack bytes are found by address in the MemoryList, so list them there too.
/// model.memory_list.push(MemoryRange { start: 0x7ffd_0000_0000, size: 0x1000 });
/// assert_eq!(model.threads.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MinidumpModel {
    /// `MINIDUMP_HEADER::time_date_stamp`: seconds since the epoch.
    pub time_date_stamp: u32,
    /// `MINIDUMP_HEADER::flags` (`MINIDUMP_TYPE`).
    pub flags: u64,
    /// SystemInfo stream. Stack walkers need it.
    pub system_info: Option<SystemInfo>,
    /// MiscInfo stream.
    pub misc_info: Option<MiscInfo>,
    /// ThreadList stream. Stack walkers need it.
    pub threads: Vec<Thread>,
    /// ThreadNames stream.
    pub thread_names: Vec<ThreadName>,
    /// ModuleList stream.
    pub modules: Vec<Module>,
    /// Exception stream.
    pub exception: Option<Exception>,
    /// MemoryInfoList stream.
    pub memory_info: Vec<MINIDUMP_MEMORY_INFO>,
    /// Breakpad's Linux streams.
    pub linux: LinuxStreams,
    /// Streams of other types (and later duplicates of known ones), kept as
    /// raw bytes and written last, in this order.
    pub other_streams: Vec<RawStream>,
    /// MemoryList stream: small ranges such as stacks, each with a 32-bit RVA
    /// (so they must all lie below 4 GiB in the file).
    pub memory_list: Vec<MemoryRange>,
    /// Memory64List stream: any amount of memory, written last in the file.
    pub memory64_list: Vec<MemoryRange>,
}

/// A range of the dumped process's address space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemoryRange {
    /// First address.
    pub start: u64,
    /// Number of bytes.
    pub size: u64,
}

impl MemoryRange {
    /// The address one past the end, or `None` if that overflows.
    pub fn end(&self) -> Option<u64> {
        self.start.checked_add(self.size)
    }
}

/// A stream the crate has no type for, kept as bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawStream {
    /// Stream type.
    pub stream_type: u32,
    /// Its bytes.
    pub data: Vec<u8>,
}
