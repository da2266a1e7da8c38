use scroll::{Pread, Pwrite, SizeWith};

/// `MINIDUMP_THREAD_NAME` (12 bytes): one entry of the ThreadNames stream,
/// which starts with a u32 count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_THREAD_NAME {
    /// Thread id.
    pub thread_id: u32,
    /// File offset of the name (a `MINIDUMP_STRING`).
    pub rva_of_thread_name: super::RVA64,
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        crate::raw::assert_size::<super::MINIDUMP_THREAD_NAME>(12);
    }
}
