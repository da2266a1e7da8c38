//! How much of the write-behind memory to make before the freeze.
//!
//! Why: on the benchmark machine (a VM whose host takes free guest memory
//! back) the first touch of fresh memory costs 0.4–1 s per GiB, while the
//! capture reads a frozen target at 3–5 GiB/s straight into the ring.
//! Memory made inside the freeze (by the toucher thread or, when none is
//! ready, by the capture itself) lengthens the pause; memory made before it
//! lengthens the wall time by the same touch, with the disk idle. So what
//! the freeze is expected to need is made ahead: the dump's data, less
//! what the disk writes and the toucher makes while the target is read.
//! How much that is depends on the time the reading leaves them, and the
//! time that is not spent filling the ring is the time spent reading zero
//! pages (which the dump leaves out); so the dump's data less its zero
//! pages is made ahead. A dense target (a redis holding 1 GiB of keys) gets
//! all of it made ahead; one whose resident memory is half zeros (the gcore
//! benchmark's) gets none beyond the two buffers always made. Measured
//! (BENCHMARKS.md, issue 16): on the redis, making all ahead instead of
//! half shortened the pause by 0.08–0.13 s in each of four alternating
//! rounds (0.33–0.49 s against 0.41–0.61 s, load ~5), at 0.1–0.3 s of wall
//! time.
//!
//! The dump's data is estimated before the freeze by sampling: 256 windows
//! of 2 MiB at evenly spaced addresses of the target's private anonymous
//! mappings are looked up in its pagemap, and up to 8 resident pages of
//! each read (the target runs; reading does not change it) to count those
//! that are not all zeros, which the dump leaves out as holes.

use coroner_proc_reader::{MemoryReader, Process, ReadRequest};

use crate::backing::{classify, Backing};
use crate::write_behind::BUFFER;

/// Windows of the address space whose pagemap is read, at most: one
/// `pread` each, which is what the lookup costs (one page per `pread`,
/// 4096 of them, took 130–190 ms on the gcore benchmark's workload).
const WINDOWS: u64 = 256;
/// Pages per window (2 MiB of address space with 4 KiB pages).
const WINDOW_PAGES: u64 = 512;
/// Resident pages read per window, at most, spread over it.
const PER_WINDOW: usize = 8;
/// Pages read per `process_vm_readv` batch.
const BATCH: usize = 256;
const MIB: u64 = 1 << 20;

/// What a sample of the target's resident anonymous pages held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DataSample {
    /// Resident pages read.
    pub(crate) read: u64,
    /// Those that were not all zeros.
    pub(crate) with_data: u64,
}

/// Bytes of write-behind memory to make before the freeze, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MadeAhead {
    /// Bytes (at most the write-behind allowed).
    pub bytes: u64,
    /// Why, in a sentence (figures in MiB).
    pub reason: String,
}

/// Sample the data of `pid`'s resident anonymous memory (see the module
/// docs); `None` when it cannot be read.
pub(crate) fn sample_data(pid: u32) -> Option<DataSample> {
    let process = Process::open(pid).ok()?;
    let memory = process.memory().ok()?;
    // `maps`, not `smaps`: smaps counts every page of the target (it took
    // most of 150–340 ms on the gcore benchmark's workload).
    let ranges: Vec<(u64, u64)> = classify(&process.maps().ok()?)
        .into_iter()
        .filter(|m| m.backing == Backing::Anonymous)
        .map(|m| (m.range.start, m.range.end))
        .collect();
    sample_ranges(&memory, &ranges)
}

/// Page addresses spread evenly over `ranges` (sorted, disjoint `(start,
/// end)` pairs of page-aligned addresses): at most `samples`, each the
/// middle page of its share of the total, with the end of its range.
fn spread(ranges: &[(u64, u64)], page: u64, samples: u64) -> Vec<(u64, u64)> {
    let pages: u64 = ranges
        .iter()
        .map(|&(s, e)| e.saturating_sub(s) / page)
        .sum();
    if pages == 0 || samples == 0 {
        return Vec::new();
    }
    let stride = pages.div_ceil(samples);
    let mut out = Vec::new();
    // Page index (over all ranges) of the next sample.
    let mut next = stride / 2;
    let mut before = 0u64;
    for &(start, end) in ranges {
        let here = end.saturating_sub(start) / page;
        while next < before + here {
            out.push((start + (next - before) * page, end));
            next += stride;
        }
        before += here;
    }
    out
}

/// Up to `n` of `items`, spread evenly.
fn pick<T: Copy>(items: &[T], n: usize) -> impl Iterator<Item = T> + '_ {
    let step = items.len().div_ceil(n.max(1)).max(1);
    items.iter().skip(step / 2).step_by(step).copied()
}

fn sample_ranges(memory: &MemoryReader, ranges: &[(u64, u64)]) -> Option<DataSample> {
    let page = memory.page_size();
    let mut resident = Vec::new();
    let mut present = Vec::new();
    // Windows no longer than their share, so that none overlap.
    let pages: u64 = ranges
        .iter()
        .map(|&(s, e)| e.saturating_sub(s) / page)
        .sum();
    let window = (pages / WINDOWS).clamp(1, WINDOW_PAGES) * page;
    for (addr, end) in spread(ranges, page, WINDOWS) {
        present.clear();
        let window_end = end.min(addr.saturating_add(window));
        memory
            .scan_pagemap(addr, window_end, |a, e| {
                if e.present() {
                    present.push(a);
                }
            })
            .ok()?;
        resident.extend(pick(&present, PER_WINDOW));
    }
    let page_len = usize::try_from(page).ok()?;
    let mut sample = DataSample::default();
    let mut buf = vec![0u8; page_len * BATCH];
    for addrs in resident.chunks(BATCH) {
        let mut requests: Vec<ReadRequest<'_>> = buf
            .chunks_mut(page_len)
            .zip(addrs)
            .map(|(b, &a)| ReadRequest::new(a, b))
            .collect();
        memory.read_batch(&mut requests).ok()?;
        for r in requests.iter().filter(|r| r.got == page_len) {
            sample.read += 1;
            if r.buf.iter().any(|&b| b != 0) {
                sample.with_data += 1;
            }
        }
    }
    Some(sample)
}

/// How much of a `write_behind`-byte ring to make before the freeze of a
/// target with `resident` bytes of anonymous and shared memory (what the
/// capture will read), `sample` telling how much of it is data (see the
/// module docs): whole 4 MiB buffers, at least the two always made, at
/// most the ring. Without a sample the target counts as all data.
pub(crate) fn size_made_ahead(
    write_behind: u64,
    resident: u64,
    sample: Option<DataSample>,
) -> MadeAhead {
    let (data, from) = match sample {
        Some(s) if s.read > 0 => (
            u64::try_from(u128::from(resident) * u128::from(s.with_data) / u128::from(s.read))
                .unwrap_or(u64::MAX),
            format!(
                "{} of {} sampled resident pages hold data",
                s.with_data, s.read
            ),
        ),
        Some(_) => (
            0,
            "no resident anonymous page was found to sample".to_owned(),
        ),
        None => (
            resident,
            "the target's memory could not be sampled, so all of it counts".to_owned(),
        ),
    };
    // The data less the zero pages (`resident - data`); whole buffers, at
    // least the two always made, at most the ring.
    let buffer = BUFFER as u64;
    let zeros = resident.saturating_sub(data);
    let bytes = data
        .saturating_sub(zeros)
        .div_ceil(buffer)
        .saturating_mul(buffer)
        .max(2 * buffer)
        .min(write_behind / buffer * buffer);
    MadeAhead {
        bytes,
        reason: format!(
            "{} MiB of it made before the freeze: the dump's data, estimated at {} MiB ({from}), \
             less the {} MiB of zero pages among the {} MiB to be read, while which the disk and \
             the toucher catch up",
            bytes / MIB,
            data / MIB,
            zeros / MIB,
            resident / MIB
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: u64 = 4096;

    #[test]
    fn samples_are_spread_evenly_over_the_ranges() {
        // 8 + 4 pages, 3 samples: stride 4, pages 2, 6 and 10.
        let (a, b) = (0x10000 + 8 * PAGE, 0x40000 + 4 * PAGE);
        let ranges = [(0x10000, a), (0x40000, b)];
        assert_eq!(
            spread(&ranges, PAGE, 3),
            vec![
                (0x10000 + 2 * PAGE, a),
                (0x10000 + 6 * PAGE, a),
                (0x40000 + 2 * PAGE, b)
            ]
        );
        // More samples than pages: every page once.
        assert_eq!(spread(&ranges, PAGE, 100).len(), 12);
        assert!(spread(&[], PAGE, 10).is_empty());
        // A large space: never more than asked for, all inside the ranges.
        let big = [(0, 1 << 40)];
        let s = spread(&big, PAGE, WINDOWS);
        assert!(s.len() as u64 <= WINDOWS && s.len() as u64 > WINDOWS - 2);
        assert!(s.iter().all(|&(a, _)| a < 1 << 40 && a % PAGE == 0));
        // Picking: evenly, at most n.
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(pick(&items, 4).collect::<Vec<_>>(), vec![12, 37, 62, 87]);
        assert_eq!(pick(&items[..3], 8).count(), 3);
        assert_eq!(pick(&items[..0], 8).count(), 0);
    }

    #[test]
    fn a_dense_target_gets_all_its_data_ahead_a_half_zero_one_none() {
        const GIB: u64 = 1 << 30;
        let dense = Some(DataSample {
            read: 1000,
            with_data: 1000,
        });
        let half = Some(DataSample {
            read: 1000,
            with_data: 500,
        });
        let three_quarters = Some(DataSample {
            read: 1000,
            with_data: 750,
        });
        // A redis of 980 MiB, all data: all of it.
        let m = size_made_ahead(980 * MIB, 980 * MIB, dense);
        assert_eq!(m.bytes, 980 * MIB);
        assert!(m.reason.starts_with("980 MiB of it"), "{}", m.reason);
        assert!(m.reason.contains("1000 of 1000 sampled"), "{}", m.reason);
        assert!(
            m.reason.contains("less the 0 MiB of zero pages"),
            "{}",
            m.reason
        );
        // The gcore benchmark: 2 GiB resident, half of it zeros: only the
        // two buffers always made.
        assert_eq!(size_made_ahead(GIB, 2 * GIB, half).bytes, 8 * MIB);
        // A quarter zeros: half of it, in whole buffers.
        let m = size_made_ahead(GIB, 1000 * MIB, three_quarters);
        assert_eq!(m.bytes, 500 * MIB);
        assert!(
            m.reason.contains("less the 250 MiB of zero pages"),
            "{}",
            m.reason
        );
        // Never more than the ring.
        assert_eq!(size_made_ahead(GIB, 8 * GIB, dense).bytes, GIB);
        // No sample: all data; nothing resident to sample: none.
        let m = size_made_ahead(GIB, GIB, None);
        assert_eq!(m.bytes, GIB);
        assert!(m.reason.contains("could not be sampled"), "{}", m.reason);
        let empty = Some(DataSample::default());
        assert_eq!(size_made_ahead(GIB, GIB, empty).bytes, 8 * MIB);
        // A ring of less than whole buffers: its whole buffers.
        assert_eq!(size_made_ahead(10 * MIB, GIB, dense).bytes, 8 * MIB);
    }

    /// The sample tells data from zeros in a live process's memory: our own,
    /// with a mapping of one third data pages.
    #[test]
    fn sampling_a_live_process_counts_the_pages_that_hold_data() {
        let pages = 3 * 1024;
        let mut map = memmap2::MmapMut::map_anon(pages * PAGE as usize).unwrap();
        for (i, p) in map.chunks_mut(PAGE as usize).enumerate() {
            // Every page resident; one in three with a byte of data.
            p[100] = u8::from(i % 3 == 0);
        }
        let start = map.as_ptr() as u64;
        let process = Process::open(std::process::id()).unwrap();
        let memory = process.memory().unwrap();
        let s = sample_ranges(&memory, &[(start, start + pages as u64 * PAGE)]).unwrap();
        // 256 windows of 12 pages, up to eight read in each (fewer at the
        // end), a third of them with data, give or take the spacing.
        assert!((1500..=2048).contains(&s.read), "{s:?}");
        assert!((s.read / 4..=s.read / 2).contains(&s.with_data), "{s:?}");
        // Untouched pages are not resident: not read.
        let untouched = memmap2::MmapMut::map_anon(64 * PAGE as usize).unwrap();
        let u = untouched.as_ptr() as u64;
        let s = sample_ranges(&memory, &[(u, u + 64 * PAGE)]).unwrap();
        assert_eq!(s, DataSample::default());
        // The whole process: some data.
        let s = sample_data(std::process::id()).unwrap();
        assert!(s.read > 0 && s.with_data > 0, "{s:?}");
    }
}
