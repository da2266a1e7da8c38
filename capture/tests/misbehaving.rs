//! Captures of a target that misbehaves while it is captured — exits,
//! execs, maps and unmaps memory flat out, creates and ends threads flat
//! out, is SIGSTOPped, has 2,000 threads — in both formats. Each capture
//! gives a dump that gdb (ELF) or the `minidump` crate loads, or a clear
//! error naming the process, never a hang (each runs under a deadline), and
//! leaves the target as it would otherwise be: not traced, running unless
//! it was stopped before, stopped if it was.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use coroner_capture::Sink;
use coroner_capture::{capture_elf, CaptureOptions, CaptureReport};
use coroner_capture::{capture_minidump, MemoryMode};
use coroner_test_support::{oracle, proc_state, target_path, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Elf,
    Minidump,
}

const BOTH: [Format; 2] = [Format::Elf, Format::Minidump];

/// Capture `pid` into a fresh directory in a thread of its own; fail the test if it
/// has not finished within `limit`. The error, if any, as its message.
fn capture_within(
    format: Format,
    pid: u32,
    limit: Duration,
) -> (tempfile::TempDir, PathBuf, Result<CaptureReport, String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(match format {
        Format::Elf => "core",
        Format::Minidump => "t.dmp",
    });
    let (tx, rx) = mpsc::channel();
    let out = path.clone();
    std::thread::spawn(move || {
        let result = Sink::create(&out, false)
            .map_err(coroner_capture::CaptureError::from)
            .and_then(|sink| {
                let options = CaptureOptions::default();
                match format {
                    Format::Elf => capture_elf(pid, sink, &options),
                    Format::Minidump => capture_minidump(pid, sink, &options, MemoryMode::Stacks),
                }
            })
            .map_err(|e| chain(&e));
        let _ = tx.send(result);
    });
    let result = rx
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{format:?} capture of {pid} still running after {limit:?}"));
    if let Err(message) = &result {
        assert!(
            message.contains(&pid.to_string()),
            "{format:?}: the error names the process: {message}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{format:?} failed and left {left:?}");
    }
    (dir, path, result)
}

/// An error and its sources, as the CLI prints them.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// gdb reads the core: every thread listed, no complaint about the file.
fn gdb_loads(core: &Path, threads: usize) {
    let Some(gdb) = oracle("gdb") else {
        return;
    };
    let out = Command::new(gdb)
        .args(["-batch", "-nx", "-ex", "info threads"])
        .arg(target_path())
        .arg(core)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("not a core dump"), "{text}");
    // `info threads` rows ("* 1    Thread … (LWP n) …"), not "[New LWP n]".
    let listed = text
        .lines()
        .filter(|l| {
            let row = l.trim_start().trim_start_matches('*').trim_start();
            row.starts_with(|c: char| c.is_ascii_digit()) && l.contains("LWP")
        })
        .count();
    assert_eq!(listed, threads, "{text}");
}

/// The minidump crate reads the dump and its thread list.
fn minidump_loads(path: &Path, threads: usize) {
    let md = minidump::Minidump::read_path(path).unwrap();
    let list: minidump::MinidumpThreadList = md.get_stream().unwrap();
    assert_eq!(list.threads.len(), threads);
}

/// Check a successful capture's dump with a reader we did not write.
fn loads(format: Format, path: &Path, report: &CaptureReport) {
    match format {
        Format::Elf => gdb_loads(path, report.threads),
        Format::Minidump => minidump_loads(path, report.threads),
    }
}

/// No thread of `pid` is traced any more (the capture detached), if it
/// still exists.
fn not_traced(pid: u32) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for task in tasks.flatten() {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let tracer = status
            .lines()
            .find_map(|l| l.strip_prefix("TracerPid:"))
            .map(str::trim);
        assert!(
            matches!(tracer, None | Some("0")),
            "thread {:?} of {pid} still traced",
            task.file_name()
        );
    }
}

/// Send `sig` (as `kill` takes it) to `pid`.
fn signal(pid: u32, sig: &str) {
    let sent = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {sig} {pid}");
}

fn small(extra: &[&str]) -> Target {
    let mut args = vec![
        "--pattern-mib",
        "64",
        "--reserve-gib",
        "0",
        "--threads",
        "4",
    ];
    args.extend_from_slice(extra);
    Target::spawn(&args)
}

#[test]
fn a_target_that_exits_mid_capture_gives_a_dump_or_a_clear_error() {
    let (mut ok, mut failed) = (0, 0);
    for delay in [0u32, 2, 5, 10, 20, 40] {
        for format in BOTH {
            let mut target = small(&["--exit-after-ms", &delay.to_string()]);
            let pid = target.pid();
            signal(pid, "-USR1");
            let (_dir, path, result) = capture_within(format, pid, Duration::from_secs(60));
            match result {
                Ok(report) => {
                    ok += 1;
                    loads(format, &path, &report);
                }
                Err(e) => {
                    eprintln!("{format:?} after {delay} ms: {e}");
                    failed += 1
                }
            }
            not_traced(pid);
            // It exits as it meant to, capture or not.
            let deadline = Instant::now() + Duration::from_secs(10);
            while target.is_running() {
                assert!(Instant::now() < deadline, "{format:?}: target never exited");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    eprintln!("exiting target: {ok} dumps, {failed} clear errors");
}

#[test]
fn a_target_that_execs_mid_capture_gives_a_dump_or_a_clear_error_and_runs_on() {
    let (mut ok, mut failed) = (0, 0);
    for delay in [0u32, 3, 10, 30] {
        for format in BOTH {
            let target = small(&["--exec-after-ms", &delay.to_string()]);
            let pid = target.pid();
            signal(pid, "-USR1");
            let (_dir, path, result) = capture_within(format, pid, Duration::from_secs(60));
            match result {
                // The dump is of the program before or after the exec; only
                // the former is ours to check with the target's binary.
                Ok(report) if report.threads > 1 => {
                    ok += 1;
                    loads(format, &path, &report);
                }
                Ok(_) => ok += 1,
                Err(e) => {
                    eprintln!("{format:?} after {delay} ms: {e}");
                    failed += 1
                }
            }
            not_traced(pid);
            // The exec happens whatever the capture did, and `sleep` runs.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
                if comm.trim() == "sleep" && proc_state(pid) == Some('S') {
                    break;
                }
                assert!(Instant::now() < deadline, "{format:?}: no exec: {comm}");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    eprintln!("exec'ing target: {ok} dumps, {failed} clear errors");
}

/// Captures of a target that keeps changing (threads or mappings) must all
/// succeed: frozen, it cannot change while it is read.
fn every_capture_succeeds(target: &Target, rounds: usize) {
    let pid = target.pid();
    for _ in 0..rounds {
        for format in BOTH {
            let (_dir, path, result) = capture_within(format, pid, Duration::from_secs(60));
            let report = result.unwrap_or_else(|e| panic!("{format:?}: {e}"));
            loads(format, &path, &report);
            not_traced(pid);
            assert!(!matches!(proc_state(pid), Some('t' | 'T')), "left stopped");
        }
    }
}

#[test]
fn a_target_that_maps_and_unmaps_flat_out_is_captured_every_time() {
    let target = small(&["--remap", "2"]);
    every_capture_succeeds(&target, 5);
}

#[test]
fn a_target_that_creates_and_ends_threads_flat_out_is_captured_every_time() {
    let target = small(&["--churn", "2"]);
    every_capture_succeeds(&target, 5);
}

#[test]
fn a_sigstopped_target_is_captured_and_stays_stopped() {
    let target = small(&[]);
    let pid = target.pid();
    signal(pid, "-STOP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc_state(pid) != Some('T') {
        assert!(Instant::now() < deadline, "never stopped");
        std::thread::sleep(Duration::from_millis(2));
    }
    for format in BOTH {
        let (_dir, path, result) = capture_within(format, pid, Duration::from_secs(60));
        let report = result.unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(report.threads, 5);
        loads(format, &path, &report);
        not_traced(pid);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(proc_state(pid), Some('T'), "{format:?}: stays stopped");
    }
    signal(pid, "-CONT");
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc_state(pid) == Some('T') {
        assert!(Instant::now() < deadline, "SIGCONT did not resume it");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_target_with_2000_threads_is_captured_in_both_formats() {
    let target = Target::spawn(&[
        "--threads",
        "2000",
        "--pattern-mib",
        "1",
        "--reserve-gib",
        "0",
    ]);
    let pid = target.pid();
    for format in BOTH {
        let (_dir, path, result) = capture_within(format, pid, Duration::from_secs(300));
        let report = result.unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(report.threads, 2001, "{format:?}");
        loads(format, &path, &report);
        not_traced(pid);
        // Running on means neither stopped nor traced: right after the thaw
        // the main thread may still be runnable ('R') on a loaded machine
        // before it goes back to sleep ('S').
        let state = proc_state(pid);
        assert!(
            matches!(state, Some('S' | 'R')),
            "{format:?}: runs on, state {state:?}"
        );
        eprintln!(
            "{format:?}: 2001 threads, frozen {:?}, wall {:?}",
            report.frozen, report.wall
        );
    }
}
