//! Running a program the tests need to succeed.

use std::process::Command;

/// Run `cmd` and require it to succeed (the failure names the command and
/// shows its stderr); its stdout.
pub fn stdout_of(mut cmd: Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
