//! `coroner convert` of dumps larger than what it may hold in memory: the
//! input is read range by range, so the converter's peak resident set stays
//! at a few megabytes whatever the size of the dump, in both directions.
//! Inputs that are not regular files are refused at once.

use std::io;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::coroner;
use coroner_core_format::read::CoreFile;
use coroner_core_format::write::{MemorySource, SeekSink, WriteOptions};
use coroner_core_format::{
    raw, CoreModel, Machine, Note, PrPsInfo, PrStatus, Registers, SegmentModel, ThreadModel,
    X86_64Regs,
};

const STACK: u64 = 0x7ffd_0000_0000;
const STACK_LEN: u64 = 64 << 10;
const HEAP: u64 = 0x7f00_0000_0000;
/// Larger than the peak resident set any reader of the whole file could have.
const HEAP_LEN: u64 = (5 << 30) / 2;
/// Pages of the heap that hold a pattern (the rest is a hole in the file).
const MARKED: [u64; 3] = [0, 1 << 30, HEAP_LEN - 4096];
/// Peak resident set the converter may reach, in KiB.
const RSS_LIMIT_KIB: u64 = 64 << 10;

/// The memory of the synthetic process: a pattern on the stack and on a
/// few heap pages; the rest of the heap is reported absent, so it is a
/// hole in the core.
struct Synthetic;

fn marked_byte(addr: u64) -> u8 {
    (addr / 4096 % 251) as u8 ^ (addr % 4096) as u8
}

impl MemorySource for Synthetic {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = marked_byte(addr + i as u64);
        }
        Ok(buf.len())
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<std::ops::Range<u64>>,
    ) -> io::Result<()> {
        let wanted = std::iter::once(STACK..STACK + STACK_LEN)
            .chain(MARKED.iter().map(|&p| HEAP + p..HEAP + p + 4096));
        for r in wanted {
            let (s, e) = (r.start.max(start), r.end.min(end));
            if s < e {
                out.push(s..e);
            }
        }
        Ok(())
    }
}

/// A core of one thread with a 64 KiB stack and a 2.5 GiB heap, sparse on
/// disk (a few pages of data).
fn write_big_core(path: &Path) {
    let mut model = CoreModel::new(Machine::X86_64);
    let regs = X86_64Regs {
        rip: HEAP + 0x10,
        rsp: STACK + STACK_LEN - 0x100,
        ..Default::default()
    };
    let mut st = PrStatus::new(Registers::X86_64(regs));
    st.pid = 4242;
    model
        .threads
        .push(ThreadModel::new(st).with_note(Note::fpregset(vec![0; 512])));
    let mut ps = PrPsInfo {
        pid: 4242,
        ..PrPsInfo::default()
    };
    ps.set_fname(b"bigproc");
    model.prpsinfo = Some(ps);
    model
        .segments
        .push(SegmentModel::dumped(HEAP, HEAP_LEN, raw::PF_R | raw::PF_W));
    model.segments.push(SegmentModel::dumped(
        STACK,
        STACK_LEN,
        raw::PF_R | raw::PF_W,
    ));
    let file = std::fs::File::create(path).unwrap();
    let mut sink = SeekSink::new(file);
    coroner_core_format::write::CoreWriter::new(WriteOptions::default())
        .write(&model, &mut Synthetic, &mut sink)
        .unwrap();
}

/// Run `cmd` to its end; return whether it succeeded, its stderr, and its
/// peak resident set in KiB (`VmHWM`, sampled every few milliseconds until
/// it exits; the peak only grows, so the last sample is a lower bound that
/// misses at most the last few milliseconds). A run longer than two minutes
/// is killed and fails.
fn run_measured(mut cmd: Command) -> (bool, String, u64, Duration) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("{cmd:?} still running after 2 minutes (peak RSS so far {peak} KiB)");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut stderr = String::new();
    io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.success(), stderr, peak, started.elapsed())
}

#[test]
fn converting_a_dump_larger_than_its_memory_budget_keeps_the_converter_small() {
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("big.core");
    write_big_core(&core);
    let core_len = std::fs::metadata(&core).unwrap().len();
    assert!(core_len > HEAP_LEN, "{core_len}");

    // ELF core → minidump with all its memory.
    let dump = dir.path().join("big.dmp");
    let mut cmd = coroner();
    cmd.arg("convert")
        .arg(&core)
        .arg(&dump)
        .args(["--memory", "full"]);
    let (ok, stderr, peak, wall) = run_measured(cmd);
    assert!(ok, "{stderr}");
    eprintln!("ELF → minidump: {core_len} bytes in, peak RSS {peak} KiB, {wall:?}");
    assert!(peak > 0, "VmHWM was never read");
    assert!(
        peak < RSS_LIMIT_KIB,
        "peak RSS {peak} KiB converting a {core_len}-byte core"
    );
    let dump_len = std::fs::metadata(&dump).unwrap().len();
    assert!(dump_len > HEAP_LEN, "{dump_len}");

    // And back: minidump → ELF core.
    let back = dir.path().join("back.core");
    let mut cmd = coroner();
    cmd.arg("convert").arg(&dump).arg(&back);
    let (ok, stderr, peak, wall) = run_measured(cmd);
    assert!(ok, "{stderr}");
    eprintln!("minidump → ELF: {dump_len} bytes in, peak RSS {peak} KiB, {wall:?}");
    assert!(
        peak < RSS_LIMIT_KIB,
        "peak RSS {peak} KiB converting a {dump_len}-byte minidump"
    );

    // The marked pages made it through both conversions.
    let file = std::fs::File::open(&back).unwrap();
    let back = CoreFile::open(&file).unwrap();
    let mut memory = back.memory();
    for p in MARKED {
        let mut page = vec![0u8; 4096];
        assert_eq!(
            memory.read_at(HEAP + p, &mut page).unwrap(),
            4096,
            "page {p:#x}"
        );
        let expected: Vec<u8> = (0..4096).map(|i| marked_byte(HEAP + p + i)).collect();
        assert!(page == expected, "page {p:#x} differs");
    }
}

#[test]
fn convert_refuses_what_is_not_a_regular_file_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for input in ["/dev/zero", "/proc/self", "/dev/stdin"] {
        let out = dir.path().join("out.dmp");
        let mut cmd = coroner();
        // stdin at its end (an idle pipe would be waited on, as any
        // reader of stdin does).
        cmd.arg("convert").arg(input).arg(&out).stdin(Stdio::null());
        let started = Instant::now();
        let (ok, stderr, peak, _) = run_measured(cmd);
        assert!(!ok, "{input}: converted?");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{input}: took {:?}",
            started.elapsed()
        );
        // A directory is refused by the library; a device or a pipe is read
        // only if its first bytes are a dump's (the CLI copies a dump from a
        // pipe, see input.rs), so /dev/zero and an empty stdin are refused
        // from their first bytes.
        assert!(
            stderr.contains("not a regular file") || stderr.contains("not a dump"),
            "{input}: {stderr}"
        );
        assert!(peak < RSS_LIMIT_KIB, "{input}: peak RSS {peak} KiB");
        assert!(!out.exists(), "{input}: output left behind");
    }
}
