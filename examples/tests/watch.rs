//! `coroner watch` on real processes: one test per trigger, exact counts for
//! `-n` and `--cooldown`, `--for` against a short spike, `--name` across a
//! restart, `--cgroup`, `--oom-risk` before the OOM killer, retention
//! over 30 dumps, and `--snapshot` on every dump. Every dump opens in gdb
//! with all threads.
//!
//! The machine these run on may be loaded (CPU thresholds are low for that:
//! a burner measured only ~30% of a core at load 16).
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::small_tmpfs::SmallTmpfs;
use common::{coroner, gdb_backtrace_threads, gdb_batch};
use coroner_test_support::{behave_path, oracle, Behave};
use serde_json::Value;

/// A running `coroner watch --json …` whose JSON events are collected.
struct Watch {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
    stderr: Arc<Mutex<String>>,
}

impl Watch {
    /// `coroner watch --json --dir DIR` and `args`, written as on a command
    /// line: split at white space (no argument here holds any).
    fn start(dir: &Path, args: &str) -> Watch {
        let mut child = coroner()
            .arg("watch")
            .arg("--json")
            .arg("--dir")
            .arg(dir)
            .args(args.split_whitespace())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                sink.lock().unwrap().push(v);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_sink = stderr.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut s = err_sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Watch {
            child,
            events,
            stderr,
        }
    }

    fn events(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }

    fn events_of(&self, kind: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == kind)
            .collect()
    }

    fn wait_for(&self, kind: &str, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.events_of(kind).len() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Wait for the watch to end by itself; its exit code.
    fn finish(&mut self, limit: Duration) -> i32 {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "the watch did not end within {limit:?}; events {:?}\nstderr:\n{}",
                    self.events(),
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for the watch to end by itself with exit code 0; its stderr
    /// in the failure otherwise.
    fn finish_ok(&mut self, limit: Duration) {
        let code = self.finish(limit);
        assert_eq!(code, 0, "{}", self.stderr.lock().unwrap());
    }

    /// SIGTERM, then wait for the end.
    fn stop(&mut self) -> i32 {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.finish(Duration::from_secs(10))
    }

    fn dump_files(&self) -> Vec<PathBuf> {
        self.events_of("dump")
            .iter()
            .map(|e| PathBuf::from(e["file"].as_str().unwrap()))
            .collect()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn send(pid: u32, signal: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

/// gdb opens `core` of `exe` and shows `threads` threads; the text of its
/// `thread apply all bt` and of `extra` commands is returned.
fn gdb_threads(exe: &Path, core: &Path, threads: usize, extra: &[&str]) -> Option<String> {
    let gdb = oracle("gdb")?;
    let mut commands = vec!["thread apply all bt"];
    commands.extend_from_slice(extra);
    let text = gdb_batch(&gdb, exe, core, &commands);
    let seen = gdb_backtrace_threads(&text);
    assert_eq!(seen, threads, "gdb threads of {}:\n{text}", core.display());
    Some(text)
}

fn live_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count()
}

/// One dump for one trigger: the watch ends after `-n 1` with exit 0, and
/// the dump opens in gdb with every thread it recorded.
fn one_dump(
    behave_args: &[&str],
    watch_args: &str,
    trigger: &str,
) -> (Behave, tempfile::TempDir, PathBuf, Value) {
    let b = Behave::spawn(behave_args);
    let dir = tempfile::tempdir().unwrap();
    let pid = b.pid();
    let mut w = Watch::start(
        dir.path(),
        &format!("--pid {pid} -n 1 --poll 100ms {watch_args}"),
    );
    w.finish_ok(Duration::from_secs(30));
    let dumps = w.events_of("dump");
    assert_eq!(dumps.len(), 1, "{:?}", w.events());
    let dump = dumps[0].clone();
    assert_eq!(dump["trigger"], trigger);
    assert_eq!(dump["pid"], b.pid());
    let file = w.dump_files().remove(0);
    assert!(file.starts_with(dir.path()));
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with(&format!("coroner-test-be_{}_{trigger}_", b.pid()))
            && name.ends_with("Z.core"),
        "{name}"
    );
    let threads = dump_thread_count(&file);
    gdb_threads(behave_path(), &file, threads, &[]);
    (b, dir, file, dump)
}

/// Threads recorded in an ELF core (`inspect --json`).
fn dump_thread_count(core: &Path) -> usize {
    let v = common::inspect_json(core);
    v["threads"]
        .as_array()
        .map(Vec::len)
        .unwrap_or_else(|| v["threads"].as_u64().unwrap() as usize)
}

#[test]
fn a_cpu_burner_is_dumped_on_its_interval_cpu() {
    let (mut b, _dir, core, dump) = one_dump(&["--burn", "--idle-threads", "3"], "--cpu 5", "cpu");
    assert!(dump["measured"].as_f64().unwrap() >= 5.0, "{dump}");
    assert_eq!(dump_thread_count(&core), live_threads(b.pid()));
    assert_eq!(dump_thread_count(&core), 5);
    assert!(b.is_running());
}

#[test]
fn an_idle_process_is_dumped_by_cpu_below() {
    let (_b, _dir, _core, dump) = one_dump(&["--idle-threads", "2"], "--cpu-below 50", "cpu-below");
    assert!(dump["measured"].as_f64().unwrap() < 50.0, "{dump}");
}

#[test]
fn a_memory_grower_is_dumped_by_memory_and_by_growth() {
    let (_b, _dir, _core, dump) = one_dump(
        &["--grow", "2048", "--tick", "50"],
        "--memory 24M",
        "memory",
    );
    assert!(
        dump["measured"].as_f64().unwrap() as u64 >= 24 << 20,
        "{dump}"
    );
    let (_b, _dir, _core, dump) = one_dump(
        &["--grow", "2048", "--tick", "50"],
        "--growth 8M/1s",
        "growth",
    );
    assert!(
        dump["measured"].as_f64().unwrap() as u64 >= 8 << 20,
        "{dump}"
    );
    // An idle process of the same size does not grow.
    let b = Behave::spawn(&[]);
    let dir = tempfile::tempdir().unwrap();
    let pid = b.pid().to_string();
    let mut w = Watch::start(
        dir.path(),
        &format!("--pid {pid} --growth 1M/1s --poll 100ms"),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(w.stop(), 143);
    assert_eq!(w.events_of("dump").len(), 0, "{:?}", w.events());
}

#[test]
fn a_thread_spawner_is_dumped_with_all_its_threads() {
    let (b, _dir, core, dump) = one_dump(
        &["--spawn", "12", "--tick", "50"],
        "--threads 10",
        "threads",
    );
    let measured = dump["measured"].as_f64().unwrap() as u64;
    assert!(measured >= 10, "{dump}");
    // The dump holds as many threads as were counted then (at least 10).
    assert!(dump_thread_count(&core) >= 10);
    drop(b);
}

#[test]
fn an_fd_opener_is_dumped_by_fds() {
    let (_b, _dir, _core, dump) = one_dump(&["--open", "64", "--tick", "10"], "--fds 40", "fds");
    assert!(dump["measured"].as_f64().unwrap() as u64 >= 40, "{dump}");
}

#[test]
fn a_timer_dumps_exactly_n_times() {
    let b = Behave::spawn(&["--idle-threads", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let pid = b.pid().to_string();
    let mut w = Watch::start(
        dir.path(),
        &format!("--pid {pid} --interval 200ms --poll 100ms -n 3"),
    );
    w.finish_ok(Duration::from_secs(30));
    let files = w.dump_files();
    assert_eq!(files.len(), 3, "{:?}", w.events());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    for f in &files {
        gdb_threads(behave_path(), f, 3, &[]);
    }
    assert!(w.events_of("dump").iter().all(|e| e["trigger"] == "timer"));
    assert_eq!(w.events_of("end")[0]["reason"], "count");
}

#[test]
fn cooldown_spaces_the_dumps_of_a_process() {
    // A timer every 100 ms with a 1 s cooldown: in 2.6 s, dumps at about
    // 0.1, 1.1 and 2.1 s — never two within a second.
    let b = Behave::spawn(&[]);
    let dir = tempfile::tempdir().unwrap();
    let pid = b.pid().to_string();
    let started = Instant::now();
    let mut w = Watch::start(
        dir.path(),
        &format!("--pid {pid} --interval 100ms --poll 100ms --cooldown 1s"),
    );
    assert!(w.wait_for("dump", 3, Duration::from_secs(20)));
    let elapsed = started.elapsed();
    w.stop();
    let times: Vec<SystemTimeMs> = w.dump_files().iter().map(|f| stamp_ms(f)).collect();
    assert!(times.len() >= 3);
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= 1000,
            "dumps {times:?} closer than the cooldown"
        );
    }
    assert!(
        elapsed >= Duration::from_secs(2),
        "three dumps in {elapsed:?}"
    );
}

/// A trigger that holds for a known time, with a cooldown, gives an exact
/// number of dumps. `--threads 2` holds for as long as the two-thread
/// process lives; it is killed 7.5 s after the first dump is reported, and
/// with a 3 s cooldown (counted from the end of each dump) it is dumped at
/// about 0, 3.1 and 6.2 s: exactly 3 dumps. The margins are 1.3 s on either
/// side: the third dump is missed only if polls and the second dump lag by
/// more than that in all, and a fourth cannot come before 9 s.
#[test]
fn cooldown_gives_an_exact_count_while_a_trigger_holds() {
    let mut b = Behave::spawn(&["--idle-threads", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let pid = b.pid().to_string();
    let mut w = Watch::start(
        dir.path(),
        &format!("--pid {pid} --threads 2 --poll 100ms --cooldown 3s -n 100"),
    );
    assert!(
        w.wait_for("dump", 1, Duration::from_secs(30)),
        "{:?}",
        w.events()
    );
    let first = Instant::now();
    std::thread::sleep(Duration::from_millis(7500).saturating_sub(first.elapsed()));
    b.kill();
    w.finish_ok(Duration::from_secs(20));
    let dumps = w.events_of("dump");
    assert_eq!(dumps.len(), 3, "{:?}", w.events());
    assert!(dumps.iter().all(|d| d["trigger"] == "threads"));
    assert_eq!(w.events_of("end")[0]["reason"], "exited");
    let times: Vec<SystemTimeMs> = w.dump_files().iter().map(|f| stamp_ms(f)).collect();
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= 3000,
            "dumps {times:?} closer than the cooldown"
        );
    }
}

/// `--snapshot` applies to every dump of a watch: each is written from a
/// copy-on-write copy (the event says so), opens in gdb with every thread,
/// and leaves no copy among the process's children; with `--signal`, whose
/// trap holds the process for the whole dump, it is refused.
#[test]
fn snapshot_applies_to_every_dump() {
    let b = Behave::spawn(&["--idle-threads", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let pid = b.pid().to_string();
    let mut w = Watch::start(
        dir.path(),
        &format!("--pid {pid} --interval 200ms --poll 100ms -n 2 --snapshot=require"),
    );
    w.finish_ok(Duration::from_secs(30));
    let dumps = w.events_of("dump");
    assert_eq!(dumps.len(), 2, "{:?}", w.events());
    for d in &dumps {
        assert_eq!(d["mode"], "snapshot", "{d}");
        assert_eq!(d["snapshot_fallback"], Value::Null, "{d}");
    }
    for f in &w.dump_files() {
        gdb_threads(behave_path(), f, 3, &[]);
    }
    let children: String = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|t| std::fs::read_to_string(t.unwrap().path().join("children")).unwrap())
        .collect();
    assert_eq!(children.trim(), "", "copies left among the children");
    // Without --snapshot the same watch freezes.
    let mut w = Watch::start(
        dir.path(),
        &format!("--pid {pid} --interval 200ms --poll 100ms -n 1"),
    );
    w.finish_ok(Duration::from_secs(30));
    assert_eq!(w.events_of("dump")[0]["mode"], "freeze");
    let o = coroner()
        .args(["watch", "--pid", &pid, "--signal", "USR1", "--snapshot"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--signal"),
        "{o:?}"
    );
}

type SystemTimeMs = i64;

/// The `{time}` of a default dump name, in ms of the day (enough to compare
/// dumps seconds apart).
fn stamp_ms(file: &Path) -> SystemTimeMs {
    let name = file.file_name().unwrap().to_str().unwrap();
    let stamp = name.rsplit('_').next().unwrap(); // 20261129T060429.222Z.core
    let t = &stamp[9..19]; // 060429.222
    let h: i64 = t[0..2].parse().unwrap();
    let m: i64 = t[2..4].parse().unwrap();
    let s: i64 = t[4..6].parse().unwrap();
    let ms: i64 = t[7..10].parse().unwrap();
    ((h * 60 + m) * 60 + s) * 1000 + ms
}

#[test]
fn for_suppresses_a_short_spike_but_not_a_sustained_load() {
    let dir = tempfile::tempdir().unwrap();
    // A 300 ms spike against a 1.5 s hold: no dump.
    let spike = Behave::spawn(&["--spike", "300"]);
    let pid = spike.pid().to_string();
    let mut w = Watch::start(
        dir.path(),
        &format!("--pid {pid} --cpu 5 --for 1500ms --poll 100ms"),
    );
    std::thread::sleep(Duration::from_millis(2500));
    w.stop();
    assert_eq!(w.events_of("dump").len(), 0, "{:?}", w.events());
    // Without the hold the same spike is dumped.
    let spike = Behave::spawn(&["--spike", "300"]);
    let pid = spike.pid().to_string();
    let mut w = Watch::start(
        dir.path(),
        &format!("--pid {pid} --cpu 5 --poll 100ms -n 1"),
    );
    w.finish_ok(Duration::from_secs(10));
    assert_eq!(w.events_of("dump").len(), 1);
    // A sustained load holds and is dumped, with the hold reported.
    let burner = Behave::spawn(&["--burn"]);
    let pid = burner.pid().to_string();
    let mut w = Watch::start(
        dir.path(),
        &format!("--pid {pid} --cpu 5@1500ms --poll 100ms -n 1"),
    );
    w.finish_ok(Duration::from_secs(20));
    let dump = &w.events_of("dump")[0];
    assert!(dump["held_seconds"].as_f64().unwrap() >= 1.5, "{dump}");
}

#[test]
fn sigusr1_is_dumped_before_its_handler_which_then_runs_exactly_once() {
    let b = Behave::spawn(&["--usr1", "--idle-threads", "3"]);
    let dir = tempfile::tempdir().unwrap();
    let pid = b.pid().to_string();
    let mut w = Watch::start(dir.path(), &format!("--pid {pid} --signal USR1 -n 1"));
    assert!(w.wait_for("watching", 1, Duration::from_secs(10)));
    send(b.pid(), "USR1");
    w.finish_ok(Duration::from_secs(20));
    let dump = &w.events_of("dump")[0];
    assert_eq!(dump["trigger"], "signal");
    assert_eq!(dump["measured"], 10.0);
    assert!(
        b.wait_for_line(|l| l == "HANDLED 1", Duration::from_secs(5)),
        "{:?}",
        b.lines()
    );
    // In the dump the handler has not run yet: its counter is still 0, and
    // the thread is on its way to SIGUSR1.
    let core = &w.dump_files()[0];
    let text = gdb_threads(behave_path(), core, 4, &["print handled"]).unwrap_or_default();
    if !text.is_empty() {
        assert!(text.contains("$1 = 0"), "{text}");
    }
    let info = common::inspect_json(core);
    assert_eq!(info["process"]["signal"], 10, "{info}");
    let on_its_way: Vec<&Value> = info["threads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["signal"] == 10)
        .collect();
    assert_eq!(on_its_way.len(), 1, "{info}");
    // Exactly once: no second run, and the process is no longer traced
    // and handles the next signal by itself.
    std::thread::sleep(Duration::from_millis(200));
    let handled: Vec<_> = b
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("HANDLED"))
        .collect();
    assert_eq!(handled, ["HANDLED 1"]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", b.pid())).unwrap();
    assert!(status.contains("TracerPid:\t0"), "{status}");
    send(b.pid(), "USR1");
    assert!(b.wait_for_line(|l| l == "HANDLED 2", Duration::from_secs(5)));
}

#[test]
fn the_watch_ends_with_a_message_when_its_pid_exits() {
    let mut b = Behave::spawn(&[]);
    let dir = tempfile::tempdir().unwrap();
    let pid = b.pid().to_string();
    let mut w = Watch::start(dir.path(), &format!("--pid {pid} --cpu 1000 --poll 100ms"));
    assert!(w.wait_for("watching", 1, Duration::from_secs(10)));
    b.kill();
    w.finish_ok(Duration::from_secs(10));
    assert_eq!(w.events_of("exited")[0]["pid"], b.pid());
    assert_eq!(w.events_of("end")[0]["reason"], "exited");
    // Without --json, the message says so in words.
    let out = coroner()
        .args(["watch", "--pid", &pid, "--cpu", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains(&format!("process {pid} cannot be watched")),
        "{text}"
    );
}

#[test]
fn name_waits_for_a_later_start_and_follows_a_restart() {
    let bin = tempfile::tempdir().unwrap();
    let exe = bin.path().join("wlate-svc");
    std::fs::copy(behave_path(), &exe).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut w = Watch::start(
        dir.path(),
        "--name wlate-* --interval 200ms --poll 100ms --cooldown 60s -n 2",
    );
    assert!(w.wait_for("waiting", 1, Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(w.events_of("dump").len(), 0);
    let mut first = Behave::spawn_with(&mut std::process::Command::new(&exe));
    assert!(
        w.wait_for("dump", 1, Duration::from_secs(10)),
        "{:?}",
        w.events()
    );
    first.kill();
    assert!(w.wait_for("exited", 1, Duration::from_secs(10)));
    // The restart is a new process (its own cooldown), dumped too.
    let second = Behave::spawn_with(&mut std::process::Command::new(&exe));
    w.finish_ok(Duration::from_secs(20));
    let pids: Vec<u64> = w
        .events_of("dump")
        .iter()
        .map(|e| e["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids, [u64::from(first.pid()), u64::from(second.pid())]);
    for f in w.dump_files() {
        gdb_threads(&exe, &f, 2, &[]);
    }
}

/// A v1 memory cgroup made for a test, removed (its processes killed
/// first) whatever happens.
struct TestCgroup {
    dir: PathBuf,
}

impl TestCgroup {
    fn new(tag: &str) -> Option<TestCgroup> {
        let root = Path::new("/sys/fs/cgroup/memory");
        if !root.join("cgroup.procs").exists() {
            eprintln!("SKIP: no cgroup v1 memory hierarchy at {}", root.display());
            return None;
        }
        let dir = root.join(format!("coroner-test-{tag}-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        Some(TestCgroup { dir })
    }

    fn add(&self, pid: u32) {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string()).unwrap();
    }

    fn set(&self, file: &str, value: &str) {
        std::fs::write(self.dir.join(file), value).unwrap();
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for _ in 0..100 {
            let procs = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.split_whitespace() {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", pid])
                    .status();
            }
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("could not remove {}", self.dir.display());
    }
}

#[test]
fn cgroup_watches_the_processes_of_a_cgroup() {
    let Some(cg) = TestCgroup::new("procs") else {
        return;
    };
    let inside = Behave::spawn(&["--idle-threads", "2"]);
    let _outside = Behave::spawn(&[]);
    cg.add(inside.pid());
    let dir = tempfile::tempdir().unwrap();
    let path = cg.dir.to_str().unwrap().to_owned();
    let mut w = Watch::start(
        dir.path(),
        &format!("--cgroup {path} --interval 200ms --poll 100ms -n 1"),
    );
    w.finish_ok(Duration::from_secs(20));
    assert_eq!(w.events_of("dump")[0]["pid"], inside.pid());
    gdb_threads(behave_path(), &w.dump_files()[0], 3, &[]);
    // Relative to the hierarchy works too.
    let rel = format!("/{}", cg.dir.file_name().unwrap().to_str().unwrap());
    let mut w = Watch::start(
        dir.path(),
        &format!("--cgroup {rel} --interval 200ms --poll 100ms -n 1"),
    );
    w.finish_ok(Duration::from_secs(20));
    assert_eq!(w.events_of("dump")[0]["pid"], inside.pid());
}

#[test]
fn oom_risk_dumps_before_the_oom_killer_strikes() {
    let Some(cg) = TestCgroup::new("oom") else {
        return;
    };
    cg.set("memory.limit_in_bytes", &(96u64 << 20).to_string());
    // Started idle, moved into the cgroup, then told to grow: a child
    // charges its memory where it runs.
    let mut b = Behave::spawn_with(std::process::Command::new("sh").arg("-c").arg(format!(
        "echo $$ > {}/cgroup.procs && exec {} --grow 2048 --tick 40",
        cg.dir.display(),
        behave_path().display()
    )));
    let dir = tempfile::tempdir().unwrap();
    let pid = b.pid().to_string();
    let mut w = Watch::start(
        dir.path(),
        &format!("--pid {pid} --oom-risk 30 --poll 50ms -n 1"),
    );
    w.finish_ok(Duration::from_secs(30));
    let dump = &w.events_of("dump")[0];
    assert_eq!(dump["trigger"], "oom-risk");
    gdb_threads(behave_path(), &w.dump_files()[0], 2, &[]);
    // Then the OOM killer ends it, as it would have without the watch.
    let status = b.wait_exit(Duration::from_secs(30)).expect("OOM-killed");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "{status:?}");
    let oom = std::fs::read_to_string(cg.dir.join("memory.oom_control")).unwrap();
    assert!(oom.contains("oom_kill 1"), "{oom}");
}

#[test]
fn max_total_holds_over_30_dumps() {
    let b = Behave::spawn(&[]);
    let dir = tempfile::tempdir().unwrap();
    let pid = b.pid().to_string();
    let mut w = Watch::start(
        dir.path(),
        &format!("--pid {pid} --interval 10ms --poll 10ms -n 30 --max-total 1M"),
    );
    w.finish_ok(Duration::from_secs(120));
    let dumps = w.dump_files();
    assert_eq!(dumps.len(), 30);
    let on_disk: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let total: u64 = on_disk
        .iter()
        .map(|p| std::os::unix::fs::MetadataExt::blocks(&std::fs::metadata(p).unwrap()) * 512)
        .sum();
    assert!(total <= 1 << 20, "{total} bytes on disk");
    assert!(on_disk.len() >= 2, "{on_disk:?}");
    // The newest stayed, the oldest went.
    let mut kept = on_disk.clone();
    kept.sort();
    assert_eq!(kept, dumps[dumps.len() - kept.len()..].to_vec());
    assert_eq!(w.events_of("removed").len(), 30 - kept.len());
}

#[test]
fn keep_free_holds_over_30_dumps() {
    let fs = match SmallTmpfs::mount("4m") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("SKIP: cannot mount a tmpfs here ({why})");
            return;
        }
    };
    let b = Behave::spawn(&[]);
    let pid = b.pid().to_string();
    let mut w = Watch::start(
        fs.path(),
        &format!("--pid {pid} --interval 10ms --poll 10ms -n 30 --keep-free 3M"),
    );
    w.finish_ok(Duration::from_secs(120));
    assert_eq!(w.dump_files().len(), 30);
    let st = rustix_free(fs.path());
    assert!(st >= 3 << 20, "{st} bytes free");
    let left = std::fs::read_dir(fs.path()).unwrap().count();
    assert!((1..30).contains(&left), "{left} dumps left");
    // Half the file system free: a percentage works the same way.
    let mut w = Watch::start(
        fs.path(),
        &format!("--pid {pid} --interval 10ms --poll 10ms -n 5 --keep-free 50%"),
    );
    w.finish_ok(Duration::from_secs(60));
    assert!(rustix_free(fs.path()) >= 2 << 20);
}

/// Free bytes of the file system holding `dir`, from `df`.
fn rustix_free(dir: &Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn sigterm_ends_a_signal_watch_and_releases_the_process() {
    let b = Behave::spawn(&["--usr1", "--idle-threads", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let pid = b.pid().to_string();
    let mut w = Watch::start(dir.path(), &format!("--pid {pid} --signal USR1,USR2"));
    assert!(w.wait_for("watching", 1, Duration::from_secs(10)));
    let status = std::fs::read_to_string(format!("/proc/{}/status", b.pid())).unwrap();
    assert!(
        !status.contains("TracerPid:\t0"),
        "traced while watched:\n{status}"
    );
    assert_eq!(w.stop(), 143);
    assert_eq!(w.events_of("end")[0]["reason"], "stopped");
    let status = std::fs::read_to_string(format!("/proc/{}/status", b.pid())).unwrap();
    assert!(status.contains("TracerPid:\t0"), "{status}");
    assert!(matches!(common_state(b.pid()), 'S' | 'R'), "left stopped");
    send(b.pid(), "USR1");
    assert!(b.wait_for_line(|l| l == "HANDLED 1", Duration::from_secs(5)));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

fn common_state(pid: u32) -> char {
    coroner_test_support::proc_state(pid).unwrap()
}
