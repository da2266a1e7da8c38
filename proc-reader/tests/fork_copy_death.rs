//! What remains when the process making a copy dies at the worst moments:
//! a child test process makes the copy and stalls at a chosen step
//! (`CORONER_TEST_STALL_AT`), and is SIGKILLed there.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use coroner_proc_reader::{reap_leftover_copies, ForkCopy, Process};
use coroner_test_support::SnapshotTarget;

/// Not a test of its own: the capturer the tests below run (in a child
/// process) and kill. Makes a copy of `CAPTURER_PID` from the thread named
/// `CAPTURER_THREAD`.
#[test]
#[ignore = "run by the death tests in a child process"]
fn capturer() {
    let Some(pid) = std::env::var("CAPTURER_PID")
        .ok()
        .and_then(|p| p.parse().ok())
    else {
        return;
    };
    let thread = std::env::var("CAPTURER_THREAD").unwrap();
    let process = Process::open(pid).unwrap();
    let plan = ForkCopy::plan(&process).unwrap();
    let frozen = process.freeze().unwrap();
    let tid = frozen
        .threads()
        .iter()
        .find(|t| t.name == thread.as_bytes())
        .map(|t| t.tid);
    let copy = frozen.fork_copy_in(&plan, tid).unwrap();
    frozen.thaw().unwrap();
    eprintln!("coroner: stalled at copy-made (no stall point hit)");
    std::thread::sleep(Duration::from_secs(3600));
    drop(copy);
}

fn children(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap().path();
        let text = std::fs::read_to_string(task.join("children")).unwrap_or_default();
        all.extend(text.split_whitespace().map(|c| c.parse::<u32>().unwrap()));
    }
    all
}

fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

fn die_at(step: &str, thread: &str) {
    let mut target = SnapshotTarget::spawn(&["--checksum"]);
    let pid = target.pid();
    let checks = target.ready.u64("checks");
    let mut capturer = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "capturer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CAPTURER_PID", pid.to_string())
        .env("CAPTURER_THREAD", thread)
        .env("CORONER_TEST_STALL_AT", step)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(capturer.stderr.take().unwrap());
    let mut stalled = false;
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.contains("coroner: stalled at") {
            stalled = true;
            break;
        }
    }
    assert!(
        stalled,
        "{step}/{thread}: the capturer never reached its stall point"
    );
    capturer.kill().unwrap();
    capturer.wait().unwrap();
    // The target runs on and computes correctly.
    let read_checks = || {
        let mem = Process::open(pid).unwrap().memory().unwrap();
        let mut w = [0u8; 8];
        mem.read_exact_at(checks, &mut w).unwrap();
        u64::from_ne_bytes(w)
    };
    let first = read_checks();
    let deadline = Instant::now() + Duration::from_secs(20);
    while read_checks() < first + 3 {
        assert!(
            Instant::now() < deadline,
            "{step}/{thread}: the checksum loop stopped"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(target.is_running(), "{step}/{thread}: target died");
    // No copy runs: each child of the target is (or soon becomes) a zombie.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let kids = children(pid);
        if kids.iter().all(|&k| state(k) == Some('Z')) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{step}/{thread}: a copy still runs: {kids:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The next capture clears what is left.
    let left = children(pid);
    let process = Process::open(pid).unwrap();
    let reaped = reap_leftover_copies(&process).unwrap();
    assert_eq!(reaped, left, "{step}/{thread}");
    assert!(children(pid).is_empty(), "{step}/{thread}");
    let (out, status) = target.finish();
    assert!(status.success(), "{step}/{thread}: {out:?}");
    for line in &out {
        if line.starts_with("RESULT epoll_wait") {
            assert!(
                line.starts_with("RESULT epoll_wait=ok"),
                "{step}/{thread}: {line}"
            );
        } else if line.starts_with("RESULT") {
            assert!(line.ends_with("=ok"), "{step}/{thread}: {line} in {out:?}");
        }
    }
    for want in ["SIGCHLD 0", "WAITED 0", "BAD 0"] {
        assert!(
            out.iter().any(|l| l == want),
            "{step}/{thread}: {want} in {out:?}"
        );
    }
}

/// Killed with the thread's registers set for the call but the call not
/// made: the thread makes it alone, the child takes its escape frame
/// (exit_group), the thread its signal frame back to where it was.
#[test]
fn dying_with_the_call_set_up() {
    die_at("regs-set", "checksum");
    die_at("regs-set", "p-futex_t");
}

/// Killed at the call's entry, at the child's birth (before it has
/// PTRACE_O_EXITKILL), after it (the kernel kills the child), and half-way
/// through restoring the thread.
#[test]
fn dying_during_the_call() {
    for step in [
        "syscall-entry",
        "child-born",
        "child-adopted",
        "mask-restored",
    ] {
        die_at(step, "checksum");
        die_at(step, "p-read");
    }
}

/// Killed with the copy made and the target thawed: the kernel kills the
/// copy; the next capture makes the target reap it.
#[test]
fn dying_with_the_copy_made() {
    die_at("copy-made", "p-poll_t");
}
