//! `siginfo_t` as stored in `NT_SIGINFO`.

/// Size of the `NT_SIGINFO` descriptor.
pub const SIGINFO_SIZE: usize = 128;
/// Offset of `si_signo` (i32).
pub const SI_SIGNO_OFFSET: usize = 0;
/// Offset of `si_errno` (i32).
pub const SI_ERRNO_OFFSET: usize = 4;
/// Offset of `si_code` (i32).
pub const SI_CODE_OFFSET: usize = 8;
/// Offset of the union; `si_addr` (u64) for SIGSEGV/SIGBUS/SIGILL/SIGFPE,
/// `si_pid` (i32) for signals sent by a process.
pub const SI_FIELDS_OFFSET: usize = 16;
/// Offset of `si_uid` (u32) for signals sent by a process.
pub const SI_UID_OFFSET: usize = 20;
