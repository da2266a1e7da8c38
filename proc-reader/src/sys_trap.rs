//! The ptrace requests of [`crate::SignalTrap`], which keeps a process
//! traced between dumps: seize with options, continue, listen (event
//! messages come from `sys::ptrace_geteventmsg`). A child of `sys`, the only place with `unsafe`.
#![allow(unsafe_code)]

use std::io;

use super::{pid_t, ptrace_result};

/// `PTRACE_SEIZE` with option bits (`PTRACE_O_*`): attach without stopping.
pub(crate) fn ptrace_seize_with(tid: u32, options: libc::c_int) -> io::Result<()> {
    let tid = pid_t(tid)?;
    let data = usize::try_from(options).unwrap_or(0);
    // SAFETY: PTRACE_SEIZE reads no memory of ours: addr is ignored and data
    // holds the option bits, passed as an integer, not dereferenced.
    ptrace_result(unsafe {
        libc::ptrace(
            libc::PTRACE_SEIZE,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            data as *mut libc::c_void,
        )
    })
    .map(drop)
}

/// `PTRACE_CONT`, delivering `signal` (0 for none).
pub(crate) fn ptrace_cont(tid: u32, signal: i32) -> io::Result<()> {
    let tid = pid_t(tid)?;
    let sig = usize::try_from(signal).unwrap_or(0);
    // SAFETY: PTRACE_CONT takes the signal number in data (an integer, not
    // dereferenced) and ignores addr.
    ptrace_result(unsafe {
        libc::ptrace(
            libc::PTRACE_CONT,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            sig as *mut libc::c_void,
        )
    })
    .map(drop)
}

/// `PTRACE_LISTEN`: let a thread in a group stop stay stopped (until
/// SIGCONT) without holding it in a ptrace stop.
pub(crate) fn ptrace_listen(tid: u32) -> io::Result<()> {
    let tid = pid_t(tid)?;
    // SAFETY: PTRACE_LISTEN takes no addr or data.
    ptrace_result(unsafe {
        libc::ptrace(
            libc::PTRACE_LISTEN,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    })
    .map(drop)
}
