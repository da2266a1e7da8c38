//! `capture -o -` into a pipe spills the dump to an unnamed file first, so
//! a slow reader does not keep the target stopped; `--no-spill` streams
//! directly; no room to spill means a warning and direct streaming (or an
//! error for an explicit `--spill DIR`).

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::small_tmpfs::SmallTmpfs;
use coroner_test_support::Target;

fn capture_to_pipe(pid: u32, extra: &[&str], tmpdir: Option<&Path>) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coroner"));
    c.args(["capture", &pid.to_string(), "-o", "-", "--json"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = tmpdir {
        c.env("TMPDIR", dir);
    }
    c.spawn().unwrap()
}

/// Read all of `child`'s stdout at about `bytes_per_second`; its exit
/// status, the JSON summary (the last stderr line), the bytes read and the
/// first four of them.
fn read_slowly(
    mut child: Child,
    bytes_per_second: f64,
) -> (bool, serde_json::Value, u64, Vec<u8>, String) {
    let mut out = child.stdout.take().unwrap();
    let started = Instant::now();
    let mut buf = vec![0u8; 1 << 20];
    let (mut total, mut head) = (0u64, Vec::new());
    loop {
        let n = out.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        if head.len() < 4 {
            head.extend_from_slice(&buf[..n.min(4 - head.len())]);
        }
        total += n as u64;
        let due = Duration::from_secs_f64(total as f64 / bytes_per_second);
        if let Some(ahead) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(ahead);
        }
    }
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let json = stderr
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    (o.status.success(), json, total, head, stderr)
}

#[test]
fn a_spilled_capture_resumes_the_target_before_a_slow_reader_has_the_dump() {
    let target = Target::spawn(&[
        "--threads",
        "2",
        "--pattern-mib",
        "256",
        "--reserve-gib",
        "0",
    ]);
    let spill = tempfile::tempdir().unwrap();
    // 64 MB/s: about four seconds for the 270 MB dump.
    let rate = 64e6;

    let child = capture_to_pipe(target.pid(), &[], Some(spill.path()));
    let (ok, json, total, head, stderr) = read_slowly(child, rate);
    assert!(ok, "{stderr}");
    assert_eq!(head, b"\x7fELF");
    assert_eq!(json["bytes_written"].as_u64(), Some(total), "{stderr}");
    assert_eq!(
        json["spilled_to"].as_str(),
        spill.path().to_str(),
        "{stderr}"
    );
    let (wall, frozen) = (
        json["wall_seconds"].as_f64().unwrap(),
        json["frozen_seconds"].as_f64().unwrap(),
    );
    assert!(wall > 3.0, "the reader took {wall} s");
    assert!(
        frozen < wall / 3.0,
        "spilled: frozen {frozen} s of {wall} s"
    );
    assert_eq!(std::fs::read_dir(spill.path()).unwrap().count(), 0);

    // Streamed directly, the target waits for the reader.
    let child = capture_to_pipe(target.pid(), &["--no-spill"], Some(spill.path()));
    let (ok, json, total, _, stderr) = read_slowly(child, rate);
    assert!(ok, "{stderr}");
    assert_eq!(json["bytes_written"].as_u64(), Some(total));
    assert!(json["spilled_to"].is_null(), "{stderr}");
    let (wall, frozen) = (
        json["wall_seconds"].as_f64().unwrap(),
        json["frozen_seconds"].as_f64().unwrap(),
    );
    assert!(
        frozen > wall * 0.8,
        "not spilled: frozen {frozen} s of {wall} s"
    );
}

#[test]
fn without_room_to_spill_the_dump_is_streamed_with_a_warning_or_refused_if_asked() {
    let fs = match SmallTmpfs::mount("1m") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("SKIP: cannot mount a small tmpfs ({why}); needs root");
            return;
        }
    };
    let target = Target::spawn(&[
        "--threads",
        "2",
        "--pattern-mib",
        "128",
        "--reserve-gib",
        "0",
    ]);

    // The default directory ($TMPDIR) is too small: warn, stream directly.
    let child = capture_to_pipe(target.pid(), &[], Some(fs.path()));
    let (ok, json, total, _, stderr) = read_slowly(child, 1e12);
    assert!(ok, "{stderr}");
    assert!(json["spilled_to"].is_null(), "{stderr}");
    assert_eq!(json["bytes_written"].as_u64(), Some(total));
    assert!(stderr.contains("streaming directly"), "{stderr}");

    // An explicit --spill DIR that is too small is an error naming the way out.
    let child = capture_to_pipe(
        target.pid(),
        &["--spill", fs.path().to_str().unwrap()],
        None,
    );
    let (ok, _, total, _, stderr) = read_slowly(child, 1e12);
    assert!(!ok);
    assert_eq!(total, 0, "nothing reaches stdout");
    assert!(stderr.contains("--no-spill"), "{stderr}");
    assert_eq!(std::fs::read_dir(fs.path()).unwrap().count(), 0);
}
