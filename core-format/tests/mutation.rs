//! Acceptance 4 (normal suite): mutated real and generated cores never make
//! the reader panic, loop or over-allocate; every iterator is walked.

use std::sync::OnceLock;

use coroner_core_format::read::{CoreFile, OwnedCore};
use coroner_core_format::write::{MemorySource, StreamSink};
use coroner_core_format::{
    parse, raw, CoreModel, Machine, Note, PrStatus, Registers, SegmentModel, ThreadModel,
    X86_64Regs,
};
use coroner_test_support::kernel_core;
use proptest::prelude::*;

/// The file-backed reader over the same bytes reads what the in-memory
/// reader reads: the same model, truncation and memory, or both refuse.
fn file_agrees(data: &[u8]) {
    let (file, core) = (CoreFile::open(data), parse(data));
    let (file, core) = match (file, core) {
        (Ok(f), Ok(c)) => (f, c),
        (Err(_), Err(_)) => return,
        (f, c) => panic!("CoreFile {:?} but Core {:?}", f.err(), c.err()),
    };
    assert_eq!(file.to_model(), core.to_model());
    assert_eq!(file.truncation(), core.truncation());
    assert_eq!(file.prpsinfo(), core.prpsinfo());
    assert_eq!(
        file.threads()
            .map(|t| t.map(|t| t.tid()))
            .collect::<Vec<_>>(),
        core.threads()
            .map(|t| t.map(|t| t.tid()))
            .collect::<Vec<_>>()
    );
    let Ok(mut map) = core.memory_map() else {
        return;
    };
    let mut memory = file.memory();
    for s in core.segments().take(64) {
        for addr in [
            s.vaddr(),
            s.vaddr().wrapping_add(s.filesz() / 2),
            s.end().wrapping_sub(8),
        ] {
            let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
            let n = memory.read_at(addr, &mut a).unwrap();
            assert_eq!(n, map.read_at(addr, &mut b).unwrap(), "at {addr:#x}");
            assert_eq!(a[..n], b[..n]);
        }
        let (mut x, mut y) = (Vec::new(), Vec::new());
        memory.present_ranges(s.vaddr(), s.end(), &mut x).unwrap();
        map.present_ranges(s.vaddr(), s.end(), &mut y).unwrap();
        assert_eq!(x, y);
    }
}

/// Walk everything the reader offers; returns a count so nothing is optimised away.
fn walk(data: &[u8]) -> usize {
    file_agrees(data);
    let Ok(core) = parse(data) else { return 0 };
    let mut n = core.program_headers().count();
    for seg in core.segments() {
        n += seg.data().len() + usize::from(seg.is_truncated());
        let _ = core.memory_at(seg.vaddr());
        let _ = core.memory_at(seg.end().wrapping_sub(1));
    }
    n += core.notes().take_while(|r| r.is_ok()).count();
    for t in core.threads() {
        let Ok(t) = t else { break };
        n += t.tid() as usize;
        let _ = t.prstatus();
        let _ = t.registers().map(|r| (r.pc(), r.sp(), r.fp()));
        n += t.notes().count() + t.all_following_notes().count();
        let _ = (
            t.fpregset(),
            t.xstate(),
            t.siginfo(),
            t.note(raw::NT_ARM_TLS),
        );
    }
    let _ = (core.prpsinfo(), core.siginfo());
    if let Ok(Some(a)) = core.auxv() {
        n += a.count();
    }
    if let Ok(Some(f)) = core.file_note() {
        n += f.entries().count();
        let _ = f.to_model();
    }
    if let Ok(mut map) = core.memory_map() {
        let mut buf = [0u8; 64];
        for s in core.segments().take(64) {
            n += map.read_present(s.vaddr(), &mut buf);
            let mut ranges = Vec::new();
            let _ = map.present_ranges(s.vaddr(), s.end(), &mut ranges);
            let _ = core.read_memory(s.vaddr(), &mut buf);
        }
        // Writing the decoded model back must not panic either (bounded size).
        if let Ok(model) = core.to_model() {
            let total: u64 = model
                .segments
                .iter()
                .map(|s| s.filesz)
                .fold(0, u64::saturating_add);
            if total <= 64 << 20 {
                let _ = model.write(&mut map, &mut StreamSink::new(std::io::sink()));
            }
        }
    }
    if let Ok(owned) = OwnedCore::new(data.to_vec()) {
        n += owned.core().phnum();
    }
    n
}

fn generated() -> Vec<u8> {
    let mut m = CoreModel::new(Machine::X86_64);
    for tid in 1..3 {
        let mut st = PrStatus::new(Registers::X86_64(X86_64Regs {
            rip: 0x401000,
            rsp: 0x7000,
            ..Default::default()
        }));
        st.pid = tid;
        m.threads.push(
            ThreadModel::new(st)
                .with_note(Note::fpregset(vec![1; 512]))
                .with_note(Note::x86_xstate(vec![2; 64])),
        );
    }
    m.prpsinfo = Some(Default::default());
    m.siginfo = Some(coroner_core_format::SigInfo::new(11, 0, 1));
    m.auxv = Some(vec![coroner_core_format::AuxvEntry {
        key: 6,
        value: 4096,
    }]);
    m.files = Some(coroner_core_format::FileNote {
        page_size: 4096,
        entries: vec![coroner_core_format::FileMapping {
            start: 0x400000,
            end: 0x402000,
            file_offset: 0,
            path: b"/bin/x".to_vec(),
        }],
    });
    m.segments.push(SegmentModel::dumped(0x6000, 0x2000, 6));
    m.segments.push(SegmentModel {
        vaddr: 0x400000,
        memsz: 0x2000,
        filesz: 0x1000,
        flags: 5,
    });
    let mut mem = coroner_core_format::write::BytesAt {
        base: 0x6000,
        bytes: vec![0x5a; 0x3fa000],
    };
    let mut sink = StreamSink::new(Vec::new());
    m.write(&mut mem, &mut sink).unwrap();
    sink.into_inner()
}

/// A small real kernel core (None where the kernel cannot write one here).
fn kernel() -> &'static Option<Vec<u8>> {
    static CORE: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    CORE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let args = [
            "--threads",
            "2",
            "--pattern-mib",
            "1",
            "--reserve-gib",
            "0",
            "--dontdump-kib",
            "4",
        ];
        kernel_core(&args, dir.path()).map(|kc| std::fs::read(kc.path).unwrap())
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Byte(usize, u8),
    Word(usize, u32),
    Quad(usize, u64),
    Truncate(usize),
}

fn interesting_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        Just(0),
        Just(u32::MAX),
        Just(0x7fff_ffff),
        Just(0xffff),
        Just(4),
        Just(56),
        Just(64),
        Just(0x1000)
    ]
}

fn interesting_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        Just(0),
        Just(u64::MAX),
        Just(i64::MAX as u64),
        Just(1 << 32),
        Just(0xffff_ffff),
        Just(0x1000)
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Offsets are fractions of the "interesting" prefix (headers + notes).
    let off = 0usize..1 << 16;
    prop_oneof![
        4 => (off.clone(), any::<u8>()).prop_map(|(o, b)| Mutation::Byte(o, b)),
        3 => (off.clone(), interesting_u32()).prop_map(|(o, v)| Mutation::Word(o & !3, v)),
        3 => (off.clone(), interesting_u64()).prop_map(|(o, v)| Mutation::Quad(o & !7, v)),
        1 => off.prop_map(Mutation::Truncate),
    ]
}

fn apply(mut data: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        if data.is_empty() {
            break;
        }
        let prefix = data.len().min(0x6000);
        match *m {
            Mutation::Byte(o, b) => {
                let o = o % prefix;
                data[o] = b;
            }
            Mutation::Word(o, v) => {
                let o = o % prefix;
                if o + 4 <= data.len() {
                    data[o..o + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
            Mutation::Quad(o, v) => {
                let o = o % prefix;
                if o + 8 <= data.len() {
                    data[o..o + 8].copy_from_slice(&v.to_le_bytes());
                }
            }
            Mutation::Truncate(o) => data.truncate(o * 64 % (data.len() + 1)),
        }
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_generated_cores_are_walked_safely(muts in prop::collection::vec(mutation(), 1..8)) {
        static BASE: OnceLock<Vec<u8>> = OnceLock::new();
        let base = BASE.get_or_init(generated);
        walk(&apply(base.clone(), &muts));
    }

    #[test]
    fn mutated_kernel_cores_are_walked_safely(muts in prop::collection::vec(mutation(), 1..8)) {
        if let Some(base) = kernel() {
            walk(&apply(base.clone(), &muts));
        }
    }
}

#[test]
fn every_truncation_of_a_core_is_walked_safely() {
    let base = generated();
    let notes_end = 0x2000.min(base.len());
    for len in (0..notes_end).chain((notes_end..base.len()).step_by(997)) {
        walk(&base[..len]);
    }
    // The unmutated cores walk fully.
    assert!(walk(&base) > 0);
    if let Some(k) = kernel() {
        assert!(walk(k) > 0);
        let core = parse(k).unwrap();
        assert_eq!(core.threads().count(), 3);
    }
}
