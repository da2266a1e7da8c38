//! Soak: many captures in a row of a busy multi-threaded target, in both
//! formats, with the capturer's memory (VmRSS) and file descriptors flat and
//! the target's own results correct throughout (its threads checksum a
//! region and sleep 1 ms in a loop, counting any wrong sum or interrupted
//! sleep). Ignored by default (about two minutes); run it with
//!
//! ```text
//! nice -n 19 cargo test -p coroner-capture --test soak -- --ignored --nocapture
//! ```
//!
//! `COR_SOAK_CAPTURES` sets the captures per format (default 1,000).
//!
//! The captures take turns on the output paths the CLI chooses from: a
//! plain file (`--direct`), a write-behind ring with its memory made
//! before the freeze (`--no-pre-copy`), memory staging (`--page-cache`),
//! and a write-behind ring with a pre-copy (the default for ELF cores), so
//! memory or a file a path keeps from one dump to the next shows as growth.

use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use coroner_capture::Sink;
use coroner_capture::{capture_elf, CaptureOptions};
use coroner_capture::{capture_minidump, MemoryMode};
use coroner_test_support::{proc_state, Target};

fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The target's (busy_rounds, busy_errors).
fn target_counters(target: &Target) -> (u64, u64) {
    let mem = std::fs::File::open(format!("/proc/{}/mem", target.pid())).unwrap();
    let word = |addr: u64| {
        let mut b = [0u8; 8];
        mem.read_exact_at(&mut b, addr).unwrap();
        u64::from_ne_bytes(b)
    };
    (
        word(target.ready.u64("busy_rounds")),
        word(target.ready.u64("busy_errors")),
    )
}

#[test]
#[ignore = "soak: about two minutes; run with --ignored"]
fn a_thousand_captures_in_each_format_keep_memory_and_fds_flat_and_the_target_right() {
    let per_format: usize = std::env::var("COR_SOAK_CAPTURES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let target = Target::spawn(&[
        "--threads",
        "4",
        "--busy",
        "4",
        "--pattern-mib",
        "4",
        "--reserve-gib",
        "0",
    ]);
    let pid = target.pid();
    let dir = tempfile::tempdir().unwrap();
    let options = CaptureOptions::default();
    let pre_copy = CaptureOptions::default().with_pre_copy(true);
    let capture = |i: usize| {
        let elf = i % 2 == 0;
        let path = dir.path().join(if elf { "core" } else { "t.dmp" });
        let _ = std::fs::remove_file(&path);
        let mut sink = Sink::create(&path, false).unwrap();
        // Formats alternate on even and odd captures, paths every two.
        let path_kind = (i / 2) % 4;
        match path_kind {
            0 => {}
            1 | 3 => {
                let ring = sink.write_behind_made_ahead(32 << 20, 16 << 20).unwrap();
                assert_eq!(
                    ring,
                    32 << 20,
                    "no write-behind ring: TMPDIR must be on a file system that takes O_DIRECT (not tmpfs)"
                );
            }
            _ => sink.stage_in_memory(16 << 20).unwrap(),
        }
        let report = if elf {
            capture_elf(pid, sink, if path_kind == 3 { &pre_copy } else { &options })
        } else {
            capture_minidump(pid, sink, &options, MemoryMode::Stacks)
        }
        .unwrap_or_else(|e| panic!("capture {i}: {e}"));
        assert_eq!(report.threads, 9, "capture {i}");
        if elf && path_kind == 3 {
            assert!(report.pre_copy.used, "capture {i}: {:?}", report.pre_copy);
        }
        report.frozen
    };
    // Warm up (allocator arenas, lazily opened files) before the baseline.
    let warmup = 20;
    for i in 0..warmup {
        capture(i);
    }
    let (rss_before, fds_before) = (vm_rss_kib(), open_fds());
    let (rounds_before, errors_before) = target_counters(&target);
    assert_eq!(errors_before, 0);
    let started = Instant::now();
    let (mut rss_max, mut frozen_max, mut frozen_sum) =
        (rss_before, Duration::ZERO, Duration::ZERO);
    let total = 2 * per_format;
    for i in 0..total {
        let frozen = capture(warmup + i);
        frozen_max = frozen_max.max(frozen);
        frozen_sum += frozen;
        if i % 100 == 99 {
            let rss = vm_rss_kib();
            rss_max = rss_max.max(rss);
            let (rounds, errors) = target_counters(&target);
            assert_eq!(errors, 0, "after {} captures", i + 1);
            assert!(rounds > rounds_before, "the target's threads run on");
            assert_eq!(open_fds(), fds_before, "fds after {} captures", i + 1);
        }
    }
    let elapsed = started.elapsed();
    let (rss_after, fds_after) = (vm_rss_kib(), open_fds());
    let (rounds_after, errors_after) = target_counters(&target);
    eprintln!(
        "soak: {total} captures ({per_format} ELF + {per_format} minidump) in {elapsed:?}; \
         capturer VmRSS {rss_before} kB -> {rss_after} kB (max {rss_max} kB); \
         fds {fds_before} -> {fds_after}; target frozen max {frozen_max:?}, mean {:?}; \
         target rounds {rounds_before} -> {rounds_after}, errors {errors_after}",
        frozen_sum / u32::try_from(total).unwrap()
    );
    assert_eq!(fds_after, fds_before);
    assert!(
        rss_max <= rss_before + 8 * 1024,
        "VmRSS grew from {rss_before} kB to {rss_max} kB"
    );
    assert_eq!(
        errors_after, 0,
        "wrong sums or interrupted sleeps in the target"
    );
    assert!(rounds_after > rounds_before);
    assert!(matches!(proc_state(pid), Some('S' | 'R')));
}
