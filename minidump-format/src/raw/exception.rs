use scroll::{Pread, Pwrite, SizeWith};

use super::MINIDUMP_LOCATION_DESCRIPTOR;

/// Exception code rust-minidump and Breakpad use for a dump taken on request
/// rather than because of a crash.
pub const DUMP_REQUESTED: u32 = 0xffff_ffff;

/// `MINIDUMP_EXCEPTION` (152 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_EXCEPTION {
    /// Exception code; on Linux the signal number (or [`DUMP_REQUESTED`]).
    pub exception_code: u32,
    /// Flags; on Linux the `si_code`.
    pub exception_flags: u32,
    /// Address of a chained exception record (usually 0).
    pub exception_record: u64,
    /// Faulting address (`si_addr`) or instruction address.
    pub exception_address: u64,
    /// How many of `exception_information` are used.
    pub number_parameters: u32,
    /// Padding.
    pub __align: u32,
    /// Extra parameters.
    pub exception_information: [u64; 15],
}

/// `MINIDUMP_EXCEPTION_STREAM` (168 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pread, Pwrite, SizeWith)]
pub struct MINIDUMP_EXCEPTION_STREAM {
    /// The thread that raised the exception.
    pub thread_id: u32,
    /// Padding.
    pub __align: u32,
    /// The exception.
    pub exception_record: MINIDUMP_EXCEPTION,
    /// The thread's context at the exception.
    pub thread_context: MINIDUMP_LOCATION_DESCRIPTOR,
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sizes() {
        crate::raw::assert_size::<MINIDUMP_EXCEPTION>(152);
        crate::raw::assert_size::<MINIDUMP_EXCEPTION_STREAM>(168);
    }
}
