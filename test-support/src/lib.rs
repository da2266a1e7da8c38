//! Test helpers shared by coroner's crates (not published).
//!
//! - [`Target`]: the C program in `helpers/target.c`, spawned and waited for
//!   until it prints its `READY` line.
//! - [`oracle`]: find an external tool (gdb, lldb, eu-stack …), skipping with
//!   a printed reason when it is missing, failing under `COR_REQUIRE_ORACLES=1`.
//! - [`kernel_core`]: let the kernel write a real core of a crashing target.
//! - [`MachineSettings`]: the machine-wide lock around tests that change
//!   `core_pattern`, `vm.max_map_count` and the like.
//! - [`Behave`]: a process that burns CPU, grows memory, spawns threads,
//!   opens files or handles SIGUSR1 on request (for `coroner watch`).
//! - [`minidump_stackwalk`]: minidump-stackwalk's JSON report of a minidump.
//! - [`stdout_of`]: run a program that must succeed.
//! - [`retry_text_file_busy`]: run a program this process just copied,
//!   through the "Text file busy" window other tests' forks open.

mod behave;
pub use behave::{behave_path, Behave};

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod machine_lock;
pub use machine_lock::{MachineSettings, LOCK_PATH as MACHINE_SETTINGS_LOCK};

mod run;
pub use run::stdout_of;

mod stackwalk;
pub use stackwalk::minidump_stackwalk;

mod text_busy;
pub use text_busy::retry_text_file_busy;

/// Path of the compiled target program.
pub fn target_path() -> &'static Path {
    Path::new(env!("CORONER_TEST_TARGET"))
}

/// Path of the compiled crasher (`helpers/crasher.c`): a program that
/// crashes on purpose with SIGSEGV, SIGABRT or SIGBUS, in its main thread
/// or a worker, for the crash handler's tests.
pub fn crasher_path() -> &'static Path {
    Path::new(env!("CORONER_TEST_CRASHER"))
}

/// Path of the compiled snapshot-test target (`helpers/snapshot_target.c`):
/// threads parked in blocking calls that report how each call ended.
pub fn snapshot_target_path() -> &'static Path {
    Path::new(env!("CORONER_SNAPSHOT_TARGET"))
}

/// Path of the compiled `helpers/stack_target.c` (-O2, no frame pointers,
/// debug info): the process `coroner stack`'s tests unwind.
pub fn stack_target_path() -> &'static Path {
    Path::new(env!("CORONER_STACK_TARGET"))
}

/// The 8-byte word at index `i` of the target's pattern region.
pub fn pattern_word(i: u64) -> u64 {
    0x434f_524f_4e45_5200_u64.wrapping_add(i)
}

/// Names of the functions the target's workers park in; worker `i` runs
/// `PARK_FUNCTIONS[i % 8]`.
pub const PARK_FUNCTIONS: [&str; 8] = [
    "park_in_0",
    "park_in_1",
    "park_in_2",
    "park_in_3",
    "park_in_4",
    "park_in_5",
    "park_in_6",
    "park_in_7",
];

/// The target's arguments for the tests of a thread stopped on its way
/// into a signal: one parked worker and two `sigstorm` threads that send
/// themselves SIGURG in a tight loop (ignored by default, but a tracer sees
/// each one, so some freezes catch a thread there); small, no reservation.
#[rustfmt::skip]
pub const SIGNAL_STORM: [&str; 8] = [
    "--threads", "1",
    "--sigstorm", "2",
    "--pattern-mib", "1",
    "--reserve-gib", "0",
];

/// The key=value pairs of the target's `READY` line.
#[derive(Debug, Clone)]
pub struct Ready {
    fields: BTreeMap<String, String>,
}

impl Ready {
    /// Parse a `READY k=v k=v …` line.
    pub fn parse(line: &str) -> Option<Ready> {
        let rest = line.trim().strip_prefix("READY")?;
        let fields = rest
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Some(Ready { fields })
    }

    /// A numeric field (decimal, `0x` hex, or glibc's `(nil)` for a null pointer).
    pub fn u64(&self, key: &str) -> u64 {
        let v = self
            .fields
            .get(key)
            .unwrap_or_else(|| panic!("READY line has no {key}: {:?}", self.fields));
        if v == "(nil)" {
            return 0;
        }
        match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => v.parse(),
        }
        .unwrap_or_else(|e| panic!("READY field {key}={v}: {e}"))
    }

    /// The target's pid.
    pub fn pid(&self) -> u32 {
        u32::try_from(self.u64("pid")).expect("pid fits u32")
    }
}

/// A running target program; killed and reaped on drop.
#[derive(Debug)]
pub struct Target {
    child: Child,
    /// What it printed when ready.
    pub ready: Ready,
}

impl Target {
    /// Spawn the target with `args` (see `helpers/target.c`) and wait up to
    /// 30 s for its READY line.
    pub fn spawn(args: &[&str]) -> Target {
        Self::spawn_in(args, None)
    }

    /// Like [`Target::spawn`], with the working directory set to `dir`.
    pub fn spawn_in(args: &[&str], dir: Option<&Path>) -> Target {
        let mut cmd = Command::new(target_path());
        cmd.args(args).stdout(Stdio::piped()).stdin(Stdio::null());
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().expect("spawn test target");
        let stdout = child.stdout.take().expect("piped stdout");
        let ready = read_ready(stdout, Duration::from_secs(30));
        match ready {
            Some(ready) => {
                let target = Target { child, ready };
                // READY is printed by main() before it enters main_heartbeat(); a
                // capture taken in between finds the main thread still inside
                // write(), with no main_heartbeat frame. Wait until the loop runs.
                if !args
                    .iter()
                    .any(|a| *a == "--crash" || *a == "--leader-exit")
                {
                    target.wait_for_heartbeat(Duration::from_secs(30));
                }
                // Workers bump the parked counter just before pause(); on a loaded
                // machine one may not have got there when READY is printed.
                let always_running = ["--churn", "--sigstorm", "--remap", "--busy"];
                if !args.iter().any(|a| always_running.contains(a)) {
                    target.wait_until_all_threads_sleep(Duration::from_secs(30));
                }
                target
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("test target did not print READY");
            }
        }
    }

    /// The target's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait until every thread is in state `S` (blocked in pause() or nanosleep())
    /// or, for an exited leader, `Z`.
    fn wait_until_all_threads_sleep(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid()))
                .expect("list the target's threads");
            let all_sleeping = tasks.filter_map(Result::ok).all(|task| {
                let tid = task.file_name().to_string_lossy().parse::<u32>();
                // A leader that called pthread_exit() stays listed as a zombie.
                tid.is_ok_and(|tid| matches!(thread_state(self.pid(), tid), Some('S' | 'Z')))
            });
            if all_sleeping {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "test target's threads never all went to sleep"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Wait until the main thread has bumped its heartbeat counter, i.e. is
    /// inside `main_heartbeat()`'s loop. Panics after `timeout`.
    fn wait_for_heartbeat(&self, timeout: Duration) {
        use std::os::unix::fs::FileExt;
        let address = self.ready.u64("heartbeat");
        let mem = std::fs::File::open(format!("/proc/{}/mem", self.pid()))
            .expect("open the target's /proc/PID/mem");
        let deadline = Instant::now() + timeout;
        loop {
            let mut word = [0u8; 8];
            mem.read_exact_at(&mut word, address)
                .expect("read the target's heartbeat counter");
            if u64::from_ne_bytes(word) > 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "test target never entered main_heartbeat()"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Whether the target is still running (not exited). Reaps it if it has.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The state letter from `/proc/<pid>/stat` (R, S, t, T, Z …).
    pub fn state(&self) -> char {
        proc_state(self.pid()).unwrap_or('?')
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The state letter of one thread from `/proc/<pid>/task/<tid>/stat`.
fn thread_state(pid: u32, tid: u32) -> Option<char> {
    state_in(&format!("/proc/{pid}/task/{tid}/stat"))
}

/// The state letter of a process from `/proc/<pid>/stat`.
pub fn proc_state(pid: u32) -> Option<char> {
    state_in(&format!("/proc/{pid}/stat"))
}

/// The state letter in a `stat` file.
fn state_in(path: &str) -> Option<char> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The comm field may contain spaces and parentheses: the state follows the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

fn read_ready(stdout: impl std::io::Read + Send + 'static, timeout: Duration) -> Option<Ready> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if let Some(r) = Ready::parse(&line) {
                        let _ = tx.send(r);
                        // Keep draining so the target never blocks on a full pipe.
                        let _ = std::io::copy(&mut reader, &mut std::io::sink());
                        return;
                    }
                }
            }
        }
    });
    rx.recv_timeout(timeout).ok()
}

/// Whether oracle tests must fail rather than skip when a tool is missing.
pub fn oracles_required() -> bool {
    std::env::var_os("COR_REQUIRE_ORACLES").is_some_and(|v| v == "1")
}

/// Find an external tool on `PATH` (or `~/.cargo/bin`). When it is missing,
/// print why the calling test skips and return `None`; under
/// `COR_REQUIRE_ORACLES=1` panic instead.
pub fn oracle(tool: &str) -> Option<PathBuf> {
    if let Some(found) = find_on_path(tool) {
        return Some(found);
    }
    let msg = format!("oracle `{tool}` not found on PATH");
    if oracles_required() {
        panic!("{msg} and COR_REQUIRE_ORACLES=1; install it (see .ci/run)");
    }
    eprintln!("SKIP: {msg}; set COR_REQUIRE_ORACLES=1 to make this a failure");
    None
}

fn find_on_path(tool: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(tool)).find(|p| p.is_file())
}

/// Why the kernel cannot write a core file into the current directory here,
/// or `None` when it can (`core_pattern` is a plain file name, not a pipe).
pub fn kernel_cores_unavailable() -> Option<String> {
    match std::fs::read_to_string("/proc/sys/kernel/core_pattern") {
        Ok(p) if p.starts_with('|') => {
            Some(format!("core_pattern pipes to a handler: {}", p.trim()))
        }
        Ok(p) if p.contains('/') => Some(format!("core_pattern is a path elsewhere: {}", p.trim())),
        Ok(_) => None,
        Err(e) => Some(format!("cannot read /proc/sys/kernel/core_pattern: {e}")),
    }
}

/// A core of the running process `pid` written by gdb's `gcore` into `dir`
/// (as `gcore.<pid>`); `None` (printed, or a failure under
/// `COR_REQUIRE_ORACLES=1`) when gcore is not installed.
pub fn gcore(pid: u32, dir: &Path) -> Option<PathBuf> {
    let mut cmd = Command::new(oracle("gcore")?);
    cmd.arg("-o").arg(dir.join("gcore")).arg(pid.to_string());
    stdout_of(cmd);
    Some(dir.join(format!("gcore.{pid}")))
}

/// A core file the kernel wrote for a crashing target, with its READY info.
#[derive(Debug)]
pub struct KernelCore {
    /// Path of the core file.
    pub path: PathBuf,
    /// What the target printed before it crashed.
    pub ready: Ready,
}

/// Run the target with `--crash` plus `args` in `dir` under `ulimit -c
/// unlimited` and return the core the kernel wrote. Returns `None` (printing
/// the reason) where cores cannot be made here; the crash happens in
/// `crash_here` on the main thread.
///
/// Holds [`MachineSettings::shared`] from before it reads `core_pattern`
/// until the core is on disk, so no test elsewhere on the machine installs a
/// core handler that would take this core meanwhile.
pub fn kernel_core(args: &[&str], dir: &Path) -> Option<KernelCore> {
    let _settings = MachineSettings::shared();
    if let Some(why) = kernel_cores_unavailable() {
        eprintln!("SKIP: kernel core unavailable: {why}");
        return None;
    }
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -c unlimited && exec \"$0\" --crash \"$@\"")
        .arg(target_path())
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = cmd.spawn().expect("spawn crashing target");
    let stdout = child.stdout.take().expect("piped stdout");
    let ready = read_ready(stdout, Duration::from_secs(30));
    let status = child.wait().expect("wait for crashing target");
    let ready = ready.expect("crashing target printed READY");
    assert!(!status.success(), "target was meant to crash: {status:?}");
    // core_uses_pid decides between `core` and `core.<pid>`; the kernel may
    // still be writing it when wait() returns for large dumps.
    let candidates = [dir.join(format!("core.{}", ready.pid())), dir.join("core")];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(path) = candidates.iter().find(|p| p.is_file()) {
            return Some(KernelCore {
                path: path.clone(),
                ready,
            });
        }
        if Instant::now() > deadline {
            panic!(
                "the kernel wrote no core in {} (status {status:?})",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The snapshot-test target (see [`snapshot_target_path`]), running; killed
/// and reaped on drop.
#[derive(Debug)]
pub struct SnapshotTarget {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// What it printed when ready.
    pub ready: Ready,
}

impl SnapshotTarget {
    /// Spawn it with `args` and wait up to 30 s for its READY line.
    pub fn spawn(args: &[&str]) -> SnapshotTarget {
        let mut cmd = Command::new(snapshot_target_path());
        if args.contains(&"--quiescent") {
            // Without rseq: the kernel rewrites a thread's rseq cpu_id in its
            // memory whenever it resumes on another CPU, which every freeze
            // makes it do, so the memory would not stay the same.
            cmd.env("GLIBC_TUNABLES", "glibc.pthread.rseq=0");
        }
        let mut child = cmd
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the snapshot target");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(ready) = Ready::parse(&line) {
                        // READY is printed just before the main thread
                        // reads stdin: wait until it is in that read.
                        let syscall = format!("/proc/{}/syscall", child.id());
                        while !std::fs::read_to_string(&syscall).is_ok_and(|s| s.starts_with("0 "))
                        {
                            assert!(Instant::now() < deadline, "the target never read stdin");
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        // And every parked thread ("p-…") asleep in its call
                        // (on a loaded machine one may still be starting).
                        while !parked_threads_asleep(child.id()) {
                            assert!(
                                Instant::now() < deadline,
                                "the target's threads never parked"
                            );
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        return SnapshotTarget {
                            child,
                            lines,
                            ready,
                        };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("the snapshot target did not print READY");
                }
            }
        }
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running (reaps it if not).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Tell it to wake its parked calls and report; returns every line it
    /// printed after READY, up to and including `DONE`, and its exit status.
    pub fn finish(mut self) -> (Vec<String>, std::process::ExitStatus) {
        use std::io::Write;
        let mut stdin = self.child.stdin.take().expect("piped stdin");
        stdin.write_all(b"finish\n").expect("write to the target");
        drop(stdin);
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = line == "DONE";
                    out.push(line);
                    if done {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        let status = self.child.wait().expect("wait for the target");
        (out, status)
    }
}

/// Whether every thread of `pid` named `p-…` sleeps (state `S`).
fn parked_threads_asleep(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.filter_map(Result::ok).all(|task| {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("p-") {
            return true;
        }
        let tid = task.file_name().to_string_lossy().parse::<u32>();
        tid.is_ok_and(|tid| thread_state(pid, tid) == Some('S'))
    })
}

impl Drop for SnapshotTarget {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
