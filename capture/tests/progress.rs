//! The progress callback of `CaptureOptions::with_progress`, over a live
//! capture in each format: it starts at 0 of the total, only grows, ends
//! with `Finishing` at the total, and is called a bounded number of times
//! (never per page) however large the dump.

use std::sync::{Arc, Mutex};

use coroner_capture::{
    capture_elf, capture_minidump, CaptureOptions, MemoryMode, Phase, Progress, Sink,
};
use coroner_test_support::Target;

/// Options that record every progress report.
fn recording() -> (CaptureOptions, Arc<Mutex<Vec<Progress>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let options = CaptureOptions::default()
        .with_buffer_size(1 << 20)
        .with_progress(move |p| log.lock().unwrap().push(p));
    (options, seen)
}

fn check(seen: &[Progress], memory_read: u64) {
    let first = seen.first().expect("progress was reported");
    let last = seen.last().unwrap();
    let total = first.total;
    assert_eq!((first.phase, first.done), (Phase::Copying, 0), "{seen:?}");
    assert_eq!(
        (last.phase, last.done, last.total),
        (Phase::Finishing, total, total)
    );
    // 64 MiB of written memory at least, so there is something to step through.
    assert!(total >= 64 << 20, "total {total}");
    assert!(memory_read <= total, "read {memory_read} of {total}");
    assert!(seen.iter().all(|p| p.total == total && p.done <= total));
    assert!(seen.windows(2).all(|w| w[0].done <= w[1].done), "{seen:?}");
    // Start, at most one per 256th of the total, the last count, the finish;
    // a call per 4 KiB page would be more than 16,000.
    assert!(seen.len() <= 1 + 256 + 1 + 1, "{} reports", seen.len());
    assert!(seen.len() >= 3, "{seen:?}");
}

#[test]
fn an_elf_capture_reports_a_bounded_progress_up_to_its_total() {
    let target = Target::spawn(&["--threads", "2", "--pattern-mib", "64"]);
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::create(&dir.path().join("core"), false).unwrap();
    let (options, seen) = recording();
    let report = capture_elf(target.pid(), sink, &options).unwrap();
    check(&seen.lock().unwrap(), report.memory_bytes_read);
}

#[test]
fn a_full_minidump_capture_reports_a_bounded_progress_up_to_its_total() {
    let target = Target::spawn(&["--threads", "2", "--pattern-mib", "64"]);
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::create(&dir.path().join("t.dmp"), false).unwrap();
    let (options, seen) = recording();
    let report = capture_minidump(target.pid(), sink, &options, MemoryMode::Full).unwrap();
    check(&seen.lock().unwrap(), report.memory_bytes_read);
}
