//! Memory read throughput (process_vm_readv vs /proc/pid/mem at several
//! request sizes, and batched small requests) and a pagemap scan over 10 GiB
//! of mappings, against the shared test target.
//!
//! `cargo bench -p coroner-proc-reader --bench memory`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

use coroner_proc_reader::{Process, ReadMethod, ReadRequest};
use coroner_test_support::Target;

const PATTERN_MIB: u64 = 64;

fn memory_read(c: &mut Criterion) {
    let target = Target::spawn(&[
        "--threads",
        "1",
        "--pattern-mib",
        "64",
        "--reserve-gib",
        "0",
    ]);
    let process = Process::open(target.pid()).unwrap();
    let base = target.ready.u64("pattern");
    let total = usize::try_from(PATTERN_MIB << 20).unwrap();
    let mut buf = vec![0u8; total];
    let mut group = c.benchmark_group("memory_read");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    group.throughput(Throughput::Bytes(total as u64));
    for size in [4usize << 10, 64 << 10, 1 << 20, 8 << 20] {
        for (name, method) in [
            ("process_vm_readv", ReadMethod::ProcessVmReadv),
            ("proc_mem", ReadMethod::ProcMem),
        ] {
            let mut memory = process.memory().unwrap();
            memory.set_method(method);
            group.bench_with_input(
                BenchmarkId::new(name, format!("{}KiB", size >> 10)),
                &size,
                |b, &size| {
                    b.iter(|| {
                        for (i, chunk) in buf.chunks_mut(size).enumerate() {
                            let got = memory.read_at(base + (i * size) as u64, chunk).unwrap();
                            assert_eq!(got, chunk.len());
                        }
                    })
                },
            );
        }
    }
    // 4 KiB pieces, 1024 per process_vm_readv call.
    let memory = process.memory().unwrap();
    group.bench_function(BenchmarkId::new("process_vm_readv_batched", "4KiB"), |b| {
        b.iter(|| {
            let mut reqs: Vec<ReadRequest<'_>> = buf
                .chunks_mut(4096)
                .enumerate()
                .map(|(i, chunk)| ReadRequest::new(base + (i * 4096) as u64, chunk))
                .collect();
            memory.read_batch(&mut reqs).unwrap();
            assert!(reqs.iter().all(|r| r.got == 4096));
        })
    });
    group.finish();
}

fn pagemap_scan(c: &mut Criterion) {
    let target = Target::spawn(&[
        "--threads",
        "1",
        "--pattern-mib",
        "64",
        "--reserve-gib",
        "10",
    ]);
    let process = Process::open(target.pid()).unwrap();
    let memory = process.memory().unwrap();
    let reserve = target.ready.u64("reserve");
    let reserve_len = target.ready.u64("reserve_len");
    let pattern = target.ready.u64("pattern");
    let pattern_len = target.ready.u64("pattern_len");
    let mut group = c.benchmark_group("pagemap_scan");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    group.throughput(Throughput::Bytes(reserve_len));
    group.bench_function("untouched_10GiB", |b| {
        b.iter(|| {
            assert!(memory
                .present_pages(reserve, reserve + reserve_len)
                .unwrap()
                .is_empty())
        })
    });
    group.throughput(Throughput::Bytes(pattern_len));
    group.bench_function("present_64MiB", |b| {
        b.iter(|| {
            assert_eq!(
                memory
                    .present_pages(pattern, pattern + pattern_len)
                    .unwrap()
                    .len(),
                1
            )
        })
    });
    // Every mapping of the process, 10 GiB and more in all.
    let maps = process.maps().unwrap();
    let mapped: u64 = maps.iter().map(|m| m.len()).sum();
    group.throughput(Throughput::Bytes(mapped));
    group.bench_function("all_mappings", |b| {
        b.iter(|| {
            let mut present = 0u64;
            for m in &maps {
                present += memory
                    .present_pages(m.start, m.end)
                    .unwrap()
                    .iter()
                    .map(|r| r.end - r.start)
                    .sum::<u64>();
            }
            assert!(present >= pattern_len);
        })
    });
    group.finish();
}

criterion_group!(benches, memory_read, pagemap_scan);
criterion_main!(benches);
