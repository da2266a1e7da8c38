use scroll::{Pread, Pwrite, SizeWith};

use super::{MINIDUMP_LOCATION_DESCRIPTOR, MINIDUMP_MEMORY_DESCRIPTOR};

/// `MINIDUMP_THREAD` (48 bytes), one entry of the ThreadList stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_THREAD {
    /// Thread id (the Linux tid).
    pub thread_id: u32,
    /// Suspend count.
    pub suspend_count: u32,
    /// Priority class.
    pub priority_class: u32,
    /// Priority.
    pub priority: u32,
    /// Thread environment block address (Linux: usually 0 or the TLS base).
    pub teb: u64,
    /// The thread's stack memory.
    pub stack: MINIDUMP_MEMORY_DESCRIPTOR,
    /// Where the thread's CPU context is.
    pub thread_context: MINIDUMP_LOCATION_DESCRIPTOR,
}

/// `MINIDUMP_THREAD_LIST` header: a u32 count followed by [`MINIDUMP_THREAD`]s.
pub const MINIDUMP_THREAD_LIST_HEADER_SIZE: usize = 4;

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        crate::raw::assert_size::<super::MINIDUMP_THREAD>(48);
    }
}
