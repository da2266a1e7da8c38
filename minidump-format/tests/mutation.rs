//! Hostile input: mutated real and generated dumps never make the reader
//! panic, hang or over-allocate, and whatever parses rewrites to the same model.

mod common;

use common::{model, walk_everything, Synthetic};
use proptest::prelude::*;

/// A real dump of the live helper by minidump-writer, made once per run.
fn real_dump() -> &'static [u8] {
    static DUMP: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    DUMP.get_or_init(|| {
        let target = coroner_test_support::Target::spawn(&[
            "--threads",
            "3",
            "--pattern-mib",
            "1",
            "--reserve-gib",
            "0",
        ]);
        let pid = target.pid() as i32;
        let mut file = tempfile::tempfile().unwrap();
        minidump_writer::minidump_writer::MinidumpWriterConfig::new(pid, pid)
            .write(&mut file)
            .unwrap();
        use std::io::{Read, Seek};
        file.rewind().unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        bytes
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrite a byte.
    Byte(usize, u8),
    /// Overwrite a little-endian u32 with an interesting value.
    Word(usize, u32),
    /// Cut the file.
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop_oneof![
        Just(0u32),
        Just(1),
        Just(0x7fff_ffff),
        Just(0xffff_ffff),
        Just(0x8000_0000),
        Just(0x1000),
        any::<u32>()
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
        (any::<usize>(), interesting).prop_map(|(i, w)| Mutation::Word(i, w)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, ms: &[Mutation], header_bias: bool) {
    for m in ms {
        let len = bytes.len().max(1);
        // Half the time aim at the metadata (header, directory, stream
        // headers), where the counts and RVAs are.
        let pick = |i: usize| {
            if header_bias {
                i % len.min(4096)
            } else {
                i % len
            }
        };
        match *m {
            Mutation::Byte(i, b) => {
                if let Some(x) = bytes.get_mut(pick(i)) {
                    *x = b;
                }
            }
            Mutation::Word(i, w) => {
                let at = pick(i) & !3;
                if at + 4 <= bytes.len() {
                    bytes[at..at + 4].copy_from_slice(&w.to_le_bytes());
                }
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// The file-backed reader gives what the in-memory reader gives, for
    /// whole files and for every way of cutting one short.
    #[test]
    fn file_reader_agrees_with_the_in_memory_reader(model in model(), cut in any::<u64>()) {
        use coroner_minidump_format::read::MinidumpFile;
        use coroner_minidump_format::write::MemorySource;
        let mut bytes = Vec::new();
        model.write(&mut Synthetic { hole_every: 5 }, &mut bytes).unwrap();
        let whole = MinidumpFile::open(bytes.as_slice()).unwrap();
        let dump = coroner_minidump_format::parse(&bytes).unwrap();
        // Everything but memory reads the same (memory bytes are not in the
        // metadata image: they are read through `memory()`).
        let meta = whole.metadata();
        let streams = |d: coroner_minidump_format::read::Streams<'_>| -> Vec<(u32, Vec<u8>)> {
            d.map(|s| s.map(|s| (s.stream_type, s.data.to_vec())).unwrap()).collect()
        };
        prop_assert_eq!(streams(meta.streams()), streams(dump.streams()));
        let threads = |d: Option<coroner_minidump_format::read::ThreadList<'_>>| {
            d.map(|l| l.iter().map(|t| t.and_then(|t| t.to_model())).collect::<Result<Vec<_>, _>>().unwrap())
        };
        prop_assert_eq!(threads(meta.threads().unwrap()), threads(dump.threads().unwrap()));
        let modules = |d: Option<coroner_minidump_format::read::ModuleList<'_>>| {
            d.map(|l| l.iter().map(|m| m.and_then(|m| m.to_model())).collect::<Result<Vec<_>, _>>().unwrap())
        };
        prop_assert_eq!(modules(meta.modules().unwrap()), modules(dump.modules().unwrap()));
        prop_assert_eq!(
            meta.exception().unwrap().map(|e| e.to_model().unwrap()),
            dump.exception().unwrap().map(|e| e.to_model().unwrap())
        );
        prop_assert_eq!(
            meta.system_info().unwrap().map(|e| e.to_model().unwrap()),
            dump.system_info().unwrap().map(|e| e.to_model().unwrap())
        );
        prop_assert_eq!(whole.truncation(), None);
        let (mut a, mut b) = (whole.memory(), dump.memory().unwrap());
        for l in whole.memory_locations() {
            let mut x = vec![0u8; l.size.min(4096) as usize + 8];
            let mut y = x.clone();
            let n = a.read_at(l.start, &mut x).unwrap();
            prop_assert_eq!(n, b.read_at(l.start, &mut y).unwrap());
            prop_assert_eq!(&x[..n], &y[..n]);
        }
        // Cut short: the reader opens it when the streams survive, and
        // says what memory is gone.
        let len = (cut % bytes.len() as u64) as usize;
        if let Ok(cut_file) = MinidumpFile::open(&bytes[..len]) {
            let lost_memory = whole.memory_locations().iter().any(|l| l.offset + l.size > len as u64);
            // A cut that loses no memory (only streams or the records they
            // point at) is not reported as a truncation: reading what it
            // cut fails instead.
            let Some(t) = cut_file.truncation() else {
                prop_assert!(!lost_memory);
                return Ok(());
            };
            prop_assert!(lost_memory);
            prop_assert_eq!(t.file_len, len as u64);
            prop_assert!(t.expected_len > len as u64 && t.expected_len <= bytes.len() as u64);
            for l in whole.memory_locations() {
                let lost = l.offset + l.size > len as u64;
                prop_assert_eq!(lost, t.ranges.iter().any(|r| r.location.range() == l.range()));
            }
            let mut memory = cut_file.memory();
            for r in &t.ranges {
                let mut buf = vec![0u8; 16];
                let m = r.missing();
                if m.is_empty() {
                    continue;
                }
                prop_assert_eq!(memory.read_at(m.start, &mut buf).unwrap(), 0);
                prop_assert!(t.is_missing(m.start));
            }
        }
    }

    #[test]
    fn mutated_generated_dumps(
        model in model(),
        ms in proptest::collection::vec(mutation(), 1..8),
        header_bias in any::<bool>(),
    ) {
        let mut bytes = Vec::new();
        model.write(&mut Synthetic { hole_every: 5 }, &mut bytes).unwrap();
        walk_everything(&bytes);
        apply(&mut bytes, &ms, header_bias);
        walk_everything(&bytes);
    }
}

#[test]
fn mutated_real_dumps() {
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases: 2000,
        ..Config::default()
    });
    let stats = std::cell::RefCell::new([0usize; 3]);
    let strategy = (proptest::collection::vec(mutation(), 1..8), any::<bool>());
    runner
        .run(&strategy, |(ms, header_bias)| {
            let mut bytes = real_dump().to_vec();
            apply(&mut bytes, &ms, header_bias);
            let walk = walk_everything(&bytes);
            stats.borrow_mut()[walk as usize] += 1;
            Ok(())
        })
        .unwrap();
    let [rejected, parsed, round_tripped] = *stats.borrow();
    eprintln!("mutated real dumps: {rejected} rejected, {parsed} parsed with a bad stream, {round_tripped} round-tripped");
    // The mutations must reach past the header: most inputs still parse.
    assert!(
        parsed + round_tripped > rejected,
        "{rejected} {parsed} {round_tripped}"
    );
    assert!(round_tripped > 0 && parsed > 0);
}

#[test]
fn unmutated_real_dump_walks_and_round_trips() {
    assert_eq!(walk_everything(real_dump()), common::Walk::RoundTripped);
    // `COR_MINIDUMP_SEEDS=dir` saves this dump as a fuzzing seed.
    if let Some(dir) = std::env::var_os("COR_MINIDUMP_SEEDS") {
        std::fs::write(
            std::path::Path::new(&dir).join("minidump-writer.dmp"),
            real_dump(),
        )
        .unwrap();
    }
    // It must have got as far as the rewrite: the model converts.
    assert!(coroner_minidump_format::parse(real_dump())
        .unwrap()
        .to_model()
        .is_ok());
}

#[test]
fn huge_counts_are_rejected_before_allocating() {
    use coroner_minidump_format::ReadError;
    let mut bytes = real_dump().to_vec();
    let dump = coroner_minidump_format::parse(&bytes).unwrap();
    let stream = dump.stream(3).unwrap().unwrap();
    let at = stream.offset() as usize;
    bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let dump = coroner_minidump_format::parse(&bytes).unwrap();
    assert!(matches!(
        dump.threads(),
        Err(ReadError::BadCount {
            count: 0xffff_ffff,
            ..
        })
    ));
    // Stream count far beyond the file.
    let mut bytes = real_dump().to_vec();
    bytes[8..12].copy_from_slice(&0x1000_0000u32.to_le_bytes());
    assert!(matches!(
        coroner_minidump_format::parse(&bytes),
        Err(ReadError::OutOfBounds { .. })
    ));
}

/// Found by `cargo fuzz run minidump_parse`: an empty ThreadList followed by
/// a duplicate ThreadList of 0 bytes. The empty list used to vanish on
/// rewrite (the model's empty list means "no stream") so the duplicate became
/// the typed one, and its count was read past the end of its 0-byte stream.
#[test]
fn fuzz_regression_empty_and_duplicate_list_streams() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fuzz-duplicate-stream.minidump"
    ))
    .unwrap();
    assert_eq!(walk_everything(&bytes), common::Walk::RoundTripped);
    let dump = coroner_minidump_format::parse(&bytes).unwrap();
    let model = dump.to_model().unwrap();
    assert!(model.threads.is_empty());
    assert_eq!(
        model
            .other_streams
            .iter()
            .filter(|s| s.stream_type == 3)
            .count(),
        2
    );

    // A list stream too short for its own count is an error, not a read of
    // whatever follows it in the file.
    let mut model = coroner_minidump_format::model::MinidumpModel::default();
    model
        .other_streams
        .push(coroner_minidump_format::model::RawStream {
            stream_type: 3,
            data: vec![],
        });
    model
        .other_streams
        .push(coroner_minidump_format::model::RawStream {
            stream_type: 0x1234,
            data: vec![0; 8],
        });
    let mut out = Vec::new();
    model
        .write(&mut coroner_minidump_format::write::NoMemory, &mut out)
        .unwrap();
    let dump = coroner_minidump_format::parse(&out).unwrap();
    assert!(matches!(
        dump.threads(),
        Err(coroner_minidump_format::ReadError::OutOfBounds { .. })
    ));
}

/// Found by `cargo fuzz run minidump_parse`: a thread stack at the very top
/// of the address space (0xffffffffffffffff) made the writer's short-read
/// handling stop advancing — an endless loop when rewriting the dump.
#[test]
fn fuzz_regression_stack_at_the_end_of_the_address_space() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fuzz-hang.minidump"
    ))
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(walk_everything(&bytes)).unwrap());
    let walk = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("finishes");
    assert_eq!(walk, common::Walk::RoundTripped);

    // The same through the public API with a source that has nothing.
    use coroner_minidump_format::model::{MemoryRange, MinidumpModel};
    let model = MinidumpModel {
        memory64_list: vec![MemoryRange {
            start: u64::MAX - 5,
            size: 3 * 4096,
        }],
        ..MinidumpModel::default()
    };
    let mut out = Vec::new();
    model
        .write(&mut coroner_minidump_format::write::NoMemory, &mut out)
        .unwrap();
    let dump = coroner_minidump_format::parse(&out).unwrap();
    assert_eq!(dump.to_model().unwrap(), model);
}
