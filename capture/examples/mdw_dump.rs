//! Bench-only: dump a live process with the `minidump-writer` crate, the
//! reference the minidump benchmark (`bench/capture-vs-minidump-writer.sh`)
//! compares coroner against.
//!
//! ```text
//! cargo run --release -p coroner-capture --example mdw_dump -- PID OUT [--atomic]
//! ```
//! Writes OUT and fsyncs it. With `--atomic` it publishes the file the way
//! coroner's sink does (temporary file beside OUT, mode 0600, fsync, rename,
//! fsync of the directory), for an like-for-like comparison.
//! Prints `wall_seconds bytes` on stdout.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("mdw_dump: {what}: {e}");
    std::process::exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(pid), Some(out)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: mdw_dump PID OUT [--atomic]");
        std::process::exit(2);
    };
    let atomic = args.get(3).is_some_and(|a| a == "--atomic");
    let pid: i32 = pid.parse().unwrap_or_else(|e| fail("bad pid", e));
    let started = Instant::now();
    let out = Path::new(out);
    let path: PathBuf = if atomic {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.with_file_name(format!(".{name}.mdw-{}.tmp", std::process::id()))
    } else {
        out.to_owned()
    };
    let mut file: File = OpenOptions::new()
        .write(true)
        .create_new(atomic)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .unwrap_or_else(|e| fail("create", e));
    minidump_writer::minidump_writer::MinidumpWriterConfig::new(pid, pid)
        .write(&mut file)
        .unwrap_or_else(|e| fail("minidump-writer", e));
    file.sync_all().unwrap_or_else(|e| fail("fsync", e));
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    drop(file);
    if atomic {
        std::fs::rename(&path, out).unwrap_or_else(|e| fail("rename", e));
        let dir = match out.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .unwrap_or_else(|e| fail("fsync directory", e));
    }
    println!("{:.6} {bytes}", started.elapsed().as_secs_f64());
}
