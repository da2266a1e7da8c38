//! The ThreadList and ThreadNames streams' entries.

use super::{Context, MemoryRange};

/// One thread of the ThreadList stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thread {
    /// Thread id (Linux tid).
    pub thread_id: u32,
    /// Suspend count.
    pub suspend_count: u32,
    /// Priority class.
    pub priority_class: u32,
    /// Priority.
    pub priority: u32,
    /// Thread environment block (Linux: TLS base or 0).
    pub teb: u64,
    /// The thread's stack memory. When the same range is also in
    /// [`MinidumpModel::memory_list`](super::MinidumpModel::memory_list) the thread points at that copy; otherwise the
    /// bytes are written once more for the thread alone.
    pub stack: Option<MemoryRange>,
    /// The CPU context.
    pub context: Option<Context>,
}

/// One entry of the ThreadNames stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadName {
    /// Thread id.
    pub thread_id: u32,
    /// Its name.
    pub name: String,
}
