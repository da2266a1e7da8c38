//! Criterion benchmarks of the reader and the writer.
//!
//! - `parse_walk/10k_segments_1k_threads`: parse a synthetic core and walk
//!   every thread (registers, register notes) and segment, then build the
//!   memory map and look up every segment.
//! - `write_1gib/*`: stream a 1 GiB core (256 segments × 4 MiB of nonzero
//!   memory) to `io::sink()`, against `memcpy_1gib`: copying the same bytes
//!   through a buffer of the writer's size; `all_zero_pages` and
//!   `last_byte_nonzero_pages` are the zero-page scan's worst cases.

use std::hint::black_box;
use std::io;

use coroner_core_format::write::{BytesAt, CoreWriter, MemorySource, StreamSink, WriteOptions};
use coroner_core_format::{
    parse, CoreModel, Machine, MemoryAt, Note, PrStatus, Registers, SegmentModel, ThreadModel,
    X86_64Regs,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const GIB: u64 = 1 << 30;
const SEGMENT: u64 = 4 << 20;
const BUFFER: usize = 4 << 20;

fn thread(tid: i32) -> ThreadModel {
    let regs = X86_64Regs {
        rip: 0x40_0000 + tid as u64,
        rsp: 0x7ff0_0000,
        ..Default::default()
    };
    let mut st = PrStatus::new(Registers::X86_64(regs));
    st.pid = tid;
    ThreadModel::new(st)
        .with_note(Note::fpregset(vec![1; 512]))
        .with_note(Note::x86_xstate(vec![2; 2688]))
}

fn big_core() -> Vec<u8> {
    let mut model = CoreModel::new(Machine::X86_64);
    model.threads = (1..=1000).map(thread).collect();
    model.segments = (0..10_000u64)
        .map(|i| SegmentModel::dumped(0x1000_0000 + i * 0x2000, 0x1000, 6))
        .collect();
    let mut mem = BytesAt {
        base: 0x1000_0000,
        bytes: vec![0x5au8; 10_000 * 0x2000],
    };
    let mut sink = StreamSink::new(Vec::new());
    CoreWriter::default()
        .write(&model, &mut mem, &mut sink)
        .unwrap();
    sink.into_inner()
}

fn parse_walk(c: &mut Criterion) {
    let file = big_core();
    let mut g = c.benchmark_group("parse_walk");
    g.throughput(Throughput::Elements(11_000));
    g.bench_function("10k_segments_1k_threads", |b| {
        b.iter(|| {
            let core = parse(black_box(&file)).unwrap();
            let mut acc = 0u64;
            for t in core.threads() {
                let t = t.unwrap();
                let regs = t.registers().unwrap();
                acc = acc.wrapping_add(regs.pc() ^ regs.sp() ^ u64::from(t.tid()));
                for n in t.notes() {
                    acc = acc.wrapping_add(n.unwrap().desc.len() as u64);
                }
            }
            for s in core.segments() {
                acc = acc.wrapping_add(s.vaddr() ^ s.data().len() as u64);
            }
            let map = core.memory_map().unwrap();
            for s in map.segments() {
                if let MemoryAt::Present(b) = map.memory_at(s.vaddr() + 8) {
                    acc = acc.wrapping_add(b.len() as u64);
                }
            }
            black_box(acc)
        })
    });
    g.finish();
}

/// 1 GiB of nonzero memory, served from one 4 MiB pattern buffer.
struct Pattern(Vec<u8>);

impl MemorySource for Pattern {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        let off = (addr % SEGMENT) as usize;
        let n = buf.len().min(self.0.len() - off);
        buf[..n].copy_from_slice(&self.0[off..off + n]);
        Ok(n)
    }
}

fn pattern() -> Pattern {
    Pattern((0..SEGMENT).map(|i| (i % 251) as u8 | 1).collect())
}

fn write_1gib(c: &mut Criterion) {
    let mut model = CoreModel::new(Machine::X86_64);
    model.threads = (1..=8).map(thread).collect();
    model.segments = (0..GIB / SEGMENT)
        .map(|i| SegmentModel::dumped(0x7f00_0000_0000 + i * SEGMENT, SEGMENT, 6))
        .collect();
    let mut src = pattern();

    let mut g = c.benchmark_group("write_1gib");
    g.throughput(Throughput::Bytes(GIB));
    g.sample_size(10);
    for (name, zero_pages_as_holes) in [("to_sink", true), ("to_sink_no_zero_scan", false)] {
        let writer = CoreWriter::new(
            WriteOptions::default()
                .with_buffer_size(BUFFER)
                .with_zero_pages_as_holes(zero_pages_as_holes),
        );
        g.bench_function(name, |b| {
            b.iter(|| {
                let stats = writer
                    .write(&model, &mut src, &mut StreamSink::new(io::sink()))
                    .unwrap();
                assert_eq!(stats.memory_read_bytes, GIB);
                black_box(stats)
            })
        });
    }
    // Worst cases for the zero-page scan: pages all zero (every page becomes
    // a hole) and pages zero but for their last byte (scanned to the end, then written).
    for (name, last_byte) in [("all_zero_pages", 0u8), ("last_byte_nonzero_pages", 1u8)] {
        let mut src = Pattern(vec![0u8; SEGMENT as usize]);
        for page in src.0.chunks_mut(4096) {
            page[4095] = last_byte;
        }
        let writer = CoreWriter::new(WriteOptions::default().with_buffer_size(BUFFER));
        g.bench_function(name, |b| {
            b.iter(|| {
                let stats = writer
                    .write(&model, &mut src, &mut StreamSink::new(io::sink()))
                    .unwrap();
                assert_eq!(stats.zero_page_bytes, if last_byte == 0 { GIB } else { 0 });
                black_box(stats)
            })
        });
    }
    // Baseline: the same bytes copied through a buffer of the same size.
    let mut buf = vec![0u8; BUFFER];
    g.bench_function("memcpy_1gib", |b| {
        b.iter(|| {
            for _ in 0..GIB / SEGMENT {
                buf.copy_from_slice(black_box(&src.0));
                black_box(&mut buf);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, parse_walk, write_1gib);
criterion_main!(benches);
