//! `coroner capture --snapshot`: the dump written from a copy-on-write copy
//! the target makes of itself, checked by gdb, lldb, eu-stack and
//! minidump-stackwalk, against the plain capture, for being one point in
//! time, and with coroner SIGKILLed at random moments.
#![cfg(target_arch = "x86_64")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{
    assert_gdb_read_libc, assert_same_memory, capture_ok, coroner, gdb_backtrace_threads,
    gdb_batch, lldb_batch, lldb_listed_threads, lldb_minidump_backtraces, run_tool,
};
use coroner_test_support::{
    minidump_stackwalk, oracle, target_path, SnapshotTarget, Target, PARK_FUNCTIONS,
};
use serde_json::Value;

const TARGET_ARGS: [&str; 4] = ["--threads", "8", "--shared-kib", "256"];

/// `coroner capture PID -o OUT --json [extra]`, required to succeed.
fn capture(pid: u32, out: &Path, extra: &[&str]) -> Value {
    let args = [&["--json"], extra].concat();
    serde_json::from_str(&capture_ok(pid, out, &args)).expect("one JSON object on stdout")
}

fn children(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let text =
            std::fs::read_to_string(task.unwrap().path().join("children")).unwrap_or_default();
        all.extend(text.split_whitespace().map(|c| c.parse::<u32>().unwrap()));
    }
    all
}

fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

#[test]
fn snapshot_core_passes_gdb_lldb_and_eu_stack() {
    let target = Target::spawn(&TARGET_ARGS);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    let json = capture(target.pid(), &core, &["--snapshot"]);
    assert_eq!(json["mode"], "snapshot", "{json}");
    assert_eq!(json["snapshot_fallback"], Value::Null);
    assert_eq!(json["threads"], 9);
    assert!(children(target.pid()).is_empty());

    if let Some(gdb) = oracle("gdb") {
        let text = gdb_batch(
            &gdb,
            target_path(),
            &core,
            &["info threads", "thread apply all bt", "info sharedlibrary"],
        );
        let threads = gdb_backtrace_threads(&text);
        assert_eq!(threads, 9, "gdb thread count:\n{text}");
        for f in PARK_FUNCTIONS {
            assert!(text.contains(f), "gdb: no frame in {f}:\n{text}");
        }
        assert!(text.contains("main_heartbeat"), "{text}");
        assert_gdb_read_libc(&text);
    }
    if let Some(lldb) = oracle("lldb") {
        let text = lldb_batch(
            &lldb,
            target_path(),
            &core,
            &["thread list", "thread backtrace all"],
        );
        let threads = lldb_listed_threads(&text);
        assert_eq!(threads, 9, "lldb thread list:\n{text}");
        for f in PARK_FUNCTIONS {
            assert!(text.contains(f), "lldb: no frame in {f}:\n{text}");
        }
    }
    if let Some(eu_stack) = oracle("eu-stack") {
        let mut cmd = Command::new(eu_stack);
        cmd.arg("--core")
            .arg(&core)
            .arg("--executable")
            .arg(target_path());
        let text = run_tool(cmd);
        assert_eq!(text.lines().filter(|l| l.starts_with("TID ")).count(), 9);
        for f in PARK_FUNCTIONS {
            assert!(text.contains(f), "eu-stack: no frame in {f}:\n{text}");
        }
    }
}

#[test]
fn snapshot_minidump_passes_minidump_stackwalk_and_lldb() {
    let target = Target::spawn(&TARGET_ARGS);
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("t.dmp");
    let json = capture(
        target.pid(),
        &dump,
        &["--format", "minidump", "--memory", "full", "--snapshot"],
    );
    assert_eq!(json["mode"], "snapshot", "{json}");
    assert_eq!(json["threads"], 9);
    assert!(children(target.pid()).is_empty());
    // The copy's smaps decide: MADV_DONTDUMP memory stays out, the pattern
    // is in (it was read after the thaw, at no frozen cost).
    let bytes = std::fs::read(&dump).unwrap();
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!has(b"DONTDUMPDONTDUMP"), "MADV_DONTDUMP bytes in the dump");
    let word = coroner_test_support::pattern_word(12345).to_ne_bytes();
    assert!(has(&word), "the pattern is missing");
    if let Some(v) = minidump_stackwalk(&dump) {
        assert_eq!(v["status"], "OK", "{v}");
        assert_eq!(v["crash_info"]["type"], "DUMP_REQUESTED");
        assert_eq!(v["thread_count"], 9);
        // Every worker's frames reach its park function, once each.
        let mut parked: Vec<String> = v["threads"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["frames"].as_array().unwrap().clone())
            .filter_map(|f| f["function"].as_str().map(str::to_owned))
            .filter(|f| f.starts_with("park_in_"))
            .collect();
        parked.sort();
        assert_eq!(parked, PARK_FUNCTIONS, "park frames over all threads: {v}");
    }
    if let Some(lldb) = oracle("lldb") {
        let text = lldb_minidump_backtraces(&lldb, &dump);
        for f in PARK_FUNCTIONS {
            assert!(
                text.contains(&format!("`{f}")),
                "lldb: no frame in {f}:\n{text}"
            );
        }
    }
}

/// A target that changes nothing: its snapshot core holds the same memory,
/// byte for byte and hole for hole, as its plain core (the stack bytes the
/// injected call used are put back in the copy).
#[test]
fn a_quiescent_targets_snapshot_holds_the_same_memory_as_its_plain_dump() {
    let target = SnapshotTarget::spawn(&["--quiescent", "--heap-mib", "8"]);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    let snap = dir.path().join("snap");
    let j1 = capture(target.pid(), &plain, &[]);
    let j2 = capture(target.pid(), &snap, &["--snapshot"]);
    assert_eq!(j1["mode"], "freeze");
    assert_eq!(j2["mode"], "snapshot", "{j2}");
    assert_same_memory(&plain, &snap);
    let (out, status) = target.finish();
    assert!(status.success(), "{out:?}");
    for r in out.iter().filter(|l| l.starts_with("RESULT")) {
        assert!(r.ends_with("=ok"), "{r}");
    }
}

/// Two counters that threads keep equal under a mutex, flat out, on two
/// pages: the snapshot shows them equal (or one apart while a thread holds
/// the mutex between the two increments): one point in time. Reading the
/// running target's two pages at two moments shows them far apart, so the
/// check can tell.
#[test]
fn a_snapshot_is_one_point_in_time() {
    let target = SnapshotTarget::spawn(&["--counters", "2"]);
    let ready = target.ready.clone();
    let (c0, c1, lock) = (
        ready.u64("counters"),
        ready.u64("second_counter"),
        ready.u64("lock"),
    );
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        let core = dir.path().join(format!("core{i}"));
        let json = capture(target.pid(), &core, &["--snapshot"]);
        assert_eq!(json["mode"], "snapshot");
        let data = std::fs::read(&core).unwrap();
        let parsed = coroner_core_format::parse(&data).unwrap();
        let word = |addr| {
            let mut b = [0u8; 8];
            parsed.read_memory(addr, &mut b).unwrap();
            u64::from_ne_bytes(b)
        };
        let mut l = [0u8; 4];
        parsed.read_memory(lock, &mut l).unwrap();
        let (a, b, locked) = (word(c0), word(c1), u32::from_ne_bytes(l) != 0);
        assert!(a > 0);
        assert!(
            a == b || (a == b + 1 && locked),
            "counters {a} and {b} (mutex locked: {locked})"
        );
    }
    // The control: the live target read page by page drifts.
    let mem = std::fs::File::open(format!("/proc/{}/mem", target.pid())).unwrap();
    use std::os::unix::fs::FileExt;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        mem.read_exact_at(&mut a, c0).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        mem.read_exact_at(&mut b, c1).unwrap();
        // (On a loaded machine the counting threads may not have run in
        // those 20 ms: try again.)
        if u64::from_ne_bytes(b) > u64::from_ne_bytes(a) + 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the counters never moved");
    }
}

/// A target whose seccomp filter kills it on clone: `--snapshot` falls
/// back to the freeze and says why; `--snapshot=require` fails; the target
/// lives on.
#[test]
fn seccomp_makes_snapshot_fall_back_or_fail() {
    let mut target = SnapshotTarget::spawn(&["--seccomp-kill-clone"]);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    let json = capture(target.pid(), &core, &["--snapshot"]);
    assert_eq!(json["mode"], "freeze");
    let why = json["snapshot_fallback"].as_str().unwrap();
    assert!(why.contains("seccomp"), "{why}");
    assert!(
        json["warnings"][0].as_str().unwrap().contains("seccomp"),
        "{json}"
    );
    let out = coroner()
        .args([
            "capture",
            &target.pid().to_string(),
            "--snapshot=require",
            "-o",
        ])
        .arg(dir.path().join("core2"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("seccomp"), "{err}");
    assert!(!dir.path().join("core2").exists());
    assert!(target.is_running());
    let (out, status) = target.finish();
    assert!(status.success(), "{out:?}");
}

/// coroner SIGKILLed at 50 random moments of `--snapshot` captures: the
/// target computes on correctly, no copy is left running, no file appears
/// under the final name unless complete, and the zombies a killed capture
/// can leave (a copy dead but not yet reaped by the target) are reaped by
/// the next capture.
#[test]
fn sigkill_at_random_moments_of_snapshot_captures() {
    let target = SnapshotTarget::spawn(&["--checksum", "--heap-mib", "32"]);
    let pid = target.pid();
    let checks = target.ready.u64("checks");
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    // How long a whole capture takes here: kills land anywhere in it.
    let t0 = Instant::now();
    capture(pid, &core, &["--snapshot"]);
    let full = t0.elapsed();
    std::fs::remove_file(&core).unwrap();
    let read_checks = || {
        use std::os::unix::fs::FileExt;
        let mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
        let mut w = [0u8; 8];
        mem.read_exact_at(&mut w, checks).unwrap();
        u64::from_ne_bytes(w)
    };
    // A small xorshift: the moments differ from run to run, and are printed.
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    let mut zombies_seen = 0;
    for round in 0..50 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % (full.as_micros() as u64 + 1));
        let mut child = coroner()
            .args(["capture", &pid.to_string(), "--snapshot", "-o"])
            .arg(&core)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        let before = read_checks();
        let deadline = Instant::now() + Duration::from_secs(20);
        while read_checks() < before + 2 {
            assert!(
                Instant::now() < deadline,
                "round {round} ({delay:?}): the target stopped computing"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_ne!(state(pid), Some('Z'));
        // No copy runs: every child is a zombie (or becomes one at once).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let kids = children(pid);
            if kids.iter().all(|&k| state(k) == Some('Z')) {
                zombies_seen += kids.len();
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: a copy runs: {kids:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // Either no file or a complete one.
        if core.exists() {
            let data = std::fs::read(&core).unwrap();
            coroner_core_format::parse(&data).expect("a file under the final name is complete");
            std::fs::remove_file(&core).unwrap();
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
    }
    eprintln!("zombies left by killed captures over 50 rounds: {zombies_seen}");
    // The next capture clears what the killed ones left.
    let json = capture(pid, &core, &["--snapshot"]);
    assert_eq!(json["mode"], "snapshot");
    assert!(children(pid).is_empty(), "{:?}", children(pid));
    let (out, status) = target.finish();
    assert!(status.success(), "{out:?}");
    for want in ["SIGCHLD 0", "WAITED 0", "BAD 0"] {
        assert!(out.iter().any(|l| l == want), "{want} in {out:?}");
    }
    for r in out.iter().filter(|l| l.starts_with("RESULT")) {
        assert!(r.contains("=ok"), "{r}");
    }
}

/// Memory the copy lacks (MADV_DONTFORK) or holds as zeros
/// (MADV_WIPEONFORK) is read from the frozen target: the snapshot core
/// holds it as the target had it. Beyond the 64 MiB coroner holds while
/// frozen, `--snapshot` falls back to the freeze and says why.
#[test]
fn memory_a_fork_would_not_copy_is_still_dumped() {
    let target = SnapshotTarget::spawn(&["--uncopied-kib", "256"]);
    let (dontfork, wipeonfork) = (target.ready.u64("dontfork"), target.ready.u64("wipeonfork"));
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    let json = capture(target.pid(), &core, &["--snapshot"]);
    assert_eq!(json["mode"], "snapshot", "{json}");
    let data = std::fs::read(&core).unwrap();
    let parsed = coroner_core_format::parse(&data).unwrap();
    for (addr, word) in [(dontfork, b"DONTFORK"), (wipeonfork, b"WIPEONFK")] {
        for off in [0u64, 128 << 10, (256 << 10) - 8] {
            let mut b = [0u8; 8];
            parsed.read_memory(addr + off, &mut b).unwrap();
            assert_eq!(&b, word, "at {:#x}", addr + off);
        }
    }
    drop(target);

    let target = SnapshotTarget::spawn(&["--uncopied-kib", &(40 << 10).to_string()]);
    let json = capture(target.pid(), &dir.path().join("core2"), &["--snapshot"]);
    assert_eq!(json["mode"], "freeze");
    let why = json["snapshot_fallback"].as_str().unwrap();
    assert!(why.contains("MADV_DONTFORK"), "{why}");
}

/// Under `--snapshot` the dump is written while the process runs, so the
/// default output path's reason gives no advice on `--page-cache` for a
/// shorter pause; the plain capture of the same process still speaks of
/// its pause (the write-behind).
#[test]
fn snapshot_output_path_reason_gives_no_pause_advice() {
    let target = Target::spawn(&["--threads", "2", "--pattern-mib", "4"]);
    let dir = tempfile::tempdir().unwrap();
    let json = capture(target.pid(), &dir.path().join("snap"), &["--snapshot"]);
    assert_eq!(json["mode"], "snapshot", "{json}");
    assert_eq!(json["output_path"], "direct", "{json}");
    let reason = json["output_path_reason"].as_str().unwrap();
    assert!(
        !reason.contains("would shorten the pause") && !reason.contains("not advised"),
        "{reason}"
    );
    assert!(reason.contains("copy-on-write snapshot"), "{reason}");
    let plain = capture(target.pid(), &dir.path().join("plain"), &[]);
    assert_eq!(plain["mode"], "freeze", "{plain}");
    let reason = plain["output_path_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the default") && reason.contains("write-behind")
            || reason.contains("may wait in memory for the disk"),
        "the plain capture's reason is about its pause (the write-behind): {reason}"
    );
    assert!(!reason.contains("copy-on-write snapshot"), "{reason}");
}
