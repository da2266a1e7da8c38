//! The sink's tests: atomic appearance, mode 0600, symlinks, sparse
//! holes, spills, staging and direct I/O.

use super::*;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;

/// A scratch directory removed when the returned guard drops, also when
/// the test fails (a panic unwinds through the guard).
fn tmpdir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("coroner-sink-{name}-"))
        .tempdir()
        .unwrap()
}

/// The suite used to leave a `coroner-sink-*` directory per test in
/// /tmp (one with a 2 GiB sparse file); a failing test must not either.
#[test]
fn scratch_directories_are_removed_even_when_a_test_fails() {
    let mut seen = None;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let scratch = tmpdir("panics");
        seen = Some(scratch.path().to_owned());
        std::fs::write(scratch.path().join("core"), b"x").unwrap();
        panic!("a failing test");
    }));
    assert!(outcome.is_err());
    let seen = seen.unwrap();
    assert!(!seen.exists(), "{} left behind", seen.display());
}

/// Both kinds of temporary file: unnamed (`O_TMPFILE`) and the hidden
/// name used where the file system has no `O_TMPFILE`.
const KINDS: [bool; 2] = [true, false];

/// Whether `s` writes its file with direct I/O (not on tmpfs, for one).
fn has_direct_io(s: &Sink) -> bool {
    matches!(&s.out, Out::File(fo) if fo.temp.direct.is_some())
}

fn create(dest: &Path, force: bool, unnamed: bool) -> Sink {
    Sink::create_with(dest, force, true, unnamed).unwrap()
}

fn entries(d: &Path) -> Vec<String> {
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn file_appears_only_on_finish_with_mode_0600() {
    for unnamed in KINDS {
        let scratch = tmpdir("atomic");
        let d = scratch.path();
        let dest = d.join("core.1");
        let mut s = create(&dest, false, unnamed);
        s.write_all(b"hello").unwrap();
        assert!(!dest.exists());
        let report = s.finish().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
        assert_eq!(std::fs::metadata(&dest).unwrap().mode() & 0o777, 0o600);
        assert_eq!(report.bytes_written, 5);
        assert_eq!(
            entries(d),
            ["core.1"],
            "unnamed {unnamed}: no temporary file left"
        );
    }
}

/// With O_TMPFILE the data has no name until it is complete, so a
/// SIGKILLed capture cannot leave anything behind.
#[test]
fn an_unnamed_file_is_invisible_until_finish() {
    let scratch = tmpdir("unnamed");
    let d = scratch.path();
    let dest = d.join("core");
    let mut s = Sink::create(&dest, false).unwrap();
    s.write_all(&[5; 3 << 20]).unwrap();
    s.hole(1 << 20).unwrap();
    s.write_all(b"end").unwrap();
    assert!(entries(d).is_empty(), "{:?}", entries(d));
    s.finish().unwrap();
    assert_eq!(entries(d), ["core"]);
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), (4 << 20) + 3);
}

#[test]
fn dropping_without_finish_leaves_nothing() {
    for unnamed in KINDS {
        let scratch = tmpdir("drop");
        let d = scratch.path();
        let dest = d.join("core.2");
        let mut s = create(&dest, false, unnamed);
        s.write_all(&[1; 4096]).unwrap();
        drop(s);
        assert!(entries(d).is_empty(), "unnamed {unnamed}: {:?}", entries(d));
    }
}

/// A set stop flag fails the next write and `finish` with `Stopped`,
/// and the partial file goes with the sink.
#[test]
fn a_stop_flag_fails_writes_and_finish_and_leaves_nothing() {
    for unnamed in KINDS {
        let scratch = tmpdir("stop");
        let d = scratch.path();
        let flag = Arc::new(AtomicUsize::new(0));
        let mut s = create(&d.join("core"), false, unnamed).stop_when(flag.clone());
        s.write_all(&[3; 8192]).unwrap();
        flag.store(15, Ordering::Relaxed);
        assert_eq!(s.stopped(), Some(15));
        let e = s.write_all(b"more").unwrap_err();
        let inner = e.get_ref().and_then(|i| i.downcast_ref::<SinkError>());
        assert!(
            matches!(inner, Some(SinkError::Stopped { code: 15 })),
            "{e}"
        );
        assert!(s.hole(4096).is_err());
        assert!(matches!(s.finish(), Err(SinkError::Stopped { code: 15 })));
        assert!(entries(d).is_empty(), "unnamed {unnamed}: {:?}", entries(d));
    }
}

#[test]
fn existing_file_needs_force() {
    for unnamed in KINDS {
        let scratch = tmpdir("force");
        let d = scratch.path();
        let dest = d.join("core.3");
        std::fs::write(&dest, b"old").unwrap();
        let e = Sink::create_with(&dest, false, true, unnamed).unwrap_err();
        assert!(matches!(e, SinkError::Exists { .. }), "{e}");
        assert!(e.to_string().contains("already exists"), "{e}");
        let mut s = create(&dest, true, unnamed);
        s.write_all(b"new").unwrap();
        s.finish().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&dest).unwrap().mode() & 0o777, 0o600);
        assert_eq!(entries(d), ["core.3"], "unnamed {unnamed}");
    }
}

#[test]
fn a_file_created_meanwhile_is_not_replaced() {
    for unnamed in KINDS {
        let scratch = tmpdir("race");
        let d = scratch.path();
        let dest = d.join("core.4");
        let mut s = create(&dest, false, unnamed);
        s.write_all(b"ours").unwrap();
        std::fs::write(&dest, b"theirs").unwrap();
        assert!(matches!(s.finish(), Err(SinkError::Exists { .. })));
        assert_eq!(std::fs::read(&dest).unwrap(), b"theirs");
        assert_eq!(entries(d), ["core.4"], "unnamed {unnamed}");
    }
}

#[test]
fn symlinks_are_never_followed_even_with_force() {
    for unnamed in KINDS {
        let scratch = tmpdir("symlink");
        let d = scratch.path();
        let victim = d.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let dest = d.join("core.5");
        std::os::unix::fs::symlink(&victim, &dest).unwrap();
        for force in [false, true] {
            let e = Sink::create_with(&dest, force, true, unnamed).unwrap_err();
            assert!(matches!(e, SinkError::Symlink { .. }), "{e}");
        }
        // A symlink planted after creation is refused at finish, too.
        for force in [false, true] {
            let dest2 = d.join(format!("core.6-{force}"));
            let mut s = create(&dest2, force, unnamed);
            s.write_all(b"x").unwrap();
            std::os::unix::fs::symlink(&victim, &dest2).unwrap();
            assert!(matches!(s.finish(), Err(SinkError::Symlink { .. })));
        }
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        let mut left = entries(d);
        left.sort();
        assert_eq!(left, ["core.5", "core.6-false", "core.6-true", "victim"]);
    }
}

/// A spilled stream sees nothing until `finish`, then the whole dump
/// with holes as zeros; the spill file never has a name.
#[test]
fn a_spilled_stream_is_written_by_finish_and_leaves_no_file() {
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    for direct in [true, false] {
        let scratch = tmpdir("spill");
        let d = scratch.path();
        let buf = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut s = Sink::spill(Shared(buf.clone()), d, direct).unwrap();
        assert!(s.is_sparse());
        s.write_all(&[4; 5000]).unwrap();
        s.hole(3 << 20).unwrap();
        s.write_all(b"tail").unwrap();
        assert!(buf.borrow().is_empty());
        assert!(entries(d).is_empty());
        let r = s.finish().unwrap();
        assert_eq!(r.path, None);
        assert_eq!(r.bytes_written, 5004 + (3 << 20));
        let v = buf.borrow();
        assert_eq!(v.len() as u64, r.bytes_written);
        assert!(v[..5000].iter().all(|&b| b == 4));
        assert!(v[5000..5000 + (3 << 20)].iter().all(|&b| b == 0));
        assert_eq!(&v[5000 + (3 << 20)..], b"tail");
        assert!(entries(d).is_empty());
    }
}

/// Invariant 7 with an unnamed file: a full disk fails the write with
/// ENOSPC, and dropping the sink (what a failed capture does) gives all
/// the space back at once, leaving no name behind.
#[test]
fn a_full_disk_fails_the_write_and_the_space_comes_back_on_drop() {
    struct Mounted(PathBuf);
    impl Drop for Mounted {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let scratch = tmpdir("full");
    let d = scratch.path();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(d)
        .output()
        .unwrap();
    if !mounted.status.success() {
        eprintln!(
            "SKIP: cannot mount a small tmpfs to fill ({}); needs root",
            String::from_utf8_lossy(&mounted.stderr).trim()
        );
        return;
    }
    let _mounted = Mounted(d.to_owned());
    for unnamed in KINDS {
        let before = free_space(d).unwrap();
        let mut s = create(&d.join("core"), false, unnamed);
        let chunk = [0x5a_u8; 64 << 10];
        let err = loop {
            if let Err(e) = s.write_all(&chunk) {
                break e;
            }
            assert!(s.position() < 4 << 20, "1 MiB file system never filled");
        };
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
        assert!(free_space(d).unwrap() < before);
        drop(s);
        assert!(entries(d).is_empty(), "unnamed {unnamed}: {:?}", entries(d));
        assert_eq!(free_space(d).unwrap(), before, "unnamed {unnamed}");
    }
}

#[test]
fn free_space_is_reported() {
    let scratch = tmpdir("free");
    assert!(free_space(scratch.path()).unwrap() > 0);
}

#[test]
fn holes_are_sparse_in_files_and_zeros_in_streams() {
    let scratch = tmpdir("sparse");
    let d = scratch.path();
    let dest = d.join("core.7");
    let mut s = Sink::create(&dest, false).unwrap();
    s.write_all(&[7; 4096]).unwrap();
    s.hole(64 << 20).unwrap();
    s.write_all(&[9; 4096]).unwrap();
    s.hole(1 << 20).unwrap();
    let r = s.finish().unwrap();
    let md = std::fs::metadata(&dest).unwrap();
    assert_eq!(md.len(), 8192 + (65 << 20));
    assert_eq!(r.bytes_written, md.len());
    assert!(
        r.bytes_allocated < 1 << 20,
        "allocated {}",
        r.bytes_allocated
    );
    let mut f = File::open(&dest).unwrap();
    let mut b = [0u8; 1];
    f.seek(SeekFrom::Start(4096 + (64 << 20))).unwrap();
    f.read_exact(&mut b).unwrap();
    assert_eq!(b[0], 9);

    let buf = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut s = Sink::stream(Shared(buf.clone()));
    s.write_all(b"ab").unwrap();
    s.hole(100_000).unwrap();
    s.write_all(b"cd").unwrap();
    assert_eq!(s.finish().unwrap().bytes_written, 100_004);
    let v = buf.borrow();
    assert_eq!(v.len(), 100_004);
    assert!(v[2..100_002].iter().all(|&b| b == 0));
    assert_eq!(&v[100_002..], b"cd");
}

/// Writes and holes of every size and alignment give the same file with
/// direct I/O, through the page cache, and in memory.
#[test]
fn direct_and_buffered_files_hold_exactly_the_stream() {
    let scratch = tmpdir("direct");
    let d = scratch.path();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    for round in 0..12 {
        let mut ops = Vec::new();
        for _ in 0..40 {
            let big = next(4) == 0;
            let len = if big { next(3 << 20) } else { next(10_000) } as usize;
            if next(3) == 0 {
                ops.push((false, len, 0u8));
            } else {
                ops.push((true, len, 1 + next(250) as u8));
            }
        }
        let mut expect = Vec::new();
        for &(data, len, byte) in &ops {
            expect.extend(std::iter::repeat(if data { byte } else { 0 }).take(len));
        }
        // Direct with the default ring, direct with a write-behind ring
        // of four 4 MiB buffers, and the page cache.
        for (direct, behind) in [(true, false), (true, true), (false, false)] {
            let dest = d.join(format!("r{round}-{direct}-{behind}"));
            let mut s = if direct {
                Sink::create(&dest, false)
            } else {
                Sink::create_buffered(&dest, false)
            }
            .unwrap();
            if behind {
                // Every other round, most of the ring made before the writes.
                let ahead = if round % 2 == 0 { 0 } else { 12 << 20 };
                let ring = s.write_behind_made_ahead((16 << 20) + 5, ahead).unwrap();
                assert_eq!(ring, if has_direct_io(&s) { 16 << 20 } else { 0 });
            }
            for &(data, len, byte) in &ops {
                if data {
                    s.write_all(&vec![byte; len]).unwrap();
                } else {
                    s.hole(len as u64).unwrap();
                }
            }
            let r = s.finish().unwrap();
            assert_eq!(r.bytes_written, expect.len() as u64);
            let got = std::fs::read(&dest).unwrap();
            assert!(
                got == expect,
                "round {round}, direct {direct}, write-behind {behind}: contents differ (len {} vs {})",
                got.len(),
                expect.len()
            );
            std::fs::remove_file(&dest).unwrap();
        }
    }
}

#[test]
fn direct_output_stays_sparse() {
    let scratch = tmpdir("direct-sparse");
    let d = scratch.path();
    let dest = d.join("core");
    let mut s = Sink::create(&dest, false).unwrap();
    s.write_all(&[1; 100]).unwrap();
    s.hole((1 << 30) - 100).unwrap();
    s.write_all(&[2; 8192]).unwrap();
    s.hole(1 << 30).unwrap();
    let r = s.finish().unwrap();
    assert_eq!(r.bytes_written, (2 << 30) + 8192);
    assert!(
        r.bytes_allocated <= 64 << 10,
        "allocated {}",
        r.bytes_allocated
    );
}

/// A dump staged in memory (the page-cache output path) is the same
/// file, as sparse, as one written directly, and only reaches the disk
/// in `finish`.
#[test]
fn staged_output_is_the_same_file_written_in_finish() {
    let scratch = tmpdir("staged");
    let d = scratch.path();
    let stream = |s: &mut Sink| {
        s.write_all(&[1; 100]).unwrap();
        s.hole((64 << 20) - 100).unwrap();
        for i in 0..300u32 {
            s.write_all(&[u8::try_from(i % 250).unwrap() + 1; 12345])
                .unwrap();
        }
        s.hole(5000).unwrap();
        s.write_all(&[2; 8192]).unwrap();
        s.hole(1 << 20).unwrap();
    };
    let mut direct = Sink::create(&d.join("direct"), false).unwrap();
    stream(&mut direct);
    let direct = direct.finish().unwrap();
    for buffered in [false, true] {
        let dest = d.join(format!("staged-{buffered}"));
        let mut staged = if buffered {
            Sink::create_buffered(&dest, false)
        } else {
            Sink::create(&dest, false)
        }
        .unwrap();
        staged.stage_in_memory(8 << 20).unwrap();
        assert_eq!(
            staged.staged_reserve(),
            Some(64 << 20),
            "whole 64 MiB chunks"
        );
        stream(&mut staged);
        let Out::File(fo) = &staged.out else {
            unreachable!()
        };
        assert_eq!(
            fo.temp.file.metadata().unwrap().len(),
            0,
            "nothing is written to the file before finish"
        );
        let r = staged.finish().unwrap();
        assert_eq!(r.bytes_written, direct.bytes_written);
        assert!(
            r.bytes_allocated <= direct.bytes_allocated + (64 << 10),
            "staged {} vs direct {} bytes allocated",
            r.bytes_allocated,
            direct.bytes_allocated
        );
        assert!(std::fs::read(&dest).unwrap() == std::fs::read(d.join("direct")).unwrap());
    }
    // Only a file can be staged.
    assert!(Sink::stream(Vec::new()).stage_in_memory(0).is_err());
}

/// A stop asked while a staged dump is written out ends the write with
/// `Stopped` and leaves nothing.
#[test]
fn a_stop_during_the_staged_write_leaves_nothing() {
    let scratch = tmpdir("staged-stop");
    let dest = scratch.path().join("core");
    let mut s = Sink::create(&dest, false).unwrap();
    s.stage_in_memory(0).unwrap();
    s.write_all(&vec![3u8; 9 << 20]).unwrap();
    complete_with_a_stop_leaves_nothing(s, 15, scratch.path());
}

/// Complete the file of `s` while a stop (with `code`) is asked: the
/// completion ends with `Stopped { code }`, and once `s` is dropped `dir`
/// holds nothing.
fn complete_with_a_stop_leaves_nothing(mut s: Sink, code: usize, dir: &Path) {
    let total = s.position();
    let Out::File(fo) = &mut s.out else {
        unreachable!()
    };
    let stopped = fo.temp.complete(total, true, &|| {
        Err(io::Error::other(SinkError::Stopped { code }))
    });
    assert!(
        matches!(stopped, Err(SinkError::Stopped { code: c }) if c == code),
        "{stopped:?}"
    );
    drop(s);
    assert!(std::fs::read_dir(dir).unwrap().next().is_none());
}

/// A write-behind ring holds what the disk has not written yet, so
/// `finish` may wait for it: a stop asked meanwhile ends the wait with
/// `Stopped` and leaves nothing; so does dropping the sink unfinished, at
/// once rather than after the queued writes.
#[test]
fn a_stop_while_write_behind_drains_leaves_nothing() {
    let scratch = tmpdir("behind-stop");
    let dest = scratch.path().join("core");
    let mut s = Sink::create(&dest, false).unwrap();
    if !has_direct_io(&s) {
        eprintln!("SKIP: no O_DIRECT in {}", scratch.path().display());
        return;
    }
    assert_eq!(s.write_behind(64 << 20).unwrap(), 64 << 20);
    s.write_all(&vec![7u8; 60 << 20]).unwrap();
    complete_with_a_stop_leaves_nothing(s, 2, scratch.path());

    let mut s = Sink::create(&dest, false).unwrap();
    s.write_behind(64 << 20).unwrap();
    s.write_all(&vec![7u8; 60 << 20]).unwrap();
    drop(s);
    assert!(std::fs::read_dir(scratch.path()).unwrap().next().is_none());
}

/// Write-behind is set before the first write, on a file output only.
#[test]
fn write_behind_is_set_before_writing() {
    let scratch = tmpdir("behind-when");
    let mut s = Sink::create(&scratch.path().join("core"), false).unwrap();
    assert_eq!(s.write_behind(4 << 20).unwrap(), 0, "less than two buffers");
    s.write_all(b"x").unwrap();
    assert!(s.write_behind(64 << 20).is_err());
    assert_eq!(Sink::stream(Vec::new()).write_behind(64 << 20).unwrap(), 0);
}

/// Memory pulled by a writer (dump-source's `Output`, which both format
/// crates use) into memory the sink lends — the direct writer's ring, with
/// and without write-behind, and the staging memory — gives the same file
/// and the same holes as the same memory written through the writer's own
/// buffer: zero pages anywhere in a read, short zero runs kept as data,
/// memory at file offsets off a page, data moved down over holes.
#[test]
fn memory_read_into_the_sinks_memory_gives_the_same_file() {
    use coroner_dump_source::{BytesAt, Output, WriteOptions};
    let scratch = tmpdir("lent");
    let d = scratch.path();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    // 20 MiB of pages: runs of data pages, zero pages, and pages zero but
    // for one byte somewhere.
    let pages = 5 * 1024;
    let mut memory = vec![0u8; pages * 4096];
    let mut page = 0;
    while page < pages {
        let long = next(4) == 0;
        let run = 1 + next(if long { 600 } else { 6 }) as usize;
        let kind = next(3);
        for p in page..(page + run).min(pages) {
            let bytes = &mut memory[p * 4096..(p + 1) * 4096];
            match kind {
                0 => {}
                1 => bytes.fill(1 + (p % 250) as u8),
                _ => bytes[next(4096) as usize] = 7,
            }
        }
        page += run;
    }
    let base = 0x7f00_0000_0000u64;
    let len = memory.len() as u64;
    let write = |sink: &mut dyn coroner_dump_source::Sink, options: &WriteOptions| {
        let mut src = BytesAt::new(base, &memory[..]);
        let mut out = Output::new(sink, options, len);
        out.write(&[3; 100]).unwrap();
        // Off a page of the file, then on one.
        out.memory(&mut src, base, len / 2).unwrap();
        out.write(&[4; 10]).unwrap();
        let aligned = out.position().div_ceil(4096) * 4096;
        out.pad_to(aligned).unwrap();
        out.memory(&mut src, base + len / 2, len / 2).unwrap();
        out.write(&[5; 10]).unwrap();
        out.finish().unwrap()
    };
    for options in [
        WriteOptions::default(),
        WriteOptions::default().with_min_hole(3 * 4096),
        WriteOptions::default().with_buffer_size(3 << 20),
    ] {
        let mut expect = Vec::new();
        let expect_stats = write(&mut expect, &options);
        for (i, how) in ["direct", "write-behind", "staged", "staged-buffered"]
            .iter()
            .enumerate()
        {
            let dest = d.join(format!(
                "{how}-{}-{}",
                options.min_hole, options.buffer_size
            ));
            let mut s = if *how == "staged-buffered" {
                Sink::create_buffered(&dest, false)
            } else {
                Sink::create(&dest, false)
            }
            .unwrap();
            match *how {
                "write-behind" => {
                    s.write_behind_made_ahead(16 << 20, 8 << 20).unwrap();
                }
                "staged" | "staged-buffered" => s.stage_in_memory(8 << 20).unwrap(),
                _ => {}
            }
            let stats = write(&mut s, &options);
            if options.min_hole == 4096 {
                assert_eq!(stats, expect_stats, "{how}, {options:?}");
            } else {
                assert_eq!(stats.file_size, expect_stats.file_size, "{how}");
            }
            let r = s.finish().unwrap();
            assert_eq!(r.bytes_written, expect.len() as u64, "{how}");
            let got = std::fs::read(&dest).unwrap();
            assert!(got == expect, "{how} ({i}), {options:?}: contents differ");
            std::fs::remove_file(&dest).unwrap();
        }
    }
}
