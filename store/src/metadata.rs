//! The JSON record kept beside each stored crash (`metadata.json`): the
//! facts systemd-coredump records, read from the kernel's arguments and
//! from `/proc/<pid>` while the kernel holds the crashing process.
//!
//! Everything the process controls (names, command line, paths, cgroup) is
//! kept as text with invalid UTF-8 replaced; JSON escapes newlines and
//! quotes, so no value can forge another field.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::kernel::{signal_name, KernelFacts};
use crate::modules::{self, Module};

/// Version of this record's layout; bumped when a field changes meaning.
pub const METADATA_VERSION: u32 = 1;

/// Most bytes read from one `/proc` file (cmdline, status, limits …): a
/// hostile process cannot make the handler read without end.
const MAX_PROC_FILE: u64 = 1 << 20;
/// Most open file descriptors listed.
const MAX_FDS: usize = 4096;

/// One open file descriptor of the crashed process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenFd {
    /// The descriptor number.
    pub fd: u32,
    /// What it refers to (`/proc/PID/fd/N`'s link text).
    pub target: String,
}

/// What was stored of the crash, and why not more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredFiles {
    /// The core's file name in the entry (`core` or `core.zst`), `None`
    /// when only the metadata was kept.
    pub core: Option<String>,
    /// Whether the core is zstd-compressed.
    pub compressed: bool,
    /// Bytes of the core as the kernel wrote it (its logical size).
    pub core_size: u64,
    /// Bytes the stored core takes on disk (holes and compression saved the rest).
    pub core_allocated: u64,
    /// The minidump's file name in the entry, when one was made.
    pub minidump: Option<String>,
    /// Why the core (or the minidump) was not kept, when it was not.
    pub skipped: Option<String>,
    /// Seconds spent receiving the core.
    pub receive_seconds: f64,
}

/// The metadata of one stored crash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CrashMetadata {
    /// [`METADATA_VERSION`].
    pub version: u32,
    /// The entry's id in the store (its directory name).
    pub id: String,
    /// Pid in the initial pid namespace (`%P`).
    pub pid: u32,
    /// Pid in the process's own pid namespace (`%p`).
    pub ns_pid: u32,
    /// Tid of the crashing thread on the host (`%I`).
    pub tid: u32,
    /// Tid of the crashing thread in its namespace (`%i`).
    pub ns_tid: u32,
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Signal number.
    pub signal: u32,
    /// Signal name (`SIGSEGV`).
    pub signal_name: String,
    /// Seconds since the epoch, when the process crashed.
    pub timestamp: u64,
    /// Hostname of the process's UTS namespace.
    pub hostname: String,
    /// The crashing thread's name (`/proc/PID/task/TID/comm`; else the
    /// kernel's `%e`, which shows `/` as `!`).
    pub comm: String,
    /// The executable (`/proc/PID/exe`), as seen from the host.
    pub exe: Option<String>,
    /// The command line, one string per argument.
    pub cmdline: Vec<String>,
    /// Working directory.
    pub cwd: Option<String>,
    /// Root directory (differs from `/` in a container or chroot).
    pub root: Option<String>,
    /// The cgroup v2 path (or the first v1 one).
    pub cgroup: Option<String>,
    /// The systemd unit the cgroup names (`foo.service`, `session-1.scope`).
    pub unit: Option<String>,
    /// The systemd slice the cgroup lies in.
    pub slice: Option<String>,
    /// The container id found in the cgroup path (docker, podman, containerd
    /// 64-hex ids), if any.
    pub container_id: Option<String>,
    /// Whether the process ran in a pid namespace other than the host's.
    pub in_pid_namespace: bool,
    /// The soft core rlimit (`%c`); `None` is unlimited.
    pub core_rlimit: Option<u64>,
    /// `/proc/PID/limits` as text.
    pub limits: Option<String>,
    /// `/proc/PID/status` as text.
    pub proc_status: Option<String>,
    /// Open file descriptors.
    pub open_fds: Vec<OpenFd>,
    /// The mapped ELF objects with build-id and package note.
    pub modules: Vec<Module>,
    /// The threads the core holds, crashing one first (tids as the core
    /// names them: the process's own namespace).
    pub core_threads: Vec<u32>,
    /// What was stored.
    pub stored: StoredFiles,
}

impl CrashMetadata {
    /// Gather what the kernel passed and what `/proc/<pid>` shows of the
    /// crashing process (`proc` is normally `/proc`). Missing `/proc`
    /// entries (the process gone, `core_pipe_limit` 0) leave fields empty.
    pub fn collect(id: &str, facts: &KernelFacts, proc: &Path) -> CrashMetadata {
        let dir = proc.join(facts.pid.to_string());
        let text = |name: &str| read_bounded(&dir.join(name)).map(|b| lossy(&b));
        let link = |name: &str| {
            std::fs::read_link(dir.join(name))
                .ok()
                .map(|p| lossy(p.as_os_str().as_encoded_bytes()))
        };
        let cgroup = read_bounded(&dir.join("cgroup")).and_then(|b| cgroup_path(&b));
        let in_pid_namespace = match (
            std::fs::read_link(dir.join("ns/pid")),
            std::fs::read_link(proc.join("1/ns/pid")),
        ) {
            (Ok(own), Ok(init)) => own != init,
            _ => facts.ns_pid != facts.pid,
        };
        CrashMetadata {
            version: METADATA_VERSION,
            id: id.to_owned(),
            pid: facts.pid,
            ns_pid: facts.ns_pid,
            tid: facts.tid,
            ns_tid: facts.ns_tid,
            uid: facts.uid,
            gid: facts.gid,
            signal: facts.signal,
            signal_name: signal_name(facts.signal),
            timestamp: facts.time,
            hostname: lossy(&facts.hostname),
            comm: read_bounded(&dir.join(format!("task/{}/comm", facts.tid)))
                .map(|mut c| {
                    if c.last() == Some(&b'\n') {
                        c.pop();
                    }
                    lossy(&c)
                })
                .unwrap_or_else(|| lossy(&facts.comm)),
            exe: link("exe"),
            cmdline: read_bounded(&dir.join("cmdline"))
                .map(|b| {
                    b.split(|&c| c == 0)
                        .filter(|a| !a.is_empty())
                        .map(lossy)
                        .collect()
                })
                .unwrap_or_default(),
            cwd: link("cwd"),
            root: link("root"),
            unit: cgroup.as_deref().and_then(unit_of),
            slice: cgroup.as_deref().and_then(slice_of),
            container_id: cgroup.as_deref().and_then(container_id_of),
            cgroup,
            in_pid_namespace,
            core_rlimit: (facts.core_rlimit != u64::MAX).then_some(facts.core_rlimit),
            limits: text("limits"),
            proc_status: text("status"),
            open_fds: open_fds(&dir.join("fd")),
            modules: read_bounded(&dir.join("maps"))
                .map(|maps| modules::mapped_modules(&maps, &dir))
                .unwrap_or_default(),
            core_threads: Vec::new(),
            stored: StoredFiles {
                core: None,
                compressed: false,
                core_size: 0,
                core_allocated: 0,
                minidump: None,
                skipped: None,
                receive_seconds: 0.0,
            },
        }
    }
}

/// Invalid UTF-8 replaced; JSON escapes the rest.
fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// At most [`MAX_PROC_FILE`] bytes of a `/proc` file; `None` if unreadable.
pub(crate) fn read_bounded(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_PROC_FILE)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

fn open_fds(dir: &Path) -> Vec<OpenFd> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut fds: Vec<OpenFd> = entries
        .filter_map(Result::ok)
        .take(MAX_FDS)
        .filter_map(|e| {
            let fd = e.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            Some(OpenFd {
                fd,
                target: lossy(target.as_os_str().as_encoded_bytes()),
            })
        })
        .collect();
    fds.sort_by_key(|f| f.fd);
    fds
}

/// The cgroup v2 path (hierarchy 0), else the first one listed.
fn cgroup_path(data: &[u8]) -> Option<String> {
    let entries = coroner_proc_reader::parse::cgroup::parse_cgroup(data).ok()?;
    let entry = entries
        .iter()
        .find(|e| e.hierarchy == 0)
        .or_else(|| entries.first())?;
    Some(lossy(&entry.path))
}

/// The innermost `.service` or `.scope` component.
fn unit_of(cgroup: &str) -> Option<String> {
    cgroup
        .rsplit('/')
        .find(|c| c.ends_with(".service") || c.ends_with(".scope"))
        .map(str::to_owned)
}

/// The innermost `.slice` component.
fn slice_of(cgroup: &str) -> Option<String> {
    cgroup
        .rsplit('/')
        .find(|c| c.ends_with(".slice"))
        .map(str::to_owned)
}

/// A 64-hex container id in a component such as `docker-<id>.scope`,
/// `libpod-<id>.scope`, `cri-containerd-<id>.scope` or `/docker/<id>`.
fn container_id_of(cgroup: &str) -> Option<String> {
    cgroup.rsplit('/').find_map(|c| {
        let c = c.strip_suffix(".scope").unwrap_or(c);
        let id = c.rsplit('-').next()?;
        (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_slices_and_container_ids_come_from_the_cgroup_path() {
        let id = "a".repeat(64);
        let docker = format!("/system.slice/docker-{id}.scope");
        assert_eq!(container_id_of(&docker).as_deref(), Some(id.as_str()));
        assert_eq!(unit_of(&docker), Some(format!("docker-{id}.scope")));
        assert_eq!(slice_of(&docker).as_deref(), Some("system.slice"));
        assert_eq!(
            container_id_of(&format!("/docker/{id}")).as_deref(),
            Some(id.as_str())
        );
        let user = "/user.slice/user-0.slice/session-3.scope";
        assert_eq!(unit_of(user).as_deref(), Some("session-3.scope"));
        assert_eq!(slice_of(user).as_deref(), Some("user-0.slice"));
        assert_eq!(container_id_of(user), None);
        assert_eq!(
            cgroup_path(b"1:cpu:/x\n0::/y.slice/z.service\n").as_deref(),
            Some("/y.slice/z.service")
        );
    }

    #[test]
    fn collect_reads_a_live_process() {
        let me = std::process::id();
        let facts = KernelFacts {
            pid: me,
            ns_pid: me,
            tid: me,
            ns_tid: me,
            signal: 6,
            time: 1,
            uid: 0,
            gid: 0,
            core_rlimit: u64::MAX,
            dump_mode: 1,
            hostname: b"h\nx".to_vec(),
            comm: b"../../etc/x".to_vec(),
        };
        let md = CrashMetadata::collect("1.2.x", &facts, Path::new("/proc"));
        assert_eq!(md.signal_name, "SIGABRT");
        assert!(md.exe.is_some());
        assert!(!md.cmdline.is_empty());
        assert!(md.open_fds.iter().any(|f| f.fd == 0));
        assert!(
            md.modules.iter().any(|m| m.build_id.is_some()),
            "{:?}",
            md.modules
        );
        assert_eq!(md.core_rlimit, None);
        let json = serde_json::to_string(&md).unwrap();
        assert!(json.contains(r#""hostname":"h\nx""#), "{json}");
        let back: CrashMetadata = serde_json::from_str(&json).unwrap();
        assert_eq!(back, md);
    }
}
