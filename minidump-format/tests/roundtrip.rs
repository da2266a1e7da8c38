//! parse(write(model)) == model, memory bytes as the source gave them (zeros
//! where it read short), and rust-minidump's `minidump` crate agrees.

mod common;

use common::{cross_check, model, Synthetic, PAGE};
use coroner_minidump_format::model::{MemoryRange, MinidumpModel, SystemInfo, Thread};
use coroner_minidump_format::write::{Layout, SeekSink, StreamSink};
use coroner_minidump_format::{parse, WriteError};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn round_trip_arbitrary_models(model in model(), hole_every in 0u64..6) {
        let mut src = Synthetic { hole_every };
        let mut file = Vec::new();
        let written = model.write(&mut src, &mut file).unwrap().file_size;
        prop_assert_eq!(written, file.len() as u64);
        prop_assert_eq!(Layout::plan(&model).unwrap().file_size(), written);
        let dump = parse(&file).unwrap();
        prop_assert_eq!(&dump.to_model().unwrap(), &model);
        common::check_memory(&dump, &model, &src).map_err(TestCaseError::fail)?;
        cross_check(&file).map_err(TestCaseError::fail)?;
    }
}

/// A sink that keeps the file in a zero-initialised (lazily mapped)
/// buffer and skips holes, so a dump over 4 GiB of mostly unreadable memory
/// costs only its non-zero pages of RAM.
struct SparseSink {
    buf: Vec<u8>,
    pos: usize,
}

impl coroner_minidump_format::write::Sink for SparseSink {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        let end = self.pos + data.len();
        assert!(end <= self.buf.len(), "wrote past the planned size");
        self.buf[self.pos..end].copy_from_slice(data);
        self.pos = end;
        Ok(())
    }
    fn write_hole(&mut self, len: u64) -> std::io::Result<()> {
        self.pos += len as usize;
        assert!(self.pos <= self.buf.len(), "wrote past the planned size");
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Synthetic memory readable only in a few windows, zero elsewhere.
struct Windows(Vec<(u64, u64)>);

impl coroner_minidump_format::write::MemorySource for Windows {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(&(_, end)) = self.0.iter().find(|(s, e)| (*s..*e).contains(&addr)) else {
            return Ok(0);
        };
        let n = buf.len().min((end - addr) as usize);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = Synthetic::byte(addr + i as u64);
        }
        Ok(n)
    }
}

#[test]
fn memory64_list_past_4_gib() {
    const GIB: u64 = 1 << 30;
    let base = 0x7f00_0000_0000u64;
    // Three ranges totalling 4.5 GiB: the last one starts in the file well
    // past 4 GiB. Data lives in windows at the start, across the 4 GiB file
    // offset and at the very end; the rest reads short (zeros).
    let ranges = [
        MemoryRange {
            start: base,
            size: 2 * GIB,
        },
        MemoryRange {
            start: base + 3 * GIB,
            size: 2 * GIB + GIB / 4,
        },
        MemoryRange {
            start: base + 6 * GIB,
            size: GIB / 4,
        },
    ];
    let windows = vec![
        (base, base + 3 * PAGE),
        (
            base + 3 * GIB + 2 * GIB - 8 * PAGE,
            base + 3 * GIB + 2 * GIB + 8 * PAGE,
        ),
        (
            base + 6 * GIB + GIB / 4 - 5 * PAGE,
            base + 6 * GIB + GIB / 4,
        ),
    ];
    let stack = MemoryRange {
        start: base + 16,
        size: 1024,
    };
    let model = MinidumpModel {
        system_info: Some(SystemInfo::linux_amd64(2, "Linux big")),
        threads: vec![Thread {
            thread_id: 1,
            stack: Some(stack),
            ..Thread::default()
        }],
        memory_list: vec![stack],
        memory64_list: ranges.to_vec(),
        ..MinidumpModel::default()
    };
    let layout = Layout::plan(&model).unwrap();
    let total = layout.file_size();
    assert!(total > 4 * GIB + GIB / 2);
    let mut sink = SparseSink {
        buf: vec![0u8; total as usize],
        pos: 0,
    };
    let written = layout
        .write(&mut Windows(windows.clone()), &mut sink)
        .unwrap();
    assert_eq!(written.file_size, total);
    assert_eq!(sink.pos as u64, total);

    let dump = parse(&sink.buf).unwrap();
    assert_eq!(dump.to_model().unwrap(), model);
    let list = dump.memory64_list().unwrap().unwrap();
    let regions: Vec<_> = list.iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(regions.len(), 3);
    assert!(
        regions[2].offset > 4 * GIB,
        "last range's bytes start past 4 GiB"
    );
    let expect = |addr: u64| {
        if windows.iter().any(|(s, e)| (*s..*e).contains(&addr)) {
            Synthetic::byte(addr)
        } else {
            0
        }
    };
    // Check every window byte, plus samples elsewhere, through address lookup.
    let mut probes: Vec<u64> = windows.iter().flat_map(|(s, e)| *s..*e).collect();
    probes.extend((0..4096u64).map(|i| base + i * 1_234_567));
    for addr in probes {
        if let Some(b) = dump.read_memory(addr, 1).unwrap() {
            assert_eq!(b[0], expect(addr), "byte at {addr:#x}");
        } else {
            assert!(
                !ranges
                    .iter()
                    .any(|r| (r.start..r.start + r.size).contains(&addr)),
                "{addr:#x} missing"
            );
        }
    }
    // The window that straddles the end of range 2 in memory is at file offsets around 4.25 GiB.
    let straddle = base + 3 * GIB + 2 * GIB - 8 * PAGE;
    let bytes = dump.read_memory(straddle, 8 * PAGE).unwrap().unwrap();
    assert!(bytes
        .iter()
        .enumerate()
        .all(|(i, b)| *b == Synthetic::byte(straddle + i as u64)));
    // The thread's stack is in the MemoryList, below 4 GiB, and matches.
    let t = dump
        .threads()
        .unwrap()
        .unwrap()
        .iter()
        .next()
        .unwrap()
        .unwrap();
    assert!(t
        .stack_bytes()
        .unwrap()
        .iter()
        .enumerate()
        .all(|(i, b)| *b == expect(stack.start + i as u64)));

    // rust-minidump reads the same > 4 GiB file.
    let theirs = minidump::Minidump::read(&sink.buf[..]).unwrap();
    let m64 = theirs
        .get_stream::<minidump::MinidumpMemory64List>()
        .unwrap();
    let theirs_regions: Vec<_> = m64.iter().map(|m| (m.base_address, m.size)).collect();
    assert_eq!(
        theirs_regions,
        ranges.iter().map(|r| (r.start, r.size)).collect::<Vec<_>>()
    );
    let last = m64.iter().last().unwrap();
    assert_eq!(last.bytes, regions[2].bytes);
}

#[test]
fn memory_list_past_4_gib_is_an_error_not_a_wrapped_rva() {
    const GIB: u64 = 1 << 30;
    // Two MemoryList ranges of 3 GiB each cannot both have 32-bit RVAs.
    let model = MinidumpModel {
        memory_list: vec![
            MemoryRange {
                start: 0,
                size: 3 * GIB,
            },
            MemoryRange {
                start: 4 * GIB,
                size: 3 * GIB,
            },
        ],
        ..MinidumpModel::default()
    };
    match Layout::plan(&model) {
        Err(WriteError::RvaOverflow { what, end }) => {
            assert!(end > 4 * GIB, "{what} {end:#x}");
        }
        other => panic!("expected RvaOverflow, got {other:?}"),
    }
    // A single range larger than a u32 cannot be in a MemoryList at all.
    let model = MinidumpModel {
        memory_list: vec![MemoryRange {
            start: 0,
            size: 5 * GIB,
        }],
        ..MinidumpModel::default()
    };
    assert!(matches!(
        Layout::plan(&model),
        Err(WriteError::TooLarge { .. })
    ));
    // Nor can a stack.
    let model = MinidumpModel {
        threads: vec![Thread {
            stack: Some(MemoryRange {
                start: 0,
                size: 5 * GIB,
            }),
            ..Thread::default()
        }],
        ..MinidumpModel::default()
    };
    assert!(matches!(
        Layout::plan(&model),
        Err(WriteError::TooLarge { .. })
    ));
}

#[test]
fn short_reads_are_zeros_never_stale_buffer_bytes() {
    // Synthetic scribbles 0xee after a short read; the dump must hold zeros.
    let model = MinidumpModel {
        memory64_list: vec![MemoryRange {
            start: 0,
            size: 64 * PAGE,
        }],
        memory_list: vec![MemoryRange {
            start: 2 * PAGE,
            size: 4 * PAGE,
        }],
        ..MinidumpModel::default()
    };
    let src = Synthetic { hole_every: 4 };
    let mut file = Vec::new();
    model.write(&mut src.clone(), &mut file).unwrap();
    let dump = parse(&file).unwrap();
    common::check_memory(&dump, &model, &src).unwrap();
    let hole = dump.read_memory(3 * PAGE, PAGE).unwrap().unwrap();
    assert!(hole.iter().all(|b| *b == 0));
    cross_check(&file).unwrap();
}

#[test]
fn source_errors_abort_and_overreads_are_rejected() {
    struct Failing;
    impl coroner_minidump_format::write::MemorySource for Failing {
        fn read_at(&mut self, _: u64, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("boom"))
        }
    }
    struct Liar;
    impl coroner_minidump_format::write::MemorySource for Liar {
        fn read_at(&mut self, _: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            Ok(buf.len() + 1)
        }
    }
    let model = MinidumpModel {
        memory64_list: vec![MemoryRange {
            start: 0x1000,
            size: 10,
        }],
        ..MinidumpModel::default()
    };
    assert!(matches!(
        model.write(&mut Failing, &mut StreamSink::new(std::io::sink())),
        Err(WriteError::Memory { addr: 0x1000, .. })
    ));
    assert!(matches!(
        model.write(&mut Liar, &mut StreamSink::new(std::io::sink())),
        Err(WriteError::SourceOverread { .. })
    ));
}

#[test]
fn sparse_writer_seeks_over_zeros_and_matches_the_plain_writer() {
    use std::os::unix::fs::MetadataExt;
    const MIB: u64 = 1 << 20;
    let model = MinidumpModel {
        system_info: Some(SystemInfo::linux_amd64(2, "Linux sparse")),
        memory_list: vec![MemoryRange {
            start: 0x1000,
            size: 2 * PAGE,
        }],
        // 64 MiB, readable only in its first 4 pages and (by Synthetic's
        // holes) not even all of those; the file must end in a hole.
        memory64_list: vec![MemoryRange {
            start: 0,
            size: 64 * MIB,
        }],
        ..MinidumpModel::default()
    };
    struct FirstPages(Synthetic);
    impl coroner_minidump_format::write::MemorySource for FirstPages {
        fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            if addr >= 4 * PAGE {
                return Ok(0);
            }
            let n = buf.len().min((4 * PAGE - addr) as usize);
            self.0.read_at(addr, &mut buf[..n])
        }
    }
    let layout = Layout::plan(&model).unwrap();
    let mut plain = Vec::new();
    layout
        .write(&mut FirstPages(Synthetic { hole_every: 3 }), &mut plain)
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.mdmp");
    let mut file = SeekSink::new(std::fs::File::create(&path).unwrap());
    let stats = layout
        .write(&mut FirstPages(Synthetic { hole_every: 3 }), &mut file)
        .unwrap();
    drop(file);
    assert_eq!(stats.file_size, layout.file_size());
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), layout.file_size());
    assert!(
        meta.blocks() * 512 < 4 * MIB,
        "{} bytes allocated for a 64 MiB file",
        meta.blocks() * 512
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        plain,
        "same bytes as the plain writer"
    );
}

/// `PROPTEST_CASES` overrides the default number of cases.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
