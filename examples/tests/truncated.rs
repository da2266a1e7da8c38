//! Truncated dumps (`head -c N core > t.core`): `inspect` says the file is
//! truncated, how much is missing, which memory and which threads' stacks;
//! `convert` refuses them unless `--allow-truncated`, which converts what is
//! present and leaves the rest out of the output, for ELF cores and
//! minidumps alike.

use std::io;
use std::path::Path;
use std::process::Output;

mod common;

use common::coroner;
use coroner_core_format::read::CoreFile;
use coroner_core_format::write::{CoreWriter, MemorySource, SeekSink, WriteOptions};
use coroner_core_format::{
    raw, CoreModel, Machine, Note, PrStatus, Registers, SegmentModel, ThreadModel, X86_64Regs,
};
use coroner_minidump_format::read::MinidumpFile;

const HEAP: u64 = 0x7f00_0000_0000;
const HEAP_LEN: u64 = 4 << 20;
const STACK: u64 = 0x7ffd_0000_0000;
const STACK_LEN: u64 = 64 << 10;
const TID: i32 = 4242;

fn byte_at(addr: u64) -> u8 {
    (addr / 4096 % 251) as u8 ^ (addr % 4096) as u8 | 1
}

/// Every byte of the process is a pattern (never zero, so nothing is a hole).
struct Pattern;

impl MemorySource for Pattern {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = byte_at(addr + i as u64);
        }
        Ok(buf.len())
    }
}

/// A core whose stack comes first in the file and whose heap follows, so a
/// cut in the heap keeps the stack, and a cut before the heap loses both.
fn write_core(path: &Path) {
    let mut model = CoreModel::new(Machine::X86_64);
    let regs = X86_64Regs {
        rip: HEAP + 0x10,
        rsp: STACK + STACK_LEN - 0x100,
        ..Default::default()
    };
    let mut st = PrStatus::new(Registers::X86_64(regs));
    st.pid = TID;
    model
        .threads
        .push(ThreadModel::new(st).with_note(Note::fpregset(vec![0; 512])));
    model.segments.push(SegmentModel::dumped(
        STACK,
        STACK_LEN,
        raw::PF_R | raw::PF_W,
    ));
    model
        .segments
        .push(SegmentModel::dumped(HEAP, HEAP_LEN, raw::PF_R | raw::PF_W));
    let mut sink = SeekSink::new(std::fs::File::create(path).unwrap());
    CoreWriter::new(WriteOptions::default())
        .write(&model, &mut Pattern, &mut sink)
        .unwrap();
}

fn cut(from: &Path, to: &Path, len: u64) {
    let bytes = std::fs::read(from).unwrap();
    std::fs::write(to, &bytes[..len as usize]).unwrap();
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    coroner().args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `inspect` reports the truncation (text and JSON), `convert` refuses it
/// and leaves nothing behind.
fn assert_reported_and_refused(dump: &Path, missing: &str, threads: Option<&str>) {
    let out = run(&["inspect".as_ref(), dump.as_os_str()]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("the file is truncated"), "{said}");
    assert!(said.contains(missing), "{said}");
    match threads {
        Some(t) => assert!(
            said.contains(&format!("the stacks of thread {t}")),
            "{said}"
        ),
        None => assert!(!said.contains("the stacks of"), "{said}"),
    }
    let out = run(&["inspect".as_ref(), dump.as_os_str(), "--json".as_ref()]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("the file is truncated"), "{json}");

    let dir = dump.parent().unwrap();
    let refused = dir.join("refused.out");
    let out = run(&["convert".as_ref(), dump.as_os_str(), refused.as_os_str()]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("the file is truncated"), "{said}");
    assert!(said.contains("--allow-truncated"), "{said}");
    assert!(!refused.exists());
}

#[test]
fn a_truncated_core_is_reported_refused_and_converted_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("whole.core");
    write_core(&core);
    let whole = CoreFile::open(std::fs::File::open(&core).unwrap()).unwrap();
    let heap = whole
        .load_segments()
        .find(|p| p.p_vaddr == HEAP)
        .unwrap()
        .p_offset;
    let t_core = dir.path().join("t.core");
    // Cut 1 MiB into the heap: the stack survives, 3 MiB of heap do not.
    cut(&core, &t_core, heap + (1 << 20));
    let lost = format!("{:#x}-{:#x}", HEAP + (1 << 20), HEAP + HEAP_LEN);
    assert_reported_and_refused(&t_core, &lost, None);

    let dump = dir.path().join("t.dmp");
    let out = run(&[
        "convert".as_ref(),
        t_core.as_os_str(),
        dump.as_os_str(),
        "--memory".as_ref(),
        "full".as_ref(),
        "--allow-truncated".as_ref(),
    ]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("warning") && said.contains(&lost), "{said}");
    // The minidump holds what was present, byte for byte, and nothing of
    // what was missing.
    let file = std::fs::File::open(&dump).unwrap();
    let md = MinidumpFile::open(&file).unwrap();
    for l in md.memory_locations() {
        let r = l.range();
        assert!(
            r.end <= HEAP + (1 << 20) || r.start >= HEAP + HEAP_LEN,
            "{r:x?}"
        );
    }
    let mut memory = md.memory();
    let mut buf = vec![0u8; 4096];
    let at = HEAP + (1 << 20) - 4096;
    assert_eq!(
        coroner_minidump_format::write::MemorySource::read_at(&mut memory, at, &mut buf).unwrap(),
        4096
    );
    assert!(buf
        .iter()
        .enumerate()
        .all(|(i, b)| *b == byte_at(at + i as u64)));

    // Cut before the stack's end too: the thread's stack is reported lost.
    let t2 = dir.path().join("t2.core");
    cut(&core, &t2, heap - 4096);
    assert_reported_and_refused(
        &t2,
        &format!("{:#x}-", STACK + STACK_LEN - 4096),
        Some("4242"),
    );
}

#[test]
fn a_truncated_minidump_is_reported_refused_and_converted_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("whole.core");
    write_core(&core);
    let dump = dir.path().join("whole.dmp");
    let out = run(&[
        "convert".as_ref(),
        core.as_os_str(),
        dump.as_os_str(),
        "--memory".as_ref(),
        "full".as_ref(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // Cut the minidump 1 MiB into its heap range.
    let whole = MinidumpFile::open(std::fs::File::open(&dump).unwrap()).unwrap();
    let heap = whole
        .memory_locations()
        .into_iter()
        .find(|l| l.start == HEAP && l.size == HEAP_LEN)
        .expect("the heap is one Memory64List range");
    let t_dmp = dir.path().join("t.dmp");
    cut(&dump, &t_dmp, heap.offset + (1 << 20));
    let lost = format!("{:#x}-{:#x}", HEAP + (1 << 20), HEAP + HEAP_LEN);
    assert_reported_and_refused(&t_dmp, &lost, None);

    let back = dir.path().join("t.core");
    let out = run(&[
        "convert".as_ref(),
        t_dmp.as_os_str(),
        back.as_os_str(),
        "--allow-truncated".as_ref(),
    ]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("warning") && said.contains(&lost), "{said}");
    // The missing memory is a PT_LOAD without file data; the rest is there.
    let file = std::fs::File::open(&back).unwrap();
    let core = CoreFile::open(&file).unwrap();
    let lost_seg = core
        .load_segments()
        .find(|p| p.p_vaddr == HEAP + (1 << 20))
        .expect("a PT_LOAD for the missing part");
    assert_eq!(lost_seg.p_memsz, HEAP_LEN - (1 << 20));
    assert_eq!(lost_seg.p_filesz, 0);
    let kept = core.load_segments().find(|p| p.p_vaddr == HEAP).unwrap();
    assert_eq!(kept.p_filesz, 1 << 20);
    let mut memory = core.memory();
    let mut buf = vec![0u8; 4096];
    assert_eq!(memory.read_at(HEAP, &mut buf).unwrap(), 4096);
    assert!(buf
        .iter()
        .enumerate()
        .all(|(i, b)| *b == byte_at(HEAP + i as u64)));
    assert_eq!(memory.read_at(HEAP + (1 << 20), &mut buf).unwrap(), 0);
}
