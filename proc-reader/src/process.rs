//! A process opened through its `/proc/<pid>` directory.

use std::ffi::{CStr, CString, OsString};
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use crate::error::{Error, PermissionReason, Result};
use crate::parse::auxv::{parse_auxv, AuxvEntry};
use crate::parse::cgroup::{parse_cgroup, CgroupEntry};
use crate::parse::cmdline::{parse_cmdline, parse_environ};
use crate::parse::coredump_filter::{parse_coredump_filter, CoredumpFilter};
use crate::parse::limits::{parse_limits, Limit};
use crate::parse::maps::{parse_maps, parse_smaps, Mapping};
use crate::parse::stat::{parse_stat, Stat};
use crate::parse::status::{parse_status, Status};
use crate::parse::ParseError;
use crate::sys;

/// A live process, held by a descriptor of its `/proc/<pid>` directory.
///
/// Every file is opened relative to that descriptor, so if the process exits
/// and its pid is reused, reads fail with [`Error::ProcessGone`] instead of
/// silently describing the newcomer.
///
/// ```
/// use coroner_proc_reader::Process;
/// let me = Process::open(std::process::id()).unwrap();
/// assert_eq!(me.status().unwrap().tgid, std::process::id());
/// assert!(!me.mappings().unwrap().is_empty());
/// ```
#[derive(Debug)]
pub struct Process {
    pid: u32,
    dir: OwnedFd,
}

/// `/proc/<pid>/<name>` for messages.
pub(crate) fn proc_path(pid: u32, name: &str) -> PathBuf {
    if name.is_empty() {
        PathBuf::from(format!("/proc/{pid}"))
    } else {
        PathBuf::from(format!("/proc/{pid}/{name}"))
    }
}

fn cstring(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

impl Process {
    /// Open `/proc/<pid>`. A pid that does not exist gives
    /// [`Error::ProcessGone`]; the id of a non-leader thread gives
    /// [`Error::Io`] with `InvalidInput` (open its process instead).
    pub fn open(pid: u32) -> Result<Process> {
        let path = proc_path(pid, "");
        let c = cstring(&path.to_string_lossy()).map_err(|source| Error::Io {
            pid,
            path: path.clone(),
            op: "open",
            source,
        })?;
        let dir = match sys::open(&c, libc::O_RDONLY | libc::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ESRCH)) || pid == 0 => {
                return Err(Error::ProcessGone {
                    pid,
                    path,
                    zombie: false,
                })
            }
            Err(source) => {
                return Err(Error::Io {
                    pid,
                    path,
                    op: "open",
                    source,
                })
            }
        };
        let process = Process { pid, dir };
        let status = process.status()?;
        if status.tgid != pid {
            return Err(Error::Io {
                pid,
                path: proc_path(pid, ""),
                op: "open",
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{pid} is a thread of process {}, not a process",
                        status.tgid
                    ),
                ),
            });
        }
        Ok(process)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Another handle on the same process (a duplicate of the directory
    /// descriptor, so it too cannot be redirected by pid reuse).
    pub fn try_clone(&self) -> Result<Process> {
        let dir = self.dir.try_clone().map_err(|source| Error::Io {
            pid: self.pid,
            path: proc_path(self.pid, ""),
            op: "dup",
            source,
        })?;
        Ok(Process { pid: self.pid, dir })
    }

    /// The path of a per-address-space file (`maps`, `auxv`, `exe` …). When
    /// the main thread has exited while other threads run on, its own files
    /// are empty, so they are read through a live thread's `task/<tid>/`.
    fn mm_file(&self, name: &str) -> String {
        match self.address_space_thread() {
            Some(tid) => format!("task/{tid}/{name}"),
            None => name.to_owned(),
        }
    }

    /// A live thread to reach the address space through when the main
    /// thread has exited while others run on (its own per-address-space
    /// files are then empty); `None` when the main thread itself will do.
    pub(crate) fn address_space_thread(&self) -> Option<u32> {
        let stat = self.stat().ok()?;
        if !stat.is_zombie() || stat.num_threads <= 1 {
            return None;
        }
        self.tasks().ok().and_then(|tids| {
            tids.into_iter()
                .find(|&t| t != self.pid && self.thread_stat(t).is_ok_and(|s| !s.is_zombie()))
        })
    }

    /// The directory whose entries, named `<start>-<end>` in lowercase hex,
    /// open the file behind each file-backed mapping
    /// (`/proc/<pid>/map_files`). `map_files` exists only at the top of a
    /// process's directory, not under `task/<tid>/`; once the main thread
    /// has exited, the one of a live thread (`/proc/<tid>/map_files`, which
    /// the kernel serves for any thread id) is given instead.
    pub fn map_files_dir(&self) -> PathBuf {
        proc_path(self.address_space_thread().unwrap_or(self.pid), "map_files")
    }

    /// Open a file below the directory (relative path such as `task/12/comm`).
    pub(crate) fn open_file(&self, name: &str, flags: libc::c_int) -> Result<OwnedFd> {
        let c = cstring(name).map_err(|source| Error::Io {
            pid: self.pid,
            path: proc_path(self.pid, name),
            op: "open",
            source,
        })?;
        sys::openat(self.dir.as_fd(), &c, flags).map_err(|e| self.classify(e, "open", name))
    }

    /// The raw bytes of `/proc/<pid>/<name>` (for any file this crate has no
    /// getter for, or to keep the original text).
    pub fn read_file(&self, name: &str) -> Result<Vec<u8>> {
        let fd = self.open_file(name, libc::O_RDONLY)?;
        let mut file = std::fs::File::from(fd);
        // /proc files report size 0, so an empty Vec makes std probe with
        // 32-byte reads and grow from there (eight reads for `status`).
        // Most of them fit in a page: start with one.
        let mut out = Vec::with_capacity(4096);
        file.read_to_end(&mut out)
            .map_err(|e| self.classify(e, "read", name))?;
        Ok(out)
    }

    /// The bytes of a per-address-space file (`maps`, `auxv`, `environ` …)
    /// and the path they came from. The process's own file is read first;
    /// only when that fails or comes back empty, as it does once the main
    /// thread has exited while others run on, is a live thread's copy looked
    /// for (see [`Process::mm_file`]), so the common case costs one read.
    /// Without a live thread to read through, the first outcome stands.
    fn read_mm_file(&self, name: &str) -> Result<(String, Vec<u8>)> {
        let own = self.read_file(name);
        if own.as_ref().is_ok_and(|data| !data.is_empty()) {
            return own.map(|data| (name.to_owned(), data));
        }
        let path = self.mm_file(name);
        if path == name {
            return own.map(|data| (path, data));
        }
        let data = self.read_file(&path)?;
        Ok((path, data))
    }

    fn parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
    ) -> Result<T> {
        let data = self.read_file(name)?;
        self.parse_as(name, &data, parse)
    }

    /// [`Process::parsed`] for a per-address-space file.
    fn parsed_mm<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
    ) -> Result<T> {
        let (path, data) = self.read_mm_file(name)?;
        self.parse_as(&path, &data, parse)
    }

    fn parse_as<T>(
        &self,
        name: &str,
        data: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
    ) -> Result<T> {
        parse(data).map_err(|source| Error::Parse {
            pid: self.pid,
            path: proc_path(self.pid, name),
            source,
        })
    }

    /// `/proc/<pid>/status`.
    pub fn status(&self) -> Result<Status> {
        self.parsed("status", parse_status)
    }

    /// The raw text of `/proc/<pid>/status` (for a dump that keeps it).
    pub fn status_raw(&self) -> Result<Vec<u8>> {
        self.read_file("status")
    }

    /// `/proc/<pid>/stat`.
    pub fn stat(&self) -> Result<Stat> {
        self.parsed("stat", parse_stat)
    }

    /// The arguments from `/proc/<pid>/cmdline` (empty for kernel threads and zombies).
    pub fn cmdline(&self) -> Result<Vec<Vec<u8>>> {
        Ok(parse_cmdline(&self.read_mm_file("cmdline")?.1)
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect())
    }

    /// The raw bytes of `/proc/<pid>/cmdline` (NUL-separated arguments),
    /// read through a live thread once the main thread has exited.
    pub fn cmdline_raw(&self) -> Result<Vec<u8>> {
        self.read_mm_file("cmdline").map(|(_, data)| data)
    }

    /// The raw bytes of `/proc/<pid>/maps`, read through a live thread once
    /// the main thread has exited (see [`Process::maps`] for them parsed).
    pub fn maps_raw(&self) -> Result<Vec<u8>> {
        self.read_mm_file("maps").map(|(_, data)| data)
    }

    /// The raw bytes of `/proc/<pid>/environ` (NUL-separated `NAME=value`).
    pub fn environ_raw(&self) -> Result<Vec<u8>> {
        self.read_mm_file("environ").map(|(_, data)| data)
    }

    /// The environment as `(name, value)` pairs.
    pub fn environ(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let raw = self.environ_raw()?;
        Ok(parse_environ(&raw)
            .into_iter()
            .map(|v| (v.name.to_vec(), v.value.to_vec()))
            .collect())
    }

    /// The raw bytes of `/proc/<pid>/auxv`, including the `AT_NULL` terminator.
    pub fn auxv_raw(&self) -> Result<Vec<u8>> {
        self.read_mm_file("auxv").map(|(_, data)| data)
    }

    /// The auxiliary vector without the `AT_NULL` terminator.
    pub fn auxv(&self) -> Result<Vec<AuxvEntry>> {
        self.parsed_mm("auxv", parse_auxv)
    }

    /// The executable (`/proc/<pid>/exe`), possibly ending in ` (deleted)`.
    pub fn exe(&self) -> Result<PathBuf> {
        self.read_link(&self.mm_file("exe"))
    }

    /// The working directory (`/proc/<pid>/cwd`).
    pub fn cwd(&self) -> Result<PathBuf> {
        self.read_link(&self.mm_file("cwd"))
    }

    fn read_link(&self, name: &str) -> Result<PathBuf> {
        let c = cstring(name).map_err(|source| Error::Io {
            pid: self.pid,
            path: proc_path(self.pid, name),
            op: "readlink",
            source,
        })?;
        let bytes = sys::readlinkat(self.dir.as_fd(), &c)
            .map_err(|e| self.classify(e, "readlink", name))?;
        Ok(PathBuf::from(OsString::from_vec(bytes)))
    }

    /// `/proc/<pid>/limits`.
    pub fn limits(&self) -> Result<Vec<Limit>> {
        self.parsed("limits", parse_limits)
    }

    /// `/proc/<pid>/cgroup`.
    pub fn cgroups(&self) -> Result<Vec<CgroupEntry>> {
        self.parsed("cgroup", parse_cgroup)
    }

    /// `/proc/<pid>/coredump_filter`.
    pub fn coredump_filter(&self) -> Result<CoredumpFilter> {
        self.parsed_mm("coredump_filter", parse_coredump_filter)
    }

    /// The pid as the process sees it in its own pid namespace (last `NSpid`
    /// entry; the global pid when the kernel has no `NSpid`).
    pub fn nspid(&self) -> Result<u32> {
        let status = self.status()?;
        Ok(status.nspid.last().copied().unwrap_or(status.pid))
    }

    /// The mapping list from `/proc/<pid>/maps` alone (fast; no VmFlags or
    /// page counts).
    pub fn maps(&self) -> Result<Vec<Mapping>> {
        self.parsed_mm("maps", parse_maps)
    }

    /// The mapping list with VmFlags, Rss, Anonymous and friends from
    /// `/proc/<pid>/smaps` (a superset of `maps`, read in one pass so the two
    /// cannot disagree).
    pub fn mappings(&self) -> Result<Vec<Mapping>> {
        self.parsed_mm("smaps", parse_smaps)
    }

    /// The thread ids listed in `/proc/<pid>/task`, sorted.
    pub fn tasks(&self) -> Result<Vec<u32>> {
        self.numeric_entries("task")
    }

    /// How many file descriptors the process has open (the entries of
    /// `/proc/<pid>/fd`; ProcDump counts `fdinfo`, which lists the same).
    pub fn fd_count(&self) -> Result<usize> {
        self.numeric_entries("fd").map(|fds| fds.len())
    }

    /// The entries of the directory `name` whose names are decimal numbers
    /// (thread ids, descriptors), sorted.
    fn numeric_entries(&self, name: &str) -> Result<Vec<u32>> {
        let fd = self.open_file(name, libc::O_RDONLY | libc::O_DIRECTORY)?;
        let mut buf = vec![0u8; 16 * 1024];
        let mut tids = Vec::new();
        loop {
            let n = sys::getdents64(fd.as_fd(), &mut buf)
                .map_err(|e| self.classify(e, "getdents64", name))?;
            if n == 0 {
                break;
            }
            let mut off = 0usize;
            // linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name NUL-terminated.
            while let Some(rec) = buf.get(off..n) {
                let Some(reclen) = rec
                    .get(16..18)
                    .and_then(|b| <[u8; 2]>::try_from(b).ok())
                    .map(u16::from_ne_bytes)
                else {
                    break;
                };
                let reclen = usize::from(reclen);
                if reclen == 0 {
                    break;
                }
                let name = rec.get(19..reclen.min(rec.len())).unwrap_or(&[]);
                let name = CStr::from_bytes_until_nul(name)
                    .map(CStr::to_bytes)
                    .unwrap_or(name);
                if let Some(tid) = crate::parse::parse_u32(name) {
                    tids.push(tid);
                }
                off = off.saturating_add(reclen);
            }
        }
        tids.sort_unstable();
        Ok(tids)
    }

    /// A thread's name (`/proc/<pid>/task/<tid>/comm`, without the newline).
    pub fn thread_name(&self, tid: u32) -> Result<Vec<u8>> {
        let mut name = self.read_file(&format!("task/{tid}/comm"))?;
        if name.last() == Some(&b'\n') {
            name.pop();
        }
        Ok(name)
    }

    /// A thread's `stat`.
    pub fn thread_stat(&self, tid: u32) -> Result<Stat> {
        self.parsed(&format!("task/{tid}/stat"), parse_stat)
    }

    /// A thread's `status`.
    pub fn thread_status(&self, tid: u32) -> Result<Status> {
        self.parsed(&format!("task/{tid}/status"), parse_status)
    }

    /// Whether the process still exists, and if so whether it is a zombie:
    /// `None` when gone, `Some(true)` for a zombie. A process whose main
    /// thread has exited while other threads run on is not a zombie.
    pub fn zombie(&self) -> Option<bool> {
        self.stat_unclassified().map(|s| is_zombie_process(&s))
    }

    /// `stat`, or `None` on any error, without [`Process::classify`] (which
    /// itself reads `stat` to explain errors).
    fn stat_unclassified(&self) -> Option<Stat> {
        let c = cstring("stat").ok()?;
        let fd = sys::openat(self.dir.as_fd(), &c, libc::O_RDONLY).ok()?;
        let mut data = Vec::new();
        std::fs::File::from(fd).read_to_end(&mut data).ok()?;
        parse_stat(&data).ok()
    }

    /// Turn an OS error about `name` into the crate's error: ESRCH/ENOENT on
    /// a vanished process become [`Error::ProcessGone`], EPERM/EACCES become
    /// [`Error::PermissionDenied`] with the reason diagnosed, and any of them
    /// on a kernel thread (whose address-space files answer ESRCH) a
    /// [`PermissionReason::KernelThread`] denial.
    pub(crate) fn classify(&self, err: io::Error, op: &'static str, name: &str) -> Error {
        let path = proc_path(self.pid, name);
        let pid = self.pid;
        let code = err.raw_os_error();
        let denied = matches!(code, Some(libc::EPERM | libc::EACCES));
        if denied || matches!(code, Some(libc::ESRCH | libc::ENOENT)) {
            // Either can mean the process has gone, or become a zombie, meanwhile.
            let stat = self.stat_unclassified();
            if stat.as_ref().map_or(true, is_zombie_process) {
                return Error::ProcessGone {
                    pid,
                    path,
                    zombie: stat.is_some(),
                };
            }
            if stat.is_some_and(|s| s.flags & PF_KTHREAD != 0) {
                return Error::PermissionDenied {
                    pid,
                    path,
                    op,
                    reason: PermissionReason::KernelThread,
                    source: err,
                };
            }
        }
        if denied {
            return Error::PermissionDenied {
                pid,
                path,
                op,
                reason: self.diagnose_permission(),
                source: err,
            };
        }
        Error::Io {
            pid,
            path,
            op,
            source: err,
        }
    }

    /// Work out which ptrace access check denies us: another tracer, missing
    /// CAP_SYS_PTRACE across users, or Yama's ptrace_scope.
    pub fn diagnose_permission(&self) -> PermissionReason {
        decide(&self.access_facts())
    }

    /// Gather what the kernel's ptrace access checks look at.
    fn access_facts(&self) -> AccessFacts {
        let kernel_thread = self.stat().is_ok_and(|s| s.flags & PF_KTHREAD != 0);
        let target = self.status().ok();
        let tracer_pid = target.as_ref().map_or(0, |t| t.tracer_pid);
        let (tracer_process, tracer_name) = if tracer_pid != 0 {
            let process = std::fs::read(proc_path(tracer_pid, "status"))
                .ok()
                .and_then(|d| parse_status(&d).ok())
                .map(|s| s.tgid);
            let name = std::fs::read(proc_path(process.unwrap_or(tracer_pid), "comm"))
                .ok()
                .map(|n| String::from_utf8_lossy(&n).trim_end().to_owned());
            (process, name)
        } else {
            (None, None)
        };
        let yama = std::fs::read("/proc/sys/kernel/yama/ptrace_scope")
            .ok()
            .and_then(|v| crate::parse::parse_u64(crate::parse::trim(&v), 10))
            .and_then(|v| u8::try_from(v).ok());
        let me = std::fs::read("/proc/self/status")
            .ok()
            .and_then(|d| parse_status(&d).ok());
        let have_cap = me
            .as_ref()
            .and_then(|s| s.cap_eff)
            .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0);
        // The kernel also refuses non-dumpable processes; their /proc files
        // then belong to root, which the uids alone don't show.
        let owner_uid = std::fs::metadata(proc_path(self.pid, "")).ok().map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid()
        });
        AccessFacts {
            kernel_thread,
            tracer_pid,
            tracer_process,
            tracer_name,
            yama,
            have_cap,
            our_uid: sys::geteuid(),
            target_uids: target.as_ref().map(|t| [t.uid[0], t.uid[1], t.uid[2]]),
            owner_uid,
            descendant: self.is_descendant_of(std::process::id()),
        }
    }

    /// Whether `ancestor` is this process's parent, grandparent …
    fn is_descendant_of(&self, ancestor: u32) -> bool {
        let mut pid = self
            .stat()
            .map_or(0, |s| u32::try_from(s.ppid).unwrap_or(0));
        // Bounded walk: pid chains are short, and a racing reparent must not loop.
        for _ in 0..4096 {
            if pid == ancestor {
                return true;
            }
            if pid <= 1 {
                return false;
            }
            pid = std::fs::read(proc_path(pid, "stat"))
                .ok()
                .and_then(|d| parse_stat(&d).ok())
                .map_or(0, |s| u32::try_from(s.ppid).unwrap_or(0));
        }
        false
    }
}

/// What decides a ptrace access check, gathered from /proc.
#[derive(Debug, Clone, Default)]
struct AccessFacts {
    kernel_thread: bool,
    tracer_pid: u32,
    tracer_process: Option<u32>,
    tracer_name: Option<String>,
    yama: Option<u8>,
    have_cap: bool,
    our_uid: u32,
    target_uids: Option<[u32; 3]>,
    owner_uid: Option<u32>,
    descendant: bool,
}

/// Which check refused us, in the order the kernel applies them that a user
/// can do something about.
fn decide(f: &AccessFacts) -> PermissionReason {
    if f.kernel_thread {
        return PermissionReason::KernelThread;
    }
    if f.tracer_pid != 0 {
        return PermissionReason::AlreadyTraced {
            tracer_pid: f.tracer_pid,
            tracer_process: f.tracer_process,
            tracer_name: f.tracer_name.clone(),
        };
    }
    let yama = f.yama.unwrap_or(0);
    if yama >= 3 {
        return PermissionReason::YamaPtraceScope { scope: yama };
    }
    if !f.have_cap {
        let target_uids = f.target_uids.unwrap_or([u32::MAX; 3]);
        let owner_differs = f.owner_uid.is_some_and(|o| o != f.our_uid);
        if target_uids.iter().any(|&u| u != f.our_uid) || owner_differs {
            return PermissionReason::MissingCapSysPtrace {
                our_uid: f.our_uid,
                target_uids,
            };
        }
        if yama >= 2 || (yama == 1 && !f.descendant) {
            return PermissionReason::YamaPtraceScope { scope: yama };
        }
    }
    PermissionReason::Unknown
}

/// Whether `stat` is that of a zombie process. A zombie leader still counts
/// itself in num_threads until the last thread is gone: while other threads
/// run on, the process is not a zombie.
fn is_zombie_process(stat: &Stat) -> bool {
    stat.is_zombie() && stat.num_threads <= 1
}

/// `PF_KTHREAD` in the `flags` field of `stat`.
const PF_KTHREAD: u32 = 0x0020_0000;

/// Capability number of CAP_SYS_PTRACE.
const CAP_SYS_PTRACE: u32 = 19;

impl Process {
    /// Freeze every thread (see [`Frozen`](crate::Frozen)) with default options.
    pub fn freeze(&self) -> Result<crate::Frozen<'_>> {
        crate::Frozen::new(self, crate::FreezeOptions::default())
    }

    /// Freeze every thread with `options`.
    pub fn freeze_with(&self, options: crate::FreezeOptions) -> Result<crate::Frozen<'_>> {
        crate::Frozen::new(self, options)
    }

    /// A reader for the process's memory and pagemap.
    pub fn memory(&self) -> Result<crate::MemoryReader> {
        crate::MemoryReader::new(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_user() -> AccessFacts {
        AccessFacts {
            our_uid: 1000,
            target_uids: Some([1000; 3]),
            owner_uid: Some(1000),
            yama: Some(0),
            ..AccessFacts::default()
        }
    }

    #[test]
    fn reasons_in_order() {
        assert_eq!(decide(&same_user()), PermissionReason::Unknown);
        let traced = AccessFacts {
            tracer_pid: 7,
            tracer_process: Some(5),
            ..same_user()
        };
        assert!(matches!(
            decide(&traced),
            PermissionReason::AlreadyTraced {
                tracer_pid: 7,
                tracer_process: Some(5),
                ..
            }
        ));
        let kthread = AccessFacts {
            kernel_thread: true,
            ..traced
        };
        assert_eq!(decide(&kthread), PermissionReason::KernelThread);
        let other = AccessFacts {
            target_uids: Some([0, 0, 0]),
            ..same_user()
        };
        assert!(matches!(
            decide(&other),
            PermissionReason::MissingCapSysPtrace {
                our_uid: 1000,
                target_uids: [0, 0, 0]
            }
        ));
        let not_dumpable = AccessFacts {
            owner_uid: Some(0),
            ..same_user()
        };
        assert!(matches!(
            decide(&not_dumpable),
            PermissionReason::MissingCapSysPtrace { .. }
        ));
        let with_cap = AccessFacts {
            have_cap: true,
            ..other
        };
        assert_eq!(decide(&with_cap), PermissionReason::Unknown);
    }

    #[test]
    fn yama_scopes() {
        let scope = |yama, descendant, have_cap| {
            decide(&AccessFacts {
                yama: Some(yama),
                descendant,
                have_cap,
                ..same_user()
            })
        };
        assert_eq!(
            scope(1, false, false),
            PermissionReason::YamaPtraceScope { scope: 1 }
        );
        assert_eq!(
            scope(1, true, false),
            PermissionReason::Unknown,
            "scope 1 lets a parent attach"
        );
        assert_eq!(
            scope(1, false, true),
            PermissionReason::Unknown,
            "CAP_SYS_PTRACE passes scope 1"
        );
        assert_eq!(
            scope(2, true, false),
            PermissionReason::YamaPtraceScope { scope: 2 }
        );
        assert_eq!(scope(2, true, true), PermissionReason::Unknown);
        assert_eq!(
            scope(3, true, true),
            PermissionReason::YamaPtraceScope { scope: 3 },
            "scope 3 refuses everyone"
        );
        let msg = scope(1, false, false).to_string();
        assert!(
            msg.contains("ptrace_scope is 1") && msg.contains("PR_SET_PTRACER"),
            "{msg}"
        );
    }
}
