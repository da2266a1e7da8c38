//! The `coroner` command line: exit codes, output safety, filters, the demo.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;

use common::small_tmpfs::SmallTmpfs;
use coroner_test_support::{pattern_word, Target};

/// A small target: 2 workers, 1 MiB pattern, 64 KiB DONTDUMP, no reservation.
const SMALL: [&str; 8] = [
    "--threads",
    "2",
    "--pattern-mib",
    "1",
    "--dontdump-kib",
    "64",
    "--reserve-gib",
    "0",
];

fn coroner(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coroner"));
    c.args(args);
    c
}

fn run(mut c: Command) -> Output {
    c.stdin(Stdio::null()).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn capture_to(target: &Target, path: &Path, extra: &[&str]) -> Output {
    let pid = target.pid().to_string();
    let mut c = coroner(&["capture", &pid, "-o"]);
    c.arg(path).args(extra);
    run(c)
}

/// Each PT_LOAD of `core` as (vaddr, memsz, filesz, offset): where the
/// memory is and how the file lays it out.
fn segment_layout(core: &coroner_core_format::Core<'_>) -> Vec<(u64, u64, u64, u64)> {
    core.segments()
        .map(|s| (s.vaddr(), s.memsz(), s.filesz(), s.offset()))
        .collect()
}

fn filesz_at(core: &[u8], addr: u64) -> u64 {
    let parsed = coroner_core_format::parse(core).unwrap();
    parsed
        .segments()
        .find(|s| s.contains(addr))
        .expect("a PT_LOAD covers the address")
        .filesz()
}

#[test]
fn usage_errors_exit_with_status_2() {
    for args in [
        &["capture"][..],
        &["capture", "not-a-pid"],
        &["capture", "1", "--filter", "zz"],
        &["capture", "1", "--filter", "0x400"],
        &["capture", "1", "--filter", "0x33", "--all"],
        &["capture", "1", "--exclude", "0x2000-0x1000"],
        &["inspect"],
        &["frobnicate"],
    ] {
        let o = run(coroner(args));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    let o = run(coroner(&["--help"]));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn a_vanished_process_fails_with_status_1_a_reason_and_no_file() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = run({
        let mut c = coroner(&["capture", &pid.to_string(), "-o"]);
        c.arg(dir.path().join("core"));
        c
    });
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("gone") || err.contains("exited"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "left files behind"
    );

    let o = run(coroner(&["inspect", "/nonexistent/core"]));
    assert_eq!(o.status.code(), Some(1));
    let o = run({
        let mut c = coroner(&["inspect"]);
        c.arg(env!("CARGO_BIN_EXE_coroner"));
        c
    });
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a core"), "{}", stderr(&o));
}

#[test]
fn existing_files_need_force_and_symlinks_are_refused() {
    let target = Target::spawn(&SMALL);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("core");
    std::fs::write(&dest, b"keep me").unwrap();
    let o = capture_to(&target, &dest, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&dest).unwrap(), b"keep me");

    let o = capture_to(&target, &dest, &["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::metadata(&dest).unwrap();
    assert_eq!(md.mode() & 0o777, 0o600);
    assert!(coroner_core_format::parse(&std::fs::read(&dest).unwrap()).is_ok());

    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    for extra in [&[][..], &["--force"]] {
        let o = capture_to(&target, &link, extra);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    // Only the three files we made: no temporary files left.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}

#[test]
fn stdout_streaming_writes_the_same_core_with_zeros_for_holes() {
    let target = Target::spawn(&SMALL);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.core");
    let o = capture_to(&target, &file, &[]);
    assert!(o.status.success(), "{}", stderr(&o));

    let streamed = dir.path().join("streamed.core");
    let out = std::fs::File::create(&streamed).unwrap();
    let pid = target.pid().to_string();
    let o = coroner(&["capture", &pid, "-o", "-", "--json"])
        .stdout(out)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // With -o -, the JSON summary goes to stderr.
    let json: serde_json::Value = serde_json::from_str(stderr(&o).lines().last().unwrap()).unwrap();
    assert_eq!(json["path"], serde_json::Value::Null);

    let a = std::fs::read(&file).unwrap();
    let b = std::fs::read(&streamed).unwrap();
    assert_eq!(json["bytes_written"], b.len() as u64);
    let (pa, pb) = (
        coroner_core_format::parse(&a).unwrap(),
        coroner_core_format::parse(&b).unwrap(),
    );
    let segs = |c: &coroner_core_format::Core<'_>| {
        c.segments()
            .map(|s| (s.vaddr(), s.memsz(), s.filesz()))
            .collect::<Vec<_>>()
    };
    assert_eq!(segs(&pa), segs(&pb));
    // A stream cannot seek: it is fully allocated, and holds the pattern.
    let blocks = std::fs::metadata(&streamed).unwrap().blocks() * 512;
    assert!(
        blocks >= b.len() as u64 / 2,
        "streamed file looks sparse: {blocks} of {}",
        b.len()
    );
    let pattern = target.ready.u64("pattern");
    let mut word = [0u8; 8];
    pb.read_memory(pattern + 8 * 1000, &mut word).unwrap();
    assert_eq!(u64::from_le_bytes(word), pattern_word(1000));
}

#[test]
fn all_includes_dontdump_loudly_and_exclude_and_filter_leave_memory_out() {
    let target = Target::spawn(&SMALL);
    let dir = tempfile::tempdir().unwrap();
    let ready = &target.ready;
    let (pattern, dontdump) = (ready.u64("pattern"), ready.u64("dontdump"));

    let all = dir.path().join("all");
    let o = capture_to(&target, &all, &["--all"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("WARNING") && stderr(&o).contains("MADV_DONTDUMP"),
        "{}",
        stderr(&o)
    );
    let core = std::fs::read(&all).unwrap();
    assert_eq!(filesz_at(&core, dontdump), ready.u64("dontdump_len"));
    assert!(core.windows(16).any(|w| w == b"DONTDUMPDONTDUMP"));

    let excl = dir.path().join("excl");
    let range = format!("{:#x}-{:#x}", pattern, pattern + 1);
    let o = capture_to(
        &target,
        &excl,
        &["--exclude", &range, "--exclude", "*/libc.so*"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let core = std::fs::read(&excl).unwrap();
    assert_eq!(filesz_at(&core, pattern), 0);
    let parsed = coroner_core_format::parse(&core).unwrap();
    let files = parsed.file_note().unwrap().unwrap();
    let libc: Vec<_> = files
        .entries()
        .map(Result::unwrap)
        .filter(|e| e.path.ends_with(b"libc.so.6"))
        .collect();
    assert!(!libc.is_empty());
    for e in libc {
        assert_eq!(
            filesz_at(&core, e.start),
            0,
            "libc mapping at {:#x} dumped",
            e.start
        );
    }

    let filt = dir.path().join("filter");
    let o = capture_to(&target, &filt, &["--filter", "0x10"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let core = std::fs::read(&filt).unwrap();
    assert_eq!(
        filesz_at(&core, pattern),
        0,
        "anonymous memory with bit 0 clear"
    );
    assert_eq!(filesz_at(&core, dontdump), 0);
}

#[test]
fn demo_captures_inspects_prints_a_gdb_command_and_stops_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = coroner(&["demo", "--dir"]);
    c.arg(dir.path());
    let o = run(c);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let err = stderr(&o);
    let pid: u32 = err
        .split("started sample process ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no sample pid in:\n{err}"));
    let core = dir.path().join(format!("core.{pid}"));
    assert!(core.is_file(), "{out}");
    assert!(
        out.contains("gdb ") && out.contains(&format!("core.{pid}")),
        "{out}"
    );
    assert!(out.contains("threads  5"), "{out}");
    assert!(out.contains("libc.so"), "{out}");
    // The mapping table is left to `coroner inspect`, which the demo names.
    assert!(
        !out.lines()
            .any(|l| l.starts_with("  0x") && l.contains("-0x")),
        "{out}"
    );
    assert!(out.contains("lists every mapping"), "{out}");
    assert!(err.contains("sample still running: yes"), "{err}");
    // The printed gdb command works: every worker parks in its named function.
    if let Some(gdb) = coroner_test_support::oracle("gdb") {
        let o = Command::new(gdb)
            .args(["-batch", "-nx", "-ex", "thread apply all bt"])
            .arg(env!("CARGO_BIN_EXE_coroner"))
            .arg(&core)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        for f in [
            "sample_park_alpha",
            "sample_park_beta",
            "sample_park_gamma",
            "sample_park_delta",
        ] {
            assert!(text.contains(f), "no {f} in gdb backtraces:\n{text}");
        }
    }
    // The sample is gone (reaped by the demo).
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "sample {pid} still exists"
    );
}

/// Invariant 5: coroner's memory is bounded whatever the target's size. With
/// `--direct`, a 4 MiB copy buffer and two 1 MiB direct-I/O buffers; by
/// default, also the write-behind, which `--json` reports, grows only as far
/// as the disk falls behind and is capped (1 GiB, and a share of the room:
/// `output_path`'s unit tests). `--page-cache`, which holds all of the
/// dump's data in memory, is opt-in.
#[test]
fn memory_use_stays_bounded_whatever_the_target_size() {
    let time = Path::new("/usr/bin/time");
    if !time.is_file() {
        eprintln!("SKIP: /usr/bin/time not installed (apt-get install time)");
        return;
    }
    let target = Target::spawn(&[
        "--threads",
        "2",
        "--pattern-mib",
        "512",
        "--zero-mib",
        "256",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let rss_file = dir.path().join("rss");
    let core = dir.path().join("core");
    let capture = |extra: &[&str]| {
        let _ = std::fs::remove_file(&core);
        let o = Command::new(time)
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_file)
            .arg(env!("CARGO_BIN_EXE_coroner"))
            .args(["capture", &target.pid().to_string(), "--json", "-o"])
            .arg(&core)
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let rss_kib: u64 = std::fs::read_to_string(&rss_file)
            .unwrap()
            .trim()
            .lines()
            .last()
            .unwrap()
            .parse()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let allocated = std::fs::metadata(&core).unwrap().blocks() * 512;
        // Zero pages are holes: about the 512 MiB pattern, not 768 MiB.
        assert!(allocated < (512 + 48) << 20, "allocated {allocated}");
        (rss_kib << 10, json["write_behind_bytes"].as_u64().unwrap())
    };
    // Far below the 768 MiB copied.
    let (rss, behind) = capture(&["--direct"]);
    assert_eq!(behind, 0);
    assert!(rss < 16 << 20, "--direct: peak RSS {rss} bytes");
    let (rss, behind) = capture(&[]);
    assert!(behind <= 1 << 30, "write-behind {behind} bytes");
    assert!(
        rss < behind + (16 << 20),
        "default: peak RSS {rss} bytes, write-behind {behind} bytes"
    );
}

#[test]
fn the_targets_own_coredump_filter_decides_unless_overridden() {
    let target = Target::spawn(&SMALL);
    let pattern = target.ready.u64("pattern");
    std::fs::write(format!("/proc/{}/coredump_filter", target.pid()), "0x10").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let own = dir.path().join("own");
    let o = capture_to(&target, &own, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        filesz_at(&std::fs::read(&own).unwrap(), pattern),
        0,
        "filter 0x10 keeps anonymous memory out"
    );
    let over = dir.path().join("override");
    let o = capture_to(&target, &over, &["--filter", "0x33"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The pattern's mapping (possibly merged with a neighbour) is dumped whole.
    assert!(filesz_at(&std::fs::read(&over).unwrap(), pattern) >= target.ready.u64("pattern_len"));
}

/// `--json` says which output path a capture took and why: forced by a
/// flag, or the default (direct, with the write-behind sized on the
/// target and the room).
#[test]
fn output_path_is_chosen_and_reported() {
    let target = Target::spawn(&SMALL);
    let dir = tempfile::tempdir().unwrap();
    let json = |extra: &[&str]| {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let o = capture_to(
            &target,
            &dir.path().join(format!("core{}", extra.join(""))),
            &args,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let forced = json(&["--direct"]);
    assert_eq!(forced["output_path"], "direct");
    let reason = forced["output_path_reason"].as_str().unwrap();
    assert!(reason.starts_with("--direct: no write-behind"), "{reason}");
    assert_eq!(forced["write_behind_bytes"], 0);
    let forced = json(&["--page-cache"]);
    assert_eq!(forced["output_path"], "page-cache");
    assert_eq!(forced["output_path_reason"], "--page-cache");
    let chosen = json(&[]);
    let reason = chosen["output_path_reason"].as_str().unwrap();
    assert_eq!(chosen["output_path"], "direct", "{reason}");
    assert!(reason.starts_with("the default"), "{reason}");
    assert!(
        reason.contains("may wait in memory for the disk") && reason.contains("MiB available"),
        "the reason gives the write-behind and the room it was sized on: {reason}"
    );
    // A small target: less than two 4 MiB buffers of write-behind, none.
    assert_eq!(chosen["write_behind_bytes"], 0, "{chosen}");
    assert!(reason.contains("with no write-behind"), "{reason}");
    let o = capture_to(
        &target,
        &dir.path().join("both"),
        &["--direct", "--page-cache"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn page_cache_output_holds_the_same_core_as_direct_io() {
    let target = Target::spawn(&SMALL);
    let dir = tempfile::tempdir().unwrap();
    let (direct, cached) = (dir.path().join("direct"), dir.path().join("cached"));
    assert!(capture_to(&target, &direct, &["--direct"]).status.success());
    let o = capture_to(&target, &cached, &["--page-cache"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = [&direct, &cached].map(|p| std::fs::read(p).unwrap());
    let [pa, pb] = bytes
        .each_ref()
        .map(|b| coroner_core_format::parse(b).unwrap());
    assert_eq!(segment_layout(&pa), segment_layout(&pb));
    let pattern = target.ready.u64("pattern");
    for core in [&pa, &pb] {
        let mut word = [0u8; 8];
        core.read_memory(pattern + 8 * 77, &mut word).unwrap();
        assert_eq!(u64::from_le_bytes(word), pattern_word(77));
    }
    assert_eq!(std::fs::metadata(&cached).unwrap().mode() & 0o777, 0o600);
}

/// The write-behind (what the disk has not written yet held in memory,
/// written after the thaw) gives the same core as `--direct`: the
/// same segments, the pattern word for word, the zero pages as holes.
#[test]
fn write_behind_holds_the_same_core_as_direct_io() {
    let target = Target::spawn(&[
        "--threads",
        "2",
        "--pattern-mib",
        "40",
        "--zero-mib",
        "8",
        "--reserve-gib",
        "0",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (direct, behind) = (dir.path().join("direct"), dir.path().join("behind"));
    // Without the pre-copy, which makes nothing ahead (it writes after the
    // thaw).
    let o = capture_to(&target, &behind, &["--json", "--no-pre-copy"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ring = json["write_behind_bytes"].as_u64().unwrap();
    assert!(ring >= 40 << 20, "write-behind for a 40 MiB target: {json}");
    // Part of it made before the freeze, sized on a sample of the target.
    let reason = json["output_path_reason"].as_str().unwrap();
    assert!(
        reason.contains("MiB of it made before the freeze")
            && reason.contains("sampled resident pages hold data"),
        "{reason}"
    );
    assert!(capture_to(&target, &direct, &["--direct"]).status.success());
    let bytes = [&direct, &behind].map(|p| std::fs::read(p).unwrap());
    let [pa, pb] = bytes
        .each_ref()
        .map(|b| coroner_core_format::parse(b).unwrap());
    assert_eq!(segment_layout(&pa), segment_layout(&pb));
    let pattern = target.ready.u64("pattern");
    let zero = target.ready.u64("zero");
    let read = |core: &coroner_core_format::Core<'_>, addr: u64, len: usize| {
        let mut v = vec![0xffu8; len];
        core.read_memory(addr, &mut v).unwrap();
        v
    };
    let pattern_a = read(&pa, pattern, 40 << 20);
    assert!(
        pattern_a == read(&pb, pattern, 40 << 20),
        "pattern bytes differ"
    );
    for (i, word) in pattern_a.chunks_exact(8).enumerate() {
        assert_eq!(
            u64::from_le_bytes(word.try_into().unwrap()),
            pattern_word(i as u64),
            "word {i}"
        );
    }
    for core in [&pa, &pb] {
        assert!(read(core, zero, 8 << 20).iter().all(|&x| x == 0));
    }
    // Zero pages are holes either way: the same disk blocks, give or take
    // the last partial block.
    let blocks = |p: &Path| std::fs::metadata(p).unwrap().blocks();
    assert!(
        blocks(&behind).abs_diff(blocks(&direct)) <= 64,
        "{} vs {}",
        blocks(&behind),
        blocks(&direct)
    );
    assert!(blocks(&behind) * 512 < 48 << 20, "zero pages were written");
}

#[test]
fn a_full_disk_is_named_with_its_fix_and_leaves_nothing_behind() {
    let fs = match SmallTmpfs::mount("256k") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("SKIP: cannot mount a small tmpfs to fill ({why}); needs root");
            return;
        }
    };
    let mut target = Target::spawn(&["--threads", "2", "--pattern-mib", "2", "--reserve-gib", "0"]);
    for extra in [&[][..], &["--format", "minidump", "--memory", "full"][..]] {
        let o = capture_to(&target, &fs.path().join("out"), extra);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("No space left on device"), "{err}");
        assert!(err.contains("write elsewhere with -o"), "{err}");
        let left: Vec<_> = std::fs::read_dir(fs.path()).unwrap().collect();
        assert!(left.is_empty(), "{extra:?} left {left:?}");
        assert!(target.is_running());
        assert!(!matches!(target.state(), 't' | 'T'), "{}", target.state());
    }
}
