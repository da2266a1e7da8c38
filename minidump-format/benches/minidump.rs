//! Criterion benchmarks: parsing a dump with 10,000 memory ranges, and
//! writing a 1 GiB Memory64List dump to `io::sink()`.

use std::hint::black_box;
use std::io;

use coroner_minidump_format::model::{MemoryRange, MinidumpModel, SystemInfo};
use coroner_minidump_format::parse;
use coroner_minidump_format::write::{Layout, MemorySource, NoMemory, SliceSource, StreamSink};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const RANGES: u64 = 10_000;
const RANGE_SIZE: u64 = 256;

fn ranges() -> Vec<MemoryRange> {
    (0..RANGES)
        .map(|i| MemoryRange {
            start: 0x10_0000 + i * 0x1000,
            size: RANGE_SIZE,
        })
        .collect()
}

fn dump_with(list64: bool) -> Vec<u8> {
    let mut model = MinidumpModel {
        system_info: Some(SystemInfo::linux_amd64(2, "Linux bench")),
        ..MinidumpModel::default()
    };
    if list64 {
        model.memory64_list = ranges();
    } else {
        model.memory_list = ranges();
    }
    let memory = vec![0x5au8; (RANGES * 0x1000 + 0x10_0000) as usize];
    let mut out = Vec::new();
    model
        .write(&mut SliceSource::new(0, &memory), &mut out)
        .unwrap();
    out
}

fn parse_10k(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_10k_ranges");
    for (name, list64) in [("MemoryList", false), ("Memory64List", true)] {
        let bytes = dump_with(list64);
        group.bench_with_input(
            BenchmarkId::new("walk_all_ranges", name),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    let dump = parse(black_box(bytes)).unwrap();
                    let memory = dump.memory().unwrap();
                    let mut total = 0u64;
                    for r in memory.regions() {
                        total += r.unwrap().bytes.len() as u64;
                    }
                    assert_eq!(total, RANGES * RANGE_SIZE);
                    total
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("to_model", name), &bytes, |b, bytes| {
            b.iter(|| parse(black_box(bytes)).unwrap().to_model().unwrap())
        });
        group.bench_with_input(
            BenchmarkId::new("minidump_crate_read_list", name),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    let dump = minidump::Minidump::read(black_box(&bytes[..])).unwrap();
                    let n = if list64 {
                        dump.get_stream::<minidump::MinidumpMemory64List>()
                            .unwrap()
                            .iter()
                            .count()
                    } else {
                        dump.get_stream::<minidump::MinidumpMemoryList>()
                            .unwrap()
                            .iter()
                            .count()
                    };
                    assert_eq!(n as u64, RANGES);
                })
            },
        );
    }
    group.finish();
}

/// Memory served from one 1 MiB buffer, like copying out of another process.
struct Copying(Vec<u8>);

impl MemorySource for Copying {
    fn read_at(&mut self, _addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        Ok(n)
    }
}

/// `io::sink()` behind `black_box`, so the compiler cannot drop the bytes
/// (and with them the copies into the writer's buffer) as dead stores.
struct Discard(io::Sink);

impl io::Write for Discard {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(black_box(buf))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn write_1gib(c: &mut Criterion) {
    const GIB: u64 = 1 << 30;
    let chunk = 4 << 20;
    let model = MinidumpModel {
        system_info: Some(SystemInfo::linux_amd64(2, "Linux bench")),
        memory64_list: (0..GIB / chunk)
            .map(|i| MemoryRange {
                start: 0x7f00_0000_0000 + i * chunk * 2,
                size: chunk,
            })
            .collect(),
        ..MinidumpModel::default()
    };
    let layout = Layout::plan(&model).unwrap();
    let mut group = c.benchmark_group("write_1gib_memory64");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(layout.file_size()));
    group.bench_function("copying_source_to_sink", |b| {
        let mut src = Copying(vec![0xa5; 1 << 20]);
        b.iter(|| {
            Layout::plan(&model)
                .unwrap()
                .write(&mut src, &mut StreamSink::new(Discard(io::sink())))
                .unwrap()
        })
    });
    group.bench_function("unreadable_source_to_sink", |b| {
        b.iter(|| {
            Layout::plan(&model)
                .unwrap()
                .write(&mut NoMemory, &mut StreamSink::new(Discard(io::sink())))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, parse_10k, write_1gib);
criterion_main!(benches);
