//! What a process must be for a system call to be injected into it safely
//! (the checks [`crate::ForkCopy::plan`] and [`crate::WriteTracker::plan`]
//! share): alive, not under seccomp (a filter could refuse the call or kill
//! the process for making it), without x86 shadow stacks (the call's
//! return would violate them).

use crate::error::{Error, Result};
use crate::parse::status::Status;
use crate::process::{proc_path, Process};

/// Why no call may be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Obstacle {
    /// Exiting, or a zombie.
    Exiting,
    /// `Seccomp:` of its status is not 0.
    Seccomp(u32),
    /// `x86_Thread_features:` has `shstk`.
    ShadowStack,
}

/// The process's status (raw and parsed) when a call may be injected.
pub(crate) struct Injectable {
    pub(crate) raw: Vec<u8>,
    pub(crate) status: Status,
}

/// Check `process`; `Err` only when it cannot be read.
pub(crate) fn check(process: &Process) -> Result<std::result::Result<Injectable, Obstacle>> {
    let pid = process.pid();
    let stat = process.stat()?;
    const PF_EXITING: u32 = 0x4;
    if stat.is_zombie() || stat.flags & PF_EXITING != 0 {
        return Ok(Err(Obstacle::Exiting));
    }
    let raw = process.status_raw()?;
    let status = crate::parse::status::parse_status(&raw).map_err(|source| Error::Parse {
        pid,
        path: proc_path(pid, "status"),
        source,
    })?;
    match status.seccomp {
        Some(0) | None => {}
        Some(mode) => return Ok(Err(Obstacle::Seccomp(mode))),
    }
    if String::from_utf8_lossy(&raw)
        .lines()
        .any(|l| l.starts_with("x86_Thread_features:") && l.contains("shstk"))
    {
        return Ok(Err(Obstacle::ShadowStack));
    }
    Ok(Ok(Injectable { raw, status }))
}
