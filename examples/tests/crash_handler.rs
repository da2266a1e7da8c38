//! coroner as the system's core dump handler, with real crashes (issue 13).
//!
//! Each test installs the handler with `coroner crash-handler install`
//! under test-support's exclusive machine-settings lock (so no other test
//! on the machine crashes a process expecting a plain `core` file
//! meanwhile), and a guard saves `core_pattern` and `core_pipe_limit`
//! first and writes them back when dropped — after the test, on failure
//! and on panic. The tests of this binary run one at a time (the lock).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use coroner_store::{CrashMetadata, Store};
use coroner_test_support::{crasher_path, minidump_stackwalk, oracle, stdout_of, MachineSettings};
use serde_json::Value;

const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";
/// A variable every crasher gets, to find in the recorded environment.
const ENV_MARKER: (&str, &str) = ("CORONER_TEST_CRASH_ENV", "marker-42");
const CORE_PIPE_LIMIT: &str = "/proc/sys/kernel/core_pipe_limit";

/// The handler installed until dropped; the previous settings restored then.
struct Installed {
    pattern: String,
    pipe_limit: String,
    config: PathBuf,
    store: PathBuf,
    _lock: MachineSettings,
}

impl Installed {
    fn new(dir: &Path, options: &[&str]) -> Installed {
        let lock = MachineSettings::exclusive();
        let guard = Installed {
            pattern: std::fs::read_to_string(CORE_PATTERN).unwrap(),
            pipe_limit: std::fs::read_to_string(CORE_PIPE_LIMIT).unwrap(),
            config: dir.join("h.json"),
            store: dir.join("store"),
            _lock: lock,
        };
        let mut install = Command::new(env!("CARGO_BIN_EXE_coroner"));
        install
            .args(["crash-handler", "install", "--config"])
            .arg(&guard.config)
            .arg("--dir")
            .arg(&guard.store)
            .args(options);
        stdout_of(install);
        let now = std::fs::read_to_string(CORE_PATTERN).unwrap();
        assert!(
            now.starts_with('|') && now.contains(" crash-handler run -c "),
            "{now}"
        );
        guard
    }

    fn store(&self) -> Store {
        Store::open(&self.store, false).unwrap()
    }

    /// `coroner crashes SUB --dir STORE ARGS…`.
    fn crashes(&self, sub: &str, args: &[&str]) -> String {
        let mut all = vec!["crashes", sub, "--dir", self.store.to_str().unwrap()];
        all.extend_from_slice(args);
        coroner(&all)
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        // The pattern first: no crash may reach the handler after this.
        if let Err(e) = std::fs::write(CORE_PATTERN, self.pattern.trim_end()) {
            eprintln!("RESTORE FAILED: core_pattern {:?}: {e}", self.pattern);
        }
        if let Err(e) = std::fs::write(CORE_PIPE_LIMIT, self.pipe_limit.trim()) {
            eprintln!("RESTORE FAILED: core_pipe_limit {:?}: {e}", self.pipe_limit);
        }
    }
}

/// A crash of the crasher with `args`: its pid and crashing tid.
struct Crash {
    pid: u32,
    crash_tid: u32,
}

fn crash(args: &[&str], wrap: &[&str], cwd: &Path) -> Crash {
    // RLIMIT_CORE 0 would make the handler keep the metadata only.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -c unlimited && exec \"$@\"")
        .arg("sh")
        .args(wrap)
        .arg(crasher_path())
        .args(args)
        .current_dir(cwd)
        .env(ENV_MARKER.0, ENV_MARKER.1)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let ready = coroner_test_support::Ready::parse(text.lines().next().unwrap_or(""))
        .unwrap_or_else(|| panic!("no READY line: {text:?}"));
    Crash {
        pid: ready.pid(),
        crash_tid: u32::try_from(ready.u64("crash_tid")).unwrap(),
    }
}

/// The stored crash whose metadata has `ns_pid` `pid` (its own namespace's
/// pid), waited for up to 30 s.
fn stored(store: &Store, pick: impl Fn(&CrashMetadata) -> bool) -> coroner_store::Entry {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(e) = store
            .entries()
            .unwrap()
            .into_iter()
            .find(|e| e.metadata.as_ref().is_some_and(&pick))
        {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "the crash was never stored in {}",
            store.dir().display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn function_for(signal: &str) -> &'static str {
    match signal {
        "segv" => "crash_segv",
        "abrt" => "crash_abort",
        _ => "crash_bus",
    }
}

/// The gdb checks: the current thread is the crashing one and its
/// backtrace reaches the crashing function (and the worker's entry).
fn check_gdb(installed: &Installed, id: &str, c: &Crash, signal: &str, in_worker: bool) {
    if oracle("gdb").is_none() {
        return;
    }
    let text = installed.crashes(
        "debug",
        &[
            id,
            "--",
            "-batch",
            "-nx",
            "-ex",
            "info threads",
            "-ex",
            "bt",
        ],
    );
    let current = text
        .lines()
        .find(|l| l.trim_start().starts_with('*'))
        .unwrap_or_else(|| panic!("no current thread in:\n{text}"));
    assert!(
        current.contains(&format!("LWP {}", c.crash_tid)),
        "current thread is not the crashing one:\n{text}"
    );
    let bt: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    let want = function_for(signal);
    assert!(
        bt.iter().any(|l| l.contains(want)),
        "no {want} in the backtrace:\n{text}"
    );
    assert!(
        bt.iter().any(|l| l.contains("crash_now")),
        "no crash_now:\n{text}"
    );
    if in_worker {
        assert!(
            bt.iter().any(|l| l.contains("worker_crash")),
            "no worker_crash:\n{text}"
        );
    } else {
        assert!(bt.iter().any(|l| l.contains("main")), "no main:\n{text}");
    }
}

/// minidump-stackwalk walks the minidump: the crashing thread's frames
/// reach the crashing function, and the crash reason names the signal.
fn check_stackwalk(minidump: &Path, signal: &str) {
    let Some(sw) = minidump_stackwalk(minidump) else {
        return;
    };
    assert_eq!(sw["status"], "OK", "{sw:#}");
    let crashing = &sw["crashing_thread"];
    let frames: Vec<&str> = crashing["frames"]
        .as_array()
        .unwrap_or_else(|| panic!("no crashing thread: {sw:#}"))
        .iter()
        .filter_map(|f| f["function"].as_str())
        .collect();
    let want = function_for(signal);
    assert!(
        frames.contains(&want),
        "no {want} in the crashing thread's frames {frames:?}"
    );
    let reason = sw["crash_info"]["type"].as_str().unwrap_or_default();
    let name = match signal {
        "segv" => "SIGSEGV",
        "abrt" => "SIGABRT",
        _ => "SIGBUS",
    };
    assert!(
        reason.contains(name),
        "crash reason {reason:?}, want {name}"
    );
}

fn check_metadata(m: &CrashMetadata, c: &Crash, signal: &str, args: &[&str], threads: usize) {
    let (signo, name) = match signal {
        "segv" => (11, "SIGSEGV"),
        "abrt" => (6, "SIGABRT"),
        _ => (7, "SIGBUS"),
    };
    assert_eq!((m.signal, m.signal_name.as_str()), (signo, name));
    assert_eq!(m.tid, c.crash_tid, "tid of the crashing thread");
    assert_eq!(
        m.core_threads.first(),
        Some(&m.ns_tid),
        "the core's first thread is the crashing one"
    );
    assert_eq!(m.core_threads.len(), threads, "{:?}", m.core_threads);
    assert_eq!(m.uid, 0);
    assert!(m.timestamp > 1_700_000_000);
    assert!(!m.hostname.is_empty());
    assert_eq!(m.exe.as_deref(), Some(crasher_path().to_str().unwrap()));
    assert_eq!(m.cmdline[0], crasher_path().to_str().unwrap());
    assert_eq!(&m.cmdline[1..], args);
    assert!(m.cwd.is_some() && m.root.as_deref() == Some("/"));
    assert!(
        m.cgroup.as_deref().is_some_and(|c| c.starts_with('/')),
        "{:?}",
        m.cgroup
    );
    assert!(m
        .limits
        .as_deref()
        .is_some_and(|l| l.contains("Max core file size")));
    assert!(m
        .proc_status
        .as_deref()
        .is_some_and(|s| s.contains("Threads:")));
    assert!(m.open_fds.iter().any(|f| f.fd == 1), "{:?}", m.open_fds);
    // What systemd-coredump records as COREDUMP_PROC_MAPS,
    // COREDUMP_PROC_MOUNTINFO and COREDUMP_ENVIRON.
    let maps = m.proc_maps.as_deref().unwrap_or_default();
    assert!(
        maps.contains("[stack]")
            && maps
                .lines()
                .any(|l| l.ends_with(crasher_path().to_str().unwrap())),
        "maps:\n{maps}"
    );
    let mountinfo = m.proc_mountinfo.as_deref().unwrap_or_default();
    assert!(
        mountinfo.lines().any(|l| l.split(' ').nth(4) == Some("/")),
        "no root mount in mountinfo:\n{mountinfo}"
    );
    let marker = format!("{}={}", ENV_MARKER.0, ENV_MARKER.1);
    assert!(
        m.environ.as_ref().is_some_and(|e| e.contains(&marker)),
        "{marker} not in {:?}",
        m.environ
    );
    assert!(m.truncated.is_empty(), "{:?}", m.truncated);
    assert!(m.core_rlimit.is_none(), "ulimit -c unlimited");
    let own = m
        .modules
        .iter()
        .find(|x| x.path == crasher_path().to_str().unwrap())
        .unwrap_or_else(|| panic!("no crasher module: {:?}", m.modules));
    assert!(
        own.build_id.as_deref().is_some_and(|b| b.len() >= 16),
        "{own:?}"
    );
    assert!(m.modules.iter().any(|x| x.path.contains("libc.so")));
    assert!(m.stored.skipped.is_none(), "{:?}", m.stored.skipped);
}

#[test]
fn real_crashes_are_stored_and_open_in_gdb_and_minidump_stackwalk() {
    let dir = tempfile::tempdir().unwrap();
    {
        let installed = Installed::new(
            dir.path(),
            &[
                "--minidump",
                "--max-use",
                "1G",
                "--keep-free",
                "0",
                "--no-rate-limit",
            ],
        );
        let status = coroner(&[
            "crash-handler",
            "status",
            "-c",
            installed.config.to_str().unwrap(),
        ]);
        assert!(status.contains("coroner handler: installed"), "{status}");
        for (signal, in_worker) in [
            ("segv", false),
            ("abrt", true),
            ("bus", true),
            ("segv", true),
        ] {
            let mut args = vec!["--signal", signal];
            if in_worker {
                args.push("--in-worker");
            }
            let c = crash(&args, &[], dir.path());
            let entry = stored(&installed.store(), |m| m.pid == c.pid);
            let m = entry.metadata.clone().unwrap();
            // Main and 3 parked workers, plus the crashing worker.
            let threads = 4 + usize::from(in_worker);
            check_metadata(&m, &c, signal, &args, threads);
            assert!(!m.in_pid_namespace);
            assert_eq!(m.ns_pid, m.pid);
            let core = entry.core_path().expect("a stored core");
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let md = std::fs::metadata(&core).unwrap();
            assert_eq!(md.permissions().mode() & 0o777, 0o600);
            assert!(md.blocks() * 512 <= md.len(), "sparse");
            check_gdb(&installed, &c.pid.to_string(), &c, signal, in_worker);
            check_stackwalk(&entry.minidump_path().expect("a minidump"), signal);
            // `inspect` reads the stored core.
            let json: Value =
                serde_json::from_str(&coroner(&["inspect", "--json", core.to_str().unwrap()]))
                    .unwrap();
            assert_eq!(json["threads"].as_array().unwrap().len(), threads);
        }
        // list, info, export.
        let list: Value = serde_json::from_str(&installed.crashes("list", &["--json"])).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 4);
        let first = list[0]["id"].as_str().unwrap().to_owned();
        let text = installed.crashes("list", &[]);
        assert_eq!(text.lines().count(), 5, "{text}");
        let info = installed.crashes("info", &[&first]);
        assert!(info.contains("signal: 11 (SIGSEGV)"), "{info}");
        assert!(
            info.contains(" mappings; mountinfo: ")
                && info.contains(" variables (in metadata.json"),
            "{info}"
        );
        let export = dir.path().join("export");
        installed.crashes("export", &[&first, export.to_str().unwrap()]);
        let mut names: Vec<String> = std::fs::read_dir(&export)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                format!("{first}.core"),
                format!("{first}.metadata.json"),
                format!("{first}.minidump.dmp")
            ]
        );

        // uninstall puts the previous settings back.
        let mut uninstall = Command::new(env!("CARGO_BIN_EXE_coroner"));
        uninstall
            .args(["crash-handler", "uninstall", "-c"])
            .arg(&installed.config);
        stdout_of(uninstall);
        assert_eq!(
            std::fs::read_to_string(CORE_PATTERN).unwrap(),
            installed.pattern
        );
        assert_eq!(
            std::fs::read_to_string(CORE_PIPE_LIMIT).unwrap(),
            installed.pipe_limit
        );
    }
    assert!(!std::fs::read_to_string(CORE_PATTERN)
        .unwrap()
        .contains("crash-handler"));
}

fn coroner(args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coroner"));
    cmd.args(args);
    String::from_utf8(stdout_of(cmd)).unwrap()
}

#[test]
fn a_crash_loop_of_200_stays_within_max_use_and_the_rate_limit_holds() {
    let dir = tempfile::tempdir().unwrap();
    let max_use: u64 = 4 << 20;
    let installed = Installed::new(
        dir.path(),
        &[
            "--max-use",
            "4M",
            "--keep-free",
            "0",
            "--rate-limit",
            "5/600",
        ],
    );
    let store = installed.store();
    let started = Instant::now();
    let mut kept = 0;
    for i in 0..200 {
        let c = crash(&["--threads", "0", "--data-mib", "1"], &[], dir.path());
        let entry = stored(&store, |m| m.pid == c.pid);
        let m = entry.metadata.unwrap();
        if m.stored.core.is_some() {
            kept += 1;
            assert!(i < 5, "crash {i} kept a core past the rate limit of 5");
        } else {
            assert!(
                m.stored
                    .skipped
                    .as_deref()
                    .is_some_and(|s| s.contains("rate limit")),
                "crash {i}: {:?}",
                m.stored
            );
        }
        let used = store.usage().unwrap();
        assert!(
            used <= max_use,
            "after crash {i} the store takes {used} bytes, over --max-use {max_use}"
        );
    }
    assert_eq!(kept, 5, "the first 5 crashes keep their core");
    let took = started.elapsed();
    eprintln!(
        "200 crashes stored in {took:?} ({:?} each, crash included)",
        took / 200
    );
    // Retention removed the oldest entries; the newest are all there.
    let entries = store.entries().unwrap();
    assert!(
        entries.len() < 200,
        "{} entries: nothing was removed",
        entries.len()
    );
}

#[test]
fn hostile_names_are_stored_safely() {
    let dir = tempfile::tempdir().unwrap();
    let installed = Installed::new(dir.path(), &["--keep-free", "0", "--no-rate-limit"]);
    let store = installed.store();
    for name in ["../../etc/x", "evil\nname: x", ".."] {
        let c = crash(&["--name", name, "--threads", "0"], &[], dir.path());
        let entry = stored(&store, |m| m.pid == c.pid);
        assert_eq!(
            entry.dir.parent().unwrap(),
            installed.store,
            "{name:?} left the store"
        );
        let m = entry.metadata.as_ref().unwrap();
        assert_eq!(m.comm, name, "the name is kept as data");
        assert_eq!(m.pid, c.pid);
        assert!(!entry.id.contains('/') && !entry.id.contains('\n') && !entry.id.starts_with('.'));
        assert!(entry.core_path().is_some());
    }
    // Only the store was written in the test directory (and the config).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["h.json", "store"]);
    let list = installed.crashes("list", &[]);
    assert_eq!(
        list.lines().count(),
        4,
        "one line per crash, no forged line:\n{list}"
    );
    assert!(list.contains("../../etc/x") || list.contains(crasher_path().to_str().unwrap()));
}

#[test]
fn a_crash_in_a_pid_namespace_is_stored_with_host_and_namespace_pids() {
    if oracle("unshare").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let installed = Installed::new(dir.path(), &["--keep-free", "0", "--no-rate-limit"]);
    let c = crash(
        &["--in-worker"],
        &["unshare", "--pid", "--fork", "--mount-proc"],
        dir.path(),
    );
    assert_eq!(c.pid, 1, "the crasher is its namespace's init");
    let entry = stored(&installed.store(), |m| {
        m.in_pid_namespace && m.ns_tid == c.crash_tid
    });
    let m = entry.metadata.clone().unwrap();
    assert_eq!(m.ns_pid, 1);
    assert_ne!(m.pid, 1, "the host pid");
    assert_ne!(m.tid, m.ns_tid, "the host tid");
    assert_eq!(m.core_threads.first(), Some(&m.ns_tid));
    assert!(m.cgroup.is_some());
    assert!(entry.core_path().is_some());
}

#[test]
fn compressed_cores_are_read_by_inspect_convert_and_debug() {
    let dir = tempfile::tempdir().unwrap();
    let installed = Installed::new(
        dir.path(),
        &[
            "--compress",
            "--keep-free",
            "0",
            "--no-rate-limit",
            "--no-environ",
        ],
    );
    let c = crash(
        &["--signal", "abrt", "--data-mib", "8", "--zero-mib", "8"],
        &[],
        dir.path(),
    );
    let entry = stored(&installed.store(), |m| m.pid == c.pid);
    let m = entry.metadata.clone().unwrap();
    assert_eq!(m.environ, None, "--no-environ");
    assert!(m.proc_maps.is_some() && m.proc_mountinfo.is_some());
    // The environment is left out of the file itself, not only of the model.
    let json = std::fs::read_to_string(entry.dir.join("metadata.json")).unwrap();
    assert!(!json.contains(ENV_MARKER.1), "{json}");
    assert!(m.stored.compressed);
    let core = entry.core_path().unwrap();
    assert_eq!(core.file_name().unwrap(), "core.zst");
    assert!(
        m.stored.core_allocated < m.stored.core_size / 2,
        "{:?}",
        m.stored
    );
    let json: Value =
        serde_json::from_str(&coroner(&["inspect", "--json", core.to_str().unwrap()])).unwrap();
    assert_eq!(json["threads"].as_array().unwrap().len(), 4);
    let dmp = dir.path().join("c.dmp");
    coroner(&["convert", core.to_str().unwrap(), dmp.to_str().unwrap()]);
    check_stackwalk(&dmp, "abrt");
    check_gdb(&installed, &entry.id, &c, "abrt", false);
}

/// The kernel log (`/dev/kmsg`) from the moment it is opened: each read
/// returns one record, `PRI,SEQ,TIME,FLAGS;TEXT\n`.
struct KernelLog {
    kmsg: std::fs::File,
    /// The text of every record read so far, for failure messages.
    seen: Vec<String>,
}

impl KernelLog {
    fn from_now() -> KernelLog {
        use std::io::Seek;
        use std::os::unix::fs::OpenOptionsExt;
        let mut kmsg = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .expect("reading /dev/kmsg (the crash handler's log) needs root");
        // SEEK_END: the next read returns the next record written.
        kmsg.seek(std::io::SeekFrom::End(0)).unwrap();
        KernelLog {
            kmsg,
            seen: Vec::new(),
        }
    }

    /// The text of the next record that `pick` accepts, waited for up to 30 s.
    fn next(&mut self, what: &str, pick: impl Fn(&str) -> bool) -> String {
        use std::io::Read;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut buf = vec![0u8; 8192];
        loop {
            match self.kmsg.read(&mut buf) {
                Ok(n) => {
                    let record = String::from_utf8_lossy(&buf[..n]);
                    let text = record
                        .split_once(';')
                        .map_or(&*record, |(_, t)| t)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    self.seen.push(text.clone());
                    if pick(&text) {
                        return text;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        Instant::now() < deadline,
                        "no kernel log record {what}; records since the crash:\n{}",
                        self.seen.join("\n")
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
                // Records overwritten before we read them: go on from the oldest left.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
                Err(e) => panic!("reading /dev/kmsg: {e}"),
            }
        }
    }

    /// A message the handler split into records `(1/n)` … `(n/n)`, the
    /// first one starting with `start`: its parts joined.
    fn message(&mut self, start: &str) -> String {
        let first = self.next(&format!("starting {start:?}"), |t| {
            t.starts_with("coroner-crash-handler[") && t.contains(start)
        });
        let (head, rest) = first.split_once("]: ").unwrap();
        let Some(numbered) = rest.strip_prefix("(1/") else {
            return rest.to_owned();
        };
        let (count, body) = numbered.split_once(") ").unwrap();
        let count: usize = count.parse().unwrap();
        let mut joined = body.to_owned();
        for i in 2..=count {
            let prefix = format!("{head}]: ({i}/{count}) ");
            let part = self.next(&format!("part {i} of {count}"), |t| t.starts_with(&prefix));
            joined.push_str(&part[prefix.len()..]);
        }
        joined
    }
}

#[test]
fn the_kernel_log_names_each_stored_crash_and_why_a_crash_was_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let installed = Installed::new(dir.path(), &["--keep-free", "0", "--no-rate-limit"]);

    // Stored: one notice naming the process, the signal and the entry.
    let mut log = KernelLog::from_now();
    let c = crash(&["--threads", "0"], &[], dir.path());
    let entry = stored(&installed.store(), |m| m.pid == c.pid);
    let notice = log.message(&format!("pid {} (", c.pid));
    assert!(
        notice.contains(&format!(
            "died of SIGSEGV: stored as {}, core ",
            entry.dir.display()
        )),
        "{notice}"
    );

    // Not stored (the store became writable by others): an error with the
    // reason and the crash's summary, so the operator still learns of it.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&installed.store, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut log = KernelLog::from_now();
    let c = crash(&["--signal", "abrt", "--threads", "0"], &[], dir.path());
    let error = log.message(&format!("not storing the crash of pid {} (", c.pid));
    std::fs::set_permissions(&installed.store, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(
        error.contains("signal SIGABRT: the crash store ")
            && error.contains("is writable by group or others"),
        "{error}"
    );
    let summary = error
        .split_once("; metadata: ")
        .unwrap_or_else(|| panic!("no metadata in {error}"))
        .1;
    let summary: Value = serde_json::from_str(summary).unwrap_or_else(|e| panic!("{e}: {summary}"));
    assert_eq!(summary["pid"], c.pid);
    assert_eq!(summary["signal"], "SIGABRT");
    assert_eq!(summary["exe"], crasher_path().to_str().unwrap());
    assert!(
        summary["modules"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["build_id"].is_string())),
        "{summary}"
    );
    assert!(
        !error.contains(ENV_MARKER.1),
        "the environment never goes to the kernel log"
    );
    assert!(
        installed
            .store()
            .entries()
            .unwrap()
            .iter()
            .all(|e| e.metadata.as_ref().is_some_and(|m| m.pid != c.pid)),
        "nothing stored in an unusable store"
    );
    // Logged once, not once more by the command around the handler: read
    // on until the next crash's notice.
    let next = crash(&["--threads", "0"], &[], dir.path());
    log.message(&format!("pid {} (", next.pid));
    assert!(
        !log.seen
            .iter()
            .any(|t| t.contains(&format!("crash of pid {}:", c.pid))),
        "the unusable store was logged twice:\n{}",
        log.seen.join("\n")
    );
}
