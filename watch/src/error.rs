//! Why a watch could not go on.

/// A watch's failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// `--pid`'s process does not exist (or cannot be opened).
    #[error("process {pid} cannot be watched: {source}")]
    Open {
        /// The pid.
        pid: u32,
        /// Why.
        #[source]
        source: coroner_proc_reader::Error,
    },
    /// The signal trigger could not trace the process.
    #[error("cannot trace process {pid} for the signal trigger: {source}")]
    Trap {
        /// The pid.
        pid: u32,
        /// Why (EPERM: another tracer, such as a debugger, or missing
        /// CAP_SYS_PTRACE / Yama ptrace_scope).
        #[source]
        source: coroner_proc_reader::Error,
    },
    /// `--cgroup`'s directory was not found under any cgroup hierarchy.
    #[error("cgroup {path} not found: give a directory holding cgroup.procs, or a path under a hierarchy mounted at /sys/fs/cgroup")]
    NoCgroup {
        /// The path given.
        path: std::path::PathBuf,
    },
}
