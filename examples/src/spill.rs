//! `-o -` into a pipe: spill first, so a slow reader does not keep the
//! target stopped.
//!
//! Streamed straight into a pipe, the dump can go no faster than the reader
//! takes it, and the target stays frozen all that time: measured for 2 GiB,
//! 11.8 s frozen into a 200 MB/s reader and 12.5 s into `zstd -1`, against
//! 4.4 s to a file on the same (busy) machine; spilled, 4.5 s and 4.8 s. So when stdout is a pipe or a
//! socket the dump goes first to an unnamed file (`O_TMPFILE`, nothing
//! remains however coroner stops) in `--spill DIR` or the temporary
//! directory; the target is resumed as soon as its memory is there, and the
//! file is copied to stdout afterwards. That needs free space for the
//! dump's data: without enough (estimated from the target's resident and
//! swapped memory), or where the directory has no `O_TMPFILE`, coroner
//! warns and streams directly. `--no-spill` streams directly on purpose
//! (no disk use; the target waits for the reader); a regular file on stdout
//! is written directly too, as it is no slower than the spill would be.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use coroner_capture::MemoryMode;
use coroner_capture::{free_space, Sink};

use crate::{CaptureArgs, Format};

/// Room kept free beyond the estimate, for the file system's own use and
/// the estimate's error.
const MARGIN: u64 = 64 << 20;

/// The sink for `-o -`, and the directory of its spill file when there is one.
pub fn stdout_sink(args: &CaptureArgs) -> Result<(Sink, Option<PathBuf>), String> {
    let stdout = std::io::stdout();
    let direct = |why: Option<String>| {
        if let Some(why) = why {
            eprintln!(
                "coroner: warning: {why}; streaming directly, so process {} stays stopped until the \
                 reader has taken the whole dump",
                args.pid
            );
        }
        Ok((Sink::stream(std::io::stdout().lock()), None))
    };
    let chosen = args.spill.is_some();
    if args.no_spill || (!chosen && !is_pipe_or_socket(&stdout)) {
        return direct(None);
    }
    let dir = args.spill.clone().unwrap_or_else(std::env::temp_dir);
    // An explicit --spill DIR that cannot be used is an error; the default
    // directory falls back to streaming with a warning.
    let refuse = |why: String| {
        if chosen {
            Err(format!(
                "{why}; choose another --spill DIR or pass --no-spill"
            ))
        } else {
            direct(Some(why))
        }
    };
    let needed = estimate(args).saturating_add(MARGIN);
    match free_space(&dir) {
        Ok(free) if free >= needed => {}
        Ok(free) => {
            return refuse(format!(
                "{} has {} MiB free, the dump may need {} MiB to spill",
                dir.display(),
                free >> 20,
                needed >> 20
            ))
        }
        Err(e) => return refuse(format!("cannot spill into {}: {e}", dir.display())),
    }
    // Direct I/O even under --page-cache: a 2 GiB spill through the page
    // cache kept the target frozen 12.8 s against 4.5 s (dirty-page
    // throttling), and the file is read back once, right away.
    match Sink::spill(stdout.lock(), &dir, true) {
        Ok(sink) => Ok((sink, Some(dir))),
        Err(e) => refuse(crate::error_text::describe(
            &e,
            crate::error_text::Output::Stream,
        )),
    }
}

fn is_pipe_or_socket(stdout: &std::io::Stdout) -> bool {
    let Ok(fd) = stdout.as_fd().try_clone_to_owned() else {
        return false;
    };
    File::from(fd)
        .metadata()
        .is_ok_and(|md| md.file_type().is_fifo() || md.file_type().is_socket())
}

/// Bytes of data the dump may hold: the target's resident plus swapped
/// memory (an ELF core or a full minidump holds at most about that, holes
/// take no space); a stacks-only minidump needs little.
fn estimate(args: &CaptureArgs) -> u64 {
    if args.format == Format::Minidump && args.memory.unwrap_or_default() == MemoryMode::Stacks {
        return 0;
    }
    let status = Path::new("/proc").join(args.pid.to_string()).join("status");
    let Ok(text) = std::fs::read_to_string(status) else {
        return 0;
    };
    kib_field(&text, "VmRSS:")
        .saturating_add(kib_field(&text, "VmSwap:"))
        .saturating_mul(1024)
}

/// The value of a `NAME:   123 kB` line of /proc/PID/status, 0 if absent.
fn kib_field(status: &str, name: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_in_kib() {
        let status = "Name:\tx\nVmRSS:\t  2048 kB\nVmSwap:\t     16 kB\n";
        assert_eq!(kib_field(status, "VmRSS:"), 2048);
        assert_eq!(kib_field(status, "VmSwap:"), 16);
        assert_eq!(kib_field(status, "VmPTE:"), 0);
    }
}
