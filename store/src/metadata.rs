//! The JSON record kept beside each stored crash (`metadata.json`): the
//! facts systemd-coredump records, read from the kernel's arguments and
//! from `/proc/<pid>` while the kernel holds the crashing process.
//!
//! Everything the process controls (names, command line, paths, cgroup) is
//! kept as text with invalid UTF-8 replaced; JSON escapes newlines and
//! quotes, so no value can forge another field.
//!
//! Every `/proc` file is read bounded ([`MAX_PROC_FILE`], [`MAX_MAPS`]): a
//! process cannot make the handler read, hold or store without end. A file
//! cut at its bound is named in [`CrashMetadata::truncated`].
//!
//! The environment (`environ`) is recorded as systemd-coredump records it
//! (`COREDUMP_ENVIRON`), but it may hold secrets (tokens, passwords passed
//! as variables): it is stored only in the entry's 0600 `metadata.json`,
//! never logged, and [`Environ::Omit`] (`crash-handler install
//! --no-environ`) leaves it out.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::kernel::{signal_name, KernelFacts};
use crate::modules::{self, Module};

/// Version of this record's layout; bumped when a field changes meaning.
pub const METADATA_VERSION: u32 = 1;

/// Most bytes read from one `/proc` file (cmdline, environ, status,
/// limits, mountinfo …): a hostile process cannot make the handler read
/// without end.
pub const MAX_PROC_FILE: usize = 1 << 20;
/// Most bytes read of `/proc/PID/maps`: its default 65,530 mappings
/// (`vm.max_map_count`) at about 100 bytes a line fit.
pub const MAX_MAPS: usize = 8 << 20;
/// Most open file descriptors listed.
const MAX_FDS: usize = 4096;

/// Whether to record the crashed process's environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environ {
    /// Record `/proc/PID/environ` (as systemd-coredump does).
    Record,
    /// Leave it out (it may hold secrets).
    Omit,
}

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
    /// `/proc/PID/maps` as text (systemd-coredump's `COREDUMP_PROC_MAPS`):
    /// every mapping with its address, permissions, offset and file.
    #[serde(default)]
    pub proc_maps: Option<String>,
    /// `/proc/PID/mountinfo` as text (`COREDUMP_PROC_MOUNTINFO`): the mounts
    /// of the process's mount namespace, which tell what its paths (exe,
    /// modules, cwd) meant in a container.
    #[serde(default)]
    pub proc_mountinfo: Option<String>,
    /// The environment, one `NAME=value` string per variable
    /// (`COREDUMP_ENVIRON`); `None` when it was omitted ([`Environ::Omit`])
    /// or could not be read. May hold secrets: see the module docs.
    #[serde(default)]
    pub environ: Option<Vec<String>>,
    /// The `/proc` files that were longer than the handler reads and were
    /// cut (at a line or entry boundary): `maps`, `environ` …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<String>,
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
    /// crashing process (`proc` is normally `/proc`), with its environment
    /// or without. Missing `/proc` entries (the process gone,
    /// `core_pipe_limit` 0) leave fields empty.
    pub fn collect(id: &str, facts: &KernelFacts, proc: &Path, environ: Environ) -> CrashMetadata {
        let dir = proc.join(facts.pid.to_string());
        let mut truncated = Vec::new();
        // A whole file, or the part before the last separator within `max`
        // bytes (a line of maps, a variable of environ), noted as cut.
        let mut bounded = |name: &str, max: usize, separator: u8| {
            let read = read_bounded(&dir.join(name), max)?;
            if read.cut {
                truncated.push(name.to_owned());
            }
            Some(read.whole_up_to(separator))
        };
        let maps = bounded("maps", MAX_MAPS, b'\n');
        let mountinfo = bounded("mountinfo", MAX_PROC_FILE, b'\n');
        let environ = match environ {
            Environ::Record => bounded("environ", MAX_PROC_FILE, 0).map(|b| strings(&b)),
            Environ::Omit => None,
        };
        let cmdline = bounded("cmdline", MAX_PROC_FILE, 0).map(|b| strings(&b));
        let limits = bounded("limits", MAX_PROC_FILE, b'\n').map(|b| lossy(&b));
        let status = bounded("status", MAX_PROC_FILE, b'\n').map(|b| lossy(&b));
        let cgroup = bounded("cgroup", MAX_PROC_FILE, b'\n').and_then(|b| cgroup_path(&b));
        let comm = bounded(&format!("task/{}/comm", facts.tid), MAX_PROC_FILE, b'\n');
        let link = |name: &str| {
            std::fs::read_link(dir.join(name))
                .ok()
                .map(|p| lossy(p.as_os_str().as_encoded_bytes()))
        };
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
            comm: comm
                .map(|mut c| {
                    if c.last() == Some(&b'\n') {
                        c.pop();
                    }
                    lossy(&c)
                })
                .unwrap_or_else(|| lossy(&facts.comm)),
            exe: link("exe"),
            cmdline: cmdline.unwrap_or_default(),
            cwd: link("cwd"),
            root: link("root"),
            unit: cgroup.as_deref().and_then(unit_of),
            slice: cgroup.as_deref().and_then(slice_of),
            container_id: cgroup.as_deref().and_then(container_id_of),
            cgroup,
            in_pid_namespace,
            core_rlimit: (facts.core_rlimit != u64::MAX).then_some(facts.core_rlimit),
            limits,
            proc_status: status,
            open_fds: open_fds(&dir.join("fd")),
            modules: maps
                .as_deref()
                .map(|maps| modules::mapped_modules(maps, &dir))
                .unwrap_or_default(),
            proc_maps: maps.as_deref().map(lossy),
            proc_mountinfo: mountinfo.as_deref().map(lossy),
            environ,
            truncated,
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

impl CrashMetadata {
    /// A one-line JSON summary for the kernel log, when the store cannot
    /// take the crash: who crashed, of what, where, and the mapped objects
    /// with their build-ids (enough to find the binaries again). Not the
    /// environment (it may hold secrets, and `dmesg` may be readable by
    /// every user), nor maps, mounts, limits or status (too long for a log).
    pub fn log_summary(&self) -> String {
        #[derive(Serialize)]
        struct ModuleSummary<'a> {
            path: &'a str,
            build_id: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Summary<'a> {
            pid: u32,
            ns_pid: u32,
            tid: u32,
            ns_tid: u32,
            uid: u32,
            gid: u32,
            signal: &'a str,
            timestamp: u64,
            hostname: &'a str,
            comm: &'a str,
            exe: Option<&'a str>,
            cmdline: &'a [String],
            cwd: Option<&'a str>,
            cgroup: Option<&'a str>,
            unit: Option<&'a str>,
            container_id: Option<&'a str>,
            modules: Vec<ModuleSummary<'a>>,
        }
        serde_json::to_string(&Summary {
            pid: self.pid,
            ns_pid: self.ns_pid,
            tid: self.tid,
            ns_tid: self.ns_tid,
            uid: self.uid,
            gid: self.gid,
            signal: &self.signal_name,
            timestamp: self.timestamp,
            hostname: &self.hostname,
            comm: &self.comm,
            exe: self.exe.as_deref(),
            cmdline: &self.cmdline,
            cwd: self.cwd.as_deref(),
            cgroup: self.cgroup.as_deref(),
            unit: self.unit.as_deref(),
            container_id: self.container_id.as_deref(),
            modules: self
                .modules
                .iter()
                .map(|m| ModuleSummary {
                    path: &m.path,
                    build_id: m.build_id.as_deref(),
                })
                .collect(),
        })
        .unwrap_or_default()
    }
}

/// NUL-separated strings (cmdline, environ), empty ones dropped.
fn strings(b: &[u8]) -> Vec<String> {
    b.split(|&c| c == 0)
        .filter(|a| !a.is_empty())
        .map(lossy)
        .collect()
}

/// Invalid UTF-8 replaced; JSON escapes the rest.
fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The start of a file read up to a bound.
#[derive(Debug)]
struct Bounded {
    bytes: Vec<u8>,
    /// The file went on past the bound.
    cut: bool,
}

impl Bounded {
    /// The bytes, or when cut, those up to and including the last
    /// `separator`, so no half line or half variable is kept.
    fn whole_up_to(mut self, separator: u8) -> Vec<u8> {
        if self.cut {
            let keep = self
                .bytes
                .iter()
                .rposition(|&b| b == separator)
                .map_or(0, |at| at + 1);
            self.bytes.truncate(keep);
        }
        self.bytes
    }
}

/// At most `max` bytes of a `/proc` file (one more is read to tell whether
/// it goes on); `None` if unreadable.
fn read_bounded(path: &Path, max: usize) -> Option<Bounded> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .ok()?;
    let cut = bytes.len() > max;
    bytes.truncate(max);
    Some(Bounded { bytes, cut })
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
    fn a_file_longer_than_its_bound_is_cut_at_a_separator_and_noted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maps");
        std::fs::write(&path, "line one\nline two\nline three\n").unwrap();
        let whole = read_bounded(&path, 1000).unwrap();
        assert!(!whole.cut);
        assert_eq!(
            whole.whole_up_to(b'\n'),
            b"line one\nline two\nline three\n"
        );
        let cut = read_bounded(&path, 14).unwrap();
        assert!(cut.cut);
        assert_eq!(cut.whole_up_to(b'\n'), b"line one\n");
        // Exactly the bound: whole.
        let exact = read_bounded(&path, 29).unwrap();
        assert!(!exact.cut, "29 bytes read whole with a bound of 29");
        assert!(read_bounded(&dir.path().join("missing"), 10).is_none());
    }

    #[test]
    fn collect_notes_a_cut_environment_and_keeps_whole_variables() {
        let proc = tempfile::tempdir().unwrap();
        let dir = proc.path().join("4242");
        std::fs::create_dir_all(&dir).unwrap();
        let mut environ = Vec::new();
        let mut i = 0;
        while environ.len() <= MAX_PROC_FILE {
            environ.extend_from_slice(format!("VAR_{i}={}\0", "v".repeat(100)).as_bytes());
            i += 1;
        }
        std::fs::write(dir.join("environ"), &environ).unwrap();
        std::fs::write(
            dir.join("mountinfo"),
            "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n",
        )
        .unwrap();
        let facts = KernelFacts {
            pid: 4242,
            ns_pid: 4242,
            tid: 4242,
            ns_tid: 4242,
            signal: 11,
            time: 1,
            uid: 0,
            gid: 0,
            core_rlimit: 0,
            dump_mode: 1,
            hostname: b"h".to_vec(),
            comm: b"x".to_vec(),
        };
        let md = CrashMetadata::collect("1.4242.x", &facts, proc.path(), Environ::Record);
        assert_eq!(md.truncated, ["environ"]);
        let vars = md.environ.as_ref().unwrap();
        assert!(vars.len() > 1000 && vars.len() < i, "{} of {i}", vars.len());
        let last = vars.last().unwrap();
        assert!(last.ends_with(&"v".repeat(100)), "a cut variable: {last}");
        assert_eq!(
            md.proc_mountinfo.as_deref(),
            Some("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n")
        );
        assert_eq!(md.proc_maps, None, "no maps file");
        let json = serde_json::to_string(&md).unwrap_or_default();
        assert!(json.contains(r#""truncated":["environ"]"#));
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
        let md = CrashMetadata::collect("1.2.x", &facts, Path::new("/proc"), Environ::Record);
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
        let maps = md.proc_maps.as_deref().unwrap();
        assert!(maps.contains("[stack]") && maps.ends_with('\n'), "{maps}");
        assert!(
            md.proc_mountinfo
                .as_deref()
                .is_some_and(|m| m.lines().any(|l| l.split(' ').nth(4) == Some("/"))),
            "no root mount in {:?}",
            md.proc_mountinfo
        );
        let path = std::env::var("PATH").unwrap();
        assert!(
            md.environ
                .as_ref()
                .is_some_and(|e| e.contains(&format!("PATH={path}"))),
            "{:?}",
            md.environ
        );
        assert!(md.truncated.is_empty(), "{:?}", md.truncated);
        let summary = md.log_summary();
        assert!(summary.contains(&format!("\"pid\":{me}")), "{summary}");
        assert!(!summary.contains("PATH="), "no environment in the log");
        let omitted = CrashMetadata::collect("1.2.x", &facts, Path::new("/proc"), Environ::Omit);
        assert_eq!(omitted.environ, None);
        let json = serde_json::to_string(&md).unwrap();
        assert!(json.contains(r#""hostname":"h\nx""#), "{json}");
        let back: CrashMetadata = serde_json::from_str(&json).unwrap();
        assert_eq!(back, md);
    }
}
