use scroll::{Pread, Pwrite, SizeWith};

/// `MINIDUMP_MISC1_PROCESS_ID`: [`MINIDUMP_MISC_INFO::process_id`] is valid.
pub const MINIDUMP_MISC1_PROCESS_ID: u32 = 0x1;
/// `MINIDUMP_MISC1_PROCESS_TIMES`: the three process times are valid.
pub const MINIDUMP_MISC1_PROCESS_TIMES: u32 = 0x2;

/// `MINIDUMP_MISC_INFO` (version 1, 24 bytes). Later versions extend it; their
/// extra bytes follow and `size_of_info` counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_MISC_INFO {
    /// Size of the whole structure, extensions included.
    pub size_of_info: u32,
    /// `MINIDUMP_MISC1_*` validity flags.
    pub flags1: u32,
    /// Process id.
    pub process_id: u32,
    /// Process creation time, seconds since the Unix epoch.
    pub process_create_time: u32,
    /// User CPU time in seconds.
    pub process_user_time: u32,
    /// Kernel CPU time in seconds.
    pub process_kernel_time: u32,
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        crate::raw::assert_size::<super::MINIDUMP_MISC_INFO>(24);
    }
}
