//! `coroner capture`'s pre-copy (the default for ELF cores): memory read
//! while the target runs, and only the pages written since read again while
//! it is frozen. Checked for being one point in time against a target that
//! rewrites its memory page by page, against the plain capture of a target
//! that changes nothing, for leaving the target as it was, and for falling
//! back where writes cannot be tracked.
#![cfg(target_arch = "x86_64")]

use std::path::Path;

mod common;

use common::{assert_same_memory, capture_ok};
use coroner_test_support::SnapshotTarget;
use serde_json::Value;

/// `coroner capture PID -o OUT --json [extra]`, required to succeed.
fn capture(pid: u32, out: &Path, extra: &[&str]) -> Value {
    let args = [&["--json"], extra].concat();
    serde_json::from_str(&capture_ok(pid, out, &args)).expect("one JSON object on stdout")
}

/// The target's open files, mappings with their flags, as text.
fn files_and_flags(pid: u32) -> (usize, String) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let layout: String = smaps
        .lines()
        .filter(|l| l.starts_with("VmFlags") || l.contains('-') && !l.contains(':'))
        .map(|l| format!("{l}\n"))
        .collect();
    (fds, layout)
}

/// A thread sweeps 64 MiB page by page, writing the sweep's number into
/// each page and then its position: in a dump of one moment, pages below
/// the position hold the sweep's number and the others the one before.
/// The pre-copy reads those pages while the sweep goes on, so a page
/// written after it was read and not read again shows the older number.
/// Some captures must have found rewritten pages (else the check proves
/// nothing), and the target must be left with the files and mappings it
/// had.
#[test]
fn a_pre_copied_dump_is_one_point_in_time() {
    let target = SnapshotTarget::spawn(&["--sweep-mib", "64"]);
    let ready = target.ready.clone();
    let (map, gen_at, pos_at, pages) = (
        ready.u64("sweep"),
        ready.u64("sweep_gen"),
        ready.u64("sweep_pos"),
        ready.u64("sweep_pages"),
    );
    let before = files_and_flags(target.pid());
    let dir = tempfile::tempdir().unwrap();
    let mut rewritten = 0u64;
    for i in 0..6 {
        let core = dir.path().join(format!("core{i}"));
        let json = capture(target.pid(), &core, &[]);
        let pre = &json["pre_copy"];
        assert_eq!(pre["used"], true, "{json}");
        let copied = pre["bytes_copied"].as_u64().unwrap();
        let clean = pre["bytes_clean"].as_u64().unwrap();
        assert!(copied >= 64 << 20, "{json}");
        rewritten += copied - clean;
        let data = std::fs::read(&core).unwrap();
        let parsed = coroner_core_format::parse(&data).unwrap();
        let word = |addr| {
            let mut b = [0u8; 8];
            parsed.read_memory(addr, &mut b).unwrap();
            u64::from_ne_bytes(b)
        };
        let (gen, pos) = (word(gen_at), word(pos_at));
        assert!(gen >= 1 && pos <= pages, "sweep {gen} at {pos}");
        for p in 0..pages {
            let want = if p < pos { gen } else { gen - 1 };
            let got = word(map + p * 4096);
            assert_eq!(
                got, want,
                "capture {i}: page {p} holds sweep {got}, but the sweep {gen} was at page {pos}"
            );
        }
        std::fs::remove_file(&core).unwrap();
    }
    assert!(
        rewritten > 0,
        "no page was written between a pre-copy and its freeze: the check proved nothing"
    );
    assert_eq!(files_and_flags(target.pid()), before);
    let (out, status) = target.finish();
    assert!(status.success(), "{out:?}");
}

/// A target that changes nothing: its pre-copied core holds the same
/// memory, byte for byte and hole for hole, as its plain core.
#[test]
fn a_quiescent_targets_pre_copied_dump_holds_the_same_memory_as_its_plain_dump() {
    let target = SnapshotTarget::spawn(&["--quiescent", "--heap-mib", "16"]);
    let dir = tempfile::tempdir().unwrap();
    let (plain, pre) = (dir.path().join("plain"), dir.path().join("pre"));
    let j1 = capture(target.pid(), &plain, &["--no-pre-copy"]);
    let j2 = capture(target.pid(), &pre, &[]);
    assert_eq!(j1["pre_copy"]["used"], false, "{j1}");
    assert_eq!(j1["pre_copy"]["fallback"], Value::Null, "{j1}");
    assert_eq!(j2["pre_copy"]["used"], true, "{j2}");
    assert!(
        j2["pre_copy"]["bytes_clean"].as_u64().unwrap() >= 16 << 20,
        "{j2}"
    );
    assert_same_memory(&plain, &pre);
    let (out, status) = target.finish();
    assert!(status.success(), "{out:?}");
    for r in out.iter().filter(|l| l.starts_with("RESULT")) {
        assert!(r.ends_with("=ok"), "{r}");
    }
}

/// A target under seccomp, which could be killed for the injected
/// userfaultfd(): no pre-copy, the reason in `--json`, a complete dump,
/// and the target runs on.
#[test]
fn seccomp_makes_the_pre_copy_fall_back() {
    let mut target = SnapshotTarget::spawn(&["--seccomp-kill-clone", "--heap-mib", "4"]);
    let dir = tempfile::tempdir().unwrap();
    let json = capture(target.pid(), &dir.path().join("core"), &[]);
    assert_eq!(json["pre_copy"]["used"], false, "{json}");
    let why = json["pre_copy"]["fallback"].as_str().unwrap();
    assert!(why.contains("seccomp"), "{why}");
    assert!(json["mappings_dumped"].as_u64().unwrap() > 0);
    assert!(target.is_running());
    let (out, status) = target.finish();
    assert!(status.success(), "{out:?}");
}

/// coroner SIGKILLed at moments spread over pre-copied captures: the
/// target is left with nothing registered (no `uw` mapping flag), no
/// userfaultfd among its files, no output file appears, and it runs on.
#[test]
fn a_killed_pre_copy_leaves_the_target_as_it_was() {
    let mut target = SnapshotTarget::spawn(&["--heap-mib", "256", "--sweep-mib", "16"]);
    let pid = target.pid();
    let before = files_and_flags(pid);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    // How long a whole capture takes here: kills land across it.
    let t0 = std::time::Instant::now();
    let json = capture(pid, &core, &[]);
    assert_eq!(json["pre_copy"]["used"], true, "{json}");
    let full = t0.elapsed();
    std::fs::remove_file(&core).unwrap();
    for i in 1..=8u32 {
        let mut child = common::coroner()
            .args(["capture", &pid.to_string(), "-o"])
            .arg(&core)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full * i / 10);
        let _ = child.kill();
        child.wait().unwrap();
        let _ = std::fs::remove_file(&core);
        // The kernel may take a moment to put the stopped target back.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while coroner_test_support::proc_state(pid) == Some('t') {
            assert!(
                std::time::Instant::now() < deadline,
                "the target stays stopped"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let (fds, flags) = files_and_flags(pid);
        assert!(
            !flags.split_whitespace().any(|f| f == "uw"),
            "kill {i}: memory left registered"
        );
        let uffd = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
            .any(|l| l.to_string_lossy().contains("userfaultfd"));
        assert!(!uffd, "kill {i}: a userfaultfd left in the target");
        assert_eq!(fds, before.0, "kill {i}");
        assert!(target.is_running());
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let (out, status) = target.finish();
    assert!(status.success(), "{out:?}");
}

/// A capturer without `CAP_SYS_ADMIN` sees no page frame numbers, which
/// the pre-copy needs: it is refused before the target is stopped for it,
/// with the reason, and the capture is the plain freeze.
#[test]
fn without_cap_sys_admin_the_pre_copy_is_refused_before_any_stop() {
    let target = SnapshotTarget::spawn(&["--heap-mib", "8"]);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    let out = std::process::Command::new("setpriv")
        .args(["--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin"])
        .arg(
            std::env::var_os("CORONER_TEST_BIN")
                .unwrap_or_else(|| env!("CARGO_BIN_EXE_coroner").into()),
        )
        .args(["capture", &target.pid().to_string(), "--json", "-o"])
        .arg(&core)
        .output()
        .expect("setpriv (util-linux) runs coroner without CAP_SYS_ADMIN");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pre = &json["pre_copy"];
    assert_eq!(pre["used"], false, "{json}");
    assert!(
        pre["fallback"].as_str().unwrap().contains("CAP_SYS_ADMIN"),
        "{json}"
    );
    assert_eq!(pre["tracking_pause_seconds"], 0.0, "{json}");
    assert!(core.exists());
    let (out, status) = target.finish();
    assert!(status.success(), "{out:?}");
}
