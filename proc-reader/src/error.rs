//! The crate's error type.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::parse::ParseError;

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, always with the pid and the `/proc` path (or ptrace
/// target) involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel refused access; `reason` says which check is in the way
    /// and how to get past it.
    #[error("{}", permission_denied(*pid, path, op, reason, source))]
    PermissionDenied {
        /// The process.
        pid: u32,
        /// The file or task involved.
        path: PathBuf,
        /// The operation (`open`, `PTRACE_SEIZE`, `process_vm_readv` …).
        op: &'static str,
        /// Which check denied it.
        reason: PermissionReason,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The process exited (or is a zombie whose memory and threads are gone).
    #[error("process {pid} is gone ({}): {}", path.display(), if *zombie {
        "it has exited and is a zombie waiting for its parent to reap it"
    } else {
        "it has exited, or there never was one: check the pid (ps, pgrep)"
    })]
    ProcessGone {
        /// The process.
        pid: u32,
        /// The file or task involved when this was noticed.
        path: PathBuf,
        /// Whether it still exists as a zombie.
        zombie: bool,
    },
    /// Only part of a memory range could be read.
    #[error("partial read of pid {pid} memory ({}) at {addr:#x}: got {got} of {wanted} bytes", path.display())]
    PartialRead {
        /// The process.
        pid: u32,
        /// `/proc/<pid>/mem`.
        path: PathBuf,
        /// Start of the requested range.
        addr: u64,
        /// Bytes read (from `addr` on).
        got: usize,
        /// Bytes requested.
        wanted: usize,
    },
    /// Any other OS error.
    #[error("{op} failed for pid {pid} ({}): {source}", path.display())]
    Io {
        /// The process.
        pid: u32,
        /// The file or task involved.
        path: PathBuf,
        /// The operation.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A `/proc` file did not parse.
    #[error("cannot parse {} of pid {pid}: {source}", path.display())]
    Parse {
        /// The process.
        pid: u32,
        /// The file.
        path: PathBuf,
        /// What was wrong.
        #[source]
        source: ParseError,
    },
    /// A thread did not reach a ptrace stop in time (uninterruptible sleep,
    /// a vfork parent, or a stopped tracer elsewhere).
    #[error("thread {tid} of pid {pid} ({}) did not stop within {waited:?}", path.display())]
    FreezeTimeout {
        /// The process.
        pid: u32,
        /// The thread.
        tid: u32,
        /// `/proc/<pid>/task/<tid>`.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
    /// No copy-on-write copy of the process was made ([`crate::ForkCopy`]);
    /// it is as it was. A capture can freeze it for the whole dump instead.
    #[error("no copy of process {pid} was made: {reason}")]
    CopyRefused {
        /// The process.
        pid: u32,
        /// `/proc/<pid>`.
        path: PathBuf,
        /// Why.
        reason: crate::CopyRefusal,
    },
}

/// The message of [`Error::PermissionDenied`]. A kernel thread is not a
/// matter of permission (nothing would let us dump one): it is named as what
/// it is, with the refused operation in brackets.
fn permission_denied(
    pid: u32,
    path: &Path,
    op: &str,
    reason: &PermissionReason,
    source: &io::Error,
) -> String {
    match reason {
        PermissionReason::KernelThread => format!(
            "pid {pid} is a kernel thread (PF_KTHREAD): it has no user memory or registers to dump \
             and cannot be traced; pick a user-space process ({op} {}: {source})",
            path.display()
        ),
        _ => format!(
            "permission denied: {op} on pid {pid} ({}): {reason}",
            path.display()
        ),
    }
}

impl Error {
    /// The process the error is about.
    pub fn pid(&self) -> u32 {
        match self {
            Error::PermissionDenied { pid, .. }
            | Error::ProcessGone { pid, .. }
            | Error::PartialRead { pid, .. }
            | Error::Io { pid, .. }
            | Error::Parse { pid, .. }
            | Error::FreezeTimeout { pid, .. }
            | Error::CopyRefused { pid, .. } => *pid,
        }
    }

    /// The path involved.
    pub fn path(&self) -> &Path {
        match self {
            Error::PermissionDenied { path, .. }
            | Error::ProcessGone { path, .. }
            | Error::PartialRead { path, .. }
            | Error::Io { path, .. }
            | Error::Parse { path, .. }
            | Error::FreezeTimeout { path, .. }
            | Error::CopyRefused { path, .. } => path,
        }
    }

    /// Whether this is [`Error::ProcessGone`].
    pub fn is_gone(&self) -> bool {
        matches!(self, Error::ProcessGone { .. })
    }
}

/// Which of the kernel's ptrace access checks refused us.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PermissionReason {
    /// Another tracer (a debugger, strace, another coroner) is attached;
    /// a thread can have only one.
    AlreadyTraced {
        /// `TracerPid` from `/proc/<pid>/status`: the tracing *thread*.
        tracer_pid: u32,
        /// The process that thread belongs to, when readable.
        tracer_process: Option<u32>,
        /// The tracer process's command name, when readable.
        tracer_name: Option<String>,
    },
    /// The target runs as another user (or is not dumpable, e.g. setuid) and
    /// we lack CAP_SYS_PTRACE.
    MissingCapSysPtrace {
        /// Our effective uid.
        our_uid: u32,
        /// The target's real, effective and saved uids.
        target_uids: [u32; 3],
    },
    /// Yama's `/proc/sys/kernel/yama/ptrace_scope` forbids the attach.
    YamaPtraceScope {
        /// The scope value (1 = descendants only, 2 = admin only, 3 = none).
        scope: u8,
    },
    /// The pid is a kernel thread: it has no user memory or registers to
    /// dump, and ptrace refuses it.
    KernelThread,
    /// None of the above applies: a Linux security module (SELinux,
    /// AppArmor), a seccomp filter or a user namespace boundary is likely.
    Unknown,
    /// Opening a file under `/proc/<pid>/map_files/` needs CAP_SYS_ADMIN or
    /// CAP_CHECKPOINT_RESTORE (in the initial user namespace), beyond ptrace
    /// access.
    MissingCapCheckpointRestore,
}

impl std::fmt::Display for PermissionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PermissionReason::AlreadyTraced { tracer_pid, tracer_process, tracer_name } => {
                let name = tracer_name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
                let process = match tracer_process {
                    Some(p) if p != tracer_pid => format!(", thread {tracer_pid}"),
                    _ => String::new(),
                };
                let shown = tracer_process.unwrap_or(*tracer_pid);
                write!(
                    f,
                    "it is already traced by pid {shown}{name}{process} (TracerPid in /proc/<pid>/status); \
                     a thread has one tracer at a time: detach that debugger or tracer first"
                )
            }
            PermissionReason::MissingCapSysPtrace { our_uid, target_uids } => write!(
                f,
                "we run as uid {our_uid} without CAP_SYS_PTRACE and the target's uids are {target_uids:?} \
                 (or it is not dumpable); run as the target's user, as root, or with CAP_SYS_PTRACE \
                 (for example `setcap cap_sys_ptrace+ep` on the binary)"
            ),
            PermissionReason::YamaPtraceScope { scope } => {
                let what = match scope {
                    1 => "only a parent may attach to its descendants (or a process named by prctl(PR_SET_PTRACER))",
                    2 => "only processes with CAP_SYS_PTRACE may attach",
                    _ => "no process may attach at all",
                };
                write!(
                    f,
                    "Yama ptrace_scope is {scope}: {what}; run with CAP_SYS_PTRACE or lower \
                     /proc/sys/kernel/yama/ptrace_scope (as root: `sysctl kernel.yama.ptrace_scope=0`)"
                )
            }
            PermissionReason::KernelThread => write!(
                f,
                "it is a kernel thread (PF_KTHREAD), which has no user memory and cannot be traced; \
                 pick a user-space process"
            ),
            PermissionReason::Unknown => write!(
                f,
                "no other tracer, matching credentials and no Yama restriction were found; a security module \
                 (SELinux, AppArmor), a seccomp filter or a user-namespace boundary probably denies ptrace"
            ),
            PermissionReason::MissingCapCheckpointRestore => write!(
                f,
                "/proc/<pid>/map_files needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE besides ptrace access: \
                 run as root, or grant one of them (setcap cap_checkpoint_restore+ep)"
            ),
        }
    }
}
