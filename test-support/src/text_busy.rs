//! Running a freshly written executable: retry while it is "Text file busy".
//!
//! A test that copies a program (`std::fs::copy`) and then runs the copy
//! races every other test of the same process that spawns a child: a fork
//! made while the copy's write descriptor is open duplicates it, and the
//! child holds it until its `exec` closes it (`O_CLOEXEC`). Until then the
//! kernel refuses to execute the copy with ETXTBSY, although the copy itself
//! has long been closed. The window is short (fork to exec of another
//! test's child), so trying again a moment later succeeds.

use std::io;
use std::time::{Duration, Instant};

/// "Text file busy" (Linux's errno; `io::ErrorKind::ExecutableFileBusy` is
/// newer than the MSRV).
const ETXTBSY: i32 = 26;

/// How long another test's child may hold a duplicate of the write
/// descriptor: its fork-to-exec, normally well under a millisecond, even
/// on a loaded machine far less than this.
const GIVE_UP_AFTER: Duration = Duration::from_secs(2);

/// Pause between tries.
const RETRY_EVERY: Duration = Duration::from_millis(10);

/// Run `start` (a `Command::spawn`, `output` or `status` of a program that
/// this process wrote) again while it fails with ETXTBSY, for up to 2 s;
/// any other result, or ETXTBSY after 2 s, is returned as it is.
pub fn retry_text_file_busy<T>(mut start: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let started = Instant::now();
    loop {
        match start() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && started.elapsed() < GIVE_UP_AFTER => {
                std::thread::sleep(RETRY_EVERY);
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// The race made deterministic: the copy's write descriptor stays open
    /// (as in a forked child of another test that has not yet exec'd) and
    /// is closed 50 ms later from another thread.
    #[test]
    fn a_copy_still_open_for_writing_runs_once_the_writer_closes_it() {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("target-copy");
        std::fs::copy(crate::target_path(), &copy).unwrap();
        let writer = std::fs::OpenOptions::new().write(true).open(&copy).unwrap();
        let run = || {
            Command::new(&copy)
                .arg("--no-such-option")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
        };

        // What the tests met: a plain spawn fails while the writer is open.
        let err = run().expect_err("exec of a file open for writing");
        assert_eq!(err.raw_os_error(), Some(ETXTBSY), "{err}");

        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(writer);
        });
        let started = Instant::now();
        let out = retry_text_file_busy(run).expect("runs once the writer is closed");
        closer.join().unwrap();
        // It ran the copy (the target's own complaint), after waiting.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("unknown option --no-such-option"),
            "{stderr}"
        );
        assert!(started.elapsed() >= Duration::from_millis(40));
    }

    #[test]
    fn a_writer_that_never_closes_is_reported_after_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("target-copy");
        std::fs::copy(crate::target_path(), &copy).unwrap();
        let _writer = std::fs::OpenOptions::new().write(true).open(&copy).unwrap();
        let started = Instant::now();
        let err = retry_text_file_busy(|| Command::new(&copy).stdin(Stdio::null()).spawn())
            .expect_err("still busy");
        assert_eq!(err.raw_os_error(), Some(ETXTBSY), "{err}");
        assert!(started.elapsed() >= GIVE_UP_AFTER);
    }

    #[test]
    fn other_errors_are_not_retried() {
        let started = Instant::now();
        let err = retry_text_file_busy(|| Command::new("/nonexistent/program").spawn())
            .expect_err("no such file");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(started.elapsed() < GIVE_UP_AFTER);
    }
}
