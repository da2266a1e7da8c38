//! Writing to stdout and stderr the way a command-line tool should: a
//! reader that goes away (`| head -1`) ends the command quietly instead of a
//! panic, and a dump is never sent to a terminal or silently discarded.

use std::io::{self, IsTerminal, Write};

use crate::failure::Failure;

/// Write `text` to stdout and flush it. A closed pipe is
/// [`Failure::StdoutClosed`]; any other error is reported.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => Failure::StdoutClosed,
            _ => Failure::Message(format!("writing to stdout: {e}")),
        })
}

/// Write one line to stderr, ignoring errors: there is nowhere left to
/// report a failure to write a message about something else.
pub fn note(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Stdout, checked to be a fit destination for a dump (`-o -`, `convert IN
/// -`): not a terminal, and not the null device.
///
/// When a program starts with stdout closed (`coroner capture PID -o - >&-`),
/// Rust's runtime opens /dev/null in its place, so a dump written there
/// would vanish while the command reports success. That case cannot be told
/// apart from an explicit `> /dev/null` once the program runs, and both
/// discard the dump: refuse both.
pub fn dump_stdout() -> Result<io::Stdout, Failure> {
    let stdout = io::stdout();
    if stdout.is_terminal() {
        return Err(
            "refusing to write a dump to a terminal: redirect stdout to a file or a pipe".into(),
        );
    }
    if is_null_device(&stdout) {
        return Err(
            "stdout is closed or /dev/null, so the dump would be discarded: \
                    redirect stdout to a file or a pipe"
                .into(),
        );
    }
    Ok(stdout)
}

/// Whether `stdout` is the null device (which is also what a closed stdout
/// becomes).
#[cfg(unix)]
fn is_null_device(stdout: &io::Stdout) -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(fd) = stdout.as_fd().try_clone_to_owned() else {
        return false;
    };
    let (Ok(ours), Ok(null)) = (
        std::fs::File::from(fd).metadata(),
        std::fs::metadata("/dev/null"),
    ) else {
        return false;
    };
    ours.file_type().is_char_device() && ours.rdev() == null.rdev()
}

#[cfg(not(unix))]
fn is_null_device(_stdout: &io::Stdout) -> bool {
    false
}
