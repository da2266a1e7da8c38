//! Why a copy-on-write copy of a process was not made ([`crate::ForkCopy`]).
//! Kept apart from the Linux-only copying so [`crate::Error`] names it on
//! every OS the crate builds for.

use std::path::PathBuf;
use std::time::Duration;

/// Why no copy was made (the capture can freeze the process for the whole
/// dump instead). The target is as it was in every case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CopyRefusal {
    /// Only x86_64 is done.
    #[error("copies are made on x86_64 only")]
    Unsupported,
    /// The process is exiting or a zombie.
    #[error("the process is exiting")]
    Exiting,
    /// A seccomp filter (mode 2) or strict mode (1) could refuse the call
    /// or kill the process for it.
    #[error("the process runs under seccomp (mode {mode}), which could deny clone or kill the process for calling it")]
    Seccomp {
        /// `Seccomp:` of its status.
        mode: u32,
    },
    /// x86 shadow stacks would fault on the returns the call relies on.
    #[error(
        "the process uses x86 shadow stacks (CET), which the injected call's return would violate"
    )]
    ShadowStack,
    /// Its pids cgroup has no room for one more task.
    #[error("its pids cgroup is full ({}): the copy needs one more task", file.display())]
    PidsLimit {
        /// The `pids.max` that is reached.
        file: PathBuf,
    },
    /// Its memory cgroup (or the machine) has too little room for the copy's
    /// page tables and the copy-on-write it can cause.
    #[error("too little memory for a copy: it needs about {needed} bytes (page tables {page_tables} + one eighth of the {anon} bytes of anonymous memory the target may rewrite meanwhile), {where_} has {room}")]
    MemoryRoom {
        /// Estimated need.
        needed: u64,
        /// The target's page tables (`VmPTE`).
        page_tables: u64,
        /// The target's resident anonymous memory (`RssAnon`).
        anon: u64,
        /// Room left.
        room: u64,
        /// Which limit (a cgroup file or `MemAvailable`).
        where_: String,
    },
    /// The target's code has no usable `syscall; ret` or `rt_sigreturn`
    /// trampoline.
    #[error("the process's code has no {what}")]
    NoCode {
        /// What is missing.
        what: &'static str,
    },
    /// The process is stopped by job control.
    #[error("the process is stopped by job control (SIGSTOP/SIGTSTP)")]
    JobControlStopped,
    /// Every thread is stopped for a signal or inside a call that swaps its
    /// signal mask (ppoll, pselect6, epoll_pwait, sigsuspend …).
    #[error("no thread can run the call: each is on its way into a signal or inside ppoll/pselect6/epoll_pwait/sigsuspend")]
    NoThread,
    /// The chosen thread's stack has no room for the frames.
    #[error("the thread's stack has no room below its stack pointer for the call's frames")]
    NoStackRoom,
    /// The call failed in the target.
    #[error("clone failed in the target: {}", std::io::Error::from_raw_os_error(*errno))]
    CallFailed {
        /// The error number.
        errno: i32,
    },
    /// The thread vanished while running the call.
    #[error("thread {tid} exited while running the call")]
    ThreadGone {
        /// The thread.
        tid: u32,
    },
    /// The thread did not stop in time.
    #[error("thread {tid} did not stop within {waited:?} while running the call")]
    Timeout {
        /// The thread.
        tid: u32,
        /// How long.
        waited: Duration,
    },
    /// The thread stopped for something else than the call (a job-control
    /// stop of the whole process, for instance).
    #[error("thread {tid} stopped unexpectedly (signal {}, event {}) while running the call", stop.0, stop.1)]
    UnexpectedStop {
        /// The thread.
        tid: u32,
        /// Stop signal and ptrace event.
        stop: (i32, i32),
    },
    /// A ptrace request failed.
    #[error("{op} failed: {}", std::io::Error::from_raw_os_error(*errno))]
    Ptrace {
        /// The request.
        op: &'static str,
        /// The error number.
        errno: i32,
    },
}
