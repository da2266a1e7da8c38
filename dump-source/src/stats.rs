//! What a write did: the same figures from either format's writer.

/// What a write did, as counted by [`Output`](crate::Output) (so the same
/// for an ELF core and a minidump).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WriteStats {
    /// Size of the file produced.
    pub file_size: u64,
    /// Bytes passed to [`Sink::write_all`](crate::Sink::write_all)
    /// (headers, metadata, memory, and the last page of a trailing hole).
    pub bytes_written: u64,
    /// Bytes passed to [`Sink::write_hole`](crate::Sink::write_hole)
    /// (padding and memory holes).
    pub hole_bytes: u64,
    /// Memory bytes left as holes because the source reported them absent.
    pub absent_bytes: u64,
    /// Memory bytes left as holes because a read came back short.
    pub unreadable_bytes: u64,
    /// Memory bytes left as holes because their pages were all zero.
    pub zero_page_bytes: u64,
    /// Memory bytes read from the source.
    pub memory_read_bytes: u64,
}
