//! Which processes a watch looks at: one pid, every process whose name
//! matches a glob, or every process of a cgroup. A process is known by its
//! pid *and* its start time, so a pid reused by a new process is a new
//! target, never mistaken for the old one.

use std::path::PathBuf;

use coroner_proc_reader::Process;

use crate::cgroup::{cgroup_pids, CgroupMounts};

/// A process's identity: its pid and start time (clock ticks after boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity {
    /// The pid.
    pub pid: u32,
    /// `stat`'s starttime.
    pub start_time: u64,
}

/// What to watch.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Target {
    /// One process; the watch ends when it exits.
    Pid(u32),
    /// Every process whose comm, executable name or executable path
    /// matches; waits for one to start, follows restarts.
    Name(glob::Pattern),
    /// Every process of a cgroup (a directory of a v1 or v2 hierarchy,
    /// absolute or relative to the hierarchies' mount points).
    Cgroup(PathBuf),
}

/// A process found for a target, opened.
#[derive(Debug)]
pub struct Found {
    /// Who it is.
    pub identity: Identity,
    /// Its name (comm).
    pub name: String,
    /// The open process (a `/proc/<pid>` directory descriptor).
    pub process: Process,
}

/// Open `pid` and read who it is; `None` when it is gone or a thread.
pub fn open(pid: u32) -> Option<Found> {
    let process = Process::open(pid).ok()?;
    let stat = process.stat().ok()?;
    if stat.is_zombie() {
        return None;
    }
    Some(Found {
        identity: Identity {
            pid,
            start_time: stat.start_time,
        },
        name: String::from_utf8_lossy(&stat.comm).into_owned(),
        process,
    })
}

/// Whether the open process is still the one with `identity` and alive.
pub fn still_there(process: &Process, identity: Identity) -> bool {
    process
        .stat()
        .is_ok_and(|s| s.start_time == identity.start_time && !s.is_zombie())
}

/// Whether a process with this comm and executable path matches `pattern`
/// (the comm, the executable's file name, or its whole path).
pub fn name_matches(pattern: &glob::Pattern, comm: &str, exe: Option<&std::path::Path>) -> bool {
    if pattern.matches(comm) {
        return true;
    }
    let Some(exe) = exe else { return false };
    let exe = exe.to_string_lossy();
    let exe = exe.strip_suffix(" (deleted)").unwrap_or(&exe);
    let base = exe.rsplit('/').next().unwrap_or(exe);
    pattern.matches(base) || pattern.matches(exe)
}

impl Target {
    /// The pids the target names now (not yet opened or checked).
    pub fn candidates(&self, mounts: &CgroupMounts) -> Vec<u32> {
        match self {
            Target::Pid(pid) => vec![*pid],
            Target::Name(pattern) => {
                let me = std::process::id();
                let Ok(dir) = std::fs::read_dir("/proc") else {
                    return Vec::new();
                };
                dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                    .filter(|&pid| pid != me)
                    .filter(|&pid| {
                        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                            .unwrap_or_default();
                        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
                        name_matches(pattern, comm.trim_end_matches('\n'), exe.as_deref())
                    })
                    .collect()
            }
            Target::Cgroup(path) => mounts
                .resolve(path)
                .map(|dir| cgroup_pids(&dir))
                .unwrap_or_default()
                .into_iter()
                .filter(|&pid| pid != std::process::id())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn names_match_comm_exe_name_or_path() {
        let p = glob::Pattern::new("java*").unwrap();
        assert!(name_matches(&p, "java", None));
        assert!(name_matches(
            &p,
            "C2 Compiler",
            Some(Path::new("/usr/lib/jvm/bin/java"))
        ));
        assert!(!name_matches(
            &p,
            "python3",
            Some(Path::new("/usr/bin/python3"))
        ));
        let p = glob::Pattern::new("/opt/app/*").unwrap();
        assert!(name_matches(
            &p,
            "x",
            Some(Path::new("/opt/app/server (deleted)"))
        ));
    }

    #[test]
    fn a_reused_pid_is_another_identity() {
        let me = open(std::process::id()).unwrap();
        assert!(still_there(&me.process, me.identity));
        let older = Identity {
            start_time: me.identity.start_time.wrapping_sub(1),
            ..me.identity
        };
        assert!(!still_there(&me.process, older));
    }
}
