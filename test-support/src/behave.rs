//! [`Behave`]: the misbehaving process of `helpers/behave.c` (burns CPU,
//! grows memory, spawns threads, opens files, handles SIGUSR1 on request),
//! for `coroner watch`'s tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Path of the compiled `behave` program.
pub fn behave_path() -> &'static Path {
    Path::new(env!("CORONER_TEST_BEHAVE"))
}

/// A running `behave`; killed and reaped on drop.
#[derive(Debug)]
pub struct Behave {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Behave {
    /// Start `behave ARGS` and wait (up to 10 s) for its `READY` line.
    pub fn spawn(args: &[&str]) -> Behave {
        Behave::spawn_with(Command::new(behave_path()).args(args))
    }

    /// Start a prepared command running `behave` (another `argv[0]`, a
    /// `pre_exec`, a copy this process just wrote …) and wait for its
    /// `READY` line.
    pub fn spawn_with(cmd: &mut Command) -> Behave {
        cmd.stdout(Stdio::piped()).stdin(Stdio::null());
        // A copy of behave may still be "Text file busy" for a moment.
        let mut child = crate::retry_text_file_busy(|| cmd.spawn()).expect("spawn behave");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                sink.lock().expect("lines lock").push(line);
            }
        });
        let b = Behave { child, lines };
        assert!(
            b.wait_for_line(|l| l.starts_with("READY"), Duration::from_secs(10)),
            "behave printed no READY line"
        );
        b
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every line printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines lock").clone()
    }

    /// Wait up to `limit` for a printed line that `want` accepts.
    pub fn wait_for_line(&self, want: impl Fn(&str) -> bool, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.lines().iter().any(|l| want(l)) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kill it and collect its exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether it is still running (not exited or reaped).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait for it to exit by itself, up to `limit`; its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Behave {
    fn drop(&mut self) {
        self.kill();
    }
}
