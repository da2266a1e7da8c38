//! A capture or conversion stopped by a signal: SIGINT, SIGTERM, SIGHUP and
//! SIGQUIT end it with status 128 + the signal, the partial dump removed
//! and the target resumed; SIGKILL, which cannot be handled, leaves no file
//! either, because the dump has no name until it is complete (O_TMPFILE).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coroner_test_support::Target;

/// 2 GiB of touched memory: a capture takes about a second even on a fast
/// disk, so a signal 0.3 s in arrives while it writes.
const BIG: [&str; 6] = [
    "--threads",
    "2",
    "--pattern-mib",
    "2048",
    "--reserve-gib",
    "0",
];

fn coroner(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coroner"));
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Wait until `pid` has a descriptor open on a file in `dir` (the output,
/// named or not: an unnamed one shows as `DIR/#inode (deleted)`), i.e.
/// the dump is being written; then `after` more.
fn wait_until_writing(pid: u32, dir: &Path, after: Duration) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let writing = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|target| target.starts_with(dir) && target.file_name() != Some("core".as_ref()));
        if writing {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "coroner {pid} never opened its output in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(after);
}

fn send(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

fn finish(child: Child) -> (Option<i32>, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The target runs on: not stopped, not traced.
fn assert_resumed(target: &mut Target, context: &str) {
    assert!(target.is_running(), "{context}: target exited");
    let status = std::fs::read_to_string(format!("/proc/{}/status", target.pid())).unwrap();
    assert!(status.contains("TracerPid:\t0"), "{context}: {status}");
    assert!(
        matches!(target.state(), 'S' | 'R'),
        "{context}: target state {}",
        target.state()
    );
}

#[test]
fn stopping_signals_mid_capture_exit_128_plus_the_signal_and_leave_nothing() {
    let mut target = Target::spawn(&BIG);
    let pid = target.pid().to_string();
    let cases: [(&str, i32, &[&str]); 5] = [
        ("INT", 2, &[]),
        ("TERM", 15, &[]),
        ("HUP", 1, &[]),
        ("QUIT", 3, &[]),
        ("TERM", 15, &["--format", "minidump", "--memory", "full"]),
    ];
    for (signal, number, extra) in cases {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let child = coroner(&["capture", &pid, "-o"])
            .arg(&dest)
            .args(extra)
            .spawn()
            .unwrap();
        wait_until_writing(child.id(), dir.path(), Duration::from_millis(300));
        send(signal, child.id());
        let (code, stderr) = finish(child);
        let context = format!("SIG{signal} {extra:?}");
        assert_eq!(code, Some(128 + number), "{context}: {stderr}");
        assert!(
            stderr.contains(&format!("SIG{signal} received")) && stderr.contains("removed"),
            "{context}: {stderr}"
        );
        assert!(
            entries(dir.path()).is_empty(),
            "{context}: left {:?}",
            entries(dir.path())
        );
        assert_resumed(&mut target, &context);
    }
}

#[test]
fn sigkill_mid_capture_leaves_the_target_running_and_no_file_at_all() {
    let mut target = Target::spawn(&BIG);
    let pid = target.pid().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut child = coroner(&["capture", &pid, "-o"])
        .arg(dir.path().join("core.out"))
        .spawn()
        .unwrap();
    wait_until_writing(child.id(), dir.path(), Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    // The kernel detaches a dead tracer's tracees; give it a moment.
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        entries(dir.path()).is_empty(),
        "left {:?} (the output has no name until it is complete)",
        entries(dir.path())
    );
    assert_resumed(&mut target, "SIGKILL");
}

/// `timeout 1 coroner convert …` and Ctrl-C: the same clean stop.
#[test]
fn a_stopped_conversion_removes_its_partial_output() {
    let target = Target::spawn(&BIG);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    let o = coroner(&["capture", &target.pid().to_string(), "-o"])
        .arg(&core)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Free its 2 GiB: the conversions need only the core.
    drop(target);
    for (signal, number) in [("TERM", 15), ("INT", 2)] {
        let child = coroner(&["convert", "--memory", "full"])
            .arg(&core)
            .arg(dir.path().join("out.dmp"))
            .spawn()
            .unwrap();
        wait_until_writing(child.id(), dir.path(), Duration::from_millis(300));
        send(signal, child.id());
        let (code, stderr) = finish(child);
        assert_eq!(code, Some(128 + number), "SIG{signal}: {stderr}");
        assert!(stderr.contains("removed"), "{stderr}");
        assert_eq!(entries(dir.path()), ["core"], "SIG{signal}");
    }
}

/// A write blocked on a reader that never reads (`-o - --no-spill`) cannot
/// notice the first signal; a second one ends coroner at once, and the
/// kernel resumes the target it had stopped.
#[test]
fn a_second_signal_ends_a_capture_blocked_on_a_stalled_pipe() {
    let mut target = Target::spawn(&[
        "--threads",
        "2",
        "--pattern-mib",
        "64",
        "--reserve-gib",
        "0",
    ]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_coroner"))
        .args([
            "capture",
            &target.pid().to_string(),
            "-o",
            "-",
            "--no-spill",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Hold the pipe open, unread, until coroner is gone.
    let stalled = child.stdout.take();
    let traced = Instant::now() + Duration::from_secs(30);
    while coroner_test_support::proc_state(target.pid()) != Some('t') {
        assert!(Instant::now() < traced, "the target was never stopped");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Let the pipe fill and the write block.
    std::thread::sleep(Duration::from_millis(500));
    send("TERM", child.id());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the blocked write returned"
    );
    send("TERM", child.id());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "a second SIGTERM did not end coroner"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(stalled);
    assert_eq!(status.code(), Some(128 + 15));
    std::thread::sleep(Duration::from_millis(100));
    assert_resumed(&mut target, "second SIGTERM");
}
