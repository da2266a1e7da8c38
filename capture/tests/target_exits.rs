//! A target that dies while it is being captured: the error says that it
//! exited during the capture (keeping the failed read as its source), not
//! just the raw read error the exit caused, and no dump is left behind.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use coroner_capture::Sink;
use coroner_capture::{capture_elf, CaptureError, CaptureOptions};
use coroner_capture::{capture_minidump, MemoryMode};
use coroner_test_support::Target;

/// Options that kill `pid` with SIGKILL the first time progress is
/// reported: the capture reports progress before it reads the first byte
/// of memory it copies, so every read after that meets a dead process.
fn kill_on_first_progress(pid: u32, options: CaptureOptions) -> CaptureOptions {
    let killed = AtomicBool::new(false);
    options.with_progress(move |_| {
        if !killed.swap(true, Ordering::SeqCst) {
            let status = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .expect("run kill");
            assert!(status.success());
        }
    })
}

fn assert_exit_is_blamed(pid: u32, result: Result<impl std::fmt::Debug, CaptureError>, dir: &Path) {
    let err = result.expect_err("a capture of a process killed mid-way must fail");
    let text = err.to_string();
    assert!(
        matches!(err, CaptureError::ExitedDuringCapture { pid: p, .. } if p == pid),
        "{err:?}"
    );
    assert!(
        text.contains("exited during the capture"),
        "message should name the exit: {text}"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "the read error the exit caused stays the source"
    );
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(left.is_empty(), "nothing left behind: {left:?}");
}

#[test]
fn an_elf_capture_of_a_target_killed_midway_says_it_exited() {
    let target = Target::spawn(&["--threads", "2", "--pattern-mib", "64"]);
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::create(&dir.path().join("core"), false).unwrap();
    let options = CaptureOptions::default().with_buffer_size(1 << 20);
    let options = kill_on_first_progress(target.pid(), options);
    let result = capture_elf(target.pid(), sink, &options);
    assert_exit_is_blamed(target.pid(), result, dir.path());
}

#[test]
fn a_full_minidump_capture_of_a_target_killed_midway_says_it_exited() {
    let target = Target::spawn(&["--threads", "2", "--pattern-mib", "64"]);
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::create(&dir.path().join("t.dmp"), false).unwrap();
    let options = kill_on_first_progress(target.pid(), CaptureOptions::default());
    let result = capture_minidump(target.pid(), sink, &options, MemoryMode::Full);
    assert_exit_is_blamed(target.pid(), result, dir.path());
}
