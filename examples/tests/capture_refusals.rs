//! Processes whose memory cannot be opened — a kernel thread, a zombie, a
//! root process captured by an unprivileged user — are refused by both
//! formats in milliseconds, with the same reason, and leave no file behind.
//! Each capture runs under a deadline, so a regression fails instead of
//! hanging the suite (the minidump path once waited forever on a channel
//! whose sender outlived the failure).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::coroner;

/// Run `cmd` to completion, or kill it and fail the test after `limit`.
fn run_within(mut cmd: Command, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            let took = started.elapsed();
            return (child.wait_with_output().unwrap(), took);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Capture `pid` in `format` into `dir` (through `wrap`, a command prefix
/// such as `setpriv …`), expecting a quick failure; returns stderr.
fn refused(pid: u32, format: &str, dir: &Path, wrap: &[&str]) -> String {
    let out_path = dir.join(format!("out.{format}"));
    let mut cmd = match wrap.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(env!("CARGO_BIN_EXE_coroner"));
            c
        }
        None => coroner(),
    };
    cmd.arg("capture")
        .arg(pid.to_string())
        .args(["--format", format, "-o"])
        .arg(&out_path);
    let (out, took) = run_within(cmd, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{format}: {stderr}");
    assert!(
        took < Duration::from_secs(5),
        "{format}: took {took:?} to fail"
    );
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{format}: left behind {left:?}");
    stderr
}

/// Both formats refuse with `reason` in their message.
fn both_refuse(pid: u32, reason: &str, wrap: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    // The unprivileged user must be able to create its file there.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    for format in ["elf", "minidump"] {
        let stderr = refused(pid, format, dir.path(), wrap);
        assert!(stderr.contains(reason), "{format}: {stderr}");
    }
}

#[test]
fn a_kernel_thread_is_refused_quickly_by_both_formats() {
    // pid 2 is kthreadd on every Linux since 2.6.
    both_refuse(2, "pid 2 is a kernel thread", &[]);
}

#[test]
fn a_zombie_is_refused_quickly_by_both_formats() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while coroner_test_support::proc_state(pid) != Some('Z') {
        assert!(Instant::now() < deadline, "child never became a zombie");
        std::thread::sleep(Duration::from_millis(2));
    }
    both_refuse(pid, "is a zombie", &[]);
    child.wait().unwrap();
}

#[test]
fn a_root_process_is_refused_quickly_to_an_unprivileged_user() {
    if !Path::new("/usr/bin/setpriv").exists() && !Path::new("/bin/setpriv").exists() {
        assert!(
            !coroner_test_support::oracles_required(),
            "setpriv (util-linux) is needed"
        );
        eprintln!("SKIP: no setpriv");
        return;
    }
    // Only root can switch to another user with setpriv.
    let uid = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next().map(str::to_owned))
        .unwrap();
    if uid != "0" {
        eprintln!("SKIP: the test needs root to run a capture as another user");
        return;
    }
    let mut target = Command::new("sleep")
        .arg("60")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    both_refuse(
        target.id(),
        "without CAP_SYS_PTRACE",
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ],
    );
    target.kill().unwrap();
    target.wait().unwrap();
}
