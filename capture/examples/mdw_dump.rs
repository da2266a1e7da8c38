//! Bench-only: dump a live process with the `minidump-writer` crate, the
//! reference the minidump benchmark (`bench/capture-vs-minidump-writer.sh`)
//! compares coroner against.
//!
//! ```text
//! cargo run --release -p coroner-capture --example mdw_dump -- PID OUT
//! ```
//! Prints `wall_seconds bytes` on stdout.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(pid), Some(out)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: mdw_dump PID OUT");
        std::process::exit(2);
    };
    let pid: i32 = pid.parse().unwrap_or_else(|e| {
        eprintln!("bad pid {pid:?}: {e}");
        std::process::exit(2)
    });
    let started = Instant::now();
    let mut file = std::fs::File::create(out).unwrap_or_else(|e| {
        eprintln!("create {out}: {e}");
        std::process::exit(1)
    });
    if let Err(e) =
        minidump_writer::minidump_writer::MinidumpWriterConfig::new(pid, pid).write(&mut file)
    {
        eprintln!("minidump-writer: {e}");
        std::process::exit(1);
    }
    if let Err(e) = file.sync_all() {
        eprintln!("fsync {out}: {e}");
        std::process::exit(1);
    }
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    println!("{:.6} {bytes}", started.elapsed().as_secs_f64());
}
