//! `WriteTracker`: the pages a running process writes after they were
//! protected are reported, those it leaves alone are not, and the process
//! is left with the files and mappings it had.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::time::Duration;

use coroner_proc_reader::{Process, WriteTracker};
use coroner_test_support::SnapshotTarget;

/// Open files and each mapping's flags, as text.
fn files_and_flags(pid: u32) -> (usize, String) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let flags = smaps
        .lines()
        .filter(|l| l.starts_with("VmFlags") || l.contains('-') && !l.contains(':'))
        .collect::<Vec<_>>()
        .join("\n");
    (fds, flags)
}

#[test]
fn written_pages_are_reported_and_the_process_is_left_as_it_was() {
    // 8 MiB swept page by page over and over; 8 MiB of heap written once,
    // before READY.
    let target = SnapshotTarget::spawn(&["--sweep-mib", "8", "--heap-mib", "8"]);
    let (sweep, heap) = (target.ready.u64("sweep"), target.ready.u64("heap"));
    let len = 8u64 << 20;
    let process = Process::open(target.pid()).unwrap();
    let before = files_and_flags(target.pid());
    let plan = WriteTracker::plan(&process).unwrap().unwrap();
    let frozen = process.freeze().unwrap();
    let mut tracker = frozen.track_writes(&plan).unwrap().unwrap();
    frozen.thaw().unwrap();
    // The userfaultfd made in the process was closed there again.
    assert_eq!(files_and_flags(target.pid()).0, before.0);

    let mappings = process.mappings().unwrap();
    let whole = |addr: u64| {
        let m = mappings.iter().find(|m| m.contains(addr)).unwrap();
        m.start..m.end
    };
    let (sweep_map, heap_map) = (whole(sweep), whole(heap));
    tracker.register(sweep_map.clone()).unwrap();
    tracker.register(heap_map.clone()).unwrap();
    let mut protected = Vec::new();
    tracker.protect(sweep_map.clone(), &mut protected).unwrap();
    tracker.protect(heap_map.clone(), &mut protected).unwrap();
    let covers = |ranges: &[std::ops::Range<u64>], a: u64, b: u64| {
        ranges.iter().any(|r| r.start <= a && b <= r.end)
    };
    assert!(covers(&protected, sweep, sweep + len), "{protected:x?}");
    assert!(covers(&protected, heap, heap + len), "{protected:x?}");
    // A sweep of 8 MiB takes about 50 ms: every page is rewritten.
    std::thread::sleep(Duration::from_millis(500));
    let mut written = Vec::new();
    tracker.written(sweep..sweep + len, &mut written).unwrap();
    assert_eq!(written, vec![sweep..sweep + len]);
    written.clear();
    tracker.written(heap..heap + len, &mut written).unwrap();
    assert_eq!(written, vec![], "the heap was not written");
    // Frame numbers (root here): present pages have one.
    let frames = tracker
        .frames(heap_map.start..heap_map.start + 4096 * 4)
        .unwrap();
    assert!(frames.iter().all(|&f| f != 0), "{frames:?}");
    drop(tracker);
    assert_eq!(files_and_flags(target.pid()), before);
    let (out, status) = target.finish();
    assert!(status.success(), "{out:?}");
}
